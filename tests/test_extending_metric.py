"""A metric written outside ganzoo: one registered class, computed by `evaluate` like the built-ins."""

import re

import numpy as np
import pytest

import ganzoo
from ganzoo import metrics
from ganzoo.metrics import Metric, Option, register_metric, unregister_metric
from conftest import tiny_model


# --- the snippet of EXTENDING_METRIC.md ----------------------------------------
class MeanBrightness(Metric):
    """Mean pixel value of the generated images, and the share of pixels above a threshold."""

    name = "mean_brightness"
    aliases = ("brightness",)
    needs = ("images",)  # all generated images, in [-1, 1]
    options = (Option("threshold", 0.0, "a pixel above it is bright"),)
    values = ("mean", "bright_share")
    summary = {"mean": "brightness"}

    def compute(self, inputs, options):
        images = inputs.images
        return {"mean": float(images.mean()),
                "bright_share": float((images > options["threshold"]).mean()),
                "threshold": options["threshold"]}  # not a value: recorded as a parameter
# -------------------------------------------------------------------------------


@pytest.fixture
def registered():
    register_metric(MeanBrightness)
    try:
        yield
    finally:
        unregister_metric("mean_brightness")


@pytest.fixture(scope="module")
def gan():
    return tiny_model("sngan_projection_mnist", num_classes=3)


def test_a_registered_metric_is_computed_by_evaluate_from_the_generated_images(registered, gan):
    with pytest.warns(UserWarning, match="covariance is singular"):  # FID of 23 samples
        report = ganzoo.evaluate(gan, metrics="brightness,fid", num_samples=23, seed=5, batch_size=10,
                                 options={"brightness": {"threshold": 0.25}}, progress=False)
    images = gan.generate(23, seed=5, batch_size=10)  # the images evaluate generates: labels arange(23) % 3
    result = report["metrics"]["mean_brightness"]
    np.testing.assert_allclose(result["mean"], images.astype(np.float64).mean(), rtol=1e-5)
    np.testing.assert_allclose(result["bright_share"], (images > 0.25).sum() / images.size, rtol=1e-6)
    assert report["summary"]["brightness"] == result["mean"]
    assert list(report["summary"]) == ["brightness", "fid"]  # the requested order
    assert result["protocol"]["params"] == {"threshold": 0.25}
    assert result["protocol"]["num_generated"] == 23
    # The option's default when none is given.
    default = ganzoo.evaluate(gan, metrics="mean_brightness", num_samples=23, seed=5, progress=False)
    np.testing.assert_allclose(default["metrics"]["mean_brightness"]["bright_share"], (images > 0).mean(),
                               rtol=1e-6)


def test_keeping_every_image_for_a_metric_leaves_the_reconstruction_unchanged(registered):
    # The reconstruction reads the first num_images generated images, whatever other metrics keep.
    gan = tiny_model("dcgan_mnist")
    options = {"recon": {"num_images": 3, "steps": 2}}
    alone = metrics.evaluate(gan, metrics="recon", num_samples=12, options=options, progress=False)
    both = metrics.evaluate(gan, metrics="recon,brightness", num_samples=12, options=options, progress=False)
    assert both["metrics"]["reconstruction"] == alone["metrics"]["reconstruction"]


def test_unknown_metrics_and_options_list_what_is_registered_including_a_users_metric(registered):
    with pytest.raises(ValueError, match=r"Unknown metric; expected some of \[.*'mean_brightness'\] "
                                         r"or the aliases \[.*'brightness'.*\]\. Received: 'brightnes'$"):
        metrics.Evaluator(metrics="fid,brightnes")
    with pytest.raises(ValueError, match=r"takes the options \['threshold'\]\. Received: \['k'\]$"):
        metrics.Evaluator(metrics="fid", options={"mean_brightness": {"k": 3}})
    assert metrics.available_metrics()[-1] == "mean_brightness"
    assert ("mean_brightness (brightness)\n  Mean pixel value of the generated images, and the share of "
            "pixels above a threshold.\n  option threshold=0.0: a pixel above it is bright") in metrics.describe_metrics()


def test_evaluate_help_lists_a_registered_metric(registered, capsys):
    from ganzoo.cli import main

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert re.search(r"\bmean_brightness\b", text) and "brightness=mean_brightness" in text


def test_after_unregistering_the_name_is_unknown_and_free_again():
    register_metric(MeanBrightness)
    with pytest.raises(ValueError, match=r"'mean_brightness' is already registered.*Received: MeanBrightness$"):
        register_metric(MeanBrightness)
    unregister_metric("brightness")  # by alias
    assert "mean_brightness" not in metrics.available_metrics()
    with pytest.raises(ValueError, match=r"Received: 'mean_brightness'$"):
        metrics.get_metric("mean_brightness")


def test_the_built_in_metrics_keep_their_names_aliases_and_order():
    from ganzoo.metrics.registry import metric_aliases

    assert metrics.available_metrics()[:9] == (
        "fid", "kid", "inception_score", "precision_recall", "mode_coverage", "reconstruction",
        "data_copying", "conditional_accuracy", "intra_fid",
    )
    assert {k: v for k, v in metric_aliases().items() if k != "brightness"} == {
        "copying": "data_copying", "c_t": "data_copying", "accuracy": "conditional_accuracy",
        "is": "inception_score", "pr": "precision_recall", "modes": "mode_coverage",
        "recon": "reconstruction", "reconstruction_error": "reconstruction",
    }


@pytest.mark.parametrize(
    "bad, match",
    [
        (type("NoName", (Metric,), {}), r"lower-case strings\. Received: None$"),
        (type("Upper", (Metric,), {"name": "Loud"}), r"Received: 'Loud'$"),
        (type("Needs", (Metric,), {"name": "x1", "needs": ("pixels",)}), r"Received: needs=\('pixels',\)$"),
        (type("Opts", (Metric,), {"name": "x2", "options": ("k",)}), r"Received: options=\('k',\)$"),
        (type("Clash", (Metric,), {"name": "x3", "aliases": ("is",)}), r"'is' is already registered"),
        (type("Summary", (Metric,), {"name": "x4", "summary": {"mean": "fid"}}), r"'fid' is 'fid's.*Received: Summary"),
        (object(), r"Metric subclass or instance\. Received: <object"),
    ],
)
def test_register_metric_refuses_what_evaluate_could_not_use(bad, match):
    with pytest.raises(ValueError, match=match):
        register_metric(bad)
    assert not {"x1", "x2", "x3", "x4"} & set(metrics.available_metrics())


def test_a_metric_without_a_description_is_described_by_its_docstring(registered):
    assert "  Mean pixel value of the generated images" in metrics.describe_metrics()
