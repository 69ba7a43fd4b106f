"""Input validation shared by the metrics.

Every check raises a `ValueError` that says what was expected and ends with
``Received: ...``.
"""

import pathlib
import sys
import warnings

import numpy as np

from ganzoo import image_scale
from ganzoo.validation import check_int, check_number

_GANZOO_DIR = str(pathlib.Path(__file__).resolve().parent.parent)


def warn(message):
    """A UserWarning attributed to the first caller outside ganzoo (the user's line).

    A fixed ``stacklevel`` points inside ganzoo whenever a metric is reached
    through another (``evaluate`` -> ``fid``), which is where users meet these
    warnings; Python 3.12's ``skip_file_prefixes`` does this, 3.10 and 3.11 lack it.
    """
    level, frame = 2, sys._getframe(1)
    while frame is not None and str(pathlib.Path(frame.f_code.co_filename).resolve()).startswith(_GANZOO_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def received(**values):
    """Formats the closing ``Received: name=value, ...`` part of an error message."""
    return "Received: " + ", ".join(f"{k}={v}" for k, v in values.items())


def features(x, name="features", min_samples=1, dtype=np.float64):
    """Checks a feature matrix and returns it as float64 (or its own float dtype).

    Args:
        x: array-like ``(N, D)``.
        name: argument name for the error message.
        min_samples: the smallest allowed N.
        dtype: the returned dtype; None keeps float32/float64 input as it is
            (large feature sets are then cast to float64 block by block).

    Returns:
        numpy array ``(N, D)``.

    Raises:
        ValueError: for another rank, fewer than `min_samples` rows, no columns,
            or NaN / infinite values.
    """
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"`{name}` must be a numeric array (N, D). {received(dtype=x.dtype)}")
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(
            f"`{name}` must be a 2-D array (num_samples, feature_dim). {received(shape=x.shape)}"
        )
    if x.shape[0] < min_samples:
        raise ValueError(
            f"`{name}` needs at least {min_samples} samples. {received(num_samples=x.shape[0])}"
        )
    if dtype is None:
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    x = x.astype(dtype, copy=False)
    finite = np.isfinite(x)
    if not finite.all():
        bad = int(x.size - np.count_nonzero(finite))
        raise ValueError(
            f"`{name}` contains {bad} NaN or infinite values. {received(shape=x.shape)}"
        )
    return x


def same_dim(a, b, name_a, name_b):
    """Raises unless the two feature matrices have the same number of columns."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same feature dimension. "
            f"{received(**{f'{name_a}.shape': a.shape, f'{name_b}.shape': b.shape})}"
        )


def probabilities(p, name="probs", atol=1e-3):
    """Checks a matrix of class probabilities (rows sum to 1) and returns float64.

    Args:
        p: array-like ``(N, C)``, non-negative rows summing to 1 within `atol`.
        name: argument name for the error message.
        atol: tolerance of the row sums.

    Returns:
        float64 numpy array ``(N, C)``, rows renormalized to sum to exactly 1.
    """
    p = features(p, name)
    if p.min() < 0:
        raise ValueError(
            f"`{name}` must be probabilities (>= 0); did you pass logits? "
            f"{received(min=f'{p.min():.4g}')}"
        )
    sums = p.sum(axis=1)
    worst = float(np.max(np.abs(sums - 1.0)))
    if worst > atol:
        raise ValueError(
            f"Each row of `{name}` must sum to 1 (softmax outputs); did you pass logits? "
            f"{received(max_abs_row_sum_error=f'{worst:.4g}')}"
        )
    return p / sums[:, None]


def images(x, name="images", shape=None, known_scale=False):
    """Checks a batch of images: float, finite, [-1, 1] scale, rank 4.

    The scale is decided from the images' own range by `ganzoo.image_scale`:
    images with no value below 0 and none above 1 (up to the margin 1e-3) are
    the [0, 1] scale and refused, as are values outside [-1, 1].

    Args:
        x: array-like ``(N, H, W, C)``.
        name: what the images are, for the error message.
        shape: the expected ``(H, W, C)``, or None for any.
        known_scale: the images are [-1, 1] by construction (a generator's
            output, a `ganzoo.data.load` batch, a slice of images checked
            whole): only values outside [-1, 1] beyond the margin are refused.

    Returns:
        float32 numpy array ``(N, H, W, C)``.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{name} must be float images scaled to [-1, 1] (x / 127.5 - 1 for uint8). "
            f"{received(dtype=x.dtype)}"
        )
    if x.ndim != 4 or 0 in x.shape:
        raise ValueError(f"{name} must have shape (N, H, W, C). {received(shape=x.shape)}")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{name} must have shape (N, {', '.join(map(str, shape))}). {received(shape=x.shape)}"
        )
    finite = np.isfinite(x)
    if not finite.all():
        bad = int(x.size - np.count_nonzero(finite))
        raise ValueError(f"{name} contain {bad} NaN or infinite values. {received(shape=x.shape)}")
    lo, hi = float(x.min()), float(x.max())
    problem = image_scale.signed_problem(lo, hi, known_scale=known_scale)
    if problem is not None:
        raise ValueError(
            f"{name} must be scaled to [-1, 1]: {problem}. {received(min=f'{lo:.4g}', max=f'{hi:.4g}')}"
        )
    return x.astype(np.float32, copy=False)


def positive_int(name, value, minimum=1):
    """`ganzoo.validation.check_int` in the metrics' words: "`name` must be an integer >= minimum"."""
    return check_int(value, name, minimum, expected=f"an integer >= {minimum}")


def positive_float(name, value):
    """`ganzoo.validation.check_number` for a finite number > 0, returned as `float`."""
    return check_number(name, value, 0, open_low=True, expected="a positive number", quote=True)
