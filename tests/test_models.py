"""The GAN engine, driven by the registry: every zoo entry trains, saves and loads."""

import numpy as np
import pytest
import tensorflow as tf
import keras

import ganzoo
from conftest import NON_SATURATING, as_dataset, every_kernel_moved, real_batch, tiny_model, trainable_values

ALL = ganzoo.list_models()


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
    g0, d0 = trainable_values(gan.generator), trainable_values(gan.discriminator)
    history = gan.fit(as_dataset(real_batch(gan), repeats=2), epochs=1, verbose=0)

    logs = history.history
    expected = {"d_loss", "g_loss", "d_real", "d_fake"} | ({"gp"} if recipe.family == "wgan_gp" else set())
    assert expected <= set(logs)
    assert all(np.isfinite(logs[k][0]) for k in expected)
    # Every kernel of both networks moved (not just "something changed").
    assert every_kernel_moved(g0, trainable_values(gan.generator))
    assert every_kernel_moved(d0, trainable_values(gan.discriminator))
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
    # one int is one class for every image, as `ganzoo sample --class K`
    np.testing.assert_array_equal(gan.generate(3, seed=0, labels=2), gan.generate(3, seed=0, labels=[2, 2, 2]))
    np.testing.assert_array_equal(gan.generate(2, seed=0, labels=np.int64(1)),
                                  gan.generate(2, seed=0, labels=[1, 1]))
    # and a conditional GAN trains on (images, labels)
    history = gan.fit(as_dataset(real_batch(gan)), epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])


def test_generate_takes_your_own_latents_through_the_ema_generator_or_the_raw_one():
    # generate(z=...) is generate(num, seed) with the caller's latents, e.g. an interpolation:
    # through the EMA generator when there is one (gan(z) and predict take the raw one) ...
    gan = tiny_model("dcgan_mnist", ema_decay=0.9)
    gan.ema_generator.set_weights([w * 0.5 + 0.01 for w in gan.generator.get_weights()])
    a, b = np.asarray(gan.latent(2, seed=4))
    z = np.stack([(1 - t) * a + t * b for t in np.linspace(0, 1, 5)])
    images = gan.generate(z=z, batch_size=2)  # batches of 2, 2 and 1
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images, gan.ema_generator(z, training=False), atol=1e-6)
    assert not np.allclose(images, keras.ops.convert_to_numpy(gan(z)), atol=1e-3)
    np.testing.assert_allclose(gan.generate(z=gan.latent(3, seed=0)), gan.generate(3, seed=0), atol=1e-6)
    np.testing.assert_array_equal(gan.generate(5, z=z), gan.generate(z=z.astype("float64")))
    # ... else through the generator, which gan(z) also runs
    raw = tiny_model("dcgan_cifar10")
    assert raw.ema_generator is None
    z = np.asarray(raw.latent(3, seed=1))
    np.testing.assert_allclose(raw.generate(z=z), raw.generator(z, training=False), atol=1e-6)
    # a conditional GAN takes its labels as with num: given, or arange(n) % num_classes
    cgan = tiny_model("dcgan_mnist", num_classes=3)
    z = cgan.latent(4, seed=2)
    np.testing.assert_allclose(cgan.generate(z=z, labels=[2, 2, 1, 0]),
                               cgan.generator([z, tf.constant([2, 2, 1, 0])], training=False), atol=1e-6)
    np.testing.assert_array_equal(cgan.generate(z=z), cgan.generate(z=z, labels=[0, 1, 2, 0]))


def test_the_ema_generator_has_its_own_name_and_saved_files_load_as_before(tmp_path):
    gan = tiny_model("sngan_projection_mnist", ema_decay=0.9)
    gan.ema_generator.set_weights([w * 0.5 + 0.01 for w in gan.generator.get_weights()])
    names = [layer.name for layer in gan.layers if isinstance(layer, keras.Model)]  # the networks
    assert names == [gan.generator.name, gan.discriminator.name, gan.generator.name + "_ema"]
    # What a .keras file (or a pretrained folder) holds does not name the EMA generator: the
    # GAN's config rebuilds it, and the weights are keyed by attribute paths. So files saved
    # before it had its own name load the same.
    ema_name = gan.ema_generator.name
    config = gan.get_config()
    assert ema_name not in str(config)
    again = type(gan).from_config(config)
    assert [layer.name for layer in again.layers if isinstance(layer, keras.Model)] == names
    gan.save(tmp_path / "gan.keras")
    import h5py
    import zipfile

    with zipfile.ZipFile(tmp_path / "gan.keras") as archive:
        assert ema_name not in archive.read("config.json").decode()
        (tmp_path / "w.h5").write_bytes(archive.read("model.weights.h5"))
    with h5py.File(tmp_path / "w.h5", "r") as weights:
        assert {"generator", "discriminator", "ema_generator"} <= set(weights)
        keys = []
        weights.visit(keys.append)
    assert not [k for k in keys if gan.generator.name in k]
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert [layer.name for layer in loaded.layers if isinstance(layer, keras.Model)] == names
    np.testing.assert_array_equal(loaded.generate(4, seed=3), gan.generate(4, seed=3))


def test_overrides_change_shapes():
    gan = ganzoo.create_model(
        "dcgan_mnist", compile=False, image_shape=(32, 32, 3), latent_dim=16,
        generator={"base_filters": 4}, discriminator={"base_filters": 4},
    )
    assert gan.latent_dim == 16 and gan.image_shape == (32, 32, 3)
    assert gan.generate(2, seed=0).shape == (2, 32, 32, 3)


@pytest.mark.parametrize("name", ["dcgan_mnist", "wgan_gp_mnist", "sngan_mnist"])
def test_keras_save_load_round_trip_keeps_outputs_and_optimizer_state(name, tmp_path):
    gan = tiny_model(name, run_eagerly=True)
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
    again.run_eagerly = True
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
from conftest import as_dataset, every_kernel_moved, real_batch, tiny_model, trainable_values
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


@pytest.mark.slow  # a process of its own; seeded runs are compared in the default run by
# test_cli.py::test_same_command_and_seed_reproduce_the_run (CPU kernels are deterministic)
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
        gan = tiny_model("dcgan_mnist", seed=4, augment="diffaugment", r1_weight=1.0, run_eagerly=True)
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


def test_the_config_reports_the_optimizers_the_model_was_compiled_with():
    # Before: get_config() kept the recipe's settings (Adam at 2e-4) after compile(d_optimizer=...).
    from ganzoo.optimizers import LinearDecay

    gan = tiny_model("dcgan_mnist")
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-5, beta_1=0.3), g_optimizer={"name": "sgd", "learning_rate": 0.1},
                jit_compile=False)
    d, g = gan.get_config()["optimizer_settings"]["d"], gan.get_config()["optimizer_settings"]["g"]
    assert d["name"] == "Adam" and d["learning_rate"] == pytest.approx(1e-5) and d["beta_1"] == pytest.approx(0.3)
    assert g == {"name": "sgd", "learning_rate": 0.1}  # settings are reported as given
    # The config builds the same optimizers again: a model from it, compiled without arguments.
    clone = type(gan).from_config(gan.get_config())
    clone.compile(jit_compile=False)
    assert float(clone.d_optimizer.learning_rate) == pytest.approx(1e-5) and float(clone.d_optimizer.beta_1) == pytest.approx(0.3)
    assert isinstance(clone.g_optimizer, keras.optimizers.SGD)
    # ganzoo's own schedules are reported in the recipe's form.
    gan.compile(d_optimizer=keras.optimizers.Adam(LinearDecay(1e-3, 50)), jit_compile=False)
    d = gan.get_config()["optimizer_settings"]["d"]
    assert (d["learning_rate"], d["schedule"], d["decay_steps"]) == (1e-3, "linear", 50)


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
    gan = tiny_model("dcgan_mnist", seed=2, **NON_SATURATING)
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
