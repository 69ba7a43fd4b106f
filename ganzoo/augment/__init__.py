"""Differentiable augmentations applied to every image a discriminator sees.

* `DiffAugment`: Zhao et al. 2020, arXiv:2006.10738 (fixed policy).
* `AdaptiveAugment`: ADA, Karras et al. 2020, arXiv:2006.06676 (probability
  adapted to the discriminator's overfitting).
* `InstanceNoise`: Gaussian noise on the discriminator's inputs (Sønderby et
  al. 2016, arXiv:1610.04490).

The GAN engine uses every one through the same interface of `Augment`
(`draw`, `apply`, `observe`, `logs`); `from_options` builds them from the
recipe fields declared in `OPTIONS`.

A GAN takes either through its ``augment`` argument (and the recipe field of
the same name), as a layer, a spec string for `get` or a config dict::

    ganzoo.create_model("dcgan_mnist", augment="diffaugment:translation,cutout")
    ganzoo.create_model("sngan_mnist", augment="ada")

`ganzoo.augment.ops` holds the transforms as pure functions of explicit
random numbers.
"""

import keras

from ganzoo.augment import ops
from ganzoo.augment.noise import InstanceNoise
from ganzoo.augment.ada import TRANSFORMS, AdaptiveAugment
from ganzoo.augment.base import Augment
from ganzoo.augment.diffaugment import POLICIES, DiffAugment
from ganzoo.options import Option
from ganzoo.validation import check_number

_NAMES = {"diffaugment": DiffAugment, "ada": AdaptiveAugment}


def get(spec):
    """An augmentation layer from a spec, or None.

    Args:
        spec: None or ``"none"`` (no augmentation); ``"diffaugment"`` (policy
            ``color,translation,cutout``); ``"diffaugment:POLICY"`` with a
            comma-joined policy; ``"ada"``; a dict ``{"name": "ada" |
            "diffaugment", **arguments}`` (a recipe table); a serialized Keras
            config; or an `Augment` layer (returned as is).

    Returns:
        An `Augment` layer or None.

    Raises:
        ValueError: for anything else, naming what was received.
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "none")):
        return None
    if isinstance(spec, Augment):
        return spec
    if isinstance(spec, dict):
        if "class_name" in spec:
            layer = keras.saving.deserialize_keras_object(spec)
            if not isinstance(layer, Augment):
                raise ValueError(f"augment must deserialize to a ganzoo.augment layer. Received: {spec!r}")
            return layer
        args = dict(spec)
        name = args.pop("name", None)
        if name not in _NAMES:
            raise ValueError(
                f"An augment table needs name = one of {sorted(_NAMES)}. Received: augment={spec!r}"
            )
        try:
            return _NAMES[name](**args)
        except TypeError as e:
            raise ValueError(f"Bad arguments for augment '{name}': {e}. Received: augment={spec!r}") from None
    if isinstance(spec, str):
        name, _, arg = spec.strip().partition(":")
        name = name.strip().lower()
        if name == "diffaugment":
            return DiffAugment(arg) if arg else DiffAugment()
        if name == "ada" and not arg:
            return AdaptiveAugment()
    raise ValueError(
        "augment must be None, 'diffaugment', 'diffaugment:POLICY' (POLICY a comma-joined subset "
        f"of {list(POLICIES)}), 'ada', a table with a 'name', or a ganzoo.augment layer. "
        f"Received: augment={spec!r}"
    )


#: The recipe fields of the discriminator's input transforms (`from_options`).
OPTIONS = (
    Option("augment", '``"diffaugment[:POLICY]"``, ``"ada"`` or a table (`ganzoo.augment.get`)', None,
           (str, dict), get),  # the check builds the layer once; from_options takes it as is
    Option("instance_noise", "sigma of Gaussian noise on D's inputs", 0.0, (int, float),
           lambda v: check_number("instance_noise", v, 0.0)),
    Option("instance_noise_steps", "generator steps over which that sigma decays to 0", None, (int,),
           lambda v: check_number("instance_noise_steps", v, 1, integer=True)),
)


def from_options(augment=None, instance_noise=0.0, instance_noise_steps=None):
    """The discriminator's input transforms of the recipe fields in `OPTIONS`, in the order
    they apply: ``(augmentation layer or None, InstanceNoise or None)``.

    Raises:
        ValueError: `instance_noise_steps` set without instance noise (``instance_noise`` 0):
            a setting nothing would use.
    """
    if instance_noise_steps is not None and not instance_noise:
        raise ValueError(
            "instance_noise_steps sets how fast instance noise decays, which needs instance_noise > 0 "
            f"(e.g. 0.1). Received: instance_noise={instance_noise!r}, "
            f"instance_noise_steps={instance_noise_steps!r}"
        )
    noise = InstanceNoise(instance_noise, instance_noise_steps) if instance_noise else None
    return get(augment), noise


def behind(transforms, image_shape, draw, step, discriminate):
    """A discriminator seen through `transforms`, with this call's parameters drawn now.

    Args:
        transforms: the input transforms (`Augment` layers), in the order they apply.
        image_shape: (H, W, C).
        draw: ``draw(sampler)``, this replica's rows of a global draw (`Augment.draw`).
        step: int Tensor, generator steps so far.
        discriminate: callable ``(inputs, training) -> float32 logits (batch, 1)``.

    Returns:
        ``critic(inputs, training=True)``, ``inputs`` images or ``[images, labels]``
        (images float (batch, H, W, C), un-transformed): penalties differentiate through
        the transforms with respect to them, as StyleGAN2-ADA does.
    """
    params = [t.draw(image_shape, draw, step) for t in transforms]

    def critic(inputs, training=True):
        images, labels = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
        images = keras.ops.cast(images, "float32")
        for transform, p in zip(transforms, params):
            images = transform.apply(images, p)
        return discriminate(images if labels is None else [images, labels], training=training)

    return critic


__all__ = ["behind", "InstanceNoise", "OPTIONS", "from_options", "Augment", "DiffAugment", "AdaptiveAugment", "POLICIES", "TRANSFORMS", "get", "ops"]
