"""Inception Score (IS).

Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen 2016, "Improved Techniques
for Training GANs", arXiv:1606.03498.

From a classifier's class probabilities ``p(y | x_i)`` of generated images::

    IS = exp( E_x [ KL( p(y | x) || p(y) ) ] ),   p(y) = E_x [ p(y | x) ]

It lies in [1, C] for C classes: 1 when every image gets the same prediction
(e.g. a uniform one), C when predictions are confident (one-hot) and balanced
over the classes. As in the paper, the samples are cut into `splits`
consecutive chunks; the score is computed per chunk and the mean and standard
deviation over chunks are reported.
"""

import numpy as np

from ganzoo.metrics import _checks
from ganzoo.metrics.registry import Metric, Option, register_metric

DEFAULT_SPLITS = 10


def _score(p):
    """IS of one chunk ``(n, C)`` of probabilities (``0 log 0`` taken as 0)."""
    marginal = p.mean(axis=0)
    safe_p = np.where(p > 0, p, 1.0)
    safe_marginal = np.where(marginal > 0, marginal, 1.0)
    kl = np.sum(np.where(p > 0, p * (np.log(safe_p) - np.log(safe_marginal)), 0.0), axis=1)
    return float(np.exp(kl.mean()))


def inception_score(probs, splits=DEFAULT_SPLITS):
    """Inception Score from class probabilities.

    Args:
        probs: ``(N, C)`` softmax outputs of a classifier on generated images
            (rows sum to 1, within 1e-3).
        splits: number of consecutive chunks (``np.array_split``); at most N.

    Returns:
        dict with ``is`` (mean over chunks), ``is_std`` (standard deviation over
        chunks), ``splits``, ``num_samples`` and ``num_classes``.
    """
    p = _checks.probabilities(probs, "probs")
    splits = _checks.positive_int("splits", splits)
    if splits > p.shape[0]:
        raise ValueError(
            f"`splits` must be at most the number of samples ({p.shape[0]}). "
            f"Received: splits={splits}"
        )
    scores = np.array([_score(chunk) for chunk in np.array_split(p, splits)])
    return {
        "is": float(scores.mean()),
        "is_std": float(scores.std()),
        "splits": int(splits),
        "num_samples": int(p.shape[0]),
        "num_classes": int(p.shape[1]),
    }

@register_metric
class InceptionScore(Metric):
    """``inception_score`` (``is``): `inception_score` of the generated images' class probabilities."""

    name = "inception_score"
    aliases = ("is",)
    needs = ("probabilities",)
    options = (Option("splits", DEFAULT_SPLITS, "consecutive chunks the score is averaged over"),)
    values = ("is", "is_std")
    summary = {"is": "is", "is_std": "is_std"}
    description = "exp of the mean KL between each sample's class distribution and the marginal"

    def compute(self, inputs, options):
        """`inception_score` of ``inputs.probabilities``; no reference data."""
        result = inception_score(inputs.probabilities, **options)
        result["protocol"] = {"reference": None, "split": None, "num_reference": 0}
        return result
