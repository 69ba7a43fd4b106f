"""In-memory sources: NumPy arrays and `.npy` / `.npz` files.

Value-range rules (decided once for the whole array):

* bool: False/True map to -1/1.
* integer dtypes: pixel values 0..255 (any value outside → ValueError). An
  integer array holding only 0 and 1 is refused as ambiguous (binary images,
  or 0..255 pixels that are all black?): pass it as bool, or times 255.
* float dtypes: the scale is decided from the array's min and max by
  `ganzoo.image_scale` (margin 1e-3 of the scale's upper end): ``[-1, 1]``
  (some value below -0.001) → unchanged; ``[0, 255]`` (max above 2) →
  ``x / 127.5 - 1``. No value below 0 and none above 1 is the ``[0, 1]``
  scale, which could equally be [-1, 1] images without dark pixels: it is
  refused, naming the range, with the remedy ``x * 2 - 1`` (no rescale is
  guessed). Anything else, NaN or inf → ValueError.
"""

import os

import numpy as np

from ganzoo import image_scale
from ganzoo.data.checks import received
from ganzoo.data.source import ArraySource, SourceInfo

IMAGE_KEYS = ("x", "images", "arr_0")
LABEL_KEYS = ("y", "labels")


def value_range(images, name):
    """Finds how to map `images` to [-1, 1].

    Args:
        images: Array of any shape.
        name: Source name for error messages.

    Returns:
        ``(divisor, offset)`` such that ``images / divisor + offset`` lies in [-1, 1].

    Raises:
        ValueError: For non-numeric dtypes, NaN/inf, or values outside every range.
    """
    dtype = images.dtype
    if dtype == np.bool_:
        return 0.5, -1.0
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise ValueError(
            f"Images of {name} must have an integer (0..255) or float ([-1, 1] or [0, 255]) "
            f"dtype. Received: dtype={dtype}"
        )
    if images.size == 0:
        raise ValueError(f"Images of {name} are empty. Received: shape={images.shape}")
    if np.issubdtype(dtype, np.floating):
        finite = np.isfinite(images)
        if not finite.all():
            bad = int(images.size - np.count_nonzero(finite))
            raise ValueError(
                f"Images of {name} must be finite; found {bad} NaN or infinite values. "
                f"Received: dtype={dtype}, shape={images.shape}"
            )
    lo, hi = float(images.min()), float(images.max())
    if np.issubdtype(dtype, np.integer):
        if lo < 0 or hi > 255:
            raise ValueError(
                f"Integer images of {name} must hold pixel values 0..255. "
                f"Received: dtype={dtype}, min={lo:g}, max={hi:g}"
            )
        if hi == 1:
            raise ValueError(
                f"Integer images of {name} hold only the values 0 and 1: binary images, or "
                f"0..255 pixels that are all black? Pass binary images as bool (False/True "
                f"map to -1/1) or multiply them by 255. Received: dtype={dtype}, min={lo:g}, max={hi:g}"
            )
        return 127.5, -1.0
    scale = image_scale.scale_of(lo, hi)
    if scale == image_scale.SIGNED:
        return 1.0, 0.0
    if scale == image_scale.BYTE:
        return 127.5, -1.0
    if scale == image_scale.UNIT:
        raise ValueError(
            f"Float images of {name} have no value below 0 and none above 1: the [0, 1] scale "
            f"(e.g. x / 255), or [-1, 1] images without a dark pixel; ganzoo does not guess. "
            f"Pass x * 2 - 1 for [0, 1] images (or the uint8 pixels). "
            f"Received: dtype={dtype}, min={lo:g}, max={hi:g}"
        )
    raise ValueError(
        f"Float images of {name} must lie in [-1, 1] or [0, 255] (up to a margin of "
        f"{image_scale.MARGIN:g} of the upper end; [0, 255] needs a maximum above "
        f"{image_scale.BYTE_MIN_MAX:g}); [0, 1] images must be passed as x * 2 - 1. "
        f"Received: dtype={dtype}, min={lo:g}, max={hi:g}"
    )


def as_nhwc(images, name):
    """Checks the rank and channel count and returns a ``(N, H, W, C)`` view.

    Args:
        images: Array ``(N, H, W)`` or ``(N, H, W, C)`` with C in 1..4.
        name: Source name for error messages.

    Returns:
        The array with a channel axis.

    Raises:
        ValueError: For any other shape.
    """
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[-1] not in (1, 2, 3, 4) or 0 in images.shape:
        raise ValueError(
            f"Images of {name} must have shape (N, H, W) or (N, H, W, C) with C in 1..4 "
            f"and no empty axis. Received: shape={images.shape}"
        )
    return images


def check_labels(labels, num_images, name):
    """Checks labels: integers >= 0, one per image.

    Args:
        labels: Array ``(N,)`` or ``(N, 1)``.
        num_images: N.
        name: Source name for error messages.

    Returns:
        int32 array ``(N,)``.

    Raises:
        ValueError: For a wrong shape, dtype or negative values.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != num_images:
        raise ValueError(
            f"Labels of {name} must have shape ({num_images},), one per image. "
            f"Received: shape={labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        raise ValueError(f"Labels of {name} must be integers. Received: dtype={labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.int32).max):
        raise ValueError(
            f"Labels of {name} must be class indices >= 0. "
            f"Received: min={labels.min()}, max={labels.max()}"
        )
    return labels.astype(np.int32)


def from_arrays(images, labels, name):
    """Builds an `ArraySource` from in-memory arrays.

    Args:
        images: Array-like ``(N, H, W)`` or ``(N, H, W, C)``.
        labels: Array-like ``(N,)`` or None.
        name: Source name for messages and `SourceInfo`.

    Returns:
        An `ArraySource`.
    """
    images = np.asarray(images)
    if images.dtype == object or images.dtype.kind in "USV":
        raise ValueError(
            f"Images of {name} must be a numeric array. Received: dtype={images.dtype}"
        )
    images = as_nhwc(images, name)
    divisor, offset = value_range(images, name)
    num_classes = None
    if labels is not None:
        labels = check_labels(labels, images.shape[0], name)
        num_classes = int(labels.max()) + 1
    color = 3 if images.shape[-1] >= 3 else 1
    info = SourceInfo(
        name=name,
        num_examples=int(images.shape[0]),
        num_classes=num_classes,
        image_shape=(int(images.shape[1]), int(images.shape[2]), color),
        in_memory=True,
    )
    return ArraySource(images=images, labels=labels, divisor=divisor, offset=offset, info=info)


def read_array_file(path):
    """Reads images (and labels, if stored) from an `.npy` or `.npz` file.

    `.npz` keys: images under "x", "images" or "arr_0" (first found); labels under
    "y" or "labels", or "arr_1" when the images are "arr_0" (``np.savez(f, x, y)``).
    Pickled object arrays are refused.

    Args:
        path: Path to the file.

    Returns:
        ``(images, labels_or_None)`` as NumPy arrays.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be read or holds no image array.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such array file. Received: source={path!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as e:  # zipfile, pickle and format errors all mean "unreadable".
        raise ValueError(
            f"Could not read {path!r} as a NumPy .npy/.npz file without pickle ({e}). "
            f"{received(source=path)}"
        ) from e
    if isinstance(loaded, np.ndarray):
        return loaded, None
    with loaded:
        keys = list(loaded.keys())
        image_key = next((k for k in IMAGE_KEYS if k in keys), None)
        if image_key is None:
            raise ValueError(
                f"{path!r} has no image array; expected one of the keys {list(IMAGE_KEYS)}. "
                f"Received: keys={keys}"
            )
        label_keys = LABEL_KEYS + (("arr_1",) if image_key == "arr_0" else ())
        label_key = next((k for k in label_keys if k in keys), None)
        try:
            images = loaded[image_key]
            labels = loaded[label_key] if label_key else None
        except Exception as e:
            raise ValueError(
                f"Could not read array {image_key!r} of {path!r} without pickle ({e}). "
                f"{received(source=path)}"
            ) from e
    return images, labels
