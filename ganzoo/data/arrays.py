"""In-memory sources: NumPy arrays and `.npy` / `.npz` files.

Value-range rules (decided once for the whole array):

* bool: False/True map to -1/1.
* integer dtypes: pixel values 0..255 (any value outside → ValueError).
* float dtypes, by the array's min and max:
  ``[0, 1]`` → scaled with ``2x - 1``; else ``[-1, 1]`` → unchanged; else
  ``[0, 255]`` (max > 1) → ``x / 127.5 - 1``. Anything else, NaN or inf → ValueError.
  An all-zero float array counts as [0, 1] (maps to -1); a float image whose values
  are all <= 1 is taken as [0, 1], never as a very dark 0..255 image.
"""

import os

import numpy as np

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
            f"Images of {name} must have an integer (0..255) or float ([0, 1], [-1, 1] "
            f"or [0, 255]) dtype. Received: dtype={dtype}"
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
        return 127.5, -1.0
    if lo >= 0.0 and hi <= 1.0:
        return 0.5, -1.0
    if lo >= -1.0 and hi <= 1.0:
        return 1.0, 0.0
    if lo >= 0.0 and hi <= 255.0:
        return 127.5, -1.0
    raise ValueError(
        f"Float images of {name} must lie in [0, 1], [-1, 1] or [0, 255]. "
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
