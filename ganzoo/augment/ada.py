"""Adaptive discriminator augmentation (ADA): Karras, Aittala, Hellsten, Laine,
Lehtinen & Aila 2020, "Training Generative Adversarial Networks with Limited
Data" (arXiv:2006.06676)."""

import keras
import tensorflow as tf

from ganzoo import distribute
from ganzoo.augment import ops
from ganzoo.augment.base import Augment
from ganzoo.validation import check_number

#: The transforms of the pipeline, in the order they are applied (the paper's
#: "bgc" subset: pixel blitting, then colour). All are non-leaking for p < 0.8.
TRANSFORMS = ("xflip", "rotate90", "translation", "brightness", "contrast", "saturation")
#: The overfitting heuristics r_t that `AdaptiveAugment` can adapt p to.
HEURISTICS = ("real_sign", "pair_sign")
_NOISE = {"xflip": 2, "rotate90": 2, "translation": 3, "brightness": 2, "contrast": 2, "saturation": 2}


def _where(apply, transformed, images):
    """Per image: the transformed image where `apply` (bool (batch,)), else the image itself."""
    return tf.where(tf.reshape(apply, [-1, 1, 1, 1]), transformed, images)


def _normal(u):
    """Standard normal values from uniforms in [0, 1) (inverse CDF)."""
    return tf.math.ndtri(tf.clip_by_value(u, 1e-6, 1.0 - 1e-6))


@keras.saving.register_keras_serializable(package="ganzoo")
class AdaptiveAugment(Augment):
    """ADA (Karras et al. 2020, arXiv:2006.06676, Sections 2.3-3 and Appendix B).

    Each transform of the pipeline is applied to each image independently with
    probability ``p``; with ``p < 0.8`` none of them leaks into the generated
    distribution. The transforms and their parameters (Appendix B):

    * ``xflip``: mirror left-right with probability 1/2;
    * ``rotate90``: rotate by k * 90 degrees, k uniform in {0, 1, 2, 3} (only
      0 or 180 degrees for non-square images);
    * ``translation``: integer shift by round(t * size), t ~ U(-1/8, 1/8) per
      axis, with reflection padding;
    * ``brightness``: add b ~ N(0, 0.2^2);
    * ``contrast``: multiply by 2^N(0, 0.5^2) (about 0.0, mid-grey, as the
      paper's colour matrix does);
    * ``saturation``: scale the colour about the pixel's grey level by
      2^N(0, 1) (no effect on one channel).

    ``p`` adapts to the overfitting heuristic ``r_t = E[sign(D(real))]``
    (Section 3) (``heuristic="real_sign"``): the engine calls `observe` after
    every discriminator step;
    every ``interval`` steps ``p += sign(r_t - target) * batch * interval /
    speed_images``, clipped to [0, max_p]. With the paper's numbers (target
    0.6, 4 minibatches, 500k images) p can go from 0 to 1 in 500k real images.
    ``p`` and the accumulators are non-trainable weights (saved with the
    model), updated identically on every replica: the engine passes r_t
    averaged over replicas, and the weights use ``only_first_replica``
    aggregation.

    ``heuristic="pair_sign"`` (not in the paper) measures instead
    ``r_t = E[sign(D(real_i) - D(fake_i))]`` over the step's (real, fake) pairs:
    the share of pairs the discriminator orders correctly, mapped to [-1, 1].
    A loss that sees only differences of logits (the relativistic pairing loss,
    Jolicoeur-Martineau 2018, with R1/R2) leaves a constant added to every
    logit free, and ``sign(D(real))`` then measures that drifting constant,
    not overfitting: trained on Twemoji with the paper's r_t, ``sngan_twemoji``
    drove p from 0.37 to 0.95 while its discriminator loss rose towards
    log 2 (chance). ``pair_sign`` is unchanged by that constant; on a loss
    with anchored logits both measure how confidently D separates real from
    fake, the paper's idea.

    Args:
        target: the target value of r_t, in (0, 1) (paper: 0.6).
        interval: discriminator steps between adjustments of p (paper: 4).
        speed_images: real images over which p can move by 1 (paper: 500k).
        initial_p: starting probability in [0, max_p].
        max_p: upper bound of p, in (0, 1].
        adaptive: when False, p stays at ``initial_p`` (the paper's fixed-p runs).
        transforms: the subset of `TRANSFORMS` to use (in pipeline order).
        heuristic: "real_sign" (the paper's r_t) or "pair_sign" (see above).
        **kwargs: `keras.layers.Layer` arguments.

    Raises:
        ValueError: for a setting outside the ranges above or an unknown transform.
    """

    def __init__(self, target=0.6, interval=4, speed_images=500_000, initial_p=0.0, max_p=1.0,
                 adaptive=True, transforms=TRANSFORMS, heuristic="real_sign", **kwargs):
        super().__init__(**kwargs)
        if heuristic not in HEURISTICS:
            raise ValueError(f"heuristic must be one of {list(HEURISTICS)}. Received: heuristic={heuristic!r}")
        self.heuristic = heuristic
        check_number("target", target, 0.0, 1.0, open_low=True, open_high=True)
        check_number("max_p", max_p, 0.0, 1.0, open_low=True)
        check_number("initial_p", initial_p, 0.0, float(max_p))
        check_number("speed_images", speed_images, 0.0, open_low=True)
        check_number("interval", interval, 1, integer=True)
        if isinstance(transforms, str):
            transforms = [t.strip() for t in transforms.split(",")]
        transforms = tuple(transforms)
        unknown = [t for t in transforms if t not in TRANSFORMS]
        if not transforms or unknown:
            raise ValueError(
                f"transforms must be a non-empty subset of {list(TRANSFORMS)}. "
                f"Received: transforms={list(transforms)!r}"
            )
        self.target = float(target)
        self.interval = int(interval)
        self.speed_images = float(speed_images)
        self.initial_p = float(initial_p)
        self.max_p = float(max_p)
        self.adaptive = bool(adaptive)
        self.transforms = tuple(t for t in TRANSFORMS if t in transforms)
        self.p = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial_p), trainable=False,
            name="p", dtype="float32", aggregation="only_first_replica",
        )
        self.sign_sum = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="sign_sum", dtype="float32",
            aggregation="only_first_replica",
        )
        self.sign_count = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="sign_count", dtype="float32",
            aggregation="only_first_replica",
        )
        self.built = True

    def num_random(self, image_shape):
        return sum(_NOISE[t] for t in self.transforms)

    def transform(self, images, noise):
        h, w = images.shape[1], images.shape[2]
        p = tf.cast(self.p, "float32")
        col = 0
        for name in self.transforms:
            u = noise[:, col : col + _NOISE[name]]
            col += _NOISE[name]
            apply = u[:, 0] < p  # (batch,) bool: this transform is on for this image
            if name == "xflip":
                images = ops.flip_x(images, apply & (u[:, 1] < 0.5))
            elif name == "rotate90":
                k = tf.cast(tf.minimum(tf.floor(u[:, 1] * 4.0), 3.0), tf.int32) * tf.cast(apply, tf.int32)
                images = ops.rotate90(images, k) if h == w else ops.rotate180(images, k)
            elif name == "translation":
                ty = tf.round((2.0 * u[:, 1] - 1.0) * 0.125 * h) * tf.cast(apply, "float32")
                tx = tf.round((2.0 * u[:, 2] - 1.0) * 0.125 * w) * tf.cast(apply, "float32")
                images = ops.translate(images, tf.cast(ty, tf.int32), tf.cast(tx, tf.int32), fill="reflect")
            elif name == "brightness":
                images = _where(apply, ops.adjust_brightness(images, 0.2 * _normal(u[:, 1])), images)
            elif name == "contrast":
                factor = tf.pow(2.0, 0.5 * _normal(u[:, 1]))
                images = _where(apply, ops.adjust_contrast(images, factor, center="zero"), images)
            else:  # saturation
                images = _where(apply, ops.adjust_saturation(images, tf.pow(2.0, _normal(u[:, 1]))), images)
        return images

    def update(self, real_sign_mean, batch_size):
        """Accumulates r_t and adjusts p every ``interval`` calls.

        Args:
            real_sign_mean: float scalar, r_t of one discriminator step's global
                batch (averaged over replicas): ``mean(sign(D(real)))``, or
                the mean sign of the pairs' differences for "pair_sign".
            batch_size: the global number of real images in that step.

        Returns:
            The new value of p (float32 scalar).
        """
        if not self.adaptive:
            return tf.identity(self.p)
        total = self.sign_sum + tf.cast(real_sign_mean, "float32")
        count = self.sign_count + 1.0
        due = tf.cast(count >= float(self.interval), "float32")
        r_t = total / count
        step = tf.sign(r_t - self.target) * tf.cast(batch_size, "float32") * count / self.speed_images
        self.p.assign(tf.clip_by_value(self.p + due * step, 0.0, self.max_p))
        self.sign_sum.assign(total * (1.0 - due))
        self.sign_count.assign(count * (1.0 - due))
        return tf.identity(self.p)

    def observe(self, real_logits, batch_size, fake_logits=None):
        """Accumulates r_t (over the replicas) of one discriminator step: ``E[sign(D(real))]``,
        or for ``heuristic="pair_sign"`` ``E[sign(D(real_i) - D(fake_i))]``.

        Raises:
            ValueError: "pair_sign" without `fake_logits` of the real logits' shape.
        """
        if self.heuristic == "pair_sign":
            if fake_logits is None or tuple(fake_logits.shape) != tuple(real_logits.shape):
                raise ValueError(
                    "heuristic='pair_sign' compares each real logit with its paired fake one. "
                    f"Received: real_logits of shape {tuple(real_logits.shape)}, fake_logits "
                    f"{None if fake_logits is None else tuple(fake_logits.shape)}"
                )
            signs = tf.sign(tf.cast(real_logits, "float32") - tf.cast(fake_logits, "float32"))
        else:
            signs = tf.sign(real_logits)
        r_t = distribute.replica_mean(tf.reduce_mean(signs))
        self.update(r_t, tf.cast(batch_size, "float32"))

    def logs(self):
        """The augmentation probability, logged as ``aug_p``."""
        return {"aug_p": tf.identity(self.p)}

    def get_config(self):
        config = super().get_config()
        config.update({
            "target": self.target,
            "interval": self.interval,
            "speed_images": self.speed_images,
            "initial_p": self.initial_p,
            "max_p": self.max_p,
            "adaptive": self.adaptive,
            "transforms": list(self.transforms),
            "heuristic": self.heuristic,
        })
        return config
