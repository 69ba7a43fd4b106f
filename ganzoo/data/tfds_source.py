"""TensorFlow Datasets sources: ``"tfds:<name>[:<split>]"``.

`<name>` may carry a config and version as TFDS spells them ("mnist",
"celeb_a:2.1.0", "cifar10/plain_text"); `<split>` any TFDS split expression
("test", "train[:10%]"). Images come from the "image" feature, labels from
"label".

With ``download=True`` (the default, as in `tfds.load`) a missing dataset is
downloaded and prepared into `data_dir`. Offline, pass ``download=False``: a
missing dataset then fails at once with instructions, without touching the network.
"""

import difflib
import re

import tensorflow as tf

from ganzoo.data.checks import received
from ganzoo.data.source import DatasetSource, SourceInfo

PREFIX = "tfds:"
# A version right after the name ("mnist:3.0.1", "mnist:3.*.*") belongs to the name.
_SOURCE = re.compile(r"^(?P<name>[^:]+(?::\d[\w.*]*)?)(?::(?P<split>.+))?$")


def parse(source):
    """Splits ``"tfds:<name>[:<split>]"``.

    Args:
        source: The source string, starting with "tfds:".

    Returns:
        ``(name, split_or_None)``.

    Raises:
        ValueError: If no dataset name is given.
    """
    match = _SOURCE.match(source[len(PREFIX):].strip())
    if not match or not match.group("name").strip():
        raise ValueError(
            f"A TFDS source looks like 'tfds:<name>' or 'tfds:<name>:<split>', e.g. "
            f"'tfds:mnist:test'. {received(source=source)}"
        )
    return match.group("name").strip(), match.group("split")


def _tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise ValueError(
            "TFDS sources need the `tensorflow-datasets` package (pip install "
            f"tensorflow-datasets importlib_resources). {received(source=PREFIX)}"
        ) from e
    return tfds


def _unknown_name_error(tfds, name, source, error):
    base = name.split(":")[0].split("/")[0]
    known = tfds.list_builders(with_community_datasets=False)
    close = difflib.get_close_matches(base, known, n=5, cutoff=0.6)
    hint = f"Did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return ValueError(
        f"Unknown TFDS dataset {base!r}. {hint}tfds.list_builders() lists the "
        f"{len(known)} available names. {received(source=source)}"
    )


def _not_prepared_error(name, source, data_dir, download, error):
    where = data_dir or "the default TFDS data_dir (~/tensorflow_datasets or $TFDS_DATA_DIR)"
    flag = f" --data_dir {data_dir}" if data_dir else ""
    why = (
        "was not found there and the download failed"
        if download
        else "was not found there and download=False (--no-download)"
    )
    return FileNotFoundError(
        f"TFDS dataset {name!r} is not prepared in {where}: it {why} ({error}). Prepare it "
        f"on a machine with network access with `tfds build {name}{flag}` (or "
        f"load(..., download=True)) and copy the folder over. "
        f"{received(source=source, data_dir=data_dir, download=download)}"
    )


def load_tfds(source, split, labels, data_dir, download, shuffle, seed):
    """Opens a TFDS split as single ``(image, label)`` pairs.

    Args:
        source: The source string, for messages.
        split: TFDS split expression.
        labels: Whether the "label" feature is needed.
        data_dir: TFDS data folder or None for TFDS's default.
        download: Whether TFDS may download and prepare missing data.
        shuffle: Whether TFDS shuffles its files (seeded with `seed`).
        seed: File-shuffle seed.

    Returns:
        A `DatasetSource`; labels are int32 (0 when not requested).

    Raises:
        ValueError: Unknown name or split, no "image"/"label" feature.
        FileNotFoundError: Data not prepared and not downloadable.
    """
    tfds = _tfds()
    name, _ = parse(source)
    try:
        ds, info = tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            download=download,
            with_info=True,
            shuffle_files=shuffle,
            read_config=tfds.ReadConfig(shuffle_seed=seed, try_autocache=False),
        )
    except tfds.core.registered.DatasetNotFoundError as e:
        raise _unknown_name_error(tfds, name, source, e) from e
    except AssertionError as e:
        if "could not find data" not in str(e):
            raise
        raise _not_prepared_error(name, source, data_dir, download, "no prepared files") from e
    except FileNotFoundError:
        raise
    except OSError as e:  # Network errors (requests.ConnectionError is an OSError).
        raise _not_prepared_error(name, source, data_dir, download, e) from e
    except ValueError as e:
        raise ValueError(
            f"TFDS could not load split {split!r} of {name!r}: {e} "
            f"{received(source=source, split=split)}"
        ) from e

    features = info.features
    keys = list(features.keys())
    if "image" not in keys or not isinstance(features["image"], tfds.features.Image):
        raise ValueError(
            f"TFDS dataset {name!r} has no 'image' feature of type tfds.features.Image; "
            f"ganzoo needs one. Received: features={keys}"
        )
    image_feature = features["image"]
    if image_feature.dtype != tf.uint8:
        raise ValueError(
            f"TFDS dataset {name!r} stores images as {image_feature.dtype.name}; ganzoo "
            f"reads 8-bit images only. Received: dtype={image_feature.dtype.name}"
        )
    num_classes = None
    class_names = None
    if "label" in keys and isinstance(features["label"], tfds.features.ClassLabel):
        num_classes = features["label"].num_classes
        class_names = tuple(features["label"].names)
    if labels and num_classes is None:
        raise ValueError(
            f"labels=True needs a 'label' feature of type ClassLabel in TFDS dataset "
            f"{name!r}. Received: features={keys}"
        )

    if labels:
        pairs = ds.map(lambda ex: (ex["image"], tf.cast(ex["label"], tf.int32)))
    else:
        pairs = ds.map(lambda ex: (ex["image"], tf.constant(0, tf.int32)))
    height, width, channels = (tuple(image_feature.shape) + (None, None, None))[:3]
    info_out = SourceInfo(
        name=f"tfds:{name}:{split}",
        num_examples=_num_examples(info, split, ds),
        num_classes=num_classes,
        class_names=class_names,
        image_shape=(height, width, None if channels is None else (3 if channels >= 3 else 1)),
    )
    return DatasetSource(dataset=pairs, info=info_out)


def _num_examples(info, split, ds):
    """Examples in the split: from the metadata, else the cardinality, else by counting."""
    try:
        count = info.splits[split].num_examples
        if isinstance(count, int) and count > 0:
            return count
    except Exception:  # Missing metadata (mocked data, odd split expressions).
        pass
    cardinality = int(ds.cardinality())
    if cardinality >= 0:
        return cardinality
    return int(ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def describe_tfds(source, split, data_dir):
    """A `SourceInfo` from the TFDS metadata, without reading the data.

    Args:
        source: ``"tfds:<name>[:<split>]"``.
        split: TFDS split expression.
        data_dir: TFDS data folder or None.

    Returns:
        A `SourceInfo`; `num_examples` is None when the dataset is not prepared.
    """
    tfds = _tfds()
    name, _ = parse(source)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise _unknown_name_error(tfds, name, source, e) from e
    info = builder.info
    count = None
    try:
        count = info.splits[split].num_examples or None
    except Exception:
        pass
    label = info.features["label"] if "label" in info.features.keys() else None
    image = info.features["image"] if "image" in info.features.keys() else None
    shape = tuple(getattr(image, "shape", ())) + (None, None, None)
    has_classes = isinstance(label, tfds.features.ClassLabel)
    return SourceInfo(
        name=f"tfds:{name}:{split}",
        num_examples=count,
        num_classes=label.num_classes if has_classes else None,
        class_names=tuple(label.names) if has_classes else None,
        image_shape=(shape[0], shape[1], None if shape[2] is None else (3 if shape[2] >= 3 else 1)),
    )
