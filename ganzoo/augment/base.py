"""The shared base of the augmentation layers."""

import keras
import tensorflow as tf


class Augment(keras.layers.Layer):
    """A differentiable augmentation applied to every image a discriminator sees.

    Subclasses say how many uniform random numbers each image needs
    (`num_random`) and how they transform it (`transform`). The GAN engine
    draws those numbers itself, from its own ``SeedGenerator``, and passes
    them as ``noise``: then one device and N replicas under ``tf.distribute``
    draw exactly the same augmentations. Called without ``noise``, the layer
    draws them with ``keras.random.uniform(seed=seed)``.

    Computation is float32 whatever the global dtype policy, so augmentations
    and the penalties computed through them stay in full precision.

    Call arguments:
        images: float Tensor (batch, H, W, C), normally in [-1, 1].
        noise: optional float Tensor (batch, num_random(...)) in [0, 1).
        seed: a `keras.random.SeedGenerator` or int, used when `noise` is None.
        training: when False the images are returned unchanged (default True).

    Returns:
        float32 Tensor of the same shape as `images`.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        # No weights depend on the input shape: built at construction, so that
        # fit never tries to build the GAN by calling it on data.
        self.built = True

    def num_random(self, image_shape):
        """Uniform random numbers each image needs, for images of `image_shape` (H, W, C)."""
        raise NotImplementedError

    def transform(self, images, noise):
        """Applies the augmentation given per-image uniforms `noise` (batch, k)."""
        raise NotImplementedError

    def call(self, images, noise=None, seed=None, training=True):
        images = tf.cast(images, "float32")
        if not training:
            return images
        if images.shape.rank != 4:
            raise ValueError(
                f"{type(self).__name__} expects images of shape (batch, H, W, C). "
                f"Received: shape {tuple(images.shape)}"
            )
        k = self.num_random(tuple(images.shape[1:]))
        if noise is None:
            noise = keras.random.uniform((tf.shape(images)[0], k), seed=seed)
        noise = tf.cast(noise, "float32")
        if noise.shape.rank != 2 or (noise.shape[1] is not None and noise.shape[1] != k):
            raise ValueError(
                f"{type(self).__name__} needs noise of shape (batch, {k}). "
                f"Received: noise of shape {tuple(noise.shape)}"
            )
        return self.transform(images, noise)

    def compute_output_shape(self, input_shape):
        return input_shape

    # --- the GAN engine's interface -------------------------------------------

    def draw(self, image_shape, draw, step):
        """This call's random parameters, for one batch the discriminator sees.

        Args:
            image_shape: (H, W, C).
            draw: callable ``draw(sampler) -> Tensor (batch, ...)``, this
                replica's rows of one global draw ``sampler(n, seed)`` from the
                model's seed stream (`ganzoo.regularizers.Step.draw`).
            step: int64 scalar Tensor, generator steps done so far.

        Returns:
            float32 (batch, num_random(image_shape)) uniforms in [0, 1).
        """
        k = self.num_random(image_shape)
        return draw(lambda n, seed: keras.random.uniform((n, k), seed=seed))

    def apply(self, images, params):
        """`images` (batch, H, W, C) transformed with the parameters of `draw`."""
        return self(images, noise=params, training=True)

    def observe(self, real_logits, batch_size, fake_logits=None):
        """Called after every discriminator step with its real logits (batch, 1), the global
        number of real images and the fake logits (batch, 1) of the generated images paired
        with the real ones row by row; an adaptive augmentation adjusts itself here."""

    def logs(self):
        """``{name: float32 scalar}`` added to `fit`'s logs after every step (none here)."""
        return {}
