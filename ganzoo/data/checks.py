"""Argument validation shared by the data loaders.

Every check raises a `ValueError` whose message says what was expected and ends
with ``Received: <name>=<value>``. Integers (``batch_size``, ``seed``) are
checked by `ganzoo.validation.check_int`.
"""

import os

from ganzoo.validation import is_int


def received(**values):
    """Formats the closing ``Received: ...`` part of an error message.

    Args:
        **values: The offending argument names and values.

    Returns:
        A string such as ``"Received: batch_size=0"``.
    """
    return "Received: " + ", ".join(f"{k}={v!r}" for k, v in values.items())


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
    ok = ok and all(is_int(v) and v >= 1 for v in value)
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
    if not is_int(value) or value not in (1, 3):
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
