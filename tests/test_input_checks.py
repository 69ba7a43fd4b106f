"""Bad input to the GAN engine, refused before any step with what was expected and received:
images, labels, batches, datasets, networks and settings."""

import numpy as np
import pytest
import tensorflow as tf
import keras

import ganzoo
from conftest import as_dataset, every_kernel_moved, real_batch, tiny_model, trainable_values


# --- bad input ----------------------------------------------------------------


@pytest.fixture(scope="module")
def wgan():
    return tiny_model("wgan_gp_mnist")


def test_wrong_image_shape_is_refused(wgan):
    bad = np.zeros((10, 32, 32, 1), "float32")
    with pytest.raises(ValueError, match=r"shape \(batch, 28, 28, 1\).*Received: images of shape \(10, 32, 32, 1\)"):
        wgan.fit(as_dataset(bad), verbose=0)


def test_wrong_channel_count_is_refused(wgan):
    bad = np.zeros((10, 28, 28, 3), "float32")
    with pytest.raises(ValueError, match=r"Received: images of shape \(10, 28, 28, 3\)"):
        wgan.fit(as_dataset(bad), verbose=0)


def test_non_float_data_is_refused(wgan):
    bad = np.zeros((10, 28, 28, 1), "uint8")
    with pytest.raises(ValueError, match="Received: images of dtype uint8"):
        wgan.fit(as_dataset(bad), verbose=0)


def test_unscaled_data_is_refused_before_any_step(wgan):
    before = int(wgan.d_optimizer.iterations)
    bad = np.full((10, 28, 28, 1), 255.0, "float32")
    with pytest.raises(ValueError, match=r"\[-1, 1\].*Received: a first batch with values in \[255, 255\]"):
        wgan.fit(as_dataset(bad), verbose=0)
    assert int(wgan.d_optimizer.iterations) == before


def test_batch_smaller_than_the_d_step_split_is_refused(wgan):
    bad = np.zeros((3, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match="d_steps=5.*Received: a batch of 3 images"):
        wgan.fit(as_dataset(bad), verbose=0)
    with pytest.raises(ValueError, match="Received: a batch of 7 images"):
        wgan.fit(as_dataset(np.zeros((7, 28, 28, 1), "float32")), verbose=0)


def test_compile_refuses_a_loss_argument(wgan):
    with pytest.raises(ValueError, match="Received: loss='mse'"):
        wgan.compile(loss="mse")


# --- bad input, the whole kind (issue 12) ---------------------------------------
# Image scale: decided from the data's range (ganzoo.image_scale).


def test_unit_scale_images_are_refused_before_any_step(wgan):
    before = int(wgan.d_optimizer.iterations)
    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28, 1)).astype("float32") / 255.0
    for data, kwargs in ((as_dataset(images), {}), (images, {"batch_size": 10})):
        with pytest.raises(ValueError, match=r"\[0, 1\] scale.*expected \[-1, 1\].*x \* 2 - 1.*"
                                             r"Received: a first batch with values in \[0, 1\]"):
            wgan.fit(data, verbose=0, **kwargs)
    # A margin of 1e-3: rounding of [-1, 1] data passes, a real overshoot does not.
    with pytest.raises(ValueError, match=r"outside the expected \[-1, 1\] by more than the margin 0.001.*"
                                         r"Received: a first batch with values in \[-1, 1.01\]"):
        wgan.fit(as_dataset(np.concatenate([images * 2 - 1, np.full((5, 28, 28, 1), 1.01, "float32")])),
                 verbose=0)
    assert int(wgan.d_optimizer.iterations) == before


def test_the_first_batch_check_reads_the_pipeline_once(wgan):
    # Every element the pipeline produces is counted: a check that opened its own
    # iterator would pull a fourth element (and refill shuffle buffers, caches).
    produced = []

    def count(x):
        produced.append(1)
        return x

    batch = real_batch(wgan, per_step=2)
    ds = as_dataset(batch, repeats=3).map(lambda x: tf.numpy_function(count, [x], tf.float32, stateful=True))
    ds = ds.map(lambda x: tf.ensure_shape(x, batch.shape))
    before = int(wgan.g_optimizer.iterations)
    wgan.fit(ds, verbose=0)
    assert len(produced) == 3
    assert int(wgan.g_optimizer.iterations) == before + 3
    # ... and a bad first batch from a counted pipeline is still refused before any step.
    produced.clear()
    bad = ds.map(lambda x: (x + 1.0) / 2.0)  # the [0, 1] scale
    with pytest.raises(ValueError, match=r"\[0, 1\] scale.*Received: a first batch with values in"):
        wgan.fit(bad, verbose=0)
    assert int(wgan.g_optimizer.iterations) == before + 3


def test_empty_datasets_are_refused(wgan):
    batch = real_batch(wgan, per_step=2)
    known = as_dataset(batch).take(0)  # cardinality 0: refused before fit starts
    unknown = as_dataset(batch).filter(lambda x: False)  # known empty only once read
    for ds in (known, unknown):
        with pytest.raises(ValueError, match="The training dataset is empty. Received: .*Dataset"):
            wgan.fit(ds, verbose=0)


def test_a_resumed_fit_with_no_epoch_left_is_not_taken_for_an_empty_dataset():
    class ResumedAtTheEnd(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model._initial_epoch = 2  # what BackupAndRestore sets after the last epoch

    gan = tiny_model("wgan_gp_mnist")  # its own model: the resumed epoch stays set on it
    history = gan.fit(as_dataset(real_batch(gan, per_step=2)), epochs=2, verbose=0,
                      callbacks=[ResumedAtTheEnd()])
    assert history.epoch == [] and int(gan.g_optimizer.iterations) == 0


# Batch sizes known only at run time: the same message as the static check, raised by fit as a
# ValueError whose cause is TensorFlow's InvalidArgumentError of the failed in-graph assertion.


def _caused_by_a_failed_assertion(error):
    cause = error.value.__cause__
    assert isinstance(cause, tf.errors.InvalidArgumentError) and "assertion failed" in cause.message
    assert "Graph execution error" not in str(error.value)  # only ganzoo's message


def _tail_batches(n):
    """n images in batches of 25 without drop_remainder: the last batch is n % 25."""
    x = np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")
    return x, tf.data.Dataset.from_tensor_slices(x).batch(25)


@pytest.mark.parametrize("n, last", [(203, 3), (207, 7)])
def test_dynamic_last_batch_that_does_not_split_into_d_steps_is_refused(wgan, n, last):
    x, ds = _tail_batches(n)
    assert ds.element_spec.shape[0] is None  # dynamic: no static check possible
    before = int(wgan.d_optimizer.iterations)
    with pytest.raises(ValueError,
                       match=rf"^Each batch is split into d_steps=5 real batches.*multiple of 5.*"
                             rf"Received: a batch of {last} images$") as error:
        wgan.fit(ds, verbose=0)
    _caused_by_a_failed_assertion(error)
    assert int(wgan.d_optimizer.iterations) == before + 8 * 5  # the 8 full batches, not the last


def test_a_failed_assertion_of_other_code_stays_tensorflows_error(wgan):
    # Only ganzoo's own run-time checks become ValueErrors; a user's assertion is theirs.
    def mine(x):
        with tf.control_dependencies([tf.debugging.assert_less(tf.reduce_max(x), -2.0, message="my own check")]):
            return tf.identity(x)

    ds = as_dataset(real_batch(wgan, per_step=2)).map(mine)
    with pytest.raises(tf.errors.InvalidArgumentError, match="my own check"):
        wgan.fit(ds, verbose=0)


@pytest.mark.filterwarnings("ignore:Your input ran out of data")  # the end of an unknown-length epoch
def test_a_pipeline_of_unknown_length_makes_no_extra_step_at_the_end_of_an_epoch():
    # Without a step that waits for its batch, the failed fetch that ends each epoch
    # of an unknown-length pipeline still ran the generator step (6 steps here, not 4).
    gan = tiny_model("dcgan_mnist")
    x, _ = _tail_batches(50)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(25).filter(lambda b: True)
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    before = trainable_values(gan.generator)
    gan.fit(ds, epochs=2, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4 and int(gan.d_optimizer.iterations) == 4
    assert every_kernel_moved(before, trainable_values(gan.generator))


def test_dynamic_batch_check_holds_under_xla():
    # XLA compiles in-graph assertions to no-ops: the check runs in the input pipeline.
    # DCGAN with 2 D steps: the smallest step that splits its batch.
    gan = tiny_model("dcgan_mnist", jit_compile=True, d_steps=2)
    x = np.random.default_rng(0).uniform(-1, 1, (27, 28, 28, 1)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(24)  # 24, then 3: no static batch size
    with pytest.raises(ValueError, match="d_steps=2.*Received: a batch of 3 images") as error:
        gan.fit(ds, verbose=0)
    _caused_by_a_failed_assertion(error)
    assert int(gan.d_optimizer.iterations) == 2


def test_dynamic_batch_from_a_generator_is_checked_in_train_step(wgan):
    x, _ = _tail_batches(28)

    def batches():
        yield (x[:25],)
        yield (x[25:],)

    with pytest.raises(ValueError, match="d_steps=5.*Received: a batch of 3 images") as error:
        wgan.fit(batches(), verbose=0)
    _caused_by_a_failed_assertion(error)


def test_dynamic_batches_train_with_the_relativistic_loss():
    # The generator step pairs its fakes with the last D step's real batch, of run-time size.
    gan = tiny_model("dcgan_mnist", loss="relativistic", d_steps=2)
    x, _ = _tail_batches(10)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(4)  # 4, 4, 2 images
    history = gan.fit(ds, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert int(gan.g_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 6
    paired = tiny_model("dcgan_mnist", loss="relativistic", d_steps=2, g_batch_size=2)
    with pytest.raises(ValueError,
                       match=r"g_batch_size must equal the batch of one discriminator step \(1 images\)"
                             r".*Received: g_batch_size=2") as error:
        paired.fit(ds.skip(2), verbose=0)
    _caused_by_a_failed_assertion(error)


# Labels: int class ids (batch,) in [0, num_classes), checked before any step.


@pytest.fixture(scope="module")
def cgan():
    return tiny_model("dcgan_mnist", num_classes=10)


def _images(n=8):
    return np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.eye(10, dtype="float32")[np.arange(8) % 10],
         r"one-hot.*Received: labels of dtype float32 and shape \(8, 10\)"),
        (np.eye(10, dtype="int32")[np.arange(8) % 10], r"one-hot.*Received: labels of shape \(8, 10\)"),
        (np.arange(7, dtype="int32"), r"shape \(8,\).*Received: labels of shape \(7,\)"),
        (np.zeros((8, 1, 1), "int32"), r"Received: labels of shape \(8, 1, 1\)"),
        (np.arange(8, dtype="float32"), r"Received: labels of dtype float32 and shape \(8,\)"),
        (np.arange(8, dtype="int32") + 5, r"in \[0, 10\)\. Received: labels in \[5, 12\]"),
        (np.arange(8, dtype="int32") - 1, r"in \[0, 10\)\. Received: labels in \[-1, 6\]"),
    ],
    ids=["one_hot_float", "one_hot_int", "wrong_length", "wrong_rank", "float", "too_large", "negative"],
)
def test_bad_labels_are_refused_before_any_step(cgan, labels, match):
    before = int(cgan.d_optimizer.iterations)
    with pytest.raises(ValueError, match=r"Expected labels as int class ids .*" + match):
        cgan.fit(tf.data.Dataset.from_tensors((_images(), labels)), verbose=0)
    assert int(cgan.d_optimizer.iterations) == before


def test_labels_wrong_only_in_a_later_batch_are_refused_at_run_time(cgan):
    labels = np.arange(16, dtype="int32") % 10
    labels[12] = 10  # second batch only: the first-batch check passes
    ds = tf.data.Dataset.from_tensor_slices((_images(16), labels)).batch(8)
    with pytest.raises(ValueError, match=r"in \[0, 10\)\. Received: labels in \[0, 10\]$") as error:
        cgan.fit(ds, verbose=0)
    _caused_by_a_failed_assertion(error)

    def batches():  # not a tf.data.Dataset: checked inside train_step
        yield _images(), labels[:8]
        yield _images(), labels[8:]

    with pytest.raises(ValueError, match=r"Received: labels in \[0, 10\]") as error:
        cgan.fit(batches(), verbose=0)
    _caused_by_a_failed_assertion(error)


def test_generate_and_evaluate_refuse_bad_labels(cgan):
    with pytest.raises(ValueError, match=r"one-hot.*Received: labels of dtype float64 and shape \(4, 10\)"):
        cgan.generate(4, seed=0, labels=np.eye(10)[:4])
    with pytest.raises(ValueError, match=r"\(4,\) in \[0, 10\)\. Received: labels in \[3, 10\]"):
        cgan.generate(4, seed=0, labels=[3, 10, 4, 5])
    with pytest.raises(ValueError, match=r"Received: labels of shape \(3,\)"):
        cgan.generate(4, seed=0, labels=[1, 2, 3])
    with pytest.raises(ValueError, match=r"unconditional.*Received: labels of shape \(2,\)"):
        tiny_model("dcgan_mnist").generate(2, labels=[0, 1])
    # one int for every image: out of range, negative, float or bool as for an array
    with pytest.raises(ValueError, match=r"\(3,\) in \[0, 10\)\. Received: labels in \[10, 10\]"):
        cgan.generate(3, seed=0, labels=10)
    with pytest.raises(ValueError, match=r"Received: labels in \[-1, -1\]"):
        cgan.generate(3, seed=0, labels=-1)
    with pytest.raises(ValueError, match=r"Received: labels of dtype float64 and shape \(3,\)"):
        cgan.generate(3, seed=0, labels=3.0)
    with pytest.raises(ValueError, match=r"Received: labels of dtype bool"):
        cgan.generate(3, seed=0, labels=True)
    # Keras evaluate (test_step) checks them too
    with pytest.raises(ValueError, match=r"Received: labels of shape \(8, 10\)"):
        cgan.evaluate(tf.data.Dataset.from_tensors((_images(), np.eye(10, dtype="int32")[:8])), verbose=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"z": np.zeros(8)}, r"z must have shape \(n, latent_dim\) = \(n, 8\) \(one latent vector: pass "
                             r"z\[None\]\)\. Received: z of shape \(8,\)"),
        ({"z": np.zeros((2, 9))}, r"= \(n, 8\)\. Received: z of shape \(2, 9\)"),
        ({"z": np.zeros((2, 8, 1))}, r"= \(n, 8\)\. Received: z of shape \(2, 8, 1\)"),
        ({"z": np.zeros((0, 8))}, r"Received: z of shape \(0, 8\)"),
        ({"z": np.full((2, 8), np.nan)}, r"z must be finite .*Received: 16 non-finite values in z"),
        ({"z": np.full((2, 8), "a")}, r"z must be real numbers .*Received: z of dtype <U1"),
        ({"z": np.zeros((2, 8)), "seed": 0}, r"pass one of the two\. Received: seed=0 and z of shape \(2, 8\)"),
        ({"z": np.zeros((2, 8)), "num": 3}, r"num must be the number of latent vectors in z .*Received: num=3"),
    ],
    ids=["one_vector", "wrong_size", "rank3", "empty", "nan", "strings", "with_seed", "num_mismatch"],
)
def test_generate_refuses_bad_latents(cgan, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cgan.generate(**kwargs)


# Networks built outside ganzoo: refusals name the layer and a remedy that applies.


def _user_discriminator(wrapped):
    x = keras.Input((28, 28, 1))
    h = keras.layers.SpectralNormalization(keras.layers.Conv2D(4, 3, name="conv_a"), name="keras_sn")(x) \
        if wrapped else ganzoo.networks.SpectralConv2D(4, 3, name="conv_a")(x)
    h = keras.layers.Conv2D(4, 3, name="conv_b")(h) if wrapped else ganzoo.networks.SpectralConv2D(4, 3)(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(1, name="logit")(h) if wrapped else ganzoo.networks.SpectralDense(1)(h)
    return keras.Model(x, out)


def test_sngan_refusal_of_a_user_built_discriminator_names_layers_and_remedies():
    generator = tiny_model("dcgan_mnist").generator
    with pytest.raises(ValueError) as err:
        ganzoo.SNGAN(generator, _user_discriminator(wrapped=True))
    message = str(err.value)
    for part in ("keras_sn (keras.layers.SpectralNormalization)",
                 "conv_b (Conv2D: use ganzoo.networks.SpectralConv2D)",
                 "logit (Dense: use ganzoo.networks.SpectralDense)",
                 "SpectralEmbedding", "no gradient flows through sigma", "training=True"):
        assert part in message, part
    # The remedy works: the same network from ganzoo's layers is accepted.
    assert ganzoo.SNGAN(generator, _user_discriminator(wrapped=False)).d_steps == 5


def test_conditional_gan_refuses_networks_that_take_no_labels():
    base = tiny_model("dcgan_mnist")
    with pytest.raises(ValueError, match=r"conditional GAN \(num_classes=10\) needs a generator taking "
                                         r"\[z, labels\].*Received: a generator with 1 input"):
        ganzoo.GAN(base.generator, base.discriminator, num_classes=10)


@pytest.mark.parametrize("overrides", [
    {"discriminator": {"normalization": "batch"}},
])
def test_wgan_gp_refuses_a_batch_normalized_critic_naming_the_layer(overrides):
    with pytest.raises(ValueError, match=r"must not use batch normalization.*Received: a critic with "
                                         r"BatchNormalization layers \['.+'\]"):
        tiny_model("wgan_gp_mnist", **overrides)


def test_wgan_gp_refuses_a_user_built_critic_with_batch_norm():
    base = tiny_model("wgan_gp_mnist")
    critic = keras.Sequential([
        keras.Input(base.image_shape), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(name="bn"),
        keras.layers.Flatten(), keras.layers.Dense(1),
    ])
    with pytest.raises(ValueError, match=r"\['bn'\]"):
        ganzoo.WGANGP(base.generator, critic)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, "10"])
def test_wgan_gp_refuses_a_non_finite_or_non_numeric_gp_weight(bad):
    base = tiny_model("wgan_gp_mnist")
    with pytest.raises(ValueError, match=r"gp_weight must be a finite number.*Received: gp_weight="):
        ganzoo.WGANGP(base.generator, base.discriminator, gp_weight=bad)
