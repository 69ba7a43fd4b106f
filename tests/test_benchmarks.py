"""The benchmark scripts' recipe logic (the scripts themselves are never run by the tests).

The benchmarks compare against fixed references (the paper's loss, keras.io's DCGAN) whatever the
shipped recipes turn on; these tests pin that they still build, so a recipe change cannot break
them silently.
"""

import importlib.util
import pathlib
import sys

import pytest

import ganzoo
from conftest import TINY

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"


def _script(name):
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import their siblings (_report, train_step)
    try:
        spec = importlib.util.spec_from_file_location(f"ganzoo_benchmark_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def small_data():
    return _script("small_data")


@pytest.fixture(scope="module")
def train_step():
    return _script("train_step")


def test_every_small_data_configuration_builds_on_the_default_entry(small_data):
    for config in small_data.CONFIGS:
        overrides = small_data.overrides_for(config, 3000, "dcgan_mnist")
        gan = ganzoo.create_model("dcgan_mnist", compile=False, **{**TINY, **overrides})
        assert gan.loss_name == overrides["loss"], config


def test_the_small_data_base_is_the_paper_loss_without_penalties_or_ema(small_data):
    # dcgan_mnist ships with the relativistic loss, R1/R2 and an EMA; "plain" must not.
    overrides = small_data.overrides_for("plain", 3000, "dcgan_mnist")
    gan = ganzoo.create_model("dcgan_mnist", compile=False, **{**TINY, **overrides})
    assert gan.loss_name == "non_saturating"
    assert gan.r1_weight == 0 and gan.r2_weight == 0 and gan.ema_generator is None
    assert small_data.overrides_for("plain", 3000, "sngan_mnist")["loss"] == "hinge"
    # sngan_twemoji ships with ADA and an EMA that starts at step 1000: "plain" has neither.
    plain = small_data.overrides_for("plain", 3000, "sngan_twemoji")
    gan = ganzoo.create_model("sngan_twemoji", compile=False, **{**TINY, **plain})
    assert gan.loss_name == "hinge" and gan.augment is None and gan.ema_generator is None
    ada = small_data.overrides_for("ada_rpgan_r1_r2_ema", 3000, "sngan_twemoji")
    gan = ganzoo.create_model("sngan_twemoji", compile=False, **{**TINY, **ada})
    assert gan.ema_start == 1000 and gan.augment is not None and gan.loss_name == "relativistic"


def test_the_baseline_refuses_a_step_it_cannot_mirror_and_accepts_keras_ios_dcgan(train_step):
    shipped = ganzoo.get_recipe("dcgan_mnist")
    assert "relativistic" in train_step.baseline_gap(shipped)
    assert train_step.baseline_gap(shipped.with_overrides(loss="non_saturating", r1_weight=0.0,
                                                          r2_weight=0.0)) is None
    assert "R1/R2" in train_step.baseline_gap(shipped.with_overrides(loss="non_saturating"))
    assert "unconditional" in train_step.baseline_gap(ganzoo.get_recipe("sngan_projection_mnist"))
    gan = ganzoo.create_model("dcgan_mnist", compile=False, **TINY)
    with pytest.raises(ValueError, match="relativistic loss. Received: dcgan_mnist"):
        train_step.build_baseline(gan, shipped)


def test_step_flops_add_six_discriminator_passes_per_penalty_divided_by_the_interval(train_step):
    # R1 and R2 each cost 6 B F_D per D step (as the gradient penalty); lazily every 4th step, a
    # quarter of that. So R1 + R2 every 4th step add 2 * 6 * B * F_D / 4 per D step.
    recipe = ganzoo.get_recipe("dcgan_mnist").with_overrides(**TINY)
    gan = ganzoo.create_model("dcgan_mnist", compile=False, **TINY)
    f_d, _ = train_step.forward_flops(gan.discriminator)
    with_penalties = train_step.step_flops(gan, recipe.with_overrides(r1_weight=1.0, r2_weight=1.0,
                                                                      penalty_interval=4))
    without = train_step.step_flops(gan, recipe.with_overrides(r1_weight=0.0, r2_weight=0.0))
    extra = (with_penalties["gflop_per_step"] - without["gflop_per_step"]) * 1e9
    assert extra == pytest.approx(recipe.d_steps * 2 * 6 * recipe.batch_size * f_d / 4, rel=1e-9)


def test_the_equal_budget_baseline_stays_keras_ios_dcgan_whatever_the_recipe_ships(train_step):
    quality_budget = _script("quality_budget")
    recipe = ganzoo.get_recipe(quality_budget.BASELINE_MODEL).with_overrides(**quality_budget.BASELINE_OVERRIDES)
    assert recipe.loss == "non_saturating" and train_step.baseline_gap(recipe) is None


def test_colour_checks_nearest_distance_is_the_l2_distance_to_the_closest_training_row():
    import numpy as np

    nearest = _script("colour_checks")._nearest
    train = np.array([[0.0, 0.0], [3.0, 4.0], [10.0, 0.0]])
    queries = np.array([[0.0, 1.0], [3.0, 4.0], [7.0, 0.0], [6.0, 8.0]])
    np.testing.assert_allclose(nearest(queries, train, batch=3), [1.0, 0.0, 3.0, 5.0], atol=1e-9)


def test_colour_checks_group_means_and_medians_skip_empty_groups():
    import numpy as np

    by_group = _script("colour_checks")._by_group
    values, groups = [1.0, 0.0, 1.0, 1.0, 4.0], [0, 0, 2, 2, 2]
    assert by_group(values, groups, 3, np.mean) == [0.5, None, 2.0]
    assert by_group(values, groups, 3, np.median) == [0.5, None, 1.0]
