"""The GAN engine, driven by the registry: every zoo entry trains, saves and loads."""

import numpy as np
import pytest
import tensorflow as tf
import keras

import ganzoo
from conftest import as_dataset, real_batch, tiny_model

ALL = ganzoo.list_models()


def _weights(net):
    return [np.array(v) for v in net.trainable_variables]


def _changed(before, after):
    """Every kernel (rank >= 2) moved. Biases may legitimately stay: e.g. the hinge
    loss gives the last bias a zero gradient while all logits lie in (-1, 1)."""
    return all(not np.array_equal(a, b) for a, b in zip(before, after) if a.ndim >= 2)


def _fit_modes():
    """(name, run_eagerly) for every entry: traced, except the ResNet entries, whose traced
    step takes 15-20 s to build here; they run eagerly by default and traced in the slow run
    (the traced train step is the same code for every network; the ResNet networks themselves
    are traced by default in test_export)."""
    params = []
    for name in ALL:
        if "resnet" in name:
            params += [(name, True), pytest.param(name, False, marks=pytest.mark.slow)]
        else:
            params.append((name, False))
    return params


@pytest.mark.parametrize("name, eager", _fit_modes())
def test_one_fit_step_trains_both_players_with_recipe_d_steps(name, eager):
    gan = tiny_model(name)
    if eager:
        gan.compile(run_eagerly=True, jit_compile=False)
    recipe = ganzoo.get_recipe(name)
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    history = gan.fit(as_dataset(real_batch(gan), repeats=2), epochs=1, verbose=0)

    logs = history.history
    expected = {"d_loss", "g_loss", "d_real", "d_fake"} | ({"gp"} if recipe.family == "wgan_gp" else set())
    assert expected <= set(logs)
    assert all(np.isfinite(logs[k][0]) for k in expected)
    # Every kernel of both networks moved (not just "something changed").
    assert _changed(g0, _weights(gan.generator))
    assert _changed(d0, _weights(gan.discriminator))
    # Two generator steps; the discriminator stepped d_steps times for each.
    assert gan.d_steps == recipe.d_steps
    assert int(gan.g_optimizer.iterations) == 2
    assert int(gan.d_optimizer.iterations) == 2 * recipe.d_steps


class _Recorder(ganzoo.WGANGP):
    """Records the order of updates and the real batch each critic step sees."""

    def discriminator_step(self, real, labels):
        self.calls.append(("D", np.array(real)))
        return super().discriminator_step(real, labels)

    def generator_step(self, batch):
        self.calls.append(("G", int(batch)))
        return super().generator_step(batch)


def test_each_discriminator_step_gets_its_own_real_batch_then_one_generator_step():
    base = tiny_model("wgan_gp_mnist")
    gan = _Recorder(base.generator, base.discriminator, d_steps=5, g_batch_size=3)
    gan.calls = []
    gan.compile(run_eagerly=True)
    batch = real_batch(gan, per_step=2)
    gan.fit(as_dataset(batch), epochs=1, verbose=0)

    assert [kind for kind, _ in gan.calls] == ["D"] * 5 + ["G"]
    slices = [x for kind, x in gan.calls if kind == "D"]
    for i, x in enumerate(slices):  # strided split: disjoint, equal, together the whole batch
        np.testing.assert_array_equal(x, batch[i::5])
    assert gan.calls[-1][1] == 3  # g_batch_size latent samples in the G step


def test_linear_decay_schedule_counts_generator_iterations():
    gan = tiny_model("wgan_gp_cifar10_resnet")
    # The recipe: Adam(2e-4, beta_1=0, beta_2=0.9), linear decay over 100k G iterations.
    assert gan.d_optimizer.beta_1 == 0.0 and gan.d_optimizer.beta_2 == 0.9
    schedule = gan.d_optimizer._learning_rate  # the LearningRateSchedule object
    # 5 D steps per G step: the D schedule at D-step 5 * 50_000 equals G's at 50_000: half.
    assert float(schedule(5 * 50_000)) == pytest.approx(1e-4)
    assert float(gan.g_optimizer._learning_rate(50_000)) == pytest.approx(1e-4)
    assert float(schedule(5 * 100_000)) == pytest.approx(0.0)


def test_generate_is_seeded_shaped_and_bounded():
    gan = tiny_model("dcgan_mnist")
    a = gan.generate(5, seed=0)
    b = gan.generate(5, seed=0)
    c = gan.generate(5, seed=1)
    assert a.shape == (5, 28, 28, 1) and a.dtype == np.float32
    assert np.all(a >= -1) and np.all(a <= 1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # generate uses exactly gan.latent(num, seed) through the generator in inference mode.
    z = gan.latent(5, seed=0)
    np.testing.assert_allclose(a, gan.generator(z, training=False), atol=1e-6)
    with pytest.raises(ValueError, match="Received: num=0"):
        gan.generate(0)


def test_overrides_change_shapes():
    gan = ganzoo.create_model(
        "dcgan_mnist", compile=False, image_shape=(32, 32, 3), latent_dim=16,
        generator={"base_filters": 4}, discriminator={"base_filters": 4},
    )
    assert gan.latent_dim == 16 and gan.image_shape == (32, 32, 3)
    assert gan.generate(2, seed=0).shape == (2, 32, 32, 3)


@pytest.mark.parametrize("name", ["dcgan_mnist", "wgan_gp_mnist", "sngan_mnist"])
def test_keras_save_load_round_trip_keeps_outputs_and_optimizer_state(name, tmp_path):
    gan = tiny_model(name)
    data = as_dataset(real_batch(gan), repeats=2)
    gan.fit(data, epochs=1, verbose=0)
    path = tmp_path / "gan.keras"
    gan.save(path)

    again = keras.models.load_model(path)
    assert type(again) is type(gan)
    assert again.d_steps == gan.d_steps and again.loss_name == gan.loss_name
    np.testing.assert_array_equal(again.generate(4, seed=3), gan.generate(4, seed=3))
    x = real_batch(gan)[: gan.d_steps * 2]
    np.testing.assert_allclose(
        again.discriminator(x, training=False), gan.discriminator(x, training=False), atol=1e-6
    )
    for opt_a, opt_b in ((again.d_optimizer, gan.d_optimizer), (again.g_optimizer, gan.g_optimizer)):
        assert int(opt_a.iterations) == int(opt_b.iterations)
        for va, vb in zip(opt_a.variables, opt_b.variables):
            np.testing.assert_array_equal(np.array(va), np.array(vb))
    # the random-number state is restored too: the next steps draw fresh noise
    np.testing.assert_array_equal(np.array(again.seed_generator.state), np.array(gan.seed_generator.state))
    assert np.array(again.seed_generator.state)[1] > 0
    # fit continues from the restored state
    again.fit(data, epochs=1, verbose=0)
    assert int(again.g_optimizer.iterations) == int(gan.g_optimizer.iterations) + 2


def test_spectral_norm_holds_after_sngan_training():
    from ganzoo.networks.layers import spectral_norm_layers

    gan = tiny_model("sngan_mnist")
    gan.fit(as_dataset(real_batch(gan), repeats=30), epochs=1, verbose=0)
    layers = spectral_norm_layers(gan.discriminator)
    assert layers, "SN-GAN discriminator has no spectral-norm layers"
    for layer in layers:
        kernel = np.array(layer.effective_kernel())
        matrix = kernel.reshape(-1, kernel.shape[-1])
        sigma = np.linalg.svd(matrix, compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=0.05), layer.name


def test_sngan_refuses_an_unnormalized_discriminator():
    base = tiny_model("dcgan_mnist")
    with pytest.raises(ValueError, match="spectral normalization.*Received:"):
        ganzoo.SNGAN(base.generator, base.discriminator)


def test_xla_auto_leaves_it_off_on_cpu_and_can_be_forced_on():
    # XLA steps themselves are checked against plain steps in test_an_xla_train_step_matches_the_plain_step.
    tiny = {"latent_dim": 8, "generator": {"base_filters": 4}, "discriminator": {"base_filters": 4}}
    # "auto": off on a CPU-only host, where the benchmark measured XLA slower.
    assert ganzoo.create_model("wgan_gp_mnist", **tiny).jit_compile is False
    gan = ganzoo.create_model("wgan_gp_mnist", compile=False, **tiny)
    gan.compile(jit_compile=True)
    assert gan.jit_compile is True


_DETERMINISM_SCRIPT = """
import sys, numpy as np, tensorflow as tf
sys.path.insert(0, sys.argv[1])
from conftest import as_dataset, real_batch, tiny_model
tf.config.experimental.enable_op_determinism()
def run(seed, train=True):
    gan = tiny_model("wgan_gp_mnist", seed=seed)
    if train:  # one generator step: 5 critic steps with their penalty draws, then G
        gan.fit(as_dataset(real_batch(gan)), epochs=1, verbose=0)
    return [np.array(v) for v in gan.generator.trainable_variables + gan.discriminator.trainable_variables]
a, b = run(7), run(7)
print("SAME", all(np.array_equal(x, y) for x, y in zip(a, b)))
print("TRAINED", not np.array_equal(a[0], run(7, train=False)[0]))
print("DIFFERENT", not np.array_equal(run(7, train=False)[0], run(8, train=False)[0]))
"""


def test_same_seed_gives_identical_weights_with_op_determinism():
    # enable_op_determinism cannot be switched off again: run it in its own process.
    import pathlib
    import subprocess
    import sys

    tests_dir = str(pathlib.Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", _DETERMINISM_SCRIPT, tests_dir],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SAME True" in out.stdout
    assert "TRAINED True" in out.stdout
    assert "DIFFERENT True" in out.stdout


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


def test_generator_ema_is_the_decayed_average_and_is_used_for_sampling():
    gan = tiny_model("dcgan_mnist", ema_decay=0.75, ema_warmup=False)
    w0 = [np.array(v) for v in gan.generator.weights]
    np.testing.assert_array_equal(np.array(gan.ema_generator.weights[0]), w0[0])
    gan.fit(as_dataset(real_batch(gan, per_step=4)), epochs=1, verbose=0)
    w1 = [np.array(v) for v in gan.generator.weights]
    for avg, a, b in zip(gan.ema_generator.weights, w0, w1):
        np.testing.assert_allclose(np.array(avg), 0.75 * a + 0.25 * b, rtol=1e-5, atol=1e-7)
    z = gan.latent(3, seed=0)
    np.testing.assert_allclose(gan.generate(3, seed=0), gan.ema_generator(z, training=False), atol=1e-6)
    assert not np.allclose(gan.generate(3, seed=0), gan.generator(z, training=False))


def test_conditional_generate_uses_the_given_labels():
    gan = tiny_model("dcgan_mnist", num_classes=3)
    labels = np.array([0, 1, 2, 2])
    images = gan.generate(4, seed=0, labels=labels)
    z = gan.latent(4, seed=0)
    expected = gan.generator([z, tf.constant(labels, "int32")], training=False)
    np.testing.assert_allclose(images, expected, atol=1e-6)
    # default labels cycle through the classes
    np.testing.assert_allclose(gan.generate(3, seed=0), gan.generator(
        [gan.latent(3, seed=0), tf.constant([0, 1, 2])], training=False), atol=1e-6)
    # and a conditional GAN trains on (images, labels)
    history = gan.fit(as_dataset(real_batch(gan)), epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])


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


# Batch sizes known only at run time: the same message as the static check.


def _tail_batches(n):
    """n images in batches of 25 without drop_remainder: the last batch is n % 25."""
    x = np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")
    return x, tf.data.Dataset.from_tensor_slices(x).batch(25)


@pytest.mark.parametrize("n, last", [(203, 3), (207, 7)])
def test_dynamic_last_batch_that_does_not_split_into_d_steps_is_refused(wgan, n, last):
    x, ds = _tail_batches(n)
    assert ds.element_spec.shape[0] is None  # dynamic: no static check possible
    before = int(wgan.d_optimizer.iterations)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"d_steps=5 real batches.*multiple of 5.*Received: a batch of {last} images"):
        wgan.fit(ds, verbose=0)
    assert int(wgan.d_optimizer.iterations) == before + 8 * 5  # the 8 full batches, not the last


@pytest.mark.filterwarnings("ignore:Your input ran out of data")  # the end of an unknown-length epoch
def test_a_pipeline_of_unknown_length_makes_no_extra_step_at_the_end_of_an_epoch():
    # Without a step that waits for its batch, the failed fetch that ends each epoch
    # of an unknown-length pipeline still ran the generator step (6 steps here, not 4).
    gan = tiny_model("dcgan_mnist")
    x, _ = _tail_batches(50)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(25).filter(lambda b: True)
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    before = _weights(gan.generator)
    gan.fit(ds, epochs=2, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4 and int(gan.d_optimizer.iterations) == 4
    assert _changed(before, _weights(gan.generator))


def test_dynamic_batch_check_holds_under_xla():
    # XLA compiles in-graph assertions to no-ops: the check runs in the input pipeline.
    # 2 critic steps (not the recipe's 5) keep the compiled step small.
    gan = tiny_model("wgan_gp_mnist", jit_compile=True, d_steps=2)
    x = np.random.default_rng(0).uniform(-1, 1, (27, 28, 28, 1)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(24)  # 24, then 3: no static batch size
    with pytest.raises(tf.errors.InvalidArgumentError, match="d_steps=2.*Received: a batch of 3 images"):
        gan.fit(ds, verbose=0)
    assert int(gan.d_optimizer.iterations) == 2


def test_dynamic_batch_from_a_generator_is_checked_in_train_step(wgan):
    x, _ = _tail_batches(28)

    def batches():
        yield (x[:25],)
        yield (x[25:],)

    with pytest.raises(tf.errors.InvalidArgumentError, match="d_steps=5.*Received: a batch of 3 images"):
        wgan.fit(batches(), verbose=0)


def test_dynamic_batches_train_with_the_relativistic_loss():
    # The generator step pairs its fakes with the last D step's real batch, of run-time size.
    gan = tiny_model("dcgan_mnist", loss="relativistic", d_steps=2)
    x, _ = _tail_batches(10)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(4)  # 4, 4, 2 images
    history = gan.fit(ds, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert int(gan.g_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 6
    paired = tiny_model("dcgan_mnist", loss="relativistic", d_steps=2, g_batch_size=2)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"g_batch_size must equal the batch of one discriminator step \(1 images\)"
                             r".*Received: g_batch_size=2"):
        paired.fit(ds.skip(2), verbose=0)


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
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"in \[0, 10\)\. Received: labels in \[0, 10\]"):
        cgan.fit(ds, verbose=0)

    def batches():  # not a tf.data.Dataset: checked inside train_step
        yield _images(), labels[:8]
        yield _images(), labels[8:]

    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Received: labels in \[0, 10\]"):
        cgan.fit(batches(), verbose=0)


def test_generate_and_evaluate_refuse_bad_labels(cgan):
    with pytest.raises(ValueError, match=r"one-hot.*Received: labels of dtype float64 and shape \(4, 10\)"):
        cgan.generate(4, seed=0, labels=np.eye(10)[:4])
    with pytest.raises(ValueError, match=r"\(4,\) in \[0, 10\)\. Received: labels in \[3, 10\]"):
        cgan.generate(4, seed=0, labels=[3, 10, 4, 5])
    with pytest.raises(ValueError, match=r"Received: labels of shape \(3,\)"):
        cgan.generate(4, seed=0, labels=[1, 2, 3])
    with pytest.raises(ValueError, match=r"unconditional.*Received: labels of shape \(2,\)"):
        tiny_model("dcgan_mnist").generate(2, labels=[0, 1])
    # Keras evaluate (test_step) checks them too
    with pytest.raises(ValueError, match=r"Received: labels of shape \(8, 10\)"):
        cgan.evaluate(tf.data.Dataset.from_tensors((_images(), np.eye(10, dtype="int32")[:8])), verbose=0)


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


def test_validation_reports_the_training_quantities_and_leaves_the_training_noise_alone():
    gan = tiny_model("wgan_gp_mnist", seed=3)
    data = as_dataset(real_batch(gan, per_step=2))
    state = np.array(gan.seed_generator.state)
    logs = gan.evaluate(data, return_dict=True, verbose=0)
    # the training stream did not move; the validation stream did
    np.testing.assert_array_equal(np.array(gan.seed_generator.state), state)
    # the same names as training, and d_loss includes the weighted gradient penalty
    assert {"d_loss", "g_loss", "d_real", "d_fake", "gp"} <= set(logs)
    expected = logs["d_fake"] - logs["d_real"] + gan.gp_weight * logs["gp"]
    assert logs["d_loss"] == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert logs["gp"] > 0


def test_fit_with_validation_data_trains_exactly_as_without():
    results = []
    for validation in (False, True):
        gan = tiny_model("dcgan_mnist", seed=4, augment="diffaugment", r1_weight=1.0)
        data = as_dataset(real_batch(gan, per_step=4), repeats=2)
        gan.fit(data, epochs=2, verbose=0, validation_data=data if validation else None)
        results.append([np.array(v) for v in gan.generator.weights + gan.discriminator.weights])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_a_users_optimizer_schedule_counts_generator_iterations(tmp_path):
    # PolynomialDecay from 1.0 to 0 over 10 steps: after 2 generator steps (4 critic steps)
    # both players must be at step 2 of it (0.8), not the critic at step 4 (0.6).
    def adam():
        return keras.optimizers.Adam(keras.optimizers.schedules.PolynomialDecay(1.0, 10, 0.0))

    gan = tiny_model("wgan_gp_mnist", d_steps=2)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=False)
    gan.fit(as_dataset(real_batch(gan), repeats=2), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 4
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(0.8)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.8)
    gan.save(tmp_path / "gan.keras")  # the wrapped schedule round-trips
    again = keras.models.load_model(tmp_path / "gan.keras")
    assert float(again.d_optimizer.learning_rate) == pytest.approx(0.8)


# --- update direction: one SGD step against gradients computed here ----------

SGD_LR = 0.1


def _sgd(gan, lr=SGD_LR):
    """Recompiles `gan` with plain SGD (w <- w - lr * grad) on both players, eagerly."""
    sgd = {"name": "sgd", "learning_rate": lr}
    gan.compile(d_optimizer=sgd, g_optimizer=sgd, run_eagerly=True)
    return gan


def _copy(net):
    clone = keras.models.clone_model(net)
    clone.set_weights(net.get_weights())
    return clone


def _noise_stream(gan):
    """A SeedGenerator in the model's current state: it replays the noise the next step draws."""
    stream = keras.random.SeedGenerator(0)
    stream.state.assign(gan.seed_generator.state.value)
    return stream


def _values(variables):
    return [v.numpy().copy() for v in variables]


def _assert_sgd_update(before, after, grads, lr=SGD_LR):
    """after - before == -lr * grad for every variable, to float32 round-off.

    The tolerance (1e-6 of the largest step) is far below the size of the steps
    themselves, so a step along +grad or along another loss's gradient fails.
    """
    scale = max(float(np.max(np.abs(lr * g))) for g in grads)
    assert scale > 1e-4  # the step is large enough to tell directions apart
    for b, a, g in zip(before, after, grads):
        np.testing.assert_allclose(a - b, -lr * g, rtol=1e-4, atol=1e-6 * scale)


def test_one_sgd_step_moves_each_player_down_its_own_loss_gradient():
    # DCGAN (non-saturating loss), d_steps = 1: one fit step is one D step, then one G step.
    # The model draws every random number from its own SeedGenerator: z1 for the D step's fakes,
    # then z2 for the G step. A copy of the generator's state replays them. Hand-written losses:
    #   D:  L_D = mean softplus(-D(x_real)) + mean softplus(D(G0(z1)))    (= BCE, real 1 / fake 0)
    #   G:  L_G = mean softplus(-D1(G(z2)))                               (= -mean log sigmoid)
    # SGD: D1 = D0 - lr grad_D L_D(D0, G0);  G1 = G0 - lr grad_G L_G(G0, D1), D untouched by the
    # G step. Every network call uses training=True, as the step does (BatchNorm batch statistics).
    gan = _sgd(tiny_model("dcgan_mnist"))
    real = real_batch(gan, per_step=4)
    n = real.shape[0]
    stream = _noise_stream(gan)
    z1 = keras.random.normal((n, gan.latent_dim), seed=stream)
    z2 = keras.random.normal((n, gan.latent_dim), seed=stream)
    G, D = _copy(gan.generator), _copy(gan.discriminator)
    g0, d0 = _values(G.trainable_variables), _values(D.trainable_variables)

    fake = G(z1, training=True)
    with tf.GradientTape() as tape:
        d_loss = tf.reduce_mean(tf.nn.softplus(-D(real, training=True))) + tf.reduce_mean(
            tf.nn.softplus(D(fake, training=True))
        )
    d_grads = [g.numpy() for g in tape.gradient(d_loss, D.trainable_variables)]

    gan.fit(as_dataset(real), epochs=1, verbose=0)

    d1 = _values(gan.discriminator.trainable_variables)
    _assert_sgd_update(d0, d1, d_grads)  # also: the G step did not move D

    for v, value in zip(D.trainable_variables, d1):  # the G step plays against D1
        v.assign(value)

    def g_loss():
        return tf.reduce_mean(tf.nn.softplus(-D(G(z2, training=True), training=True)))

    with tf.GradientTape() as tape:
        before = g_loss()
    g_grads = [g.numpy() for g in tape.gradient(before, G.trainable_variables)]
    g1 = _values(gan.generator.trainable_variables)
    _assert_sgd_update(g0, g1, g_grads)
    # The step lowered the generator's loss on its own z (D frozen at D1).
    for v, value in zip(G.trainable_variables, g1):
        v.assign(value)
    assert float(g_loss()) < float(before) - 1e-4


def test_one_wgan_gp_critic_step_descends_the_penalized_wasserstein_loss():
    # WGAN-GP with one critic step. The step draws z (its fakes), then alpha (batch,) for the
    # penalty, from the model's SeedGenerator; a copy of its state replays both. By hand:
    #   x_hat = alpha x_real + (1 - alpha) G(z)
    #   L_D = mean D(G(z)) - mean D(x_real) + 10 * mean (||grad_x D(x_hat)||_2 - 1)^2
    # and SGD gives D1 = D0 - lr grad_D L_D (the penalty's gradient included).
    gan = _sgd(tiny_model("wgan_gp_mnist", d_steps=1))
    assert gan.gp_weight == 10.0
    real = real_batch(gan, per_step=4)
    n = real.shape[0]
    stream = _noise_stream(gan)
    z = keras.random.normal((n, gan.latent_dim), seed=stream)
    alpha = keras.random.uniform((n,), 0.0, 1.0, seed=stream)
    G, D = _copy(gan.generator), _copy(gan.discriminator)
    d0 = _values(D.trainable_variables)

    fake = G(z, training=True)
    a = tf.reshape(alpha, (n, 1, 1, 1))
    x_hat = a * real + (1.0 - a) * fake
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(x_hat)
            scores = tf.reduce_sum(D(x_hat, training=True))
        norms = tf.norm(tf.reshape(inner.gradient(scores, x_hat), (n, -1)), axis=1)
        gp = tf.reduce_mean(tf.square(norms - 1.0))
        d_loss = (
            tf.reduce_mean(D(fake, training=True)) - tf.reduce_mean(D(real, training=True)) + 10.0 * gp
        )
    d_grads = [g.numpy() for g in outer.gradient(d_loss, D.trainable_variables)]

    history = gan.fit(as_dataset(real), epochs=1, verbose=0).history
    _assert_sgd_update(d0, _values(gan.discriminator.trainable_variables), d_grads)
    assert history["gp"][0] == pytest.approx(float(gp), rel=1e-4)
    assert history["d_loss"][0] == pytest.approx(float(d_loss), rel=1e-4, abs=1e-5)


def test_wgan_gp_logged_critic_loss_is_fake_minus_real_plus_weighted_penalty():
    # The critic's objective (Gulrajani et al. 2017, Algorithm 1, line 7):
    #   L = D(x_fake) - D(x_real) + lambda * GP,  lambda = 10.
    # Every logged value is a mean over the 5 critic steps and the relation is linear, so the
    # epoch means obey it too. Swapping real and fake in the loss flips the sign of the first
    # two terms; a missing penalty drops the last. Three SGD steps (15 critic steps) separate
    # real from fake scores by far more than the float32 round-off of the means (~1e-6).
    gan = _sgd(tiny_model("wgan_gp_mnist"), lr=0.05)
    assert gan.gp_weight == 10.0 and gan.d_steps == 5
    logs = gan.fit(as_dataset(real_batch(gan, per_step=4), repeats=3), epochs=1, verbose=0).history
    d_loss, d_real, d_fake, gp = (logs[k][0] for k in ("d_loss", "d_real", "d_fake", "gp"))
    assert gp > 0.1 and d_real - d_fake > 0.01  # every term matters at this tolerance
    assert d_loss == pytest.approx(d_fake - d_real + 10.0 * gp, rel=0, abs=1e-5)


# --- the gradient penalty's alpha, as the WGAN-GP model draws it ---------------


def test_wgan_gp_draws_a_fresh_uniform_alpha_per_sample_in_every_critic_step(monkeypatch):
    # Gulrajani et al. 2017, Algorithm 1, line 4: inside every critic iteration, for every sample
    # i, eps_i ~ U[0, 1] and x_hat_i = eps_i x_i + (1 - eps_i) x~_i. Record the alpha the model
    # hands to ganzoo.losses.gradient_penalty in a real fit (eager, so the values are concrete).
    import ganzoo.losses

    drawn = []
    penalty = ganzoo.losses.gradient_penalty

    def recording(critic, real, fake, **kwargs):
        alpha = kwargs.get("alpha")
        assert alpha is not None, "the model should draw alpha itself"
        drawn.append((int(real.shape[0]), np.asarray(alpha, dtype="float64")))
        return penalty(critic, real, fake, **kwargs)

    monkeypatch.setattr(ganzoo.losses, "gradient_penalty", recording)
    gan = tiny_model("wgan_gp_mnist", seed=5)
    gan.compile(run_eagerly=True)
    per_step, steps = 32, 8
    gan.fit(as_dataset(real_batch(gan, per_step=per_step), repeats=steps), epochs=1, verbose=0)

    # one draw per critic step, one value per sample of that step's real batch
    assert len(drawn) == steps * gan.d_steps == 40
    for batch, alpha in drawn:
        assert batch == per_step and alpha.shape == (per_step,)
    alphas = np.stack([a for _, a in drawn])  # (critic steps, samples)
    assert alphas.min() >= 0.0 and alphas.max() <= 1.0
    # U[0, 1] has mean 1/2 and variance 1/12. Over 1280 values the standard error of the mean is
    # 0.289 / sqrt(1280) = 0.008, so the bounds below are 5 standard errors wide.
    assert alphas.mean() == pytest.approx(0.5, abs=0.04)
    assert alphas.var() == pytest.approx(1 / 12, abs=0.01)
    # ... and its histogram is flat: each quarter of [0, 1] holds 320 +- 5 sigma (sigma = 15.5).
    counts = np.histogram(alphas, bins=4, range=(0, 1))[0]
    assert np.all(np.abs(counts - 320) < 78), counts
    # Per sample: within one step the values spread like the whole (not one value per batch).
    assert np.all(alphas.std(axis=1) > 0.15)
    # Fresh per step: no two steps share a draw, and consecutive steps are uncorrelated
    # (|r| of independent 32-vectors is below 0.7 with probability ~1 - 1e-5).
    assert len({a.tobytes() for a in alphas}) == len(alphas)
    for a, b in zip(alphas[:-1], alphas[1:]):
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.7


# --- mixed precision: one loss-scaled float16 step against the float32 step ----


def _one_sgd_step(name, policy, per_step, weights=None, **overrides):
    """One fit step with SGD(0.1) under `policy`, from `weights` (None: the seed's initial ones).

    Returns (initial weights of both networks, trainable values before, after, the model).
    """
    keras.mixed_precision.set_global_policy(policy)
    gan = tiny_model(name, **overrides)
    nets = (gan.generator, gan.discriminator)
    if weights is not None:
        for net, w in zip(nets, weights):
            net.set_weights(w)
    sgd = {"name": "sgd", "learning_rate": 0.1}
    gan.compile(d_optimizer=sgd, g_optimizer=sgd)
    initial = [net.get_weights() for net in nets]
    before = [_values(net.trainable_variables) for net in nets]
    gan.fit(as_dataset(real_batch(gan, per_step=per_step)), epochs=1, verbose=0)
    after = [_values(net.trainable_variables) for net in nets]
    return initial, before, after, gan


@pytest.mark.parametrize("name, per_step, overrides", [
    ("wgan_gp_mnist", 16, {"d_steps": 1}),
    ("dcgan_mnist", 64, {}),
])
def test_a_mixed_float16_step_moves_the_weights_like_the_float32_step(name, per_step, overrides):
    # The same initial weights, batch and noise (same seed) under float32 and mixed_float16.
    # Under mixed_float16 the engine scales each loss by the LossScaleOptimizer's scale (2^15 at
    # first) and the optimizer divides the gradients by it before the SGD update, so each
    # network's update d = w_after - w_before must equal the float32 update up to float16
    # round-off: ||d16 - d32|| / ||d32|| measured 0.3-2.5% here (the relative error of the
    # float16 backward pass through a whole network, incl. BatchNorm), hence the bound 5e-2.
    # Gradients left scaled would make the update 2^15 times larger (relative error ~3e4); a
    # skipped step (non-finite scaled gradients) or gradients unscaled twice gives ~1.
    initial, before32, after32, _ = _one_sgd_step(name, "float32", per_step, **overrides)
    _, before16, after16, gan = _one_sgd_step(name, "mixed_float16", per_step, initial, **overrides)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert gan.discriminator.layers[1].compute_dtype == "float16"
    # No step was skipped: both optimizers applied their update.
    assert int(gan.d_optimizer.iterations) == gan.d_steps and int(gan.g_optimizer.iterations) == 1
    for k, net in ((1, "discriminator"), (0, "generator")):  # in the order they step
        for x, y in zip(before32[k], before16[k]):
            np.testing.assert_array_equal(x, y)  # identical start
        d32 = np.concatenate([(a - b).ravel() for a, b in zip(after32[k], before32[k])])
        d16 = np.concatenate([(a - b).ravel() for a, b in zip(after16[k], before16[k])])
        assert np.linalg.norm(d32) > 1e-3, net
        rel = np.linalg.norm(d16 - d32) / np.linalg.norm(d32)
        assert rel < 5e-2, f"{net}: ||d16 - d32|| / ||d32|| = {rel:.4g}"


# --- conditional models use their labels ---------------------------------------

CONDITIONAL = [n for n in ALL if ganzoo.get_recipe(n).num_classes]


def test_the_zoo_has_a_conditional_entry():
    assert CONDITIONAL  # else the label tests below check nothing


def _perturb(net, seed=1, std=0.1):
    """Adds N(0, std^2) noise to every trainable weight, as training would move them apart.

    Conditional BatchNorm starts with gamma = 1 and beta = 0 for every class (Miyato & Koyama
    2018, as in their code), so an untrained conditional-BN generator gives the same image for
    every label; after training the per-class rows differ. The noise stands in for that.
    """
    rng = np.random.default_rng(seed)
    for v in net.trainable_variables:
        v.assign(v.numpy() + rng.normal(0.0, std, v.shape).astype(v.dtype))


@pytest.mark.parametrize("name", CONDITIONAL)
def test_conditional_zoo_generator_output_depends_on_the_label(name):
    # G(z, 0) != G(z, 1) for every z, by a clear fraction of the image (measured ~65%); and
    # labels are routed per sample: a batch with labels [0, 1, 0, 1] gives row i the image of
    # G(z_i, label_i) (BatchNorm in inference mode makes every row depend on its own inputs).
    gan = tiny_model(name)
    _perturb(gan.generator)
    n = 4
    z = gan.latent(n, seed=0).numpy()
    zeros, ones = np.zeros(n, "int32"), np.ones(n, "int32")
    a = gan.generator([z, zeros], training=False).numpy().reshape(n, -1)
    b = gan.generator([z, ones], training=False).numpy().reshape(n, -1)
    rel = np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)
    assert np.all(rel > 0.05), rel
    mixed = gan.generator([z, np.array([0, 1, 0, 1], "int32")], training=False).numpy()
    np.testing.assert_allclose(mixed.reshape(n, -1), np.where(np.arange(n)[:, None] % 2, b, a),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CONDITIONAL)
def test_conditional_zoo_discriminator_logit_depends_on_the_label(name):
    # Projection discriminator (Miyato & Koyama 2018, eq. 3): D(x, y) = psi(phi(x)) +
    # <embed(y), phi(x)>, so changing only y moves the logit by <embed(0) - embed(1), phi(x)>,
    # nonzero for the randomly initialised embedding (measured >= 38% of the logits' scale).
    # Checked per sample, in inference mode.
    gan = tiny_model(name)
    n = 4
    x = real_batch(gan, per_step=n)[0][:n]
    d0 = gan.discriminator([x, np.zeros(n, "int32")], training=False).numpy()[:, 0]
    d1 = gan.discriminator([x, np.ones(n, "int32")], training=False).numpy()[:, 0]
    assert np.all(np.abs(d0 - d1) > 1e-2 * np.abs(d0).max()), (d0, d1)


# --- GAN.call and GAN.test_step --------------------------------------------------


def test_calling_the_gan_runs_its_generator_in_inference_mode():
    gan = tiny_model("dcgan_cifar10")  # no EMA: the generator is the sampling generator
    assert gan.ema_generator is None
    z = gan.latent(6, seed=7)
    moving = [np.array(v) for v in gan.generator.non_trainable_variables]
    assert moving  # BatchNorm moving statistics, which training=True would update
    out = keras.ops.convert_to_numpy(gan(z))
    assert out.shape == (6, *gan.image_shape)
    np.testing.assert_allclose(out, gan.generate(6, seed=7), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, gan.generator(z, training=False).numpy(), rtol=1e-5, atol=1e-6)
    for before, after in zip(moving, gan.generator.non_trainable_variables):
        np.testing.assert_array_equal(before, np.array(after))
    # Keras predict goes through call too
    np.testing.assert_allclose(gan.predict(z, batch_size=4, verbose=0), out, rtol=1e-5, atol=1e-6)


def test_calling_a_conditional_gan_takes_z_and_labels():
    gan = tiny_model("sngan_projection_mnist")
    labels = np.array([3, 3, 0, 9], "int32")
    out = keras.ops.convert_to_numpy(gan([gan.latent(4, seed=2), labels]))
    # untrained, its EMA generator is still a copy of the generator
    np.testing.assert_allclose(out, gan.generate(4, seed=2, labels=labels), rtol=1e-5, atol=1e-6)
    expected = gan.generator([gan.latent(4, seed=2), tf.constant(labels)], training=False).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-7)


def test_calling_the_gan_uses_the_raw_generator_not_the_ema_one():
    gan = tiny_model("dcgan_mnist", ema_decay=0.5, ema_warmup=False)
    gan.fit(as_dataset(real_batch(gan)), epochs=1, verbose=0)
    z = gan.latent(4, seed=1)
    out = keras.ops.convert_to_numpy(gan(z))
    np.testing.assert_allclose(out, gan.generator(z, training=False).numpy(), rtol=1e-5, atol=1e-6)
    # ... while generate (and export) sample the EMA generator, which now differs
    assert not np.allclose(out, gan.generate(4, seed=1), atol=1e-4)


def test_evaluate_returns_the_training_losses_in_inference_mode_without_updates():
    # One image: each logged mean is one logit, so the non-saturating losses can be recomputed.
    gan = tiny_model("dcgan_mnist", seed=2)
    x = real_batch(gan, per_step=1, seed=3)
    variables = gan.generator.weights + gan.discriminator.weights + gan.ema_generator.weights
    before = [np.array(v) for v in variables]
    logs = gan.evaluate(as_dataset(x), return_dict=True, verbose=0)
    # nothing moved: weights, BatchNorm moving statistics, EMA, optimizer step counters
    for a, b in zip(before, variables):
        np.testing.assert_array_equal(a, np.array(b))
    assert int(gan.d_optimizer.iterations) == int(gan.g_optimizer.iterations) == 0
    # the real logit is the discriminator's in inference mode
    real_logit = float(gan.discriminator(x, training=False).numpy()[0, 0])
    assert logs["d_real"] == pytest.approx(real_logit, rel=1e-5, abs=1e-6)
    softplus = lambda t: float(np.logaddexp(0.0, t))  # noqa: E731
    assert logs["d_loss"] == pytest.approx(softplus(-logs["d_real"]) + softplus(logs["d_fake"]), rel=1e-5)
    assert logs["g_loss"] == pytest.approx(softplus(-logs["d_fake"]), rel=1e-5)
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}  # the names training logs


# --- XLA: the compiled step computes what the plain step computes ------------------------

_NOISE_TABLE = np.random.default_rng(0).standard_normal((97, 4096)).astype("float32")


def _table_draw(seed, shape):
    """Row ``(s0 * 31 + s1) % 97`` of a fixed table, for the SeedGenerator state (s0, s1) it advances."""
    from keras.src.random.seed_generator import draw_seed

    state = tf.cast(draw_seed(seed), tf.int64)
    row = tf.gather(tf.constant(_NOISE_TABLE), tf.math.floormod(state[0] * 31 + state[1], 97))
    shape = tf.stack([tf.cast(d, tf.int32) for d in shape])
    return tf.reshape(row[: tf.reduce_prod(shape)], shape)


def _table_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return tf.cast(_table_draw(seed, shape) * stddev + mean, dtype or "float32")


def _table_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    u = 0.5 * (1.0 + tf.math.erf(_table_draw(seed, shape) / np.sqrt(2.0)))  # normal -> U(0, 1)
    return tf.cast(minval + (maxval - minval) * u, dtype or "float32")


@pytest.mark.parametrize("name, overrides, lr", [
    ("dcgan_mnist", {}, 0.1),  # BatchNorm in both networks
    ("wgan_gp_mnist", {"d_steps": 1}, 1e-3),  # the penalty's nested tapes
    pytest.param("wgan_gp_mnist", {}, 1e-3, marks=pytest.mark.slow),  # 5 critic steps (lr 0.1 diverges)
    pytest.param("sngan_mnist", {}, 0.1, marks=pytest.mark.slow),  # spectral norm's in-place power iteration
    # Lazy R1 (computed on even D steps) takes its own path under XLA: the penalty is computed on
    # every step and multiplied by 0 when not due; the discriminator state that computation moves
    # (BatchNorm statistics here) must be put back on those steps.
    ("dcgan_mnist", {"r1_weight": 1.0, "penalty_interval": 2}, 0.1),
    pytest.param("sngan_mnist", {"r1_weight": 1.0, "penalty_interval": 2}, 0.1,
                 marks=pytest.mark.slow),  # spectral-norm vectors
])
def test_an_xla_train_step_matches_the_plain_step(monkeypatch, name, overrides, lr):
    # Two fit steps from the same weights, batch and SeedGenerator state, with SGD (its update is
    # linear in the gradient: no Adam normalization that turns round-off into whole steps), once
    # with jit_compile=False and once with jit_compile=True: the logged losses and every weight
    # (both networks, BatchNorm statistics, spectral-norm vectors) must agree to round-off.
    # TensorFlow's stateless random kernels give other numbers under XLA on CPU (same seed,
    # different values, whatever the algorithm), so the model's draws come from a fixed table
    # indexed by its SeedGenerator state instead; the order and number of draws are the model's.
    monkeypatch.setattr(keras.random, "normal", _table_normal)
    monkeypatch.setattr(keras.random, "uniform", _table_uniform)
    runs = {}
    for jit in (False, True):
        gan = tiny_model(name, seed=3, **overrides)
        sgd = {"name": "sgd", "learning_rate": lr}
        gan.compile(d_optimizer=sgd, g_optimizer=sgd, jit_compile=jit)
        assert gan.jit_compile is jit
        before = _values(gan.weights)
        logs = gan.fit(as_dataset(real_batch(gan, per_step=8), repeats=2), epochs=1, verbose=0).history
        assert int(gan.g_optimizer.iterations) == 2
        runs[jit] = before, _values(gan.weights), {k: v[0] for k, v in logs.items()}
    (start, plain, plain_logs), (xla_start, xla, xla_logs) = runs[False], runs[True]
    for a, b in zip(start, xla_start):
        np.testing.assert_array_equal(a, b)  # identical starting points
    assert plain_logs.keys() == xla_logs.keys()
    for key, value in plain_logs.items():
        assert np.isfinite(value), key
        assert xla_logs[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    floats = [i for i, w in enumerate(start) if w.dtype.kind == "f"]
    step = max(float(np.max(np.abs(plain[i] - start[i]))) for i in floats)
    assert step > 1e-4  # the steps are large enough to tell a different update apart
    for i in floats:  # measured: at most 1e-5 of the largest step
        np.testing.assert_allclose(xla[i], plain[i], rtol=0, atol=1e-4 * step)


# --- Adam's first step ------------------------------------------------------------------

@pytest.mark.parametrize("name, overrides", [
    ("dcgan_mnist", {"num_classes": 10}),  # a label embedding
    pytest.param("sngan_projection_mnist", {}, marks=pytest.mark.slow),  # conditional BN, projection
])
def test_a_conditional_gan_trains_under_xla(name, overrides):
    # The in-step label checks format their message with tf.strings.format, which XLA cannot
    # compile; under jit_compile the pipeline checks the labels instead.
    gan = tiny_model(name, jit_compile=True, **overrides)
    batch = real_batch(gan, per_step=4)
    gan.fit(as_dataset(batch), verbose=0)
    assert int(gan.g_optimizer.iterations) == 1
    images, labels = batch
    # A second batch with out-of-range labels: refused by the pipeline's check.
    two = tf.data.Dataset.from_tensor_slices(
        (np.stack([images, images]), np.stack([labels, np.full_like(labels, 10)])))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels in \[10, 10\]"):
        gan.fit(two, verbose=0)


@pytest.mark.parametrize("name, overrides", [
    ("dcgan_mnist", {}),
    # Per-class parameters: Keras 3.15's Adam mishandles IndexedSlices gradients with repeated
    # rows (sum of squares instead of square of the sum); GAN._apply densifies them.
    ("dcgan_mnist", {"num_classes": 10}),  # label embedding
    ("sngan_projection_mnist", {}),  # conditional batch norm
])
def test_adams_first_step_moves_no_generator_weight_more_than_the_learning_rate(name, overrides):
    # Adam (Kingma & Ba 2015, Algorithm 1) at step 1: m = (1 - b1) g, v = (1 - b2) g^2 and the
    # bias-corrected update is lr * g / (|g| + eps): every weight moves by at most lr, and the
    # weights with a clear gradient by almost exactly lr. Per-class parameters looked up with
    # repeated labels must follow the same rule (their gradient is the sum over the batch).
    gan = tiny_model(name, **overrides)
    lr = 1e-3
    adam = {"name": "adam", "learning_rate": lr}
    gan.compile(d_optimizer=adam, g_optimizer=adam)
    before = _values(gan.generator.trainable_variables)
    gan.fit(as_dataset(real_batch(gan, per_step=16)), epochs=1, verbose=0)
    moves = {v.path: float(np.max(np.abs(v.numpy() - b)))
             for v, b in zip(gan.generator.trainable_variables, before)}
    assert max(moves.values()) > 0.9 * lr
    too_far = {k: round(m / lr, 3) for k, m in moves.items() if m > 1.001 * lr}
    assert not too_far, f"moved more than lr (in units of lr): {too_far}"
