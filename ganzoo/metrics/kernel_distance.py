"""Kernel Inception Distance (KID).

Binkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD GANs",
arXiv:1801.01401.

KID is the squared maximum mean discrepancy between the feature distributions
of two image sets, with the cubic polynomial kernel::

    k(x, y) = (x . y / d + 1)^3          (d = feature dimension)

estimated without bias: for subsets ``X`` and ``Y`` of ``m`` samples each::

    MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1))
            + sum_{i != j} k(y_i, y_j) / (m (m - 1))
            - 2 sum_{i, j} k(x_i, y_j) / m^2

Being unbiased, its expectation is exactly 0 when both sets come from the same
distribution (single estimates can be negative). The paper averages the
estimate over several random subsets; the mean and the standard deviation over
subsets are reported.

**Unit.** ganzoo reports the raw MMD^2 (`KID_UNIT`), as Binkowski et al. do,
never multiplied by 1000 (some papers print KID x 10^3): in `kid`, in every
`ganzoo.metrics.evaluate` report (``protocol.params.unit``), in ``ganzoo
evaluate``'s output, the model cards and the README's tables. Its size depends
on the scale of the features (the kernel is not scale-invariant): the
literature's values such as 0.0125 are for InceptionV3's 2048-d pool features,
while the offline MNIST classifier's 64-d features give raw KIDs of 0.15-2.2
for the shipped models and 4-30 for short runs; the two are not comparable.
"""

import numpy as np

from ganzoo.metrics import _checks
from ganzoo.metrics.registry import Metric, Option, register_metric

DEFAULT_SUBSET_SIZE = 1000
DEFAULT_NUM_SUBSETS = 100
#: The unit of every KID ganzoo reports (recorded in each result and report).
KID_UNIT = "raw MMD^2 (not x1000)"


def polynomial_kernel(x, y):
    """The cubic polynomial kernel ``(x . y / d + 1)^3``.

    Args:
        x: float64 ``(M, D)``.
        y: float64 ``(N, D)``.

    Returns:
        float64 ``(M, N)``.
    """
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 between two equally sized samples with the cubic kernel.

    Args:
        x: float64 ``(m, D)``, m >= 2.
        y: float64 ``(m, D)``.

    Returns:
        float.
    """
    m = x.shape[0]
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    k_xy = polynomial_kernel(x, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * k_xy.sum() / (m * m))


def kid(
    features_a,
    features_b,
    subset_size=DEFAULT_SUBSET_SIZE,
    num_subsets=DEFAULT_NUM_SUBSETS,
    seed=0,
):
    """KID between two feature matrices, averaged over random subsets.

    Each of the `num_subsets` rounds draws `subset_size` rows of each set without
    replacement (independently per round) and computes the unbiased MMD^2.

    Args:
        features_a: ``(N_a, D)``, e.g. features of generated images.
        features_b: ``(N_b, D)``, e.g. features of real images.
        subset_size: rows per subset; reduced (with a warning) to
            ``min(N_a, N_b)`` when a set is smaller. At least 2.
        num_subsets: number of subsets.
        seed: seed of the subset draws (``np.random.default_rng``).

    Returns:
        dict with ``kid`` (mean over subsets) and ``kid_std`` (standard
        deviation over subsets), both raw MMD^2 (not x1000; see the module
        docstring), ``unit`` (`KID_UNIT`), ``subset_size`` (as used),
        ``num_subsets``, ``num_a``, ``num_b``, ``feature_dim``, ``kernel`` and
        ``seed``.
    """
    a = _checks.features(features_a, "features_a", min_samples=2, dtype=None)
    b = _checks.features(features_b, "features_b", min_samples=2, dtype=None)
    _checks.same_dim(a, b, "features_a", "features_b")
    subset_size = _checks.positive_int("subset_size", subset_size, minimum=2)
    num_subsets = _checks.positive_int("num_subsets", num_subsets)
    smallest = min(a.shape[0], b.shape[0])
    if subset_size > smallest:
        _checks.warn(
            f"KID: subset_size={subset_size} is larger than the smaller set ({smallest} "
            f"samples); using subsets of {smallest}."
        )
        subset_size = smallest
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        x = a[rng.choice(a.shape[0], subset_size, replace=False)].astype(np.float64)
        y = b[rng.choice(b.shape[0], subset_size, replace=False)].astype(np.float64)
        values[i] = mmd2_unbiased(x, y)
    return {
        "kid": float(values.mean()),
        "kid_std": float(values.std()),
        "subset_size": int(subset_size),
        "num_subsets": int(num_subsets),
        "num_a": int(a.shape[0]),
        "num_b": int(b.shape[0]),
        "feature_dim": int(a.shape[1]),
        "kernel": "(x.y/d + 1)^3",
        "seed": int(seed),
        "unit": KID_UNIT,
    }

@register_metric
class KID(Metric):
    """``kid``: `kid` of the generated and the reference features, subsets drawn with the evaluation's seed."""

    name = "kid"
    needs = ("features", "reference_features")
    options = (
        Option("subset_size", DEFAULT_SUBSET_SIZE, "rows of each set per subset (at most the smaller set)"),
        Option("num_subsets", DEFAULT_NUM_SUBSETS, "subsets averaged"),
    )
    values = ("kid", "kid_std")
    summary = {"kid": "kid", "kid_std": "kid_std"}
    description = "unbiased MMD^2 with a cubic polynomial kernel, mean over subsets (raw, not x1000)"

    def compute(self, inputs, options):
        """`kid` of ``inputs.features`` and ``inputs.reference_features``."""
        return kid(inputs.features, inputs.reference_features, seed=inputs.seed, **options)
