"""`ganzoo.sampling`: the sampling protocol against the math it states."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from ganzoo import sampling


def test_latent_is_stateless_normal_with_seed_seed_0():
    z = sampling.latent(5, 3, seed=11)
    want = tf.random.stateless_normal((5, 3), seed=[11, 0], dtype="float32")
    assert z.dtype == tf.float32 and z.shape == (5, 3)
    np.testing.assert_array_equal(z.numpy(), want.numpy())
    np.testing.assert_array_equal(sampling.latent(np.int64(5), 3, np.int64(11)).numpy(), want.numpy())
    assert not np.array_equal(sampling.latent(5, 3, seed=12).numpy(), want.numpy())


@pytest.mark.parametrize("num_dtype, seed_dtype", [(tf.int32, tf.int64), (tf.int64, tf.int32)])
def test_latent_in_a_graph_with_int_tensors_equals_eager_latent(num_dtype, seed_dtype):
    # The export's `generate` signature calls `latent` inside a tf.function with tensor inputs.
    @tf.function(input_signature=[tf.TensorSpec([], num_dtype), tf.TensorSpec([], seed_dtype)])
    def graph_twin(num, seed):
        return sampling.latent(num, 4, seed)

    for num, seed in ((1, 0), (6, 7), (3, 2**31 - 2)):
        got = graph_twin(tf.constant(num, num_dtype), tf.constant(seed, seed_dtype))
        np.testing.assert_array_equal(got.numpy(), sampling.latent(num, 4, seed).numpy())


@pytest.mark.parametrize("args", [(2.0, 3, 0), (True, 3, 0), (-1, 3, 0), (2, 0, 0), (2, 3, 1.5)])
def test_latent_refuses_non_integers_and_out_of_range_numbers(args):
    with pytest.raises(ValueError, match="Received: "):
        sampling.latent(*args)


def test_default_labels_are_arange_modulo_num_classes():
    labels = sampling.default_labels(7, 3)
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, [0, 1, 2, 0, 1, 2, 0])
    assert sampling.default_labels(7, None) is None
    graph = tf.function(lambda n: sampling.default_labels(n, 3))(tf.constant(7))
    np.testing.assert_array_equal(graph.numpy(), [0, 1, 2, 0, 1, 2, 0])


def test_resolve_labels_defaults_broadcasts_a_scalar_and_checks_class_ids():
    np.testing.assert_array_equal(sampling.resolve_labels(None, 7, 3), [0, 1, 2, 0, 1, 2, 0])
    scalar = sampling.resolve_labels(2, 4, 3)
    assert scalar.dtype == np.int32
    np.testing.assert_array_equal(scalar, [2, 2, 2, 2])
    np.testing.assert_array_equal(sampling.resolve_labels([[1], [0]], 2, 3), [1, 0])  # (n, 1) flattened
    assert sampling.resolve_labels(None, 4, None) is None
    with pytest.raises(ValueError, match=r"in \[0, 3\)\. Received: labels in \[0, 3\]$"):
        sampling.resolve_labels([0, 3], 2, 3)
    with pytest.raises(ValueError, match=r"in \[0, 3\)\. Received: labels in \[5, 5\]$"):
        sampling.resolve_labels(5, 2, 3)
    with pytest.raises(ValueError, match=r"Received: labels of shape \(3,\)$"):
        sampling.resolve_labels([0, 1, 2], 2, 3)  # one label per image
    with pytest.raises(ValueError, match=r"unconditional \(num_classes=None\)\. Received: labels of shape \(2,\)$"):
        sampling.resolve_labels([0, 1], 2, None)


def _dense_generator(conditional):
    """A tiny functional generator: z (4,) [+ label] -> 2x3x1 images."""
    keras.utils.set_random_seed(0)
    z = keras.Input((4,))
    h = z
    inputs = [z]
    if conditional:
        y = keras.Input((), dtype="int32")
        h = keras.layers.Concatenate()([z, keras.layers.Embedding(3, 2)(y)])
        inputs.append(y)
    out = keras.layers.Reshape((2, 3, 1))(keras.layers.Dense(6, activation="tanh")(h))
    return keras.Model(inputs if conditional else z, out)


@pytest.mark.parametrize("conditional", [False, True])
def test_sample_in_batches_equals_one_call_on_every_latent(conditional):
    gen = _dense_generator(conditional)
    z = sampling.latent(5, 4, seed=3)
    labels = sampling.resolve_labels(None, 5, 3 if conditional else None)
    images = sampling.sample(gen, z, labels, batch_size=2)  # 2 + 2 + 1
    once = gen(z if labels is None else [z, tf.constant(labels)], training=False).numpy()
    assert images.dtype == np.float32 and images.shape == (5, 2, 3, 1)
    assert images.std() > 1e-3  # not a constant output
    np.testing.assert_allclose(images, once, rtol=1e-6, atol=1e-6)
    # numpy latents, and a batch larger than the number of images
    np.testing.assert_allclose(sampling.sample(gen, z.numpy(), labels, batch_size=256), once,
                               rtol=1e-6, atol=1e-6)


def test_sample_calls_a_stand_in_that_is_not_a_keras_layer_as_is():
    calls = []

    def stand_in(inputs, training=False):
        calls.append((np.asarray(inputs).shape, training))
        return np.asarray(inputs)[:, :, None, None] * 2.0

    images = sampling.sample(stand_in, np.ones((3, 2), "float32"), batch_size=2)
    assert calls == [((2, 2), False), ((1, 2), False)]
    np.testing.assert_array_equal(images, np.full((3, 2, 1, 1), 2.0, "float32"))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, r"batch_size must be an integer in \[1, inf\)\. Received: batch_size=0"),
        ({"batch_size": 2.0}, r"Received: batch_size=2\.0"),
        ({"labels": [0, 1]}, r"one label per latent vector\. Received: labels of shape \(2,\)"),
        ({"z": np.zeros((0, 4), "float32")}, r"at least one latent vector\. Received: z of shape \(0, 4\)"),
    ],
)
def test_sample_refuses_bad_arguments(kwargs, match):
    gen = _dense_generator(conditional=False)
    args = {"z": np.zeros((3, 4), "float32"), **kwargs}
    with pytest.raises(ValueError, match=match):
        sampling.sample(gen, **args)
