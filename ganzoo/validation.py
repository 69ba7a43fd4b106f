"""Argument checks shared across ganzoo (a leaf module: imports nothing of ganzoo)."""

import difflib
import math
import numbers

import numpy as np


def is_int(value):
    """True for a Python or NumPy integer; False for a bool (and for anything else)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _refuse(name, value, expected, owner=None, quote=True):
    """Raises ``ValueError("`name` of owner must be <expected>. Received: name=<value!r>")``.

    `owner` None leaves out `` of owner``; `quote` False names the argument
    without backticks.
    """
    subject = f"`{name}`" if quote else name
    if owner is not None:
        subject += f" of {owner}"
    raise ValueError(f"{subject} must be {expected}. Received: {name}={value!r}")


def check_int(value, name, minimum=1, owner=None, *, expected=None, quote=True, numpy=True):
    """Returns `value` as an int after checking it is an integer >= `minimum`.

    Bools are refused; NumPy integers are accepted (and returned as `int`)
    unless ``numpy=False``: a caller that passes the value on to Keras as given
    needs a Python int (Keras layers refuse NumPy integers).

    Args:
        value: the value to check.
        name: the argument's name, for the message.
        minimum: the smallest value allowed.
        owner: what the argument belongs to (e.g. a class name), or None.
        expected: what the message says the value must be; by default
            ``"a positive integer"`` (`minimum` 1), ``"a non-negative
            integer"`` (0), else ``"an integer >= <minimum>"``.
        quote: name the argument in backticks (`` `k` must be ...``) or not.
        numpy: accept NumPy integers.

    Raises:
        ValueError: ``"`name` [of owner] must be <expected>. Received: name=<value!r>"``.
    """
    kind = numbers.Integral if numpy else int
    if not (isinstance(value, kind) and not isinstance(value, bool) and value >= minimum):
        if expected is None:
            expected = {1: "a positive integer", 0: "a non-negative integer"}.get(
                minimum, f"an integer >= {minimum}"
            )
        _refuse(name, value, expected, owner, quote)
    return int(value)


def check_number(key, value, low=None, high=None, *, open_low=False, open_high=False, integer=False,
                 expected=None, quote=False):
    """Returns `value` as a float (or int) after checking it is a finite number in range.

    Booleans, strings, None, NaN and infinities are refused, so ``gp_weight=True``
    or ``r1_weight=float("nan")`` never reach the training graph.

    Args:
        key: the argument's name, for the message.
        value: the value to check.
        low, high: bounds (None: unbounded).
        open_low, open_high: exclude the bound itself.
        integer: require an integer.
        expected: what the message says the value must be; by default
            ``"a finite number in [low, high]"`` (``"an integer in ..."``).
        quote: name the argument in backticks.

    Raises:
        ValueError: naming `key`, the expected range and the value received.
    """
    if integer:
        ok = is_int(value)
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if not ok:
        if expected is None:
            kind = "an integer" if integer else "a finite number"
            if low is None and high is None:
                where = ""
            else:
                left = ("(" if open_low else "[") if low is not None else "(-inf"
                right = (")" if open_high else "]") if high is not None else "inf)"
                lo = "" if low is None else low
                hi = "" if high is None else high
                where = f" in {left}{lo}, {hi}{right}"
            expected = f"{kind}{where}"
        _refuse(key, value, expected, quote=quote)
    return int(value) if integer else float(value)


def expected_class_ids(num_classes, num=None):
    """What a conditional model expects as labels, as the messages say it."""
    size = "batch" if num is None else str(int(num))
    where = "" if num_classes is None else f" in [0, {int(num_classes)})"
    return f"int class ids of shape ({size},){where}"


def check_class_ids(labels, num_classes=None, num=None, what="labels"):
    """Checks class labels of a conditional model; returns them as int32 ``(N,)``.

    Expected: integer class ids of shape ``(N,)`` — ``(N, 1)`` is accepted and
    flattened — with values in ``[0, num_classes)``. One-hot or float labels,
    other shapes, a wrong count and out-of-range ids are refused before they
    reach a network (where they fail far from the cause, or, on a GPU, an
    embedding lookup may silently return zeros).

    Args:
        labels: array-like.
        num_classes: the model's number of classes, or None (then only
            ``>= 0`` is checked).
        num: the number of labels expected (one per image), or None.
        what: what the labels are, for the message.

    Raises:
        ValueError: naming the labels' dtype, shape or range received and what
            the model expects.
    """
    arr = np.asarray(labels)
    expected = expected_class_ids(num_classes, num)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        hint = ""
        if arr.ndim == 2 and arr.shape[1] > 1:
            hint = " (one-hot labels: pass labels.argmax(axis=-1))"
        elif np.issubdtype(arr.dtype, np.floating):
            hint = " (cast float class ids with labels.astype('int32'))"
        raise ValueError(
            f"Expected {what} as {expected}{hint}. "
            f"Received: {what} of dtype {arr.dtype} and shape {arr.shape}"
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or (num is not None and arr.shape[0] != num):
        hint = ""
        if arr.ndim == 2 and num_classes is not None and arr.shape[1] == num_classes:
            hint = " (one-hot labels: pass labels.argmax(axis=-1))"
        raise ValueError(f"Expected {what} as {expected}{hint}. Received: {what} of shape {arr.shape}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or (num_classes is not None and hi >= num_classes):
            raise ValueError(f"Expected {what} as {expected}. Received: {what} in [{lo}, {hi}]")
    return arr.astype(np.int32)


def check_choice(value, name, choices, owner=None, *, quote=True):
    """Returns `value` after checking it is one of `choices`.

    Raises:
        ValueError: ``"`name` [of owner] must be one of [...]. Received: name=<value!r>"``
            (`quote` False: without the backticks).
    """
    if value not in choices:
        _refuse(name, value, f"one of {sorted(choices)}", owner, quote)
    return value


def check_latent(z, latent_dim, num=None, seed=None):
    """Checks latent vectors given to ``GAN.generate(z=...)``; returns them as float32 ``(n, latent_dim)``.

    Args:
        z: array-like of real numbers, shape ``(n, latent_dim)`` with n >= 1,
            all finite.
        latent_dim: the model's latent size.
        num: the ``num`` passed with `z`: None or ``n``.
        seed: the ``seed`` passed with `z`: must be None (`z` replaces the
            seeded draw).

    Raises:
        ValueError: naming what is wrong, what was expected and what was received.
    """
    arr = np.asarray(z)
    expected = f"(n, latent_dim) = (n, {int(latent_dim)})"
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"z must be real numbers of shape {expected}. Received: z of dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != latent_dim or arr.shape[0] < 1:
        hint = " (one latent vector: pass z[None])" if arr.shape == (latent_dim,) else ""
        raise ValueError(f"z must have shape {expected}{hint}. Received: z of shape {arr.shape}")
    bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ValueError(f"z must be finite (no NaN or infinity). Received: {bad} non-finite values in z")
    if seed is not None:
        raise ValueError(
            "seed draws the latent vectors and z gives them: pass one of the two. "
            f"Received: seed={seed!r} and z of shape {arr.shape}"
        )
    if num is not None and (isinstance(num, bool) or num != arr.shape[0]):
        raise ValueError(
            "num must be the number of latent vectors in z (or be left out). "
            f"Received: num={num!r} and z of shape {arr.shape}"
        )
    return arr.astype(np.float32)


def did_you_mean(key, candidates):
    """`` Did you mean 'x'?`` for the closest of `candidates` to `key` (difflib), or ``""``."""
    close = difflib.get_close_matches(str(key), list(candidates), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""
