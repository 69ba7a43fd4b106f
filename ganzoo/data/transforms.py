"""TensorFlow image ops of the input pipeline: channels, center crop + resize, scaling.

All functions accept a single image ``(H, W, C)`` or a batch ``(N, H, W, C)`` and
work inside `tf.data` map functions as well as eagerly.

The resize rule: an image is first center-cropped to the aspect ratio of the target
``(th, tw)`` (the largest such window, rounded to whole pixels), then

* left untouched if the window already is ``(th, tw)``,
* resized down with area averaging if the window is larger,
* resized up bilinearly if the window is smaller in either dimension (callers only
  allow this with ``resize=True``).
"""

import tensorflow as tf

# ITU-R BT.601 luma weights; they sum to 1, so a gray image stays gray.
_LUMA = (0.299, 0.587, 0.114)


def crop_box(height, width, target_height, target_width):
    """The center window of an image that has the target aspect ratio.

    Works on scalars or on vectors of sizes (elementwise), eagerly or in a graph.

    Args:
        height: Image height(s), int tensor or array, shape ``()`` or ``(N,)``.
        width: Image width(s), same shape as `height`.
        target_height: Target height, Python int.
        target_width: Target width, Python int.

    Returns:
        A tuple ``(top, left, crop_height, crop_width)`` of int32 tensors shaped
        like `height`.
    """
    h = tf.cast(height, tf.int64)
    w = tf.cast(width, tf.int64)
    th = tf.constant(target_height, tf.int64)
    tw = tf.constant(target_width, tf.int64)
    # Relatively taller than the target: keep the full width, else the full height.
    taller = h * tw >= w * th
    crop_h = tf.where(taller, (2 * w * th + tw) // (2 * tw), h)
    crop_w = tf.where(taller, w, (2 * h * tw + th) // (2 * th))
    crop_h = tf.clip_by_value(crop_h, 1, tf.maximum(h, 1))
    crop_w = tf.clip_by_value(crop_w, 1, tf.maximum(w, 1))
    top = (h - crop_h) // 2
    left = (w - crop_w) // 2
    return tuple(tf.cast(v, tf.int32) for v in (top, left, crop_h, crop_w))


def needs_upscale(height, width, target_height, target_width):
    """Whether the center window of each image is smaller than the target.

    Args:
        height: Image height(s), shape ``()`` or ``(N,)``.
        width: Image width(s), same shape.
        target_height: Target height, Python int.
        target_width: Target width, Python int.

    Returns:
        A bool tensor shaped like `height`.
    """
    _, _, crop_h, crop_w = crop_box(height, width, target_height, target_width)
    return (crop_h < target_height) | (crop_w < target_width)


def center_crop_resize(images, target_height, target_width):
    """Center-crops to the target aspect ratio, then resizes (area down, bilinear up).

    Args:
        images: float32 tensor ``(H, W, C)`` or ``(N, H, W, C)``; H and W may be dynamic.
        target_height: Output height, Python int.
        target_width: Output width, Python int.

    Returns:
        float32 tensor ``(target_height, target_width, C)`` (or with the batch axis).
        Pixels are unchanged when no resize is needed.
    """
    shape = tf.shape(images)
    top, left, crop_h, crop_w = crop_box(shape[-3], shape[-2], target_height, target_width)
    cropped = tf.image.crop_to_bounding_box(images, top, left, crop_h, crop_w)
    size = (target_height, target_width)
    same = tf.logical_and(tf.equal(crop_h, target_height), tf.equal(crop_w, target_width))
    larger = tf.logical_and(crop_h >= target_height, crop_w >= target_width)
    out = tf.cond(
        same,
        lambda: cropped,
        lambda: tf.cond(
            larger,
            lambda: tf.image.resize(cropped, size, method="area"),
            lambda: tf.image.resize(cropped, size, method="bilinear"),
        ),
    )
    static = images.shape.as_list()
    return tf.ensure_shape(out, static[:-3] + [target_height, target_width, static[-1]])


def to_channels(images, channels):
    """Converts images to `channels` color channels, dropping any alpha channel.

    Gray (1) and gray+alpha (2) inputs count as gray; RGB (3) and RGBA (4) as color.
    Gray becomes RGB by repetition; RGB becomes gray with the BT.601 luma weights.

    Args:
        images: float32 tensor ``(..., H, W, C)`` with C in 1..4 (C may be dynamic).
        channels: 1 or 3.

    Returns:
        float32 tensor ``(..., H, W, channels)``.
    """
    c = images.shape[-1]
    if c is not None:  # Static channel count: plain slicing, no extra work.
        color = images[..., :3] if c >= 3 else images[..., :1]
        if color.shape[-1] == channels:
            return color
        if channels == 3:
            return tf.concat([color] * 3, axis=-1)
        return tf.reduce_sum(color * tf.constant(_LUMA, images.dtype), axis=-1, keepdims=True)
    is_color = tf.shape(images)[-1] >= 3
    picked = tf.gather(images, tf.where(is_color, [0, 1, 2], [0, 0, 0]), axis=-1)
    if channels == 3:
        return tf.ensure_shape(picked, images.shape[:-1].concatenate([3]))
    weights = tf.where(is_color, tf.constant(_LUMA, images.dtype), tf.constant((1.0, 0.0, 0.0), images.dtype))
    gray = tf.reduce_sum(picked * weights, axis=-1, keepdims=True)
    return tf.ensure_shape(gray, images.shape[:-1].concatenate([1]))


def to_unit_range(images, divisor, offset):
    """Maps raw values to [-1, 1] with ``images / divisor + offset`` and clips rounding error.

    Division (not multiplication by a reciprocal) keeps the end points exact:
    ``255 / 127.5 - 1 == 1.0`` in float32.

    Args:
        images: Tensor of any shape and real dtype.
        divisor: Python float, e.g. 127.5 for 0..255 data.
        offset: Python float, e.g. -1.0.

    Returns:
        float32 tensor of the same shape with values in [-1, 1].
    """
    x = tf.cast(images, tf.float32)
    if divisor != 1.0:
        x = x / divisor
    if offset != 0.0:
        x = x + offset
    return tf.clip_by_value(x, -1.0, 1.0)
