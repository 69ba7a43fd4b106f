"""Augmentations against images whose result can be drawn by hand (numpy)."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from ganzoo import augment
from ganzoo.augment import ops


def _u_for_int(value, low, high):
    """The uniform number that DiffAugment maps to the integer `value` in [low, high]."""
    return (value - low + 0.5) / (high - low + 1)


def test_translation_moves_one_bright_pixel_by_the_drawn_shift_and_fills_zeros():
    layer = augment.DiffAugment("translation")
    assert layer.shifts((28, 28, 1)) == (4, 4)  # 1/8 of 28, rounded
    image = np.full((1, 28, 28, 1), 0.5, "float32")
    image[0, 10, 12, 0] = 1.0
    ty, tx = 3, -2
    noise = np.array([[_u_for_int(ty, -4, 4), _u_for_int(tx, -4, 4)]], "float32")
    out = np.array(layer(image, noise=noise))

    expected = np.zeros_like(image)  # what came from outside the image is 0
    expected[0, 3:, :26] = 0.5  # rows move down by 3, columns left by 2
    expected[0, 10 + ty, 12 + tx, 0] = 1.0
    np.testing.assert_array_equal(out, expected)


def test_cutout_zeros_one_half_size_square_centred_where_drawn():
    layer = augment.DiffAugment("cutout")
    assert layer.cutout_size((28, 28, 1)) == (14, 14)
    images = np.ones((2, 28, 28, 3), "float32")
    # image 0: centre (10, 15) -> rows 3..16, cols 8..21; image 1: centre (0, 27), cut by the edges
    noise = np.array([[_u_for_int(10, 0, 28), _u_for_int(15, 0, 28)],
                      [_u_for_int(0, 0, 28), _u_for_int(27, 0, 28)]], "float32")
    out = np.array(layer(images, noise=noise))
    expected = np.ones_like(images)
    expected[0, 3:17, 8:22] = 0.0
    expected[1, 0:7, 20:28] = 0.0
    np.testing.assert_array_equal(out, expected)
    assert (out[0] == 0).sum() == 14 * 14 * 3


def test_random_cutouts_are_single_squares_of_the_stated_size():
    layer = augment.DiffAugment("cutout")
    out = np.array(layer(np.ones((64, 32, 32, 1), "float32"), seed=keras.random.SeedGenerator(4)))
    for img in out[..., 0]:
        rows, cols = np.nonzero(img == 0)
        h = rows.max() - rows.min() + 1
        w = cols.max() - cols.min() + 1
        assert len(rows) == h * w  # one filled rectangle
        if 0 < rows.min() and rows.max() < 31 and 0 < cols.min() and cols.max() < 31:
            assert (h, w) == (16, 16)  # fully inside: exactly half the image size
        assert h <= 16 and w <= 16


def test_color_policy_matches_the_formulas():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 4, 4, 3)).astype("float32")
    u = np.array([[0.9, 0.25, 0.1], [0.3, 0.75, 0.8]], "float32")
    out = np.array(augment.DiffAugment("color")(x, noise=u))
    for b in range(2):
        y = x[b] + (u[b, 0] - 0.5)
        m = y.mean(axis=-1, keepdims=True)
        y = (y - m) * (2 * u[b, 1]) + m
        m = y.mean()
        y = (y - m) * (u[b, 2] + 0.5) + m
        np.testing.assert_allclose(out[b], y, rtol=1e-5, atol=1e-6)


def test_policies_apply_in_the_given_order_and_bad_policies_are_refused():
    assert augment.get("diffaugment:translation,cutout").policy == ("translation", "cutout")
    assert augment.get("diffaugment").policy == ("color", "translation", "cutout")
    assert augment.get("diffaugment").num_random((28, 28, 1)) == 7
    for bad in ("diffaugment:rotate", "diffaugment:cutout,cutout", "adaa", "ada:fast", 3):
        with pytest.raises(ValueError, match="Received: "):
            augment.get(bad)
    assert augment.get(None) is None and augment.get("none") is None


def test_same_seed_gives_the_same_augmentation_and_another_seed_another():
    x = np.random.default_rng(1).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    for layer in (augment.DiffAugment(), augment.AdaptiveAugment(initial_p=0.7)):
        a = np.array(layer(x, seed=keras.random.SeedGenerator(7)))
        b = np.array(layer(x, seed=keras.random.SeedGenerator(7)))
        c = np.array(layer(x, seed=keras.random.SeedGenerator(8)))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_not_training_returns_the_images_unchanged():
    x = np.random.default_rng(2).uniform(-1, 1, (3, 8, 8, 1)).astype("float32")
    np.testing.assert_array_equal(augment.DiffAugment()(x, training=False), x)


@pytest.mark.parametrize("layer", [
    augment.DiffAugment("color"), augment.DiffAugment("translation"), augment.DiffAugment("cutout"),
    *[augment.AdaptiveAugment(initial_p=1.0, transforms=[t]) for t in augment.TRANSFORMS],
], ids=lambda l: getattr(l, "policy", None) and ",".join(l.policy) or ",".join(l.transforms))
def test_gradients_flow_through_every_transform_to_the_generator(layer):
    generator = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(8 * 8 * 3), keras.layers.Reshape((8, 8, 3)),
    ])
    z = tf.random.stateless_normal((4, 4), seed=[0, 1])
    target = tf.random.stateless_normal((4, 8, 8, 3), seed=[0, 2])
    with tf.GradientTape() as tape:
        out = layer(generator(z), seed=keras.random.SeedGenerator(3))
        loss = tf.reduce_sum(out * target)
    grads = tape.gradient(loss, generator.trainable_variables)
    assert all(g is not None for g in grads)
    assert float(tf.reduce_sum(tf.abs(grads[0]))) > 0


def _ada_noise(layer, batch, values):
    """Noise of `layer` for `batch` images: every gate open (0.0), params from `values`."""
    noise = np.zeros((batch, layer.num_random((8, 8, 1))), "float32")
    for i, v in enumerate(values):
        noise[:, 1 + i] = v
    return noise


def test_ada_blit_transforms_at_p_one_match_numpy():
    x = np.random.default_rng(3).uniform(-1, 1, (1, 8, 8, 1)).astype("float32")
    flip = augment.AdaptiveAugment(initial_p=1.0, transforms=["xflip"])
    np.testing.assert_array_equal(flip(x, noise=_ada_noise(flip, 1, [0.2])), x[:, :, ::-1])
    np.testing.assert_array_equal(flip(x, noise=_ada_noise(flip, 1, [0.7])), x)  # the other half
    rot = augment.AdaptiveAugment(initial_p=1.0, transforms=["rotate90"])
    for k in range(4):
        out = rot(x, noise=_ada_noise(rot, 1, [(k + 0.5) / 4]))
        np.testing.assert_array_equal(out[0, ..., 0], np.rot90(x[0, ..., 0], k))
    shift = augment.AdaptiveAugment(initial_p=1.0, transforms=["translation"])
    # t = round((2u - 1) / 8 * 8) pixels: u = 0.9 -> +1 row, u = 0.1 -> -1 column; reflection padding
    out = np.array(shift(x, noise=_ada_noise(shift, 1, [0.9, 0.1])))
    padded = np.pad(x[0, ..., 0], 1, mode="reflect")
    np.testing.assert_array_equal(out[0, ..., 0], padded[0:8, 2:10])


def test_ada_at_p_zero_is_the_identity():
    x = np.random.default_rng(4).uniform(-1, 1, (5, 8, 8, 3)).astype("float32")
    layer = augment.AdaptiveAugment(initial_p=0.0)
    np.testing.assert_array_equal(layer(x, seed=keras.random.SeedGenerator(0)), x)


def test_ada_colour_transforms_follow_the_paper_distributions():
    x = np.random.default_rng(5).uniform(-1, 1, (1, 4, 4, 3)).astype("float32")
    u = 0.8413447  # standard normal CDF at 1: the drawn value is N^-1(u) = 1
    b = augment.AdaptiveAugment(initial_p=1.0, transforms=["brightness"])
    np.testing.assert_allclose(b(x, noise=_ada_noise(b, 1, [u])), x + 0.2, atol=1e-5)
    c = augment.AdaptiveAugment(initial_p=1.0, transforms=["contrast"])
    np.testing.assert_allclose(c(x, noise=_ada_noise(c, 1, [u])), x * 2 ** 0.5, atol=1e-5)
    s = augment.AdaptiveAugment(initial_p=1.0, transforms=["saturation"])
    m = x.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(s(x, noise=_ada_noise(s, 1, [u])), (x - m) * 2.0 + m, atol=1e-5)


def test_ada_p_rises_with_positive_real_logits_and_falls_to_zero_never_below():
    layer = augment.AdaptiveAugment(target=0.6, interval=4, speed_images=500_000)
    for _ in range(3):
        layer.update(1.0, 64)
    assert float(layer.p) == 0.0  # adjusted only every 4 steps
    layer.update(1.0, 64)
    assert float(layer.p) == pytest.approx(64 * 4 / 500_000)
    # p moves by (images seen) / speed_images: 496k more images of all-positive logits in
    # steps of 1,000 (124 adjustments of 4,000 images) leave p just short of 1 ...
    for _ in range(496):
        layer.update(1.0, 1000)
    assert float(layer.p) == pytest.approx((256 + 496_000) / 500_000)
    # ... and the next adjustment would overshoot: p is clipped to 1
    for _ in range(4):
        layer.update(1.0, 1000)
    assert float(layer.p) == 1.0
    down = augment.AdaptiveAugment(initial_p=0.01, speed_images=1000)
    for _ in range(40):
        down.update(-1.0, 64)
    assert float(down.p) == 0.0
    fixed = augment.AdaptiveAugment(initial_p=0.3, adaptive=False)
    fixed.update(1.0, 64)
    assert float(fixed.p) == pytest.approx(0.3)


@pytest.mark.parametrize("offset", [0.0, 10.0, -10.0])
def test_ada_pair_sign_counts_correctly_ordered_pairs_whatever_constant_is_added(offset):
    # 1 of 4 pairs has D(real) > D(fake): r_t = (1 - 3) / 4 = -0.5 < 0.6, so p falls by
    # 4 images / 1000 for "pair_sign" at every offset. The paper's r_t = mean(sign(D(real)))
    # is the offset's sign: p rises for +10, falls for -10.
    real = tf.constant([[0.0], [0.1], [0.2], [0.9]]) + offset
    fake = tf.constant([[0.5], [0.6], [0.7], [0.3]]) + offset
    pair = augment.AdaptiveAugment(initial_p=0.5, interval=1, speed_images=1000, heuristic="pair_sign")
    pair.observe(real, 4.0, fake_logits=fake)
    assert float(pair.p) == pytest.approx(0.5 - 0.004)
    paper = augment.AdaptiveAugment(initial_p=0.5, interval=1, speed_images=1000)
    paper.observe(real, 4.0, fake_logits=fake)
    real_sign = float(np.mean(np.sign(real.numpy())))  # 0.75 at offset 0 (one logit is 0)
    assert float(paper.p) == pytest.approx(0.5 + 0.004 * np.sign(real_sign - 0.6))


def test_ada_pair_sign_needs_the_paired_fake_logits():
    layer = augment.AdaptiveAugment(heuristic="pair_sign")
    with pytest.raises(ValueError, match=r"paired fake one\. Received: real_logits of shape \(4, 1\), fake_logits None"):
        layer.observe(tf.zeros((4, 1)), 4.0)
    with pytest.raises(ValueError, match=r"fake_logits \(3, 1\)"):
        layer.observe(tf.zeros((4, 1)), 4.0, fake_logits=tf.zeros((3, 1)))


@pytest.mark.parametrize("kwargs", [
    {"target": 1.5}, {"target": float("nan")}, {"interval": 0}, {"initial_p": -0.1},
    {"speed_images": 0}, {"transforms": ["warp"]}, {"max_p": True}, {"heuristic": "rv"},
])
def test_ada_refuses_bad_settings(kwargs):
    with pytest.raises(ValueError, match="Received: "):
        augment.AdaptiveAugment(**kwargs)


def test_layers_round_trip_through_keras_serialization_with_p():
    layer = augment.AdaptiveAugment(target=0.7, transforms=["xflip", "brightness"], heuristic="pair_sign")
    layer.p.assign(0.25)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert again.target == 0.7 and again.transforms == ("xflip", "brightness")
    assert again.heuristic == "pair_sign"
    diff = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(augment.DiffAugment("cutout", cutout_ratio=0.25)))
    assert diff.policy == ("cutout",) and diff.cutout_ratio == 0.25


def test_translate_and_rotate_ops_keep_static_shapes_in_a_graph():
    @tf.function(input_signature=[tf.TensorSpec((None, 6, 6, 2))])
    def f(x):
        n = tf.shape(x)[0]
        y = ops.translate(x, tf.ones([n], tf.int32), -tf.ones([n], tf.int32), fill="reflect")
        return ops.rotate90(y, tf.ones([n], tf.int32))

    assert f.get_concrete_function().output_shapes.as_list() == [None, 6, 6, 2]
