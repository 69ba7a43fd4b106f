"""DiffAugment: Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation
for Data-Efficient GAN Training" (arXiv:2006.10738)."""

import keras
import tensorflow as tf

from ganzoo.augment import ops
from ganzoo.augment.base import Augment
from ganzoo.validation import check_number

#: The policies of the paper (Section 3), in the order the noise is laid out.
POLICIES = ("color", "translation", "cutout")
_NOISE = {"color": 3, "translation": 2, "cutout": 2}


def parse_policy(policy):
    """Validates a comma-joined policy string; returns the tuple of its parts.

    Raises:
        ValueError: for an empty policy, an unknown part or a repeated one.
    """
    if isinstance(policy, (list, tuple)):
        parts = [str(p).strip() for p in policy]
    elif isinstance(policy, str):
        parts = [p.strip() for p in policy.split(",")]
    else:
        raise ValueError(
            f"A DiffAugment policy is a comma-joined string of {list(POLICIES)}. "
            f"Received: policy={policy!r}"
        )
    unknown = [p for p in parts if p not in POLICIES]
    if not parts or unknown or len(set(parts)) != len(parts):
        raise ValueError(
            f"A DiffAugment policy is a comma-joined subset of {list(POLICIES)}, each at most "
            f"once, e.g. 'translation,cutout'. Received: policy={policy!r}"
        )
    return tuple(parts)


@keras.saving.register_keras_serializable(package="ganzoo")
class DiffAugment(Augment):
    """DiffAugment (Zhao et al. 2020, arXiv:2006.10738, Section 3).

    The same family of random, differentiable transforms T is applied to real
    and generated images before every discriminator call, in the D steps and
    in the G step, so D never sees un-augmented images and G is not taught to
    produce augmented ones. Each image draws its own parameters. The policies,
    applied in the order given:

    * ``color``: brightness ``x + (u - 0.5)``, saturation ``(x - m_c) * 2u +
      m_c`` (m_c the per-pixel channel mean; no effect on one channel) and
      contrast ``(x - m) * (u + 0.5) + m`` (m the image mean), u ~ U(0, 1)
      each. The values suit images in [-1, 1].
    * ``translation``: an integer shift in ``[-s, s]`` per axis, s = round(
      ratio * size) (1/8 of the image: 4 pixels at 28 or 32), zero fill.
    * ``cutout``: one square of side round(ratio * size) (half the image)
      set to 0, centred anywhere in the image (clipped at its edges).

    The paper's recommendation for small data is ``color,translation,cutout``.

    Args:
        policy: comma-joined subset of ``color``, ``translation``, ``cutout``.
        translation_ratio: maximal shift as a fraction of the image size.
        cutout_ratio: side of the cutout square as a fraction of the image size.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments and returns: see `ganzoo.augment.Augment`; ``noise`` has
    3 columns for ``color``, 2 for ``translation`` and 2 for ``cutout``, in
    policy order.

    Raises:
        ValueError: for an unknown policy or a ratio outside (0, 1].
    """

    def __init__(self, policy="color,translation,cutout", translation_ratio=0.125,
                 cutout_ratio=0.5, **kwargs):
        super().__init__(**kwargs)
        self.policy = parse_policy(policy)
        self.translation_ratio = check_number("translation_ratio", translation_ratio, 0.0, 1.0,
                                              open_low=True)
        self.cutout_ratio = check_number("cutout_ratio", cutout_ratio, 0.0, 1.0, open_low=True)

    def num_random(self, image_shape):
        return sum(_NOISE[p] for p in self.policy)

    def shifts(self, image_shape):
        """Maximal translation (rows, cols) in pixels for images of `image_shape`."""
        h, w = image_shape[:2]
        return int(h * self.translation_ratio + 0.5), int(w * self.translation_ratio + 0.5)

    def cutout_size(self, image_shape):
        """Side (rows, cols) of the cutout square in pixels."""
        h, w = image_shape[:2]
        return int(h * self.cutout_ratio + 0.5), int(w * self.cutout_ratio + 0.5)

    def transform(self, images, noise):
        shape = tuple(images.shape[1:])
        h, w = shape[:2]
        col = 0
        for part in self.policy:
            u = noise[:, col : col + _NOISE[part]]
            col += _NOISE[part]
            if part == "color":
                images = ops.adjust_brightness(images, u[:, 0] - 0.5)
                images = ops.adjust_saturation(images, 2.0 * u[:, 1])
                images = ops.adjust_contrast(images, u[:, 2] + 0.5, center="mean")
            elif part == "translation":
                sy, sx = self.shifts(shape)
                ty = _uniform_int(u[:, 0], -sy, sy)
                tx = _uniform_int(u[:, 1], -sx, sx)
                images = ops.translate(images, ty, tx, fill="zeros")
            else:
                size = self.cutout_size(shape)
                cy = _uniform_int(u[:, 0], 0, h - size[0] % 2)
                cx = _uniform_int(u[:, 1], 0, w - size[1] % 2)
                images = ops.cutout(images, cy, cx, size)
        return images

    def get_config(self):
        config = super().get_config()
        config.update({
            "policy": ",".join(self.policy),
            "translation_ratio": self.translation_ratio,
            "cutout_ratio": self.cutout_ratio,
        })
        return config


def _uniform_int(u, low, high):
    """Maps u in [0, 1) to an integer uniform on [low, high] (inclusive)."""
    value = tf.floor(u * float(high - low + 1)) + float(low)
    return tf.cast(tf.clip_by_value(value, float(low), float(high)), tf.int32)
