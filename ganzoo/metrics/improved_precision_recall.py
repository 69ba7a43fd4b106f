"""Improved precision and recall with k-nearest-neighbour manifolds.

Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved Precision and Recall
Metric for Assessing Generative Models", arXiv:1904.06991.

The manifold of a feature set ``Phi`` is the union of balls centred at each of its
points, with radius the distance to the point's k-th nearest neighbour within
``Phi`` (the point itself not counted)::

    f(phi, Phi) = 1  if  ||phi - phi'|| <= ||phi' - NN_k(phi', Phi)||  for some phi' in Phi

    precision = mean over generated phi_g of f(phi_g, Phi_real)
    recall    = mean over real phi_r of f(phi_r, Phi_generated)

Precision is the share of generated samples that fall on the real manifold
(fidelity); recall the share of real samples that fall on the generated manifold
(coverage). Distances are computed in blocks of `batch_size` x `batch_size`, so
memory stays bounded for any set size.
"""

import numpy as np

from ganzoo.metrics import _checks
from ganzoo.metrics.registry import Metric, Option, register_metric

DEFAULT_K = 3
DEFAULT_BATCH_SIZE = 1000


def _squared_distances(a, b, b_norms):
    """Squared Euclidean distances ``(len(a), len(b))``, float64, clipped at 0."""
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    d2 = np.sum(a * a, axis=1)[:, None] + b_norms[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def _squared_norms(x, batch_size):
    """Row norms squared, float64, computed block by block."""
    return np.concatenate(
        [
            np.sum(np.square(x[s : s + batch_size], dtype=np.float64), axis=1)
            for s in range(0, x.shape[0], batch_size)
        ]
    )


def knn_radii(x, k=DEFAULT_K, batch_size=DEFAULT_BATCH_SIZE):
    """Squared distance of each row of `x` to its k-th nearest other row.

    Args:
        x: float ``(N, D)`` with N > k (cast to float64 block by block).
        k: which neighbour.
        batch_size: rows and columns per distance block.

    Returns:
        float64 ``(N,)``.
    """
    norms = _squared_norms(x, batch_size)
    radii = np.empty(x.shape[0])
    keep = k + 1  # the point itself is its own nearest neighbour, at distance 0
    for r0 in range(0, x.shape[0], batch_size):
        rows = x[r0 : r0 + batch_size]
        best = np.full((rows.shape[0], 0), np.inf)
        for c0 in range(0, x.shape[0], batch_size):
            d2 = _squared_distances(rows, x[c0 : c0 + batch_size], norms[c0 : c0 + batch_size])
            # Exact zero for each row's own column, whatever the round-off.
            own = np.arange(rows.shape[0]) + r0 - c0
            inside = (own >= 0) & (own < d2.shape[1])
            d2[np.flatnonzero(inside), own[inside]] = 0.0
            merged = np.concatenate([best, d2], axis=1)
            width = min(keep, merged.shape[1])
            best = np.partition(merged, width - 1, axis=1)[:, :width]
        radii[r0 : r0 + rows.shape[0]] = np.sort(best, axis=1)[:, k]
    return radii


def manifold_coverage(points, centres, radii, batch_size=DEFAULT_BATCH_SIZE):
    """Which `points` lie in at least one ball ``(centres[j], sqrt(radii[j]))``.

    Args:
        points: float64 ``(M, D)``.
        centres: float64 ``(N, D)``.
        radii: float64 ``(N,)``, squared radii.
        batch_size: rows and columns per distance block.

    Returns:
        bool ``(M,)``.
    """
    norms = _squared_norms(centres, batch_size)
    inside = np.zeros(points.shape[0], dtype=bool)
    for r0 in range(0, points.shape[0], batch_size):
        rows = points[r0 : r0 + batch_size]
        hit = np.zeros(rows.shape[0], dtype=bool)
        for c0 in range(0, centres.shape[0], batch_size):
            d2 = _squared_distances(rows, centres[c0 : c0 + batch_size], norms[c0 : c0 + batch_size])
            hit |= np.any(d2 <= radii[None, c0 : c0 + batch_size], axis=1)
        inside[r0 : r0 + rows.shape[0]] = hit
    return inside


def precision_recall(real_features, fake_features, k=DEFAULT_K, batch_size=DEFAULT_BATCH_SIZE):
    """Improved precision and recall of generated features against real ones.

    The paper uses the same number of real and generated samples (the manifold's
    density depends on it); record both counts when they differ.

    Args:
        real_features: ``(N_real, D)``, N_real > k.
        fake_features: ``(N_fake, D)``, N_fake > k.
        k: neighbour that sets each ball's radius (paper: 3).
        batch_size: rows and columns per distance block (memory ~ 8 B x batch_size^2).

    Returns:
        dict with ``precision``, ``recall`` (floats in [0, 1]), ``k``, ``num_real``,
        ``num_fake`` and ``feature_dim``.
    """
    k = _checks.positive_int("k", k)
    batch_size = _checks.positive_int("batch_size", batch_size)
    real = _checks.features(real_features, "real_features", min_samples=k + 1, dtype=None)
    fake = _checks.features(fake_features, "fake_features", min_samples=k + 1, dtype=None)
    _checks.same_dim(real, fake, "real_features", "fake_features")
    real_radii = knn_radii(real, k, batch_size)
    fake_radii = knn_radii(fake, k, batch_size)
    precision = manifold_coverage(fake, real, real_radii, batch_size).mean()
    recall = manifold_coverage(real, fake, fake_radii, batch_size).mean()
    return {
        "precision": float(precision),
        "recall": float(recall),
        "k": int(k),
        "num_real": int(real.shape[0]),
        "num_fake": int(fake.shape[0]),
        "feature_dim": int(real.shape[1]),
    }

@register_metric
class PrecisionRecall(Metric):
    """``precision_recall`` (``pr``): `precision_recall` of the reference and generated features."""

    name = "precision_recall"
    aliases = ("pr",)
    needs = ("features", "reference_features")
    options = (
        Option("k", DEFAULT_K, "neighbour that sets each ball's radius (paper: 3)"),
        Option("batch_size", DEFAULT_BATCH_SIZE, "rows and columns per distance block"),
    )
    values = ("precision", "recall")
    summary = {"precision": "precision", "recall": "recall"}
    description = "share of samples on the real k-NN manifold, and of real images on the samples'"

    def compute(self, inputs, options):
        """`precision_recall` of ``inputs.reference_features`` and ``inputs.features``."""
        return precision_recall(inputs.reference_features, inputs.features, **options)
