"""Differentiable augmentations applied to every image a discriminator sees.

* `DiffAugment`: Zhao et al. 2020, arXiv:2006.10738 (fixed policy).
* `AdaptiveAugment`: ADA, Karras et al. 2020, arXiv:2006.06676 (probability
  adapted to the discriminator's overfitting).

A GAN takes either through its ``augment`` argument (and the recipe field of
the same name), as a layer, a spec string for `get` or a config dict::

    ganzoo.create_model("dcgan_mnist", augment="diffaugment:translation,cutout")
    ganzoo.create_model("sngan_mnist", augment="ada")

`ganzoo.augment.ops` holds the transforms as pure functions of explicit
random numbers.
"""

import keras

from ganzoo.augment import ops
from ganzoo.augment.ada import TRANSFORMS, AdaptiveAugment
from ganzoo.augment.base import Augment
from ganzoo.augment.diffaugment import POLICIES, DiffAugment

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


__all__ = ["Augment", "DiffAugment", "AdaptiveAugment", "POLICIES", "TRANSFORMS", "get", "ops"]
