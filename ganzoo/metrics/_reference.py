"""Reference (real) images for the metrics, read through `ganzoo.data.load`."""

import numpy as np

from ganzoo.metrics import _checks
from ganzoo.validation import check_class_ids

#: Largest batch used to read a source; a divisor of its size is chosen so that
#: `ganzoo.data.load`'s ``drop_remainder=True`` drops nothing.
_MAX_READ_BATCH = 500


def _divisor_batch(num):
    for b in range(min(_MAX_READ_BATCH, num), 0, -1):
        if num % b == 0:
            return b
    return 1


def _name(data):
    return data if isinstance(data, str) else "array"


def iter_batches(data, split="train", image_shape=None, labels=True, limit=None):
    """Streams one split of a data source in its fixed order, batch by batch.

    Args:
        data: a `ganzoo.data.load` source ("mnist_5k", "tfds:cifar10", a folder,
            an ``.npz``), a float image array ``(N, H, W, C)`` in [-1, 1], or a
            tuple ``(images, labels)``.
        split: the split to read ("train", "test", "all", ...); arrays have no
            splits (every image is used).
        image_shape: ``(H, W, C)`` to load at (resized/converted by
            `ganzoo.data.load`), or None for the source's own.
        labels: also read labels when the source has them.
        limit: stop after the first `limit` images, or None.

    Returns:
        ``(num_images, name, batches)`` where ``batches`` yields
        ``(images float32 (B, H, W, C) in [-1, 1], labels int32 (B,) or None)``
        and ``name`` describes the source (e.g. ``"mnist_5k:train"``).
    """
    if isinstance(data, (np.ndarray, tuple)):
        images, y = data if isinstance(data, tuple) else (data, None)
        if isinstance(data, tuple) and len(data) != 2:
            raise ValueError(f"A tuple of data must be (images, labels). Received: len={len(data)}")
        images = _checks.images(images, "Reference images", shape=image_shape)
        if y is not None:
            y = check_class_ids(y, None, num=images.shape[0], what="reference labels")
        num = images.shape[0] if limit is None else min(limit, images.shape[0])
        batches = (
            (images[s : min(s + _MAX_READ_BATCH, num)],
             None if (y is None or not labels) else y[s : min(s + _MAX_READ_BATCH, num)])
            for s in range(0, num, _MAX_READ_BATCH)
        )
        return num, "array", batches

    from ganzoo import data as data_lib

    info = data_lib.describe(data, split=split)
    if not info.num_examples:
        raise ValueError(
            "The size of the reference data is unknown (a TFDS dataset must be prepared "
            "first, e.g. by ganzoo.data.load(..., download=True)). "
            f"Received: data={_name(data)!r}, split={split!r}"
        )
    has_labels = bool(labels and info.num_classes)
    kwargs = {}
    if image_shape is not None:
        kwargs = {"image_size": tuple(image_shape[:2]), "channels": int(image_shape[2])}
    ds = data_lib.load(
        data,
        batch_size=_divisor_batch(info.num_examples),
        split=split,
        labels=has_labels,
        shuffle=False,
        **kwargs,
    )
    num = info.num_examples if limit is None else min(limit, info.num_examples)

    def batches():
        count = 0
        for element in ds.as_numpy_iterator():
            x, y = element if has_labels else (element, None)
            take = min(x.shape[0], num - count)
            yield x[:take].astype(np.float32), (None if y is None else y[:take].astype(np.int32))
            count += take
            if count >= num:
                return

    return num, info.name, batches()


def load_arrays(data, split="train", image_shape=None, labels=True, limit=None):
    """All images (and labels) of one split, in memory (see `iter_batches`).

    Returns:
        ``(images float32 (N, H, W, C) in [-1, 1], labels int32 (N,) or None, name)``.
    """
    _, name, batches = iter_batches(data, split, image_shape, labels, limit)
    xs, ys = [], []
    for x, y in batches:
        xs.append(x)
        if y is not None:
            ys.append(y)
    if not xs:
        raise ValueError(f"The reference data is empty. Received: {name}")
    images = np.concatenate(xs)
    return images, (np.concatenate(ys) if ys else None), name
