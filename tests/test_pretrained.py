"""Pretrained zoo models: offline loading, checksums, and metrics that match their cards."""

import json
import shutil

import numpy as np
import pytest

import ganzoo
from ganzoo import paths, pretrained

PRETRAINED = ganzoo.list_models(pretrained=True)


def test_the_mnist_entries_ship_pretrained_weights():
    assert {"dcgan_mnist", "wgan_gp_mnist", "sngan_mnist"} <= set(PRETRAINED)


@pytest.mark.parametrize("name", PRETRAINED)
def test_pretrained_loads_offline_and_matches_its_card(name):
    gan = ganzoo.create_model(name, pretrained=True)
    card = json.loads((paths.SAVED_MODELS_DIR / name / "model_card.json").read_text())
    recipe = ganzoo.get_recipe(name)
    images = gan.generate(8, seed=0)
    assert images.shape == (8, *recipe.image_shape) and images.dtype == np.float32
    assert gan.d_optimizer is not None  # compiled: fine-tuning works
    assert all(str(v.dtype) == "float32" for v in gan.generator.weights)
    # Re-measure the card's quick protocol: FID of 1,000 samples (seed 0) against mnist_5k:train.
    from ganzoo.metrics import evaluate

    check = card["check"]
    report = evaluate(gan, data=card["data"], metrics=("fid",), num_samples=check["num_samples"],
                      seed=check["seed"], progress=False)
    assert report["summary"]["fid"] == pytest.approx(check["value"], rel=0.01)
    # The card's headline numbers state their protocol.
    assert card["metrics"]["protocol"]["fid"]["num_generated"] == 5000
    assert card["training"]["command"].startswith("ganzoo train " + name)


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
    from ganzoo.metrics import evaluate

    gan = ganzoo.create_model(name, pretrained=True)
    report = evaluate(gan, data="mnist_5k", metrics=("conditional_accuracy",), num_samples=500,
                      progress=False)
    assert report["summary"]["conditional_accuracy"] >= 0.95


@pytest.mark.parametrize("name", PRETRAINED)
def test_every_card_reports_the_data_copying_test(name):
    card = json.loads((paths.SAVED_MODELS_DIR / name / "model_card.json").read_text())
    assert card["metrics"]["summary"]["c_t"] > -3  # no significant copying (Meehan et al. 2020)
    assert card["metrics"]["protocol"]["data_copying"]["heldout_data"] == "mnist_5k:test"


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
