"""The EMA generator: an exponential moving average of the generator's weights.

Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training"
(arXiv:1806.04498); the start after a number of steps follows BigGAN (Brock et
al. 2018, arXiv:1809.11096, 20k steps).
"""

import keras
import numpy as np
import tensorflow as tf

from ganzoo.options import Option
from ganzoo.validation import check_number


def _check_warmup(value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"ema_warmup must be True or False. Received: ema_warmup={value!r}")
    return bool(value)


#: The recipe fields of the EMA generator.
OPTIONS = (
    Option("ema_decay", "keep an EMA of the generator's weights for sampling", None, (float,),
           lambda v: float(check_number("ema_decay", v, 0.0, 1.0, open_low=True, open_high=True))),
    Option("ema_start", "generator steps before the EMA starts averaging (copy until then)", 0, (int,),
           lambda v: check_number("ema_start", v, 0, integer=True)),
    Option("ema_warmup", "EMA decay min(ema_decay, (1 + s) / (10 + s)) after ema_start", False, (bool,),
           _check_warmup),
)


class GeneratorEMA:
    """How the EMA generator follows the generator.

    After generator step ``t`` (counting the ``step_offset`` steps of a
    fine-tuned model's source), every float weight ``w_ema := d * w_ema + (1 -
    d) * w`` with ``d = decay_at(t)``: 0 (a copy) until ``start``, then
    ``decay``, or with ``warmup`` ``min(decay, (1 + s) / (10 + s))``, ``s = t -
    start``. BatchNorm moving statistics are averaged with the same decay as
    the weights, so they cover the same window of steps.

    Args:
        decay: float in (0, 1).
        start: int >= 0.
        warmup: bool.

    Raises:
        ValueError: `start` or `warmup` set without `decay`.
    """

    def __init__(self, decay, start=0, warmup=False):
        self.decay, self.start, self.warmup = decay, start, warmup

    @staticmethod
    def from_options(ema_decay=None, ema_start=0, ema_warmup=False):
        """The component of the checked `OPTIONS` values, or None without `ema_decay`."""
        if ema_decay is None:
            if ema_start or ema_warmup:
                raise ValueError(
                    "ema_start and ema_warmup configure the generator's EMA, which needs ema_decay "
                    "(e.g. 0.999); without an EMA leave them out (ema_start=0, ema_warmup=False). "
                    f"Received: ema_decay=None, ema_start={ema_start!r}, ema_warmup={ema_warmup!r}"
                )
            return None
        return GeneratorEMA(ema_decay, ema_start, ema_warmup)

    @staticmethod
    def copy_of(generator):
        """A non-trainable copy of `generator` named ``<generator name>_ema`` (summary() tells them apart)."""
        config = keras.saving.serialize_keras_object(generator)
        if "name" in config.get("config", {}):
            config["config"]["name"] = f"{generator.name}_ema"
        ema = keras.saving.deserialize_keras_object(config)
        ema.set_weights(generator.get_weights())
        ema.trainable = False
        return ema

    def decay_at(self, step):
        """The decay used after generator step `step` (int or int Tensor, 1-based): float32 in [0, decay]."""
        s = tf.cast(step, "float32") - float(self.start)
        decay = tf.constant(self.decay, "float32")
        if self.warmup:
            decay = tf.minimum(decay, (1.0 + s) / (10.0 + s))
        return tf.where(s > 0, decay, 0.0)

    def update(self, ema_generator, generator, step):
        """Moves every float weight of `ema_generator` towards `generator`'s, after step `step`."""
        decay = self.decay_at(step)
        for avg, var in zip(ema_generator.weights, generator.weights):
            if avg.dtype in ("float32", "float16", "bfloat16", "float64"):
                d = tf.cast(decay, avg.dtype)
                avg.assign(d * avg + (1.0 - d) * tf.cast(var, avg.dtype))
