"""Argument checks shared across ganzoo (a leaf module: imports nothing of ganzoo)."""

import math
import numbers


def check_number(key, value, low=None, high=None, *, open_low=False, open_high=False, integer=False):
    """Returns `value` as a float (or int) after checking it is a finite number in range.

    Booleans, strings, None, NaN and infinities are refused, so ``gp_weight=True``
    or ``r1_weight=float("nan")`` never reach the training graph.

    Args:
        key: the argument's name, for the message.
        value: the value to check.
        low, high: bounds (None: unbounded).
        open_low, open_high: exclude the bound itself.
        integer: require an integer.

    Raises:
        ValueError: naming `key`, the expected range and the value received.
    """
    if integer:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if not ok:
        kind = "an integer" if integer else "a finite number"
        if low is None and high is None:
            where = ""
        else:
            left = ("(" if open_low else "[") if low is not None else "(-inf"
            right = (")" if open_high else "]") if high is not None else "inf)"
            lo = "" if low is None else low
            hi = "" if high is None else high
            where = f" in {left}{lo}, {hi}{right}"
        raise ValueError(f"{key} must be {kind}{where}. Received: {key}={value!r}")
    return int(value) if integer else float(value)
