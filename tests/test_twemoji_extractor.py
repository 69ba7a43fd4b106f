"""The offline Twemoji group classifier: its card holds, "auto" picks it for Twemoji data,
and every metric runs on it offline."""

import numpy as np
import pytest

from ganzoo import metrics
from ganzoo.metrics import extractors
from ganzoo.metrics._reference import load_arrays

from conftest import tiny_model


@pytest.fixture(scope="module")
def extractor():
    return metrics.get_extractor("twemoji_classifier")


@pytest.fixture(scope="module")
def test_split():
    x, y, name = load_arrays("twemoji", "test", image_shape=(32, 32, 3))
    return x, y, name


def test_held_out_accuracy_matches_the_card(extractor, test_split):
    x, y, name = test_split
    card = extractor.card
    assert name == "twemoji:test" and x.shape[0] == card["data"]["num_test"] == 377
    weights = extractors.classifier_dir("twemoji_classifier") / card["weights"]["file"]
    assert weights.stat().st_size < 8_000_000
    correct = int(np.sum(extractor.probabilities(x).argmax(axis=1) == y))
    assert abs(correct - card["test_correct"]) <= 1  # last-bit differences across CPUs
    # Well above always answering the largest group (People & Body, 226 of 377 = 0.60).
    assert card["test_accuracy"] >= 0.8
    feats = extractor.features(x[:5])
    assert feats.shape == (5, 128) and feats.dtype == np.float32
    assert extractor.num_classes == 9


def test_auto_picks_the_twemoji_classifier_only_for_twemoji_data():
    assert extractors.auto_name((32, 32, 3), "twemoji") == "twemoji_classifier"
    assert extractors.auto_name((64, 64, 3), "twemoji:test") == "twemoji_classifier"
    assert extractors.auto_name((32, 32, 3), "tfds:cifar10") == "inception_v3"
    assert extractors.auto_name((32, 32, 3), None) == "inception_v3"
    assert extractors.auto_name((48, 48, 3), "twemoji") == "inception_v3"
    assert extractors.auto_name((28, 28, 1), "mnist_5k") == "mnist_5k_classifier"


def test_64x64_images_are_averaged_over_2x2_blocks(extractor, test_split):
    x = test_split[0][:6]
    big = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)  # each pixel a 2x2 block: the mean is x
    np.testing.assert_allclose(extractor.features(big), extractor.features(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="Received"):
        extractor.features(x[:, :16, :16])


def test_every_metric_runs_offline_on_twemoji():
    gan = tiny_model("sngan_twemoji")
    report = metrics.evaluate(gan, data="twemoji", metrics="fid,kid,pr,modes,copying", num_samples=150,
                              num_reference=200, progress=False)
    assert report["protocol"]["extractor"] == "twemoji_classifier"
    assert report["protocol"]["reference"] == "twemoji"
    for key in ("fid", "kid", "precision", "recall", "modes_hit", "c_t"):
        assert any(k.startswith(key) for k in report["summary"]), (key, sorted(report["summary"]))
    cgan = tiny_model("sngan_projection_twemoji")
    report = metrics.evaluate(cgan, data="twemoji", metrics="accuracy,intra_fid", num_samples=90,
                              progress=False)
    assert report["protocol"]["extractor"] == "twemoji_classifier"
    assert 0.0 <= report["summary"]["conditional_accuracy"] <= 1.0


def test_evaluate_defaults_to_the_data_the_model_was_trained_on(tmp_path):
    import json

    from ganzoo import runs

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": "sngan_twemoji", "data": "twemoji"}))
    (run / "final.keras").write_bytes(b"")
    assert runs.source_data(run) == "twemoji"
    assert runs.source_data(run / "final.keras") == "twemoji"  # a model file inside a run
    assert runs.source_data("sngan_twemoji") == "twemoji"  # the recipe's dataset
    assert runs.source_data("dcgan_mnist", pretrained=True) == "mnist_5k"  # the card's data
    lone = tmp_path / "lone.keras"
    lone.write_bytes(b"")
    assert runs.source_data(lone) is None  # nothing records it: the CLI falls back to mnist_5k
