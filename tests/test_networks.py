"""Tests of ganzoo.networks: shapes, serialization, spectral-norm math, errors.

Every check compares against math stated in the test (numpy SVD, numpy power
iteration, finite differences, layer-by-layer formulas), not against the
code's own output.
"""

import json
import re

import numpy as np
import pytest

import keras
import tensorflow as tf

from ganzoo import networks
from ganzoo.networks import (
    ConditionalBatchNormalization,
    DCGANDiscriminator,
    DCGANGenerator,
    GlobalSumPooling2D,
    ResNetDiscriminator,
    ResNetGenerator,
    SNGANCNNDiscriminator,
    SNGANCNNGenerator,
    SpectralConv2D,
    SpectralDense,
    SpectralEmbedding,
    get_network_class,
    spectral_norm_layers,
    unnormalized_kernel_layers,
)
from ganzoo.networks.builders import resampling_plan as _resampling_plan

LATENT = 8
BASE = 4
NUM_CLASSES = 3
BATCH = 2
SHAPES = [(28, 28, 1), (32, 32, 3), (8, 8, 3)]
GENERATORS = [DCGANGenerator, SNGANCNNGenerator, ResNetGenerator]
DISCRIMINATORS = [DCGANDiscriminator, SNGANCNNDiscriminator, ResNetDiscriminator]
RECEIVED = re.compile(r"Received: [^\n]*$")


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _make(cls, shape=(8, 8, 3), conditional=False, **kwargs):
    num_classes = NUM_CLASSES if conditional else None
    if cls in GENERATORS:
        return cls(LATENT, shape, base_filters=BASE, num_classes=num_classes, **kwargs)
    return cls(shape, base_filters=BASE, num_classes=num_classes, **kwargs)


def _inputs(model, seed=0):
    """A batch of inputs matching `model` (z or images, plus labels)."""
    rng = np.random.default_rng(seed)
    if isinstance(model, tuple(GENERATORS)):
        x = rng.standard_normal((BATCH, model.latent_dim)).astype("float32")
    else:
        x = rng.uniform(-1, 1, (BATCH, *model.image_shape)).astype("float32")
    if model.num_classes:
        return [x, np.array([0, NUM_CLASSES - 1], dtype="int32")[:BATCH]]
    return x


def _l2n(x):
    return x / np.linalg.norm(x)


def _matrix_with_singular_values(rows, cols, singular_values, seed):
    """A (rows, cols) matrix U diag(s) V^T with the given singular values."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((rows, rows)))
    v, _ = np.linalg.qr(rng.standard_normal((cols, cols)))
    s = np.zeros((rows, cols))
    k = len(singular_values)
    s[np.arange(k), np.arange(k)] = singular_values
    return u @ s @ v.T


def _spectral_layer(kind, power_iterations=1):
    """A built spectral layer whose weight matrix has known singular values.

    Returns:
        (layer, call_input, matrix_rows, singular_values)
    """
    s = np.array([4.0, 2.0, 1.0, 0.5])
    if kind == "dense":
        layer = SpectralDense(4, power_iterations=power_iterations)
        x = np.random.default_rng(1).standard_normal((BATCH, 6)).astype("float32")
        rows = 6
    elif kind == "conv":
        layer = SpectralConv2D(4, 3, power_iterations=power_iterations, padding="same")
        x = np.random.default_rng(1).standard_normal((BATCH, 5, 5, 2)).astype("float32")
        rows = 3 * 3 * 2
    else:
        layer = SpectralEmbedding(7, 4, power_iterations=power_iterations)
        x = np.array([0, 3, 6], dtype="int32")
        rows = 7
    layer(x)
    w = _matrix_with_singular_values(rows, 4, s, seed=2)
    weight = layer._raw_weight()
    weight.assign(w.reshape(weight.shape).astype("float32"))
    return layer, x, rows, s


# ----------------------------------------------------------------------------
# shapes, dtypes, ranges
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("conditional", [False, True], ids=["uncond", "cond"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("cls", GENERATORS, ids=lambda c: c.__name__)
def test_generator_output_shape_dtype_range(cls, shape, conditional):
    g = _make(cls, shape, conditional)
    # A huge output kernel saturates the output: without a final tanh the
    # values would leave [-1, 1].
    to_image = g.get_layer("to_image")
    to_image.kernel.assign(to_image.kernel * 1e4)
    images = g(_inputs(g), training=True).numpy()  # batch statistics: O(1) features
    assert images.shape == (BATCH, *shape)
    assert images.dtype == np.float32
    assert np.all(np.isfinite(images))
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert np.abs(images).max() > 0.9  # the range check above is not vacuous
    assert len(g.inputs) == (2 if conditional else 1)


@pytest.mark.parametrize("conditional", [False, True], ids=["uncond", "cond"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("cls", DISCRIMINATORS, ids=lambda c: c.__name__)
def test_discriminator_output_shape_dtype(cls, shape, conditional):
    d = _make(cls, shape, conditional)
    logits = d(_inputs(d), training=True).numpy()
    assert logits.shape == (BATCH, 1)
    assert logits.dtype == np.float32
    assert np.all(np.isfinite(logits))


@pytest.mark.parametrize(
    "size, expected",
    [(8, (1, 4)), (16, (2, 4)), (28, (2, 7)), (32, (3, 4)), (48, (4, 3)), (64, (4, 4))],
)
def test_resampling_plan_rule(size, expected):
    """Halve while even and > 4: the count of halvings and the start size."""
    _, num, start = _resampling_plan((size, size, 3), "test")
    assert (num, start) == expected
    assert start * 2**num == size


# ----------------------------------------------------------------------------
# architectures (layer-by-layer, from the papers)
# ----------------------------------------------------------------------------
def test_dcgan_generator_architecture_and_parameter_count():
    """64x64: project to 4x4x(b*16), deconvs b*8, b*4, b*2, then C (paper Fig. 1)."""
    k, b, c = 5, BASE, 3
    g = DCGANGenerator(LATENT, (64, 64, c), base_filters=b, kernel_size=k)
    deconvs = [l for l in g.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert [l.filters for l in deconvs] == [8 * b, 4 * b, 2 * b, c]
    assert all(l.strides == (2, 2) and l.kernel_size == (k, k) for l in deconvs)
    assert g.get_layer("project_reshape").output.shape[1:] == (4, 4, 16 * b)
    bns = [l for l in g.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert len(bns) == 4  # none on the output
    chans = [16 * b, 8 * b, 4 * b, 2 * b]
    expected = LATENT * 4 * 4 * 16 * b  # projection, no bias (BN follows)
    expected += sum(k * k * cin * cout for cin, cout in zip(chans, chans[1:] + [c]))
    expected += c  # bias of the output deconv only
    expected += sum(4 * ch for ch in chans)  # BN gamma, beta, mean, variance
    assert g.count_params() == expected


def test_dcgan_discriminator_architecture():
    d = DCGANDiscriminator((32, 32, 3), base_filters=BASE)
    convs = [l for l in d.layers if isinstance(l, keras.layers.Conv2D)]
    assert [l.filters for l in convs] == [BASE, 2 * BASE, 4 * BASE]
    assert all(l.strides == (2, 2) for l in convs)
    bns = [l for l in d.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert len(bns) == 2  # not after the first conv
    lrelus = [l for l in d.layers if isinstance(l, keras.layers.LeakyReLU)]
    assert [l.negative_slope for l in lrelus] == pytest.approx([0.2] * 3)
    assert d.get_layer("flatten").output.shape[1:] == (4 * 4 * 4 * BASE,)
    for norm, layer_cls, count in [("layer", keras.layers.LayerNormalization, 2), ("none", None, 0)]:
        critic = DCGANDiscriminator((32, 32, 3), base_filters=BASE, normalization=norm)
        assert not any(isinstance(l, keras.layers.BatchNormalization) for l in critic.layers)
        if layer_cls:
            assert sum(isinstance(l, layer_cls) for l in critic.layers) == count


def test_sngan_cnn_discriminator_matches_table3():
    d = SNGANCNNDiscriminator((32, 32, 3), base_filters=BASE)
    convs = [l for l in d.layers if isinstance(l, keras.layers.Conv2D)]
    got = [(l.filters // BASE, l.kernel_size[0], l.strides[0]) for l in convs]
    assert got == [(1, 3, 1), (1, 4, 2), (2, 3, 1), (2, 4, 2), (4, 3, 1), (4, 4, 2), (8, 3, 1)]
    assert all(isinstance(l, SpectralConv2D) for l in convs)
    lrelus = [l for l in d.layers if isinstance(l, keras.layers.LeakyReLU)]
    assert [l.negative_slope for l in lrelus] == pytest.approx([0.1] * 7)
    assert d.get_layer("flatten").output.shape[1:] == (4 * 4 * 8 * BASE,)


def test_sngan_cnn_generator_channels():
    g = SNGANCNNGenerator(LATENT, (32, 32, 3), base_filters=BASE)
    deconvs = [l for l in g.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert [l.filters for l in deconvs] == [4 * BASE, 2 * BASE, BASE]
    assert all(l.kernel_size == (4, 4) and l.strides == (2, 2) for l in deconvs)
    assert g.get_layer("project_reshape").output.shape[1:] == (4, 4, 8 * BASE)
    assert g.get_layer("to_image").kernel_size == (3, 3)


@pytest.mark.parametrize("size, blocks, start", [(32, 3, 4), (28, 2, 7), (64, 4, 4)])
def test_resnet_generator_blocks(size, blocks, start):
    g = ResNetGenerator(LATENT, (size, size, 1), base_filters=BASE)
    assert g.get_layer("project_reshape").output.shape[1:] == (start, start, BASE)
    adds = [l for l in g.layers if isinstance(l, keras.layers.Add)]
    assert len(adds) == blocks
    ups = [l for l in g.layers if isinstance(l, keras.layers.UpSampling2D)]
    assert len(ups) == 2 * blocks  # residual path and shortcut of each block


def test_resnet_discriminator_structure():
    d = ResNetDiscriminator((32, 32, 3), base_filters=BASE, spectral_norm=True, pooling="sum")
    convs = [l for l in d.layers if isinstance(l, keras.layers.Conv2D)]
    assert len(convs) == 4 * 2 + 2  # two 3x3 convs per block + two 1x1 shortcuts
    assert sum(l.kernel_size == (1, 1) for l in convs) == 2
    assert d.get_layer("final_relu").output.shape[1:] == (8, 8, BASE)  # 32 / 4
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in d.layers)


def test_projection_discriminator_math():
    """D(x, y) - D(x, y') = <embed(y) - embed(y'), phi(x)> (arXiv:1802.05637)."""
    d = ResNetDiscriminator(
        (8, 8, 3), base_filters=BASE, num_classes=NUM_CLASSES, spectral_norm=True, pooling="sum"
    )
    x = np.random.default_rng(0).uniform(-1, 1, (BATCH, 8, 8, 3)).astype("float32")
    phi = keras.Model(d.inputs, d.get_layer("sum_pool").output)
    features = phi([x, np.zeros(BATCH, "int32")]).numpy()
    pre_pool = keras.Model(d.inputs, d.get_layer("final_relu").output)
    np.testing.assert_allclose(
        features, pre_pool([x, np.zeros(BATCH, "int32")]).numpy().sum(axis=(1, 2)), rtol=1e-5
    )
    embedding = d.get_layer("class_embedding").effective_kernel().numpy()
    y0, y2 = np.zeros(BATCH, "int32"), np.full(BATCH, 2, "int32")
    diff = d([x, y0]).numpy()[:, 0] - d([x, y2]).numpy()[:, 0]
    expected = features @ (embedding[0] - embedding[2])
    np.testing.assert_allclose(diff, expected, rtol=1e-4, atol=1e-6)


def test_conditional_batch_normalization_math():
    cbn = ConditionalBatchNormalization(NUM_CLASSES)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 3, 5)).astype("float32") * 3 + 1
    labels = np.array([0, 2, 1, 2], "int32")
    cbn([x, labels])
    np.testing.assert_array_equal(cbn.gamma.numpy(), np.ones((NUM_CLASSES, 5)))
    np.testing.assert_array_equal(cbn.beta.numpy(), np.zeros((NUM_CLASSES, 5)))
    gamma = rng.standard_normal((NUM_CLASSES, 5)).astype("float32")
    beta = rng.standard_normal((NUM_CLASSES, 5)).astype("float32")
    cbn.gamma.assign(gamma)
    cbn.beta.assign(beta)
    out = cbn([x, labels], training=True).numpy()
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    expected = gamma[labels][:, None, None] * (x - mean) / np.sqrt(var + cbn.epsilon)
    expected += beta[labels][:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_global_sum_pooling():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype("float32")
    np.testing.assert_allclose(GlobalSumPooling2D()(x).numpy(), x.sum(axis=(1, 2)), rtol=1e-5)


# ----------------------------------------------------------------------------
# serialization
# ----------------------------------------------------------------------------
def _variants():
    out = []
    for cls in GENERATORS:
        out.append((cls, {}))
    out.append((DCGANDiscriminator, {"normalization": "layer"}))
    out.append((DCGANDiscriminator, {"spectral_norm": True}))
    out.append((SNGANCNNDiscriminator, {}))
    out.append((ResNetDiscriminator, {"spectral_norm": True, "pooling": "sum"}))
    return out


def _structure(model):
    return [(type(l).__name__, l.name, [tuple(w.shape) for w in l.weights]) for l in model.layers]


@pytest.mark.parametrize(
    "cls, kwargs", _variants(), ids=lambda v: v.__name__ if isinstance(v, type) else str(v)
)
def test_config_round_trip(cls, kwargs):
    model = _make(cls, conditional=True, kernel_initializer="he_normal", **kwargs)
    config = json.loads(json.dumps(model.get_config()))  # must be JSON-able
    assert {"name", "trainable", "base_filters", "num_classes", "image_shape"} <= set(config)
    clone = cls.from_config(config)
    assert clone.get_config() == model.get_config()
    assert _structure(clone) == _structure(model)
    clone.set_weights(model.get_weights())
    inputs = _inputs(model)
    np.testing.assert_array_equal(clone(inputs).numpy(), model(inputs).numpy())


@pytest.mark.parametrize(
    "cls, kwargs", _variants(), ids=lambda v: v.__name__ if isinstance(v, type) else str(v)
)
def test_keras_file_round_trip(cls, kwargs, tmp_path):
    model = _make(cls, conditional=True, **kwargs)
    inputs = _inputs(model)
    for _ in range(2):  # move BN statistics and the spectral-norm u away from init
        model(inputs, training=True)
    path = tmp_path / "net.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is cls
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.weights, loaded.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(spectral_norm_layers(model), spectral_norm_layers(loaded)):
        np.testing.assert_array_equal(a.u.numpy(), b.u.numpy())
    np.testing.assert_array_equal(loaded(inputs).numpy(), model(inputs).numpy())


def test_spectral_layer_configs():
    for layer in (
        SpectralDense(3, power_iterations=2, use_bias=False),
        SpectralConv2D(3, 2, power_iterations=2, strides=2),
        SpectralEmbedding(5, 3, power_iterations=2),
    ):
        config = layer.get_config()
        assert config["power_iterations"] == 2
        clone = type(layer).from_config(config)
        assert clone.get_config() == config


# ----------------------------------------------------------------------------
# spectral normalization math
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["dense", "conv", "embedding"])
@pytest.mark.parametrize("mode", ["50_iterations", "repeated_training_calls"])
def test_effective_kernel_has_unit_spectral_norm(kind, mode):
    """sing. values of W / sigma(W) are s / s_max: the largest is 1."""
    if mode == "50_iterations":
        layer, x, rows, s = _spectral_layer(kind, power_iterations=50)
        layer(x, training=True)
    else:
        layer, x, rows, s = _spectral_layer(kind, power_iterations=1)
        for _ in range(20):
            layer(x, training=True)
    w_bar = layer.effective_kernel().numpy()
    assert w_bar.shape == tuple(layer._raw_weight().shape)
    singular = np.linalg.svd(w_bar.reshape(rows, -1), compute_uv=False)
    assert singular[0] == pytest.approx(1.0, abs=1e-2)
    np.testing.assert_allclose(singular, s / s[0], atol=1e-2)
    assert float(layer.spectral_norm_estimate()) == pytest.approx(s[0], rel=1e-3)
    # The raw weight is untouched (not overwritten by W / sigma).
    raw = np.linalg.svd(np.reshape(layer._raw_weight().numpy(), (rows, -1)), compute_uv=False)
    np.testing.assert_allclose(raw, s, rtol=1e-5)


@pytest.mark.parametrize("kind", ["dense", "conv", "embedding"])
def test_u_updates_only_in_training_and_inference_still_normalizes(kind):
    layer, x, rows, _ = _spectral_layer(kind)
    w = np.reshape(layer._raw_weight().numpy(), (rows, -1)).astype("float64")
    u0 = layer.u.numpy().astype("float64")
    # One numpy power-iteration round from the stored u (Miyato et al., Alg. 1).
    v = _l2n(u0 @ w.T)
    u1 = _l2n(v @ w)
    sigma = (v @ w @ u1.T).item()
    for training in (False, None):
        out = layer(x, training=training).numpy()
        np.testing.assert_array_equal(layer.u.numpy(), u0.astype("float32"))
    w_bar = w / sigma
    if kind == "dense":
        expected = x @ w_bar + layer.bias.numpy()
    elif kind == "embedding":
        expected = w_bar[x]
    else:
        expected = tf.nn.conv2d(x, w_bar.reshape(3, 3, 2, 4).astype("float32"), 1, "SAME")
        expected = expected.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    layer(x, training=True)
    np.testing.assert_allclose(layer.u.numpy(), u1, rtol=1e-5, atol=1e-6)


def test_u_weight_properties():
    layer, _, _, _ = _spectral_layer("dense")
    assert layer.u.shape == (1, 4)
    assert not layer.u.trainable
    assert layer.u.aggregation == "only_first_replica"
    assert layer.u.dtype == "float32"
    assert all(w is not layer.u for w in layer.trainable_weights)


def _numeric_grad(f, w, eps=1e-6):
    grad = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        dw = np.zeros_like(w)
        dw[idx] = eps
        grad[idx] = (f(w + dw) - f(w - dw)) / (2 * eps)
    return grad


def _fixed_uv(layer, rows):
    """u, v after one power-iteration round from the stored u (numpy, float64)."""
    w = np.reshape(layer._raw_weight().numpy(), (rows, -1)).astype("float64")
    v = _l2n(layer.u.numpy().astype("float64") @ w.T)
    return _l2n(v @ w), v


@pytest.mark.parametrize("kind", ["dense", "conv", "embedding"])
def test_gradient_flows_through_sigma(kind):
    """d/dW sum(W/sigma(W) * G) with u, v held fixed, vs finite differences.

    With sigma(W) = v W u^T (u, v constants): grad = G/sigma - <W, G>/sigma^2 v^T u,
    which differs from G/sigma (the gradient if sigma were a constant).
    """
    keras.utils.set_random_seed(0)  # the size of the sigma term depends on the random W and u
    layer, _, rows, _ = _spectral_layer(kind)
    shape = tuple(layer._raw_weight().shape)
    g_mat = np.random.default_rng(3).standard_normal(shape)
    u, v = _fixed_uv(layer, rows)
    w = layer._raw_weight().numpy().astype("float64")

    def f(w_):
        m = w_.reshape(rows, -1)
        return float(np.sum(m / (v @ m @ u.T).item() * g_mat.reshape(rows, -1)))

    kernel = layer._raw_weight()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer.effective_kernel() * g_mat.astype("float32"))
    grad = tape.gradient(loss, kernel).numpy()
    numeric = _numeric_grad(f, w)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-5)
    m = w.reshape(rows, -1)
    sigma = (v @ m @ u.T).item()
    analytic = g_mat.reshape(rows, -1) / sigma - np.sum(m * g_mat.reshape(rows, -1)) / sigma**2 * (
        v.T @ u
    )
    np.testing.assert_allclose(grad.reshape(rows, -1), analytic, rtol=1e-3, atol=1e-5)
    sigma_constant = g_mat / sigma
    assert np.linalg.norm(grad - sigma_constant) > 0.05 * np.linalg.norm(sigma_constant)


def test_gradient_through_dense_call_matches_finite_differences():
    """Through `call`: loss = sum((x W/sigma(W) + b) * R), u and v held fixed."""
    layer, x, rows, _ = _spectral_layer("dense")
    r = np.random.default_rng(4).standard_normal((BATCH, 4))
    u, v = _fixed_uv(layer, rows)
    bias = layer.bias.numpy().astype("float64")

    def f(w_):
        return float(np.sum((x @ (w_ / (v @ w_ @ u.T).item()) + bias) * r))

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=False) * r.astype("float32"))
    grad = tape.gradient(loss, layer.kernel).numpy()
    w = layer.kernel.numpy().astype("float64")
    np.testing.assert_allclose(grad, _numeric_grad(f, w), rtol=1e-3, atol=1e-5)
    sigma = (v @ w @ u.T).item()
    assert np.linalg.norm(grad - x.T @ r / sigma) > 0.05 * np.linalg.norm(x.T @ r / sigma)


def test_spectral_layer_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer, x, rows, s = _spectral_layer("dense", power_iterations=1)
        assert layer.compute_dtype == "bfloat16"
        out = layer(x, training=True)
        assert out.dtype == "bfloat16"
        assert layer.u.dtype == "float32" and layer._raw_weight().dtype == "float32"
        # sigma in float32: matches a float64 numpy power iteration far below bf16 eps.
        u, v = _fixed_uv(layer, rows)
        w = layer.kernel.numpy().astype("float64")
        sigma = layer.spectral_norm_estimate()
        assert sigma.dtype == "float32"
        assert float(sigma) == pytest.approx((v @ w @ u.T).item(), rel=1e-5)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_network_u_changes_only_with_training_true():
    d = _make(SNGANCNNDiscriminator, conditional=True)
    inputs = _inputs(d)
    before = [l.u.numpy().copy() for l in spectral_norm_layers(d)]
    d(inputs)
    d(inputs, training=False)
    assert all(np.array_equal(b, l.u.numpy()) for b, l in zip(before, spectral_norm_layers(d)))
    d(inputs, training=True)
    assert all(not np.array_equal(b, l.u.numpy()) for b, l in zip(before, spectral_norm_layers(d)))


# ----------------------------------------------------------------------------
# "every kernel is spectral" helpers
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("conditional", [False, True], ids=["uncond", "cond"])
@pytest.mark.parametrize("cls", DISCRIMINATORS, ids=lambda c: c.__name__)
def test_unnormalized_kernel_layers(cls, conditional):
    plain = _make(cls, conditional=conditional, spectral_norm=False)
    sn = _make(cls, conditional=conditional, spectral_norm=True)
    expected = [l.name for l in plain.layers if hasattr(l, "kernel") or hasattr(l, "embeddings")]
    assert [l.name for l in unnormalized_kernel_layers(plain)] == expected
    assert spectral_norm_layers(plain) == []
    assert unnormalized_kernel_layers(sn) == []
    assert [l.name for l in spectral_norm_layers(sn)] == expected
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in sn.layers)
    # Nested search: a model wrapping the discriminator.
    images = keras.Input(sn.input_shape[0][1:] if conditional else sn.input_shape[1:])
    inputs = [images, keras.Input((), dtype="int32")] if conditional else images
    outer = keras.Model(inputs, sn(inputs))
    assert len(spectral_norm_layers(outer)) == len(expected)
    assert unnormalized_kernel_layers(keras.Model(inputs, plain(inputs)))


# ----------------------------------------------------------------------------
# mixed precision
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, kwargs", _variants(), ids=lambda v: v.__name__ if isinstance(v, type) else str(v)
)
def test_mixed_bfloat16_outputs_float32(cls, kwargs):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _make(cls, conditional=True, **kwargs)
        assert any(l.compute_dtype == "bfloat16" for l in model.layers)
        out = model(_inputs(model), training=True)
        assert out.dtype == "float32"
        assert np.all(np.isfinite(out.numpy()))
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("conditional", [False, True], ids=["uncond", "cond"])
@pytest.mark.parametrize(
    "cls, kwargs", _variants(), ids=lambda v: v.__name__ if isinstance(v, type) else str(v)
)
def test_mixed_bfloat16_forward_equals_float32_within_bfloat16_precision(cls, kwargs, conditional):
    # The same weights, built once under float32 and once under mixed_bfloat16 (float32
    # variables, bfloat16 compute). bfloat16 keeps 8 significant bits (unit round-off
    # 2^-9 ~ 2e-3); through a whole network the output's relative error measured <= 1e-2, so
    # the bound is 3e-2 (about 15 round-offs). It must not be 0 either: the network really
    # computes in bfloat16 (a float32 network behind a bfloat16 policy would give 0 exactly).
    keras.utils.set_random_seed(0)
    reference = _make(cls, conditional=conditional, **kwargs)
    inputs = _inputs(reference)
    expected = reference(inputs, training=False).numpy().astype("float64")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _make(cls, conditional=conditional, **kwargs)
        model.set_weights(reference.get_weights())
        got = model(inputs, training=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert got.dtype == "float32"
    error = np.linalg.norm(got.numpy() - expected) / np.linalg.norm(expected)
    assert 0 < error < 3e-2, error


# ----------------------------------------------------------------------------
# conditional networks use their labels
# ----------------------------------------------------------------------------
CONDITIONAL_GENERATORS = [
    (DCGANGenerator, {}),
    (SNGANCNNGenerator, {"conditioning": "concat"}),
    (SNGANCNNGenerator, {"conditioning": "batchnorm"}),
    (ResNetGenerator, {}),
]


def _perturbed(model, seed=1, std=0.1):
    """`model` with N(0, std^2) noise added to every trainable weight.

    Conditional BatchNorm starts with gamma = 1, beta = 0 for every class (Miyato & Koyama
    2018), so at initialization a conditional-BN generator gives the same image for every
    label; training moves the per-class rows apart, which the noise stands in for.
    """
    rng = np.random.default_rng(seed)
    for v in model.trainable_variables:
        v.assign(v.numpy() + rng.normal(0.0, std, v.shape).astype(v.dtype))
    return model


@pytest.mark.parametrize(
    "cls, kwargs", CONDITIONAL_GENERATORS, ids=lambda v: v.__name__ if isinstance(v, type) else str(v)
)
def test_conditional_generator_output_depends_on_the_label_per_sample(cls, kwargs):
    # G(z, 0) != G(z, 1) for every z by a clear fraction of the image (measured >= 20%), and
    # the labels are routed per sample: row i of G(z, [0, 1, 0, 1]) is G(z_i, label_i)
    # (inference mode: BatchNorm uses moving statistics, rows are independent).
    keras.utils.set_random_seed(0)
    g = _perturbed(_make(cls, conditional=True, **kwargs))
    n = 4
    z = np.random.default_rng(0).standard_normal((n, LATENT)).astype("float32")
    a = g([z, np.zeros(n, "int32")]).numpy().reshape(n, -1)
    b = g([z, np.ones(n, "int32")]).numpy().reshape(n, -1)
    rel = np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)
    assert np.all(rel > 0.05), rel
    mixed = g([z, np.array([0, 1, 0, 1], "int32")]).numpy().reshape(n, -1)
    np.testing.assert_allclose(mixed, np.where(np.arange(n)[:, None] % 2, b, a), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spectral_norm", [False, True], ids=["plain", "sn"])
@pytest.mark.parametrize("cls", DISCRIMINATORS, ids=lambda c: c.__name__)
def test_projection_discriminator_logit_changes_when_only_the_label_changes(cls, spectral_norm):
    # D(x, y) = psi(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018, eq. 3): the same images
    # under labels 0 and 1 differ by <embed(0) - embed(1), phi(x)>, nonzero for a random
    # embedding (measured >= 7% of the logits' scale), in every sample.
    keras.utils.set_random_seed(0)
    d = _make(cls, conditional=True, spectral_norm=spectral_norm)
    n = 4
    x = np.random.default_rng(0).uniform(-1, 1, (n, *d.image_shape)).astype("float32")
    d0 = d([x, np.zeros(n, "int32")]).numpy()[:, 0]
    d1 = d([x, np.ones(n, "int32")]).numpy()[:, 0]
    assert np.all(np.abs(d0 - d1) > 1e-2 * np.abs(d0).max()), (d0, d1)


# ----------------------------------------------------------------------------
# registry lookup and bad arguments
# ----------------------------------------------------------------------------
def test_get_network_class():
    for cls in GENERATORS + DISCRIMINATORS:
        assert get_network_class(cls.__name__) is cls
        assert getattr(networks, cls.__name__) is cls
    with pytest.raises(ValueError, match="DCGANGenerator") as info:
        get_network_class("DCGANGen")
    assert str(info.value).endswith("Received: name='DCGANGen'")


def _bad_cases():
    cases = []
    for cls in GENERATORS + DISCRIMINATORS:
        for shape in [(32, 28, 3), (30, 30, 3), (4, 4, 3), (7, 7, 1), (32, 32), (0, 0, 3)]:
            cases.append((cls, {"image_shape": shape}, "image_shape"))
        cases.append((cls, {"base_filters": 0}, "base_filters"))
        cases.append((cls, {"num_classes": 0}, "num_classes"))
    for cls in GENERATORS:
        cases.append((cls, {"latent_dim": 0}, "latent_dim"))
    cases.append((DCGANDiscriminator, {"normalization": "group"}, "normalization"))
    cases.append(
        (DCGANDiscriminator, {"normalization": "batch", "spectral_norm": True}, "normalization")
    )
    cases.append((ResNetDiscriminator, {"pooling": "max"}, "pooling"))
    cases.append((SNGANCNNDiscriminator, {"power_iterations": 0}, "power_iterations"))
    return cases


@pytest.mark.parametrize(
    "cls, overrides, arg",
    _bad_cases(),
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_bad_arguments_raise_value_error(cls, overrides, arg):
    kwargs = {"image_shape": (8, 8, 3), "base_filters": BASE}
    if cls in GENERATORS:
        kwargs["latent_dim"] = LATENT
    kwargs.update(overrides)
    with pytest.raises(ValueError) as info:
        cls(**kwargs)
    message = str(info.value)
    assert RECEIVED.search(message), message
    assert arg in message.split("Received:")[-1], message


@pytest.mark.parametrize(
    "make",
    [
        lambda: SpectralDense(3, lora_rank=2),
        lambda: SpectralDense(3, power_iterations=0),
        lambda: SpectralConv2D(3, 3, power_iterations=1.5),
        lambda: ConditionalBatchNormalization(0),
    ],
)
def test_bad_layer_arguments(make):
    with pytest.raises(ValueError, match=r"Received: "):
        make()
