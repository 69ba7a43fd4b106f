"""The base class of ganzoo's networks: a functional model whose constructor
arguments are its config (the keras-hub "Backbone" pattern)."""

import keras

from ganzoo.networks import builders as B
from ganzoo.networks import layers as L
from ganzoo.validation import check_int


class Network(keras.Model):
    """A `keras.Model` built functionally in ``__init__`` and serialized by its
    constructor arguments.

    Subclasses validate their arguments with `_check_generator_args` /
    `_check_discriminator_args`, build their graph, call
    ``super().__init__(inputs=..., outputs=...)``, then `_set_config(...)` with
    every argument named in ``config_args``, and get `get_config` /
    `from_config` for free.
    """

    #: Names of the constructor arguments that make up the config.
    config_args = ()

    def _check_generator_args(self, latent_dim, image_shape, base_filters, num_classes):
        """Validates the arguments every generator shares.

        Returns:
            `(image_shape, num_up, start)`: the shape as a tuple, the number of
            2x upsamplings and the start side (see `builders.resampling_plan`).
        """
        owner = type(self).__name__
        check_int(latent_dim, "latent_dim", 1, owner, numpy=False)
        return self._check_common_args(image_shape, base_filters, num_classes)

    def _check_discriminator_args(self, image_shape, base_filters, num_classes, power_iterations):
        """Validates the arguments every discriminator shares.

        Returns:
            `(image_shape, num_down, end)`: the shape as a tuple, the number of
            2x downsamplings and the side they end at.
        """
        check_int(power_iterations, "power_iterations", 1, type(self).__name__,
                  expected=L.POWER_ITERATIONS_RULE, numpy=False)
        return self._check_common_args(image_shape, base_filters, num_classes)

    def _check_common_args(self, image_shape, base_filters, num_classes):
        owner = type(self).__name__
        check_int(base_filters, "base_filters", 1, owner, numpy=False)
        if num_classes is not None:  # None: unconditional
            check_int(num_classes, "num_classes", 1, owner, numpy=False)
        return B.resampling_plan(image_shape, owner)

    def _set_config(self, **values):
        """Stores the constructor arguments that `get_config` returns.

        Raises:
            TypeError: if `values` are not exactly the names in `config_args`
                (a subclass bug, caught by every serialization test).
        """
        if set(values) != set(self.config_args):
            raise TypeError(
                f"{type(self).__name__}._set_config needs exactly {sorted(self.config_args)}. "
                f"Received: {sorted(values)}"
            )
        for key, value in values.items():
            setattr(self, key, value)

    def get_config(self):
        # The dtype policy the layers were built under (e.g. "mixed_bfloat16"):
        # the network is rebuilt under it, whatever the global policy at load time.
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype_policy.name}
        for key in self.config_args:
            value = getattr(self, key)
            if key == "kernel_initializer":
                value = B.serialize_initializer(value)
            config[key] = value
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        policy = config.pop("dtype", None)  # absent in configs saved before 2026-11-30
        if isinstance(policy, dict):  # a serialized DTypePolicy
            policy = policy.get("config", {}).get("name")
        if policy is None:
            return cls(**config)
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(policy)
        try:
            return cls(**config)
        finally:
            keras.mixed_precision.set_global_policy(previous)
