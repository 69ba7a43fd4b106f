"""Fréchet Inception Distance (FID).

Heusel, Ramsauer, Unterthiner, Nessler & Hochreiter 2017, "GANs Trained by a Two
Time-Scale Update Rule Converge to a Local Nash Equilibrium", arXiv:1706.08500.

Features of real and generated images are modelled as Gaussians
``N(mu_1, S_1)`` and ``N(mu_2, S_2)``; FID is the Fréchet (2-Wasserstein)
distance between them::

    FID = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})

Means and covariances are accumulated in float64 by `FeatureStats`, one batch at
a time, so features never need to be held in memory all at once.
"""

import pathlib
import warnings

import numpy as np
import scipy.linalg

from ganzoo.metrics import _checks
from ganzoo.metrics.registry import Metric, Option, register_metric

#: Default ridge added to both covariances when the first square root fails.
DEFAULT_EPS = 1e-6
#: Largest imaginary part (relative to the largest real entry) discarded silently.
IMAG_TOLERANCE = 1e-3


class FeatureStats:
    """Streaming mean and covariance of feature vectors, in float64.

    Uses the pairwise update of Chan, Golub & LeVeque (1979): each batch's mean
    and centred scatter matrix ``M2 = sum (x - mean)(x - mean)^T`` are merged
    into the running ones with
    ``M2 = M2_a + M2_b + delta delta^T n_a n_b / n`` (``delta = mean_b - mean_a``),
    which avoids the cancellation of the naive ``E[x x^T] - mu mu^T``.

    Args:
        dim: feature dimension D, or None to take it from the first batch.

    Example:

    ```python
    stats = FeatureStats()
    for batch in feature_batches:      # each (B, D)
        stats.update(batch)
    stats.mean, stats.covariance       # (D,), (D, D)
    ```
    """

    def __init__(self, dim=None):
        if dim is not None:
            dim = _checks.positive_int("dim", dim)
        self.dim = dim
        self.num = 0
        self.mean = None if dim is None else np.zeros(dim)
        self.m2 = None if dim is None else np.zeros((dim, dim))

    def update(self, features):
        """Adds a batch of features.

        Args:
            features: array ``(B, D)``; NaN or inf raise a ValueError.

        Returns:
            self.
        """
        x = _checks.features(features, "features")
        if self.dim is None:
            self.dim = x.shape[1]
            self.mean = np.zeros(self.dim)
            self.m2 = np.zeros((self.dim, self.dim))
        if x.shape[1] != self.dim:
            raise ValueError(
                f"Expected features of dimension {self.dim}, as in earlier batches. "
                f"Received: shape={x.shape}"
            )
        mean = x.mean(axis=0)
        centred = x - mean
        self._merge(x.shape[0], mean, centred.T @ centred)
        return self

    def merge(self, other):
        """Adds the samples summarized by another `FeatureStats` (e.g. from another worker).

        Args:
            other: a `FeatureStats` of the same dimension.

        Returns:
            self.
        """
        if not isinstance(other, FeatureStats):
            raise ValueError(f"Can only merge a FeatureStats. Received: {type(other).__name__}")
        if other.num == 0:
            return self
        if self.dim is None:
            self.dim = other.dim
            self.mean = np.zeros(self.dim)
            self.m2 = np.zeros((self.dim, self.dim))
        if other.dim != self.dim:
            raise ValueError(
                f"Cannot merge statistics of dimension {other.dim} into dimension {self.dim}. "
                f"Received: other.dim={other.dim}"
            )
        self._merge(other.num, other.mean, other.m2)
        return self

    def _merge(self, num_b, mean_b, m2_b):
        num_a = self.num
        num = num_a + num_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (num_b / num)
        self.m2 = self.m2 + m2_b + np.outer(delta, delta) * (num_a * num_b / num)
        self.num = num

    @property
    def covariance(self):
        """Unbiased sample covariance ``M2 / (N - 1)``, float64 ``(D, D)``."""
        if self.num < 2:
            raise ValueError(
                "A covariance needs at least 2 samples. "
                f"Received: {self.num} samples"
            )
        return self.m2 / (self.num - 1)

    def save(self, path):
        """Writes the statistics to an ``.npz`` file (to cache reference statistics)."""
        if self.num == 0:
            raise ValueError(f"No samples to save. Received: {self.num} samples")
        np.savez(path, num=self.num, mean=self.mean, m2=self.m2)
        return pathlib.Path(path)

    @classmethod
    def load(cls, path):
        """Reads statistics written by `save`."""
        with np.load(path, allow_pickle=False) as f:
            stats = cls(int(f["mean"].shape[0]))
            stats.num = int(f["num"])
            stats.mean = f["mean"].astype(np.float64)
            stats.m2 = f["m2"].astype(np.float64)
        return stats

    @classmethod
    def from_features(cls, features, batch_size=None):
        """Statistics of a feature matrix ``(N, D)`` (in batches if `batch_size`)."""
        x = _checks.features(features, "features")
        stats = cls(x.shape[1])
        step = x.shape[0] if batch_size is None else _checks.positive_int("batch_size", batch_size)
        for start in range(0, x.shape[0], step):
            stats.update(x[start : start + step])
        return stats


def _check_enough(stats, name):
    """Errors below 2 samples; warns when the covariance must be singular (N <= D)."""
    if stats.num < 2:
        raise ValueError(
            f"FID needs at least 2 samples per set to estimate a covariance "
            f"(and more than the feature dimension {stats.dim} for a full-rank one). "
            f"Received: {name} has {stats.num} samples"
        )
    if stats.num <= stats.dim:
        _checks.warn(
            f"FID: {name} has {stats.num} samples for {stats.dim}-dimensional features, so its "
            f"covariance is singular and the FID is unreliable and biased upwards; use at "
            f"least {stats.dim + 1} samples (preferably 10x more)."
        )


def sqrtm_product(sigma1, sigma2, eps=DEFAULT_EPS):
    """A stable real square root of ``sigma1 @ sigma2`` for PSD covariances.

    First ``scipy.linalg.sqrtm(sigma1 @ sigma2)``. If that is not finite, or has
    an imaginary part above `IMAG_TOLERANCE` (relative to its largest real
    entry), it is retried on ``(sigma1 + eps I)(sigma2 + eps I)``. A remaining
    tiny imaginary part (round-off: the product of two PSD matrices has real,
    non-negative eigenvalues) is discarded.

    Args:
        sigma1: float64 ``(D, D)``.
        sigma2: float64 ``(D, D)``.
        eps: ridge added to both matrices for the retry.

    Returns:
        ``(root, eps_added)``: float64 ``(D, D)`` and whether the retry was used.
    """

    def is_bad(m):
        if not np.all(np.isfinite(m)):
            return True
        if np.iscomplexobj(m):
            scale = max(1.0, float(np.max(np.abs(m.real))))
            return float(np.max(np.abs(m.imag))) > IMAG_TOLERANCE * scale
        return False

    def sqrtm(m):
        # scipy warns about singular inputs; the result is checked here instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            return scipy.linalg.sqrtm(m)

    root = sqrtm(sigma1 @ sigma2)
    eps_added = False
    if is_bad(root):
        offset = np.eye(sigma1.shape[0]) * eps
        root = sqrtm((sigma1 + offset) @ (sigma2 + offset))
        eps_added = True
        if is_bad(root):
            worst = (
                float(np.max(np.abs(root.imag)))
                if np.iscomplexobj(root) and np.all(np.isfinite(root))
                else float("nan")
            )
            raise ValueError(
                "The matrix square root of the covariance product is not real and finite "
                f"even with eps={eps:g} added to the diagonals; are there enough samples "
                f"and finite features? Received: max imaginary part={worst:.4g}"
            )
    return np.real(root), eps_added


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=DEFAULT_EPS):
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1: float ``(D,)``.
        sigma1: float ``(D, D)``, symmetric positive semi-definite.
        mu2: float ``(D,)``.
        sigma2: float ``(D, D)``.
        eps: ridge for the retry of the matrix square root (see `sqrtm_product`).

    Returns:
        ``(distance, eps_added)``: a float >= 0 (negative round-off is clipped to 0)
        and whether the ridge was needed.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            "Expected means (D,) and covariances (D, D) of one dimension D. Received: "
            f"shapes {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}"
        )
    for name, value in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.all(np.isfinite(value)):
            raise ValueError(
                f"`{name}` contains NaN or infinite values. Received: {name} with non-finite entries"
            )
    diff = mu1 - mu2
    root, eps_added = sqrtm_product(sigma1, sigma2, eps)
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root)
    return max(float(value), 0.0), eps_added


def fid_from_stats(stats_a, stats_b, eps=DEFAULT_EPS):
    """FID between two sets summarized by `FeatureStats`.

    Args:
        stats_a: `FeatureStats` of the first set (e.g. generated images).
        stats_b: `FeatureStats` of the second set (e.g. the reference data).
        eps: ridge for the retry of the matrix square root.

    Returns:
        dict with ``fid`` (float), ``num_a``, ``num_b`` (sample counts),
        ``feature_dim``, ``eps`` and ``eps_added`` (whether the retry ran).
    """
    for name, s in (("stats_a", stats_a), ("stats_b", stats_b)):
        if not isinstance(s, FeatureStats):
            raise ValueError(f"`{name}` must be a FeatureStats. Received: {type(s).__name__}")
    if stats_a.dim != stats_b.dim:
        raise ValueError(
            "Both statistics must have the same feature dimension. "
            f"Received: {stats_a.dim} and {stats_b.dim}"
        )
    _check_enough(stats_a, "the first set")
    _check_enough(stats_b, "the second set")
    value, eps_added = frechet_distance(
        stats_a.mean, stats_a.covariance, stats_b.mean, stats_b.covariance, eps
    )
    return {
        "fid": value,
        "num_a": int(stats_a.num),
        "num_b": int(stats_b.num),
        "feature_dim": int(stats_a.dim),
        "eps": float(eps),
        "eps_added": bool(eps_added),
    }


def fid(features_a, features_b, eps=DEFAULT_EPS):
    """FID between two feature matrices.

    Args:
        features_a: ``(N_a, D)``, e.g. features of generated images.
        features_b: ``(N_b, D)``, e.g. features of real images.
        eps: ridge for the retry of the matrix square root.

    Returns:
        dict, as `fid_from_stats`.
    """
    a = _checks.features(features_a, "features_a")
    b = _checks.features(features_b, "features_b")
    _checks.same_dim(a, b, "features_a", "features_b")
    return fid_from_stats(FeatureStats.from_features(a), FeatureStats.from_features(b), eps)

@register_metric
class FID(Metric):
    """``fid``: `fid_from_stats` of the generated and the reference features."""

    name = "fid"
    needs = ("features", "reference_features")
    options = (Option("eps", DEFAULT_EPS, "ridge for the retry of the matrix square root"),)
    values = ("fid",)
    summary = {"fid": "fid"}
    description = "Frechet distance between Gaussians fit to generated and reference features"

    def compute(self, inputs, options):
        """`fid_from_stats` of ``inputs.feature_stats`` and ``inputs.reference_stats``."""
        return fid_from_stats(inputs.feature_stats, inputs.reference_stats, **options)
