"""Argument validation shared by the data loaders.

Every check raises a `ValueError` whose message says what was expected and ends
with ``Received: <name>=<value>``.
"""

import os

import numpy as np


def received(**values):
    """Formats the closing ``Received: ...`` part of an error message.

    Args:
        **values: The offending argument names and values.

    Returns:
        A string such as ``"Received: batch_size=0"``.
    """
    return "Received: " + ", ".join(f"{k}={v!r}" for k, v in values.items())


def positive_int(name, value):
    """Checks that `value` is a positive Python or NumPy integer (not a bool).

    Args:
        name: Argument name used in the error message.
        value: The value to check.

    Returns:
        `value` as a Python `int`.

    Raises:
        ValueError: If `value` is not an integer >= 1.
    """
    if isinstance(value, bool) or not _is_int(value) or int(value) < 1:
        raise ValueError(f"`{name}` must be a positive integer. {received(**{name: value})}")
    return int(value)


def non_negative_int(name, value):
    """Checks that `value` is an integer >= 0 (not a bool) and returns it as `int`."""
    if isinstance(value, bool) or not _is_int(value) or int(value) < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. {received(**{name: value})}")
    return int(value)


def boolean(name, value):
    """Checks that `value` is a bool and returns it."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. {received(**{name: value})}")
    return value


def image_size(value):
    """Checks `image_size`: a pair (height, width) of positive integers.

    Args:
        value: The value to check, e.g. ``(28, 28)``.

    Returns:
        A tuple ``(height, width)`` of Python ints.

    Raises:
        ValueError: If `value` is not a length-2 tuple or list of positive ints.
    """
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    ok = ok and all(not isinstance(v, bool) and _is_int(v) and int(v) >= 1 for v in value)
    if not ok:
        raise ValueError(
            "`image_size` must be a pair (height, width) of positive integers, "
            f"e.g. (28, 28). {received(image_size=value)}"
        )
    return int(value[0]), int(value[1])


def channels(value):
    """Checks `channels`: None (keep the source's channels), 1 or 3."""
    if value is None:
        return None
    if isinstance(value, bool) or not _is_int(value) or int(value) not in (1, 3):
        raise ValueError(
            "`channels` must be None (keep the source's channels), 1 (grayscale) or "
            f"3 (RGB). {received(channels=value)}"
        )
    return int(value)


def split(value):
    """Checks that `split` is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"`split` must be a non-empty string such as 'train', 'test' or 'all'. {received(split=value)}"
        )
    return value.strip()


def data_dir(value):
    """Checks `data_dir`: None or a path; returns a `str` or None."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"`data_dir` must be None or a path. {received(data_dir=value)}")
    return os.fspath(value)


def _is_int(value):
    return isinstance(value, (int, np.integer))
