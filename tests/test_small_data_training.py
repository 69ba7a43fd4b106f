"""The small-data options in the engine: augmentation, R1/R2, RpGAN, LeCam, EMA warm-up, instance noise.

Driven by the registry: every zoo entry trains with every option on (in the default run, one
entry per kind: loss family x generator x conditional; the others in the slow run).
"""

import json

import numpy as np
import pytest
import tensorflow as tf
import keras

import ganzoo
from ganzoo import augment
from conftest import as_dataset, by_kind, real_batch, tiny_model

ALL = ganzoo.list_models()

# Two combinations that between them turn every option on.
COMBOS = {
    # g_batch_size: RpGAN pairs each fake with a real image of the D step (2 in these tests)
    "diffaugment+rpgan+r1+r2": dict(augment="diffaugment", loss="relativistic", r1_weight=1.0,
                                    r2_weight=1.0, penalty_interval=2, g_batch_size=2),
    "ada+lecam+ema+noise": dict(augment={"name": "ada", "initial_p": 0.5}, lecam_weight=0.3,
                                ema_decay=0.99, ema_start=1, ema_warmup=True, instance_noise=0.1,
                                instance_noise_steps=10),
}


def _kernels(net):
    return [np.array(v) for v in net.trainable_variables if len(v.shape) >= 2]


def _small_data_entries():
    """`by_kind`, with the ResNet entries slow too: the options act on the images and the
    logits, whatever the networks; each loss family still runs them by default, and the
    ResNet networks train by default in test_models."""
    return [pytest.param(n, marks=pytest.mark.slow) if isinstance(n, str) and "resnet" in n else n
            for n in by_kind(ALL)]


@pytest.mark.parametrize("combo", sorted(COMBOS))
@pytest.mark.parametrize("name", _small_data_entries())
def test_every_entry_trains_with_every_small_data_option_on(name, combo):
    gan = tiny_model(name, **COMBOS[combo])
    # Eager: 5x faster than tracing these graphs for two tiny steps; graph mode is
    # covered by the tests below and by test_distribute.
    gan.compile(run_eagerly=True, jit_compile=False)
    g0, d0 = _kernels(gan.generator), _kernels(gan.discriminator)
    logs = gan.fit(as_dataset(real_batch(gan), repeats=2), epochs=1, verbose=0).history
    expected = {"d_loss", "g_loss"} | ({"r1", "r2"} if "r1" in combo else {"lecam", "aug_p"})
    assert expected <= set(logs), logs
    assert all(np.isfinite(logs[k][0]) for k in expected)
    assert all(not np.array_equal(a, b) for a, b in zip(g0, _kernels(gan.generator)))
    assert all(not np.array_equal(a, b) for a, b in zip(d0, _kernels(gan.discriminator)))


def _set_output_bias(gan, value):
    """Makes every discriminator logit about `value`: zero kernel, bias `value` in the last layer."""
    last = gan.discriminator.layers[-1]
    last.kernel.assign(np.zeros(last.kernel.shape, "float32"))
    last.bias.assign(np.full(last.bias.shape, value, "float32"))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_ada_p_rises_when_real_logits_are_positive_and_stays_at_zero_when_negative(sign):
    spec = {"name": "ada", "interval": 1, "speed_images": 1000}
    gan = tiny_model("dcgan_mnist", augment=spec)
    gan.compile(d_optimizer={"name": "sgd", "learning_rate": 0.0}, jit_compile=False)
    _set_output_bias(gan, 50.0 * sign)
    logs = gan.fit(as_dataset(real_batch(gan, per_step=4), repeats=3), epochs=1, verbose=0).history
    # 3 D steps of 4 real images, each adjustment p += sign(r_t - 0.6) * 4 / 1000
    expected = 3 * 4 / 1000 if sign > 0 else 0.0
    assert float(gan.augment.p) == pytest.approx(expected, abs=1e-7)
    assert logs["aug_p"][-1] == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize("bias", [50.0, -50.0])
def test_ada_pair_sign_sees_no_overfitting_in_a_constant_logit_whatever_its_sign(bias):
    # Every logit, real or fake, is `bias`: each pair's difference is 0, so r_t = 0 < 0.6 and p
    # falls by 4 / 1000 at each of the 3 D steps (the paper's r_t would follow the bias's sign).
    spec = {"name": "ada", "interval": 1, "speed_images": 1000, "initial_p": 0.5, "heuristic": "pair_sign"}
    gan = tiny_model("dcgan_mnist", augment=spec, loss="relativistic")
    gan.compile(d_optimizer={"name": "sgd", "learning_rate": 0.0}, jit_compile=False)
    _set_output_bias(gan, bias)
    gan.fit(as_dataset(real_batch(gan, per_step=4), repeats=3), epochs=1, verbose=0)
    assert float(gan.augment.p) == pytest.approx(0.5 - 3 * 4 / 1000, abs=1e-7)


def test_every_option_is_in_the_config_and_survives_keras_save_and_load(tmp_path):
    gan = tiny_model("dcgan_mnist", augment={"name": "ada", "initial_p": 0.5, "speed_images": 1000},
                     lecam_weight=0.3, r1_weight=0.5, r2_weight=0.25, penalty_interval=3,
                     ema_decay=0.9, ema_start=5, ema_warmup=True, instance_noise=0.2,
                     instance_noise_steps=100, run_eagerly=True)
    gan.fit(as_dataset(real_batch(gan), repeats=4), epochs=1, verbose=0)
    p = float(gan.augment.p)
    assert p != 0.5  # moved by the adjustment
    anchors = np.array(gan.regularizer("lecam").anchors)
    assert anchors[2] == 4 and np.all(np.isfinite(anchors))
    gan.save(tmp_path / "gan.keras")
    again = keras.models.load_model(tmp_path / "gan.keras")
    assert isinstance(again.augment, augment.AdaptiveAugment)
    assert float(again.augment.p) == pytest.approx(p)
    np.testing.assert_array_equal(np.array(again.regularizer("lecam").anchors), anchors)
    config = again.get_config()
    for key, value in dict(lecam_weight=0.3, r1_weight=0.5, r2_weight=0.25, penalty_interval=3,
                           ema_start=5, ema_warmup=True, instance_noise=0.2,
                           instance_noise_steps=100).items():
        assert config[key] == value, key
    json.dumps(config)  # plain JSON, as in a .keras file


def test_recipe_fields_and_cli_style_overrides_reach_the_model():
    gan = ganzoo.create_model("dcgan_mnist", compile=False, augment="diffaugment:translation,cutout",
                              ema_decay=0.999, ema_start=1000, generator={"base_filters": 4},
                              discriminator={"base_filters": 4})
    assert gan.augment.policy == ("translation", "cutout")
    assert gan.ema_start == 1000 and gan.ema_decay == 0.999
    rp = ganzoo.create_model("dcgan_mnist", compile=False, loss="relativistic", r1_weight=0.1,
                             r2_weight=0.1, generator={"base_filters": 4}, discriminator={"base_filters": 4})
    assert rp.adversarial_loss.pairs_real_and_fake and rp.metric_names[-2:] == ("r1", "r2")


def test_ema_copies_the_weights_until_ema_start_then_follows_the_decayed_average():
    gan = tiny_model("dcgan_mnist", ema_decay=0.5, ema_start=2, ema_warmup=False)
    data = as_dataset(real_batch(gan, per_step=4))
    for _ in range(2):
        gan.fit(data, epochs=1, verbose=0)
        for avg, w in zip(gan.ema_generator.weights, gan.generator.weights):
            np.testing.assert_array_equal(np.array(avg), np.array(w))
    before = [np.array(v) for v in gan.ema_generator.weights]
    gan.fit(data, epochs=1, verbose=0)  # step 3: the first averaged one
    for avg, b, w in zip(gan.ema_generator.weights, before, gan.generator.weights):
        np.testing.assert_allclose(np.array(avg), 0.5 * b + 0.5 * np.array(w), rtol=1e-5, atol=1e-7)


def test_ema_warmup_decay_is_min_of_decay_and_one_plus_s_over_ten_plus_s():
    gan = tiny_model("dcgan_mnist", ema_decay=0.999, ema_start=100, ema_warmup=True)
    for step, expected in ((50, 0.0), (100, 0.0), (101, 2 / 11), (110, 11 / 20), (10_100, 0.999)):
        assert float(gan.ema_decay_at(step)) == pytest.approx(expected, rel=1e-6), step
    plain = tiny_model("dcgan_mnist", ema_decay=0.9, ema_warmup=False)
    assert float(plain.ema_decay_at(1)) == pytest.approx(0.9)


def test_instance_noise_sigma_decays_linearly_to_zero():
    gan = tiny_model("dcgan_mnist", instance_noise=0.2, instance_noise_steps=4)
    sigmas = []
    for _ in range(5):
        sigmas.append(float(gan.instance_noise_layer.sigma_at(gan.g_optimizer.iterations)))
        gan.g_optimizer.iterations.assign_add(1)
    np.testing.assert_allclose(sigmas, [0.2, 0.15, 0.1, 0.05, 0.0], atol=1e-7)


class _LabelRecorder(ganzoo.WGANGP):
    def _generator_inputs(self, z, labels):
        self.seen.append(np.array(labels))
        return super()._generator_inputs(z, labels)


def test_conditional_wgan_gp_generates_critic_step_fakes_with_the_real_labels():
    base = tiny_model("wgan_gp_mnist", num_classes=10)
    gan = _LabelRecorder(base.generator, base.discriminator, num_classes=10, d_steps=5)
    gan.seen = []
    gan.compile(run_eagerly=True)
    images, labels = real_batch(gan, per_step=3)
    gan.fit(as_dataset((images, labels)), epochs=1, verbose=0)
    # 5 critic steps, each with its strided slice of the real labels, then the generator step
    assert len(gan.seen) == 6
    for i in range(5):
        np.testing.assert_array_equal(gan.seen[i], labels[i::5])


def test_relativistic_generator_step_pairs_fakes_with_the_last_real_batch():
    class Recorder(ganzoo.DCGAN):
        def generator_step(self, batch, real=None, real_labels=None):
            self.g_real = None if real is None else np.array(real)
            return super().generator_step(batch, real=real, real_labels=real_labels)

    base = tiny_model("dcgan_mnist", loss="relativistic")
    gan = Recorder(base.generator, base.discriminator, loss="relativistic", d_steps=2)
    gan.compile(run_eagerly=True)
    images = real_batch(gan, per_step=3)
    gan.fit(as_dataset(images), epochs=1, verbose=0)
    np.testing.assert_array_equal(gan.g_real, images[1::2])


@pytest.mark.parametrize("kwargs, match", [
    (dict(r1_weight=float("nan")), "r1_weight must be a finite number"),
    (dict(r2_weight=-1.0), "r2_weight must be a finite number in \\[0.0"),
    (dict(lecam_weight=True), "lecam_weight must be a finite number"),
    (dict(penalty_interval=0), "penalty_interval must be an integer in \\[1"),
    (dict(ema_start=10, ema_decay=None), "needs ema_decay"),
    (dict(instance_noise_steps=0, instance_noise=0.1), "instance_noise_steps must be an integer"),
    # a setting of a component that is off would be silently ignored: refused instead
    (dict(instance_noise_steps=100), "instance_noise_steps .* needs instance_noise > 0"),
    (dict(penalty_interval=4, r1_weight=0.0, r2_weight=0.0), "penalty_interval .* needs r1_weight or r2_weight"),
    (dict(lecam_decay=0.9), "lecam_decay .* needs lecam_weight > 0"),
    (dict(augment="diffaugment:blur"), "DiffAugment policy"),
])
def test_bad_small_data_settings_are_refused_with_what_was_received(kwargs, match):
    base = tiny_model("dcgan_mnist")
    with pytest.raises(ValueError, match=match) as info:
        ganzoo.DCGAN(base.generator, base.discriminator, **kwargs)
    assert "Received: " in str(info.value)
    # the same settings as recipe overrides: refused naming the recipe file and the overrides
    with pytest.raises(ValueError, match="dcgan_mnist.toml") as info:
        tiny_model("dcgan_mnist", **kwargs)
    assert "Received: " in str(info.value)
    overridden = str(info.value).split("(with overrides ")[1].split("]")[0]
    assert all(repr(key) in overridden for key in kwargs), str(info.value)


def test_relativistic_loss_refuses_a_generator_batch_it_cannot_pair():
    gan = tiny_model("dcgan_mnist", loss="relativistic", g_batch_size=8)
    with pytest.raises(ValueError, match=r"must equal the batch of one discriminator step \(2 images\).*g_batch_size=8"):
        gan.fit(as_dataset(real_batch(gan, per_step=2)), epochs=1, verbose=0)


def test_penalties_stay_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    gan = tiny_model("dcgan_mnist", augment="diffaugment", r1_weight=1.0, r2_weight=1.0, lecam_weight=0.1)
    logs = gan.fit(as_dataset(real_batch(gan), repeats=2), epochs=1, verbose=0).history
    assert all(np.isfinite(logs[k][0]) for k in ("r1", "r2", "lecam", "d_loss"))
    x = real_batch(gan)
    critic = gan._critic(2)
    assert critic(x[:2]).dtype == tf.float32


def test_ada_p_is_restored_when_a_killed_training_run_resumes(tmp_path, monkeypatch):
    from ganzoo import callbacks as callbacks_lib
    from ganzoo.train import train_run

    data = tmp_path / "digits.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x=rng.integers(0, 256, size=(64, 28, 28), dtype=np.uint8))
    settings = dict(
        data=str(data), steps=12, checkpoint_every=4, batch_size=16, verbose=0, jit_compile=False,
        recipe_overrides={"latent_dim": 8, "generator": {"base_filters": 4},
                          "discriminator": {"base_filters": 4},
                          "augment": {"name": "ada", "initial_p": 0.5, "speed_images": 1000}},
    )
    out = tmp_path / "run"
    backup_end = callbacks_lib.AtomicBackupAndRestore.on_epoch_end
    seen = {}

    def killed_after_first_backup(self, epoch, logs=None):
        backup_end(self, epoch, logs)
        seen["p_at_kill"] = float(self.model.augment.p)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(callbacks_lib.AtomicBackupAndRestore, "on_epoch_end", killed_after_first_backup)
    with pytest.raises(KeyboardInterrupt):
        train_run("dcgan_mnist", out, **settings)
    assert seen["p_at_kill"] != pytest.approx(0.5)  # one adjustment of +-16 * 4 / 1000 happened

    monkeypatch.setattr(callbacks_lib.AtomicBackupAndRestore, "on_epoch_end", backup_end)
    log_begin = callbacks_lib.MetricsLog.on_epoch_begin

    def record_p(self, epoch, logs=None):
        seen.setdefault("p_at_resume", float(self.model.augment.p))
        seen.setdefault("resumed_epoch", epoch)
        log_begin(self, epoch, logs)

    monkeypatch.setattr(callbacks_lib.MetricsLog, "on_epoch_begin", record_p)
    gan = train_run("dcgan_mnist", out, **settings)
    assert seen["resumed_epoch"] == 1  # the second epoch: the first was not redone
    assert seen["p_at_resume"] == seen["p_at_kill"]
    assert int(gan.g_optimizer.iterations) == 12


# Both sources are read in memory; the slow run adds a source read from a file.
@pytest.mark.parametrize("source", [pytest.param("npz", marks=pytest.mark.slow), "mnist_5k"])
def test_a_killed_and_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, monkeypatch, source):
    from ganzoo import callbacks as callbacks_lib
    from ganzoo.train import train_run

    data = "mnist_5k"
    if source == "npz":
        data = tmp_path / "digits.npz"
        np.savez(data, x=np.random.default_rng(0).integers(0, 256, size=(64, 28, 28), dtype=np.uint8))
    # 3 steps per checkpoint against 4 batches per pass over the npz: the kill falls
    # in the middle of a data epoch, and the resumed run must start there.
    settings = dict(
        data=str(data), steps=9, checkpoint_every=3, batch_size=16, verbose=0, jit_compile=False,
        recipe_overrides={"latent_dim": 8, "generator": {"base_filters": 4},
                          "discriminator": {"base_filters": 4}, "augment": "diffaugment"},
    )

    def every_variable(gan):
        return [np.array(v) for v in gan.weights + gan.d_optimizer.variables + gan.g_optimizer.variables]

    straight = every_variable(train_run("dcgan_mnist", tmp_path / "straight", **settings))

    backup_end = callbacks_lib.AtomicBackupAndRestore.on_epoch_end

    def killed_after_first_backup(self, epoch, logs=None):
        backup_end(self, epoch, logs)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(callbacks_lib.AtomicBackupAndRestore, "on_epoch_end", killed_after_first_backup)
    with pytest.raises(KeyboardInterrupt):
        train_run("dcgan_mnist", tmp_path / "resumed", **settings)
    monkeypatch.setattr(callbacks_lib.AtomicBackupAndRestore, "on_epoch_end", backup_end)
    resumed = every_variable(train_run("dcgan_mnist", tmp_path / "resumed", **settings))
    assert len(resumed) == len(straight)
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a, b)


# Under XLA: test_train_step_math.test_a_conditional_gan_trains_under_xla (with every option).


