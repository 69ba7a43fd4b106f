"""Pretrained zoo models: offline loading, checksums, and metrics that match their cards."""

import json
import shutil

import numpy as np
import pytest

import ganzoo
from ganzoo import pretrained, registry

PRETRAINED = ganzoo.list_models(pretrained=True)


def test_the_mnist_entries_ship_pretrained_weights():
    assert {"dcgan_mnist", "wgan_gp_mnist", "sngan_mnist"} <= set(PRETRAINED)


@pytest.mark.parametrize("name", PRETRAINED)
def test_pretrained_loads_offline_and_matches_its_card(name):
    gan = ganzoo.create_model(name, pretrained=True)
    card = json.loads((registry.SAVED_MODELS_DIR / name / "model_card.json").read_text())
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
    shutil.copytree(registry.SAVED_MODELS_DIR / name, folder)
    return folder


def test_a_tampered_weights_file_is_refused(copy_of_pretrained):
    path = copy_of_pretrained / "weights.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"weights\.npz does not match its model card.*Received: sha256"):
        pretrained.load_pretrained(copy_of_pretrained)


def test_a_truncated_config_is_refused(copy_of_pretrained):
    path = copy_of_pretrained / "config.json"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"config\.json does not match its model card"):
        pretrained.load_pretrained(copy_of_pretrained)


def test_a_missing_file_is_refused(copy_of_pretrained):
    (copy_of_pretrained / "weights.npz").unlink()
    with pytest.raises(ValueError, match=r"weights\.npz listed in .* is missing"):
        pretrained.load_pretrained(copy_of_pretrained)


def test_a_pretrained_folder_loads_through_the_cli_helpers(copy_of_pretrained):
    from ganzoo import runs

    gan = runs.load_gan(copy_of_pretrained)
    np.testing.assert_array_equal(
        gan.generate(2, seed=1), ganzoo.create_model(PRETRAINED[0], pretrained=True).generate(2, seed=1)
    )
