"""Folder sources: image files found recursively under a directory.

* Files: ``.png .jpg .jpeg .bmp .gif`` in any letter case, searched recursively.
  Hidden files and folders (name starting with ".") are ignored. Order: sorted
  relative paths.
* Labels: if images sit in subfolders, each first-level subfolder holding at least
  one image (at any depth) is a class; classes are numbered in sorted name order.
* Validation: every file is decoded once up front with TensorFlow's own decoder
  (the one the pipeline uses), in parallel through `tf.data`. This catches
  corrupt, truncated and non-image files (including truncated PNGs that PIL's
  lazy loader accepts) and yields each file's size and channel count.
"""

import os
import re
import warnings

import numpy as np
import tensorflow as tf

from ganzoo.data.checks import received
from ganzoo.data.source import FileSource, SourceInfo

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_MAX_LISTED = 5  # File names listed in one error or warning message.


def scan(root):
    """Finds image files under `root`.

    Args:
        root: Folder path.

    Returns:
        ``(paths, classes)``: sorted list of file paths, and for each file the name of
        its first-level subfolder, or None for files directly in `root`.

    Raises:
        FileNotFoundError: If `root` is not a folder.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"No such image folder. Received: source={root!r}")
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.relpath(os.path.join(folder, name), root))
    found.sort()
    paths = [os.path.join(root, rel) for rel in found]
    classes = [rel.split(os.sep, 1)[0] if os.sep in rel else None for rel in found]
    return paths, classes


def describe_folder(root):
    """A `SourceInfo` from the file list only (no decoding).

    Args:
        root: Folder path.

    Returns:
        A `SourceInfo`; `num_examples` counts image files, corrupt or not.
    """
    paths, classes = scan(root)
    names = sorted({c for c in classes if c is not None})
    return SourceInfo(
        name=root,
        num_examples=len(paths),
        num_classes=len(names) or None,
        class_names=tuple(names) or None,
    )


def probe(paths):
    """Decodes every file once, in parallel, and reports its shape or its error.

    Args:
        paths: List of N file paths.

    Returns:
        ``(shapes, errors)``: int array ``(N, 3)`` of decoded (height, width,
        channels), with -1 rows for files that failed, and a dict mapping the index of
        each failed file to a one-line reason (filled for the first few only;
        the others map to None).
    """
    def shape_of(index, path):
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        return index, tf.shape(image)

    ds = tf.data.Dataset.from_tensor_slices((tf.range(len(paths), dtype=tf.int64), paths))
    ds = ds.map(shape_of, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.ignore_errors().batch(4096)
    shapes = np.full((len(paths), 3), -1, dtype=np.int64)
    for index, shape in ds.as_numpy_iterator():
        shapes[index] = shape
    failed = np.flatnonzero(shapes[:, 0] < 0)
    errors = {int(i): None for i in failed}
    for i in failed[:_MAX_LISTED]:
        errors[int(i)] = _decode_error(paths[i])
    return shapes, errors


def _decode_error(path):
    """The decoder's reason for refusing `path`, as one line."""
    try:
        tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
    except (tf.errors.OpError, OSError) as e:
        text = getattr(e, "message", None) or str(e)
        text = re.sub(r"\{\{.*?\}\}\s*", "", text)  # TF's "{{function_node ...}}" prefix.
        text = re.sub(r"\s*\[Op:\w+\].*", "", text, flags=re.S)  # "[Op:DecodeImage] name:" suffix.
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return (lines[0] if lines else "decoding failed")[:200]
    return "decoding failed"  # pragma: no cover - failed in tf.data, passed eagerly.


def load_folder(root, labels, skip_corrupt):
    """Scans and validates a folder of images.

    Args:
        root: Folder path.
        labels: Whether labels (from subfolder names) are requested.
        skip_corrupt: Skip undecodable files with one warning instead of raising.

    Returns:
        A `FileSource` holding only decodable files.

    Raises:
        FileNotFoundError: If `root` is not a folder.
        ValueError: If there are no images, undecodable files (unless
            `skip_corrupt`), or labels are requested without class subfolders.
    """
    paths, classes = scan(root)
    if not paths:
        raise ValueError(
            f"Found no image files ({', '.join(IMAGE_EXTENSIONS)}) under the folder. "
            f"{received(source=root)}"
        )
    class_names = sorted({c for c in classes if c is not None})
    if labels:
        _check_class_layout(root, paths, classes, class_names)
    shapes, errors = probe(paths)
    if errors:
        listed = "; ".join(
            f"{paths[i]!r}: {reason}" for i, reason in list(errors.items())[:_MAX_LISTED]
        )
        more = f" and {len(errors) - _MAX_LISTED} more" if len(errors) > _MAX_LISTED else ""
        if not skip_corrupt:
            first = paths[next(iter(errors))]
            raise ValueError(
                f"{len(errors)} of {len(paths)} image files under {root!r} could not be "
                f"decoded ({listed}{more}); expected valid PNG/JPEG/BMP/GIF files. Fix or "
                f"remove them, or pass skip_corrupt=True (`--skip-corrupt` on the command line) to "
                f"skip them. Received: file={first!r}"
            )
        warnings.warn(
            f"Skipped {len(errors)} of {len(paths)} image files under {root!r} that could "
            f"not be decoded: {listed}{more}",
            UserWarning,
            stacklevel=4,
        )
    keep = shapes[:, 0] >= 0
    if not keep.any():
        raise ValueError(f"None of the image files could be decoded. {received(source=root)}")
    label_array = None
    if labels:
        index = {name: i for i, name in enumerate(class_names)}
        label_array = np.array([index[c] for c in classes], dtype=np.int32)[keep]
    sizes = shapes[keep, :2]
    heights, widths = np.unique(sizes[:, 0]), np.unique(sizes[:, 1])
    channel_counts = shapes[keep, 2]
    colors = np.unique(np.where(channel_counts >= 3, 3, 1))
    info = SourceInfo(
        name=root,
        num_examples=int(keep.sum()),
        num_classes=len(class_names) or None,
        class_names=tuple(class_names) or None,
        image_shape=(
            int(heights[0]) if heights.size == 1 else None,
            int(widths[0]) if widths.size == 1 else None,
            int(colors[0]) if colors.size == 1 else None,
        ),
        num_skipped=len(errors),
    )
    return FileSource(
        paths=np.array(paths, dtype=object)[keep],
        labels=label_array,
        sizes=sizes,
        channels=channel_counts,
        root=root,
        info=info,
    )


def _check_class_layout(root, paths, classes, class_names):
    """Raises a ValueError unless every image sits in a class subfolder."""
    if not class_names:
        raise ValueError(
            f"labels=True needs one subfolder per class under {root!r}, but all images "
            f"sit directly in it. Pass labels=False or sort the images into class "
            f"subfolders. Received: labels=True"
        )
    loose = [p for p, c in zip(paths, classes) if c is None]
    if loose:
        raise ValueError(
            f"labels=True needs every image inside a class subfolder of {root!r}, but "
            f"{len(loose)} sit directly in it, e.g. {loose[0]!r}. Move them or pass "
            f"labels=False. Received: labels=True"
        )


def mixed_channel_error(source):
    """A ValueError for a folder that mixes grayscale and color files."""
    gray = np.flatnonzero(source.channels < 3)
    color = np.flatnonzero(source.channels >= 3)
    return ValueError(
        f"Images under {source.root!r} mix grayscale and color files ({gray.size} "
        f"grayscale, e.g. {source.paths[gray[0]]!r}; {color.size} color, e.g. "
        f"{source.paths[color[0]]!r}). Pass channels=1 or channels=3 to convert them "
        f"all. Received: channels=None"
    )
