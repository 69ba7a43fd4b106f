"""The base class of ganzoo's networks: a functional model whose constructor
arguments are its config (the keras-hub "Backbone" pattern)."""

import keras

from ganzoo.networks import layers as L


class Network(keras.Model):
    """A `keras.Model` built functionally in ``__init__`` and serialized by its
    constructor arguments.

    Subclasses build their graph, call ``super().__init__(inputs=..., outputs=...)``,
    store every argument named in ``config_args`` as an attribute of the same
    name, and get `get_config` / `from_config` for free.
    """

    #: Names of the constructor arguments that make up the config.
    config_args = ()

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        for key in self.config_args:
            value = getattr(self, key)
            if key == "kernel_initializer":
                value = L._serialize_initializer(value)
            config[key] = value
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
