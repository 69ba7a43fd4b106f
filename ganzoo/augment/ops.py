"""Differentiable image transforms driven by explicit random numbers.

Every function here is pure: it takes a batch of images (batch, H, W, C) and
the per-image random parameters, and returns the transformed batch with the
same static shape. Gradients flow to the images through every transform
(gathers, masks and affine colour maps), so a generator is trained through
them. The layers in `ganzoo.augment` draw the parameters; tests can pass
known ones.

Images are float tensors, normally in [-1, 1]; "zero" below is the value 0.0
of that scale (mid-grey), as in the DiffAugment reference code.
"""

import tensorflow as tf


def _reflect(index, size):
    """Reflects integer indices into [0, size) without repeating the edge."""
    if size == 1:
        return tf.zeros_like(index)
    period = 2 * (size - 1)
    index = tf.math.floormod(index, period)
    return tf.where(index >= size, period - index, index)


def translate(images, shift_y, shift_x, fill="zeros"):
    """Shifts each image by an integer number of pixels.

    ``out[b, i, j] = images[b, i - shift_y[b], j - shift_x[b]]``; pixels that
    come from outside the image are 0.0 (``fill="zeros"``, DiffAugment) or
    mirrored from inside it (``fill="reflect"``, ADA's padding).

    Args:
        images: float Tensor (batch, H, W, C).
        shift_y: int Tensor (batch,), rows to move down (negative: up).
        shift_x: int Tensor (batch,), columns to move right (negative: left).
        fill: ``"zeros"`` or ``"reflect"``.

    Returns:
        Tensor of the shape and dtype of `images`.

    Raises:
        ValueError: for an unknown `fill`.
    """
    if fill not in ("zeros", "reflect"):
        raise ValueError(f"fill must be 'zeros' or 'reflect'. Received: fill={fill!r}")
    h, w = images.shape[1], images.shape[2]
    rows = tf.range(h)[None, :] - tf.cast(shift_y, tf.int32)[:, None]  # (batch, H)
    cols = tf.range(w)[None, :] - tf.cast(shift_x, tf.int32)[:, None]  # (batch, W)
    if fill == "reflect":
        out = tf.gather(images, _reflect(rows, h), axis=1, batch_dims=1)
        return tf.gather(out, _reflect(cols, w), axis=2, batch_dims=1)
    out = tf.gather(images, tf.clip_by_value(rows, 0, h - 1), axis=1, batch_dims=1)
    out = tf.gather(out, tf.clip_by_value(cols, 0, w - 1), axis=2, batch_dims=1)
    inside = ((rows >= 0) & (rows < h))[:, :, None, None] & ((cols >= 0) & (cols < w))[:, None, :, None]
    return out * tf.cast(inside, out.dtype)


def cutout(images, center_y, center_x, size):
    """Sets one square per image to 0.0 (DeVries & Taylor 2017, arXiv:1708.04552).

    The square covers rows ``[center_y - size_h // 2, center_y - size_h // 2 +
    size_h)`` and the same for columns, clipped to the image (the reference
    DiffAugment code draws centres anywhere in the image, so a square near an
    edge is cut off by it).

    Args:
        images: float Tensor (batch, H, W, C).
        center_y, center_x: int Tensors (batch,), the square's centre.
        size: ``(size_h, size_w)`` ints, the square's side in pixels.

    Returns:
        Tensor of the shape and dtype of `images`.
    """
    h, w = images.shape[1], images.shape[2]
    size_h, size_w = size
    top = tf.cast(center_y, tf.int32)[:, None] - size_h // 2
    left = tf.cast(center_x, tf.int32)[:, None] - size_w // 2
    rows = tf.range(h)[None, :]
    cols = tf.range(w)[None, :]
    in_rows = (rows >= top) & (rows < top + size_h)  # (batch, H)
    in_cols = (cols >= left) & (cols < left + size_w)  # (batch, W)
    cut = in_rows[:, :, None, None] & in_cols[:, None, :, None]
    return images * (1.0 - tf.cast(cut, images.dtype))


def flip_x(images, flip):
    """Mirrors left-right the images where `flip` (bool (batch,)) is True."""
    return tf.where(tf.reshape(flip, [-1, 1, 1, 1]), tf.reverse(images, axis=[2]), images)


def rotate90(images, k):
    """Rotates image b by ``k[b] * 90`` degrees counter-clockwise.

    Args:
        images: float Tensor (batch, H, W, C); square (H == W) unless every
            ``k`` is even.
        k: int Tensor (batch,) with values in {0, 1, 2, 3}.

    Returns:
        Tensor of the shape and dtype of `images`.
    """
    k = tf.math.floormod(tf.cast(k, tf.int32), 4)
    turned = [images]
    for _ in range(3):
        # One counter-clockwise quarter turn: transpose H and W, then flip rows.
        turned.append(tf.reverse(tf.transpose(turned[-1], [0, 2, 1, 3]), axis=[1]))
    out = images
    for i in (1, 2, 3):
        out = tf.where(tf.reshape(tf.equal(k, i), [-1, 1, 1, 1]), turned[i], out)
    return out


def rotate180(images, k):
    """Rotates image b by 180 degrees where ``k[b]`` is odd (non-square images)."""
    odd = tf.equal(tf.math.floormod(tf.cast(k, tf.int32), 2), 1)
    return tf.where(tf.reshape(odd, [-1, 1, 1, 1]), tf.reverse(images, axis=[1, 2]), images)


def _per_image(values, images):
    return tf.reshape(tf.cast(values, images.dtype), [-1, 1, 1, 1])


def adjust_brightness(images, delta):
    """Adds ``delta[b]`` (float (batch,)) to every pixel of image b."""
    return images + _per_image(delta, images)


def adjust_contrast(images, factor, center="mean"):
    """Scales image b about a centre by ``factor[b]``.

    Args:
        images: float Tensor (batch, H, W, C).
        factor: float Tensor (batch,).
        center: ``"mean"`` (the image's mean over H, W, C: DiffAugment) or
            ``"zero"`` (0.0, mid-grey: ADA's colour matrix).
    """
    if center == "mean":
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    elif center == "zero":
        mean = tf.zeros_like(images[:, :1, :1, :1])
    else:
        raise ValueError(f"center must be 'mean' or 'zero'. Received: center={center!r}")
    return (images - mean) * _per_image(factor, images) + mean


def adjust_saturation(images, factor):
    """Scales each pixel's colour about its channel mean (its grey level) by ``factor[b]``.

    A no-op for one-channel images.
    """
    mean = tf.reduce_mean(images, axis=3, keepdims=True)
    return (images - mean) * _per_image(factor, images) + mean
