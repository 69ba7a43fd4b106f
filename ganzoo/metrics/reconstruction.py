"""Reconstruction error: how well the generator can reproduce held-out real images.

For each image ``x`` a latent ``z`` is recovered by gradient descent::

    z* = argmin_z  mean_pixels (G(z) - x)^2

with Adam (Kingma & Ba 2014, arXiv:1412.6980) on ``z`` only (generator frozen,
called with ``training=False``), a fixed number of steps, from ``z_0 ~ N(0, I)``,
optionally from several random starts keeping the best. This is the latent
recovery of Lipton & Tripathi 2017, "Precise Recovery of Latent Vectors from
Generative Adversarial Networks" (arXiv:1702.04782), used as an
overfitting / mode-dropping check in Webster et al. 2019, "Detecting
Overfitting of Deep Generative Networks via Latent Recovery" (arXiv:1901.03396).

The error reported is the **per-pixel mean squared error** on the [-1, 1]
scale, ``mean_pixels (G(z*) - x)^2`` (best start per image), averaged over
images. It is close to 0 for images the generator produced itself and larger
for real images it cannot represent; compare held-out real images with the
generator's own samples (`evaluate` reports both).
"""

import weakref

import numpy as np
import tensorflow as tf
import keras

from ganzoo import sampling
from ganzoo.metrics import _checks
from ganzoo.metrics.registry import Metric, Option, register_metric
from ganzoo.validation import check_class_ids

#: Held-out images (and as many generated ones) `evaluate` reconstructs.
DEFAULT_NUM_IMAGES = 100
DEFAULT_STEPS = 200
DEFAULT_LEARNING_RATE = 0.05
DEFAULT_RESTARTS = 1
DEFAULT_BATCH_SIZE = 256
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8

# generator network -> {(conditional, steps, learning_rate): compiled recovery function}.
# The functions reach their network through a weak reference, so the cache
# keeps no model alive (a value holding its key would).
_RECOVER_CACHE = weakref.WeakKeyDictionary()


def _unwrap(generator):
    """``(network, latent_dim, conditional)`` of a GAN or a generator model."""
    if hasattr(generator, "sampling_generator") and hasattr(generator, "latent_dim"):
        return (
            generator.sampling_generator,
            int(generator.latent_dim),
            getattr(generator, "num_classes", None) is not None,
        )
    if isinstance(generator, keras.Model):
        inputs = generator.inputs or []
        if not inputs or inputs[0].shape[-1] is None:
            raise ValueError(
                "Could not infer the latent dimension of the generator. "
                f"Received: generator.inputs={inputs!r}"
            )
        return generator, int(inputs[0].shape[-1]), len(inputs) > 1
    raise ValueError(
        "`generator` must be a ganzoo GAN or a keras.Model mapping z to images. "
        f"Received: {type(generator).__name__}"
    )


def _make_recover(net, conditional, steps, learning_rate):
    """A compiled function ``(z0 (B, L), x (B, H, W, C), labels) -> (z, per-image MSE (B,))``."""
    beta_1, beta_2 = ADAM_BETAS
    net_ref = weakref.ref(net)

    def per_image_mse(z, x, labels):
        out = net_ref()([z, labels] if conditional else z, training=False)
        return tf.reduce_mean(tf.square(tf.cast(out, tf.float32) - x), axis=[1, 2, 3])

    @tf.function(reduce_retracing=True)
    def recover(z0, x, labels):
        z = z0
        m = tf.zeros_like(z0)
        v = tf.zeros_like(z0)
        for t in tf.range(1, steps + 1):
            with tf.GradientTape() as tape:
                tape.watch(z)
                # The sum of per-image losses: each z only affects its own term,
                # so every image is optimized independently.
                loss = tf.reduce_sum(per_image_mse(z, x, labels))
            g = tape.gradient(loss, z)
            m = beta_1 * m + (1.0 - beta_1) * g
            v = beta_2 * v + (1.0 - beta_2) * tf.square(g)
            tf_t = tf.cast(t, tf.float32)
            m_hat = m / (1.0 - tf.pow(beta_1, tf_t))
            v_hat = v / (1.0 - tf.pow(beta_2, tf_t))
            z = z - learning_rate * m_hat / (tf.sqrt(v_hat) + ADAM_EPSILON)
        return z, per_image_mse(z, x, labels)

    return recover


def reconstruction_error(
    generator,
    images,
    labels=None,
    steps=DEFAULT_STEPS,
    learning_rate=DEFAULT_LEARNING_RATE,
    restarts=DEFAULT_RESTARTS,
    seed=0,
    batch_size=DEFAULT_BATCH_SIZE,
    known_scale=False,
):
    """Mean per-pixel squared error of the best latent reconstruction of each image.

    Args:
        generator: a ganzoo `GAN` (its sampling generator is used) or a
            `keras.Model` mapping ``z`` (B, L) (or ``[z, labels]``) to images.
        images: float images ``(N, H, W, C)`` in [-1, 1], the generator's shape.
        labels: int ``(N,)`` class of each image, required for a conditional
            generator (the label is given, only ``z`` is recovered).
        steps: Adam steps per image (fixed; no early stopping).
        learning_rate: Adam learning rate (betas 0.9, 0.999).
        restarts: random starts per image; the lowest final error is kept.
        seed: seed of the starting points (``tf.random.stateless_normal``).
        batch_size: images optimized together (times `restarts`).
        known_scale: the images are [-1, 1] by construction (generated, or
            read by `ganzoo.data.load`): only values outside [-1, 1] are
            refused. Otherwise their scale is decided from their range
            (`ganzoo.image_scale`), and images with no value below 0 — the
            [0, 1] scale — are refused.

    Returns:
        dict with ``mse`` (mean over images of the per-pixel MSE), ``mse_std``,
        ``mse_median``, ``per_image`` (list of N floats), ``num_images``,
        ``steps``, ``learning_rate``, ``restarts``, ``seed``, ``error`` (what
        is measured) and ``optimizer``.
    """
    net, latent_dim, conditional = _unwrap(generator)
    out_shape = tuple(net.outputs[0].shape[1:]) if getattr(net, "outputs", None) else None
    x = _checks.images(images, "images", shape=out_shape, known_scale=known_scale)
    steps = _checks.positive_int("steps", steps)
    restarts = _checks.positive_int("restarts", restarts)
    batch_size = _checks.positive_int("batch_size", batch_size)
    learning_rate = _checks.positive_float("learning_rate", learning_rate)
    if conditional:
        if labels is None:
            raise ValueError(
                "The generator is conditional: pass the class of each image as `labels`. "
                "Received: labels=None"
            )
        labels = check_class_ids(labels, getattr(generator, "num_classes", None), num=x.shape[0])
    per_net = _RECOVER_CACHE.setdefault(net, {})
    key = (conditional, steps, learning_rate)
    if key not in per_net:
        per_net[key] = _make_recover(net, conditional, steps, learning_rate)
    recover = per_net[key]
    errors = np.empty(x.shape[0])
    for b, start in enumerate(range(0, x.shape[0], batch_size)):
        xb = x[start : start + batch_size]
        n = xb.shape[0]
        z0 = tf.random.stateless_normal((restarts * n, latent_dim), seed=[int(seed), b])
        x_rep = tf.tile(tf.convert_to_tensor(xb), [restarts, 1, 1, 1])
        y_rep = (
            tf.tile(tf.convert_to_tensor(labels[start : start + n]), [restarts])
            if conditional
            else tf.zeros((restarts * n,), tf.int32)
        )
        _, err = recover(z0, x_rep, y_rep)
        errors[start : start + n] = np.min(np.reshape(err.numpy(), (restarts, n)), axis=0)
    if not np.all(np.isfinite(errors)):
        raise ValueError(
            "The reconstruction diverged (non-finite errors); lower the learning_rate. "
            f"Received: learning_rate={learning_rate}"
        )
    return {
        "mse": float(errors.mean()),
        "mse_std": float(errors.std()),
        "mse_median": float(np.median(errors)),
        "per_image": [float(e) for e in errors],
        "num_images": int(x.shape[0]),
        "steps": int(steps),
        "learning_rate": float(learning_rate),
        "restarts": int(restarts),
        "seed": int(seed),
        "error": "per-pixel mean squared error on the [-1, 1] scale, best start per image",
        "optimizer": "Adam over z (betas 0.9, 0.999), z0 ~ N(0, I), generator frozen",
    }


@register_metric
class Reconstruction(Metric):
    """``reconstruction`` (``recon``, ``reconstruction_error``): `reconstruction_error` of the
    first ``num_images`` held-out images, and of as many generated ones (``mse_generated``)."""

    name = "reconstruction"
    aliases = ("recon", "reconstruction_error")
    needs = ("images", "heldout_images")
    options = (
        Option("num_images", DEFAULT_NUM_IMAGES, "held-out images (and generated ones) to reconstruct"),
        Option("steps", DEFAULT_STEPS, "Adam steps per image"),
        Option("learning_rate", DEFAULT_LEARNING_RATE, "Adam learning rate"),
        Option("restarts", DEFAULT_RESTARTS, "random starts per image; the best is kept"),
        Option("batch_size", DEFAULT_BATCH_SIZE, "images optimized together"),
    )
    values = ("mse", "mse_std", "mse_median", "mse_generated", "mse_generated_std")
    summary = {"mse": "recon_mse", "mse_generated": "recon_mse_generated"}
    description = "pixel MSE of the best latent found by Adam for held-out and for generated images"

    def check(self, gan, evaluator, options):
        """Refuses a `num_images` that is not a positive integer."""
        _checks.positive_int("num_images", options["num_images"])

    def num_images(self, options, num_samples):
        """``min(num_images, num_samples)`` generated images are reconstructed."""
        return min(_checks.positive_int("num_images", options["num_images"]), num_samples)

    def compute(self, inputs, options):
        """Reconstructs held-out images (seed) and generated images (seed + 1), in pixel space."""
        opts = dict(options)
        num_images = opts.pop("num_images")
        gan = inputs.gan
        real, labels, name = inputs.heldout_images(num_images)
        if gan.num_classes is not None and labels is None:
            raise ValueError(
                "Reconstructing real images with a conditional GAN needs their labels. "
                f"Received: unlabelled held-out data {name!r}"
            )
        held = reconstruction_error(gan, real, labels=labels, seed=inputs.seed, known_scale=True, **opts)
        generated = inputs.images[: self.num_images(options, inputs.num_samples)]
        own = reconstruction_error(gan, generated, seed=inputs.seed + 1, known_scale=True,
                                   labels=sampling.default_labels(len(generated), gan.num_classes), **opts)
        held["mse_generated"] = own["mse"]
        held["mse_generated_std"] = own["mse_std"]
        held["num_generated_images"] = own["num_images"]
        held["protocol"] = {
            "extractor": None,
            "feature_dim": None,
            "resize": "none (pixel space)",
            "split": inputs.heldout_split,
            "num_reference": held["num_images"],
            "num_generated": own["num_images"],
            "heldout_data": name,
        }
        return held
