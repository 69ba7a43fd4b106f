"""ganzoo.validation: the argument checks every module shares, and their messages."""

import numpy as np
import pytest

from ganzoo.validation import check_choice, check_int, check_number, is_int


@pytest.mark.parametrize("value, expected", [
    (3, True), (np.int64(3), True), (np.uint8(0), True), (True, False), (np.bool_(True), False),
    (3.0, False), ("3", False), (None, False),
])
def test_is_int(value, expected):
    assert is_int(value) is expected


def test_check_int_returns_a_python_int():
    assert check_int(4, "n") == 4
    value = check_int(np.int32(4), "n")
    assert value == 4 and type(value) is int
    assert check_int(0, "seed", 0) == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(value=0, name="batch_size"), "`batch_size` must be a positive integer. Received: batch_size=0"),
    (dict(value=-1, name="seed", minimum=0), "`seed` must be a non-negative integer. Received: seed=-1"),
    (dict(value=1, name="k", minimum=2), "`k` must be an integer >= 2. Received: k=1"),
    (dict(value=0, name="latent_dim", owner="DCGANGenerator"),
     "`latent_dim` of DCGANGenerator must be a positive integer. Received: latent_dim=0"),
    (dict(value=0, name="steps", quote=False), "steps must be a positive integer. Received: steps=0"),
    (dict(value=0.5, name="power_iterations", owner="SpectralDense", expected="an integer >= 1 (one)"),
     "`power_iterations` of SpectralDense must be an integer >= 1 (one). Received: power_iterations=0.5"),
    (dict(value=True, name="n"), "`n` must be a positive integer. Received: n=True"),
    (dict(value="2", name="n"), "`n` must be a positive integer. Received: n='2'"),
    (dict(value=np.int64(2), name="n", numpy=False), "Received: n=np.int64(2)"),
])
def test_check_int_refusals_say_what_was_expected_and_received(kwargs, message):
    with pytest.raises(ValueError) as error:
        check_int(**kwargs)
    assert str(error.value).endswith(message), str(error.value)


def test_check_number_messages():
    assert check_number("x", np.float32(0.5), 0, 1) == 0.5
    with pytest.raises(ValueError, match=r"^x must be a finite number in \[0, 1\)\. Received: x=1$"):
        check_number("x", 1, 0, 1, open_high=True)
    with pytest.raises(ValueError, match=r"^`lr` must be a positive number\. Received: lr=nan$"):
        check_number("lr", float("nan"), 0, open_low=True, expected="a positive number", quote=True)


def test_check_choice_messages():
    assert check_choice("a", "mode", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"^`mode` of Owner must be one of \['a', 'b'\]\. Received: mode='c'$"):
        check_choice("c", "mode", ("b", "a"), "Owner")
    with pytest.raises(ValueError, match=r"^mode must be one of \['a', 'b'\]\. Received: mode='c'$"):
        check_choice("c", "mode", {"a": 1, "b": 2}, quote=False)
