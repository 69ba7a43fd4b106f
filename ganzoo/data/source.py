"""Containers passed from the source readers to the pipeline builder."""

import dataclasses
from typing import Any, Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class SourceInfo:
    """What is known about a data source, as returned by `describe` and `load(with_info=True)`.

    Attributes:
        name: A short description of the source, e.g. ``"mnist_5k:train"``.
        num_examples: Number of images that `load` serves per epoch (before batching;
            corrupt files skipped with ``skip_corrupt=True`` are not counted), or None
            if unknown.
        num_classes: Number of classes when the source has labels, else None
            (for arrays: the largest label + 1).
        class_names: Class names in label order (folder sources: sorted subfolder names),
            or None.
        image_shape: Native ``(height, width, channels)`` of the source images before
            resizing; an entry is None when it varies between images or is unknown.
            ``channels`` counts color channels only (1 gray, 3 RGB; alpha is dropped).
        num_skipped: Number of unreadable files skipped (``skip_corrupt=True``).
        in_memory: The images are held in memory (arrays, ``.npz``/``.npy``,
            ``mnist_5k``): a repeated pipeline can start at any batch.
    """

    name: str
    num_examples: Optional[int]
    num_classes: Optional[int] = None
    class_names: Optional[tuple] = None
    image_shape: tuple = (None, None, None)
    num_skipped: int = 0
    in_memory: bool = False


@dataclasses.dataclass
class ArraySource:
    """Images held in memory.

    Attributes:
        images: Array of shape ``(N, H, W, C)``, C in 1..4, integer or float dtype.
        labels: int32 array of shape ``(N,)`` or None.
        divisor: Maps the raw values to [-1, 1] as ``raw / divisor + offset``.
        offset: Offset of that affine map.
        info: The source description.
    """

    images: np.ndarray
    labels: Optional[np.ndarray]
    divisor: float
    offset: float
    info: SourceInfo


@dataclasses.dataclass
class FileSource:
    """Validated image files.

    Attributes:
        paths: File paths, shape ``(N,)``.
        labels: int32 array of shape ``(N,)`` or None.
        sizes: int array of shape ``(N, 2)``: decoded (height, width) of each file.
        channels: Decoded channel count of each file, shape ``(N,)`` (1, 2, 3 or 4).
        root: The folder that was searched.
        info: The source description.
    """

    paths: np.ndarray
    labels: Optional[np.ndarray]
    sizes: np.ndarray
    channels: np.ndarray
    root: str
    info: SourceInfo


@dataclasses.dataclass
class DatasetSource:
    """A `tf.data.Dataset` of single ``(image, label)`` pairs with 8-bit images (TFDS).

    Attributes:
        dataset: Yields ``(image uint8 (H, W, C), label int)`` pairs.
        info: The source description (``image_shape`` holds the static shape).
    """

    dataset: Any
    info: SourceInfo
