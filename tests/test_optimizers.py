"""`ganzoo.optimizers`: the inverse-sqrt schedule and `build_optimizer`'s refusals."""

import math

import keras
import numpy as np
import pytest

from ganzoo.optimizers import InverseSqrtDecay, build_optimizer


def _inverse_sqrt(lr, step, divisor=1):
    # The module docstring's formula: eta_j = eta / sqrt(j + 1), j = generator iterations.
    return lr / math.sqrt(step // divisor + 1)


@pytest.mark.parametrize("divisor", [1, 3])
def test_inverse_sqrt_schedule_follows_its_formula(divisor):
    opt = build_optimizer({"name": "adam", "learning_rate": 4e-4, "schedule": "inverse_sqrt"},
                          step_divisor=divisor)
    schedule = opt._learning_rate
    assert isinstance(schedule, InverseSqrtDecay)
    for step in (0, 1, 2, 3, 5, 8, 9, 99, 10_000):
        assert float(schedule(step)) == pytest.approx(_inverse_sqrt(4e-4, step, divisor), rel=1e-6), step
    # the optimizer's current rate follows its own step counter
    opt.iterations.assign(3 * divisor)
    assert float(opt.learning_rate) == pytest.approx(2e-4, rel=1e-6)
    # and the schedule survives a save (registered serializable)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(again, InverseSqrtDecay)
    assert float(again(8 * divisor)) == pytest.approx(4e-4 / 3, rel=1e-6)


def test_inverse_sqrt_schedule_defaults_to_a_rate_of_1e_3():
    schedule = build_optimizer({"name": "sgd", "schedule": "inverse_sqrt"})._learning_rate
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(15)) == pytest.approx(1e-3 / 4)


def test_inverse_sqrt_schedule_sets_the_size_of_each_update():
    # SGD on a constant gradient of 1: step k (0-based) moves the variable by lr / sqrt(k // 2 + 1).
    opt = build_optimizer({"name": "sgd", "learning_rate": 0.4, "schedule": "inverse_sqrt"}, step_divisor=2)
    v = keras.Variable(0.0)
    moves = []
    for _ in range(5):
        before = float(v.numpy())
        opt.apply_gradients([(keras.ops.convert_to_tensor(1.0), v)])
        moves.append(before - float(v.numpy()))
    np.testing.assert_allclose(moves, [_inverse_sqrt(0.4, k, 2) for k in range(5)], rtol=1e-5)


@pytest.mark.parametrize(
    "settings, message",
    [
        (3, r"must be an optimizer, a name or a dict\. Received: 3"),
        (None, r"must be an optimizer, a name or a dict\. Received: None"),
        ({"learning_rate": 0.1}, r"need a 'name'\. Received: \{'learning_rate': 0.1\}"),
        ({"name": "", "learning_rate": 0.1}, r"need a 'name'\. Received: \{'name': '', 'learning_rate': 0\.1\}"),
        ({"name": "adam", "schedule": "cosine"},
         r"Unknown learning-rate schedule\. Expected one of \['constant', 'linear', 'inverse_sqrt'\]\. "
         r"Received: schedule='cosine'"),
        ({"name": "adam", "schedule": "linear"},
         r"The 'linear' schedule needs 'decay_steps' \(generator iterations\)\. Received: .*'linear'"),
        ({"name": "adam", "schedule": "linear", "decay_steps": 0},
         r"decay_steps must be a positive integer\. Received: decay_steps=0"),
        ({"name": "adamx"}, r"Could not build optimizer 'adamx' .*Received: \{'name': 'adamx'\}"),
        ("nosuch", r"Could not build optimizer 'nosuch' .*Received: \{'name': 'nosuch'\}"),
        ({"name": "adam", "betaa": 0.5},
         r"Could not build optimizer 'adam' .*betaa.*Received: \{'name': 'adam', 'betaa': 0.5\}"),
        ({"name": "adam", "decay_steps": 100},  # would be ignored: only the linear schedule has a length
         r"'decay_steps' in optimizer settings is the length of the 'linear' schedule, and the schedule is "
         r"'constant', so it would be ignored.*Received: schedule='constant', decay_steps=100"),
        ({"name": "adam", "schedule": "inverse_sqrt", "decay_steps": 100}, r"the schedule is 'inverse_sqrt'"),
    ],
    ids=["int", "none", "no-name", "empty-name", "unknown-schedule", "linear-without-decay-steps",
         "zero-decay-steps", "unknown-optimizer", "unknown-name-string", "unknown-argument",
         "decay-steps-without-linear", "decay-steps-with-inverse-sqrt"],
)
def test_build_optimizer_refuses_bad_settings_with_a_clear_message(settings, message):
    with pytest.raises(ValueError, match=message):
        build_optimizer(settings)


def test_build_optimizer_leaves_the_settings_untouched():
    settings = {"name": "adam", "learning_rate": 3e-4, "schedule": "inverse_sqrt", "beta_1": 0.5}
    copy = dict(settings)
    opt = build_optimizer(settings)
    assert settings == copy
    assert float(opt.beta_1) == 0.5 and float(opt._learning_rate(0)) == pytest.approx(3e-4)
