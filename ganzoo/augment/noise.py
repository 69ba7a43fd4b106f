"""Instance noise: Gaussian noise on every image the discriminator sees (Sønderby et al.
2016, arXiv:1610.04490; Arjovsky & Bottou 2017, arXiv:1701.04862)."""

import keras
import tensorflow as tf

from ganzoo.augment.base import Augment
from ganzoo.validation import check_number


@keras.saving.register_keras_serializable(package="ganzoo")
class InstanceNoise(Augment):
    """Adds ``sigma_t * N(0, 1)`` noise to every image the discriminator sees.

    ``sigma_t = sigma`` or, with `decay_steps`, ``sigma * max(0, 1 - t /
    decay_steps)`` after ``t`` generator steps (linear decay to 0). Applied
    after any other augmentation, in the discriminator steps, the generator
    step and inside the penalties.

    Args:
        sigma: float >= 0, in image units (the [-1, 1] scale).
        decay_steps: positive int or None (constant sigma).

    Call arguments:
        images: float (batch, H, W, C). noise: optional float (batch, H, W,
        C), the noise already scaled (drawn with `draw`); drawn with ``seed``
        at ``sigma`` when None. training: False returns the images unchanged.

    Returns:
        float32 (batch, H, W, C).
    """

    def __init__(self, sigma=0.1, decay_steps=None, **kwargs):
        super().__init__(**kwargs)
        self.sigma = check_number("instance_noise", sigma, 0.0)
        self.decay_steps = None if decay_steps is None else check_number(
            "instance_noise_steps", decay_steps, 1, integer=True)

    def sigma_at(self, step):
        """float32 scalar: sigma after `step` generator steps (an int or int Tensor)."""
        sigma = tf.constant(self.sigma, "float32")
        if self.decay_steps is None:
            return sigma
        t = tf.cast(step, "float32")
        return sigma * tf.maximum(0.0, 1.0 - t / float(self.decay_steps))

    def draw(self, image_shape, draw, step):
        return draw(lambda n, seed: keras.random.normal((n,) + tuple(image_shape), seed=seed)) * self.sigma_at(step)

    def apply(self, images, params):
        return images + params

    def call(self, images, noise=None, seed=None, training=True):
        images = tf.cast(images, "float32")
        if not training:
            return images
        if noise is None:
            noise = keras.random.normal(tf.shape(images), seed=seed) * self.sigma
        return images + tf.cast(noise, "float32")

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma, "decay_steps": self.decay_steps}
