"""Reference (real) images for the metrics, read through `ganzoo.data.load`."""

import numpy as np

from ganzoo.metrics import _checks
from ganzoo.validation import check_class_ids

#: Images per batch read from a source (the last batch holds the remainder).
_MAX_READ_BATCH = 500
#: `ganzoo.data.load` options an evaluation passes on when it reads a source.
DATA_OPTIONS = ("resize", "skip_corrupt", "data_dir", "download")


def check_data_options(options):
    """`options` (a dict of `DATA_OPTIONS`, or None) as a dict; other keys raise a ValueError."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(DATA_OPTIONS))
    if unknown:
        raise ValueError(
            f"data_options takes the ganzoo.data.load options {list(DATA_OPTIONS)} for reading "
            f"the reference data. Received: {unknown}"
        )
    return options


def _divisor_batch(num):
    """The largest divisor of `num` up to `_MAX_READ_BATCH`: `ganzoo.data.load`
    batches with ``drop_remainder=True``, so only a divisor reads every image."""
    for b in range(min(_MAX_READ_BATCH, num), 0, -1):
        if num % b == 0:
            return b
    return 1


def rebatch(batches, size):
    """Regroups a stream of ``(images, labels or None)`` batches into batches of `size`.

    Every batch but the last holds exactly `size` images, whatever the sizes
    read; the order is kept.
    """
    xs, ys, held = [], [], 0
    for x, y in batches:
        xs.append(x)
        ys.append(y)
        held += x.shape[0]
        while held >= size:
            x_all = np.concatenate(xs) if len(xs) > 1 else xs[0]
            y_all = None if ys[0] is None else (np.concatenate(ys) if len(ys) > 1 else ys[0])
            yield x_all[:size], (None if y_all is None else y_all[:size])
            xs, ys = [x_all[size:]], [None if y_all is None else y_all[size:]]
            held -= size
    if held:
        yield (np.concatenate(xs), None if ys[0] is None else np.concatenate(ys))


def _name(data):
    return data if isinstance(data, str) else "array"


def iter_batches(data, split="train", image_shape=None, labels=True, limit=None, data_options=None):
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
        data_options: `DATA_OPTIONS` for `ganzoo.data.load` (e.g.
            ``{"resize": True, "skip_corrupt": True}``), as the data was
            loaded for training; arrays ignore them.

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

    options = check_data_options(data_options)
    kwargs = {}
    if image_shape is not None:
        kwargs = {"image_size": tuple(image_shape[:2]), "channels": int(image_shape[2])}
    info = data_lib.describe(data, split=split, data_dir=options.get("data_dir"))
    if options.get("skip_corrupt") and info.num_examples:
        # `describe` counts unreadable files too; `load` counts the images it serves.
        _, info = data_lib.load(data, batch_size=1, split=split, shuffle=False, with_info=True,
                                **kwargs, **options)
    if not info.num_examples:
        raise ValueError(
            "The size of the reference data is unknown (a TFDS dataset must be prepared "
            "first, e.g. by ganzoo.data.load(..., download=True)). "
            f"Received: data={_name(data)!r}, split={split!r}"
        )
    has_labels = bool(labels and info.num_classes)
    read_batch = _divisor_batch(info.num_examples)
    ds = data_lib.load(
        data,
        batch_size=read_batch,
        split=split,
        labels=has_labels,
        shuffle=False,
        **kwargs,
        **options,
    )
    if read_batch < min(_MAX_READ_BATCH, info.num_examples):
        # No large divisor (e.g. a prime number of images): regroup the small
        # batches in the pipeline, so the images still come 500 at a time.
        ds = ds.unbatch().batch(_MAX_READ_BATCH).prefetch(2)
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


def load_arrays(data, split="train", image_shape=None, labels=True, limit=None, data_options=None):
    """All images (and labels) of one split, in memory (see `iter_batches`).

    Returns:
        ``(images float32 (N, H, W, C) in [-1, 1], labels int32 (N,) or None, name)``.
    """
    _, name, batches = iter_batches(data, split, image_shape, labels, limit, data_options)
    xs, ys = [], []
    for x, y in batches:
        xs.append(x)
        if y is not None:
            ys.append(y)
    if not xs:
        raise ValueError(f"The reference data is empty. Received: {name}")
    images = np.concatenate(xs)
    return images, (np.concatenate(ys) if ys else None), name
