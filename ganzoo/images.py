"""Turning generated images into grids and PNG files."""

import math
import pathlib

import numpy as np


def to_uint8(images):
    """Maps float images in [-1, 1] (N, H, W, C) to uint8 [0, 255], rounding."""
    images = np.asarray(images, dtype="float32")
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype("uint8")


def grid(images, cols=None, padding=2):
    """Tiles images (N, H, W, C) in [-1, 1] into one uint8 image.

    Args:
        images: float array (N, H, W, C), C in {1, 3}.
        cols: images per row (default: ceil(sqrt(N))).
        padding: pixels of black border between tiles.

    Returns:
        uint8 array (rows*(H+padding)+padding, cols*(W+padding)+padding, C).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.shape[0] < 1:
        raise ValueError(
            f"Expected images of shape (N, H, W, 1 or 3) with N >= 1. Received: shape {images.shape}"
        )
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, c), "uint8")
    tiles = to_uint8(images)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = padding + r * (h + padding), padding + k * (w + padding)
        out[y : y + h, x : x + w] = tiles[i]
    return out


def save_png(array, path):
    """Writes a uint8 (H, W, 1 or 3) array as PNG. Returns the path."""
    from PIL import Image

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.asarray(array)
    mode_array = array[..., 0] if array.shape[-1] == 1 else array
    Image.fromarray(mode_array).save(path)
    return path
