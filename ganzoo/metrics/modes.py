"""Mode coverage of a generator on labelled data.

A classifier trained on the real data labels each generated sample with its
most likely class (as in the stacked-MNIST mode counts of Srivastava et al. 2017,
"VEEGAN", arXiv:1705.07761, and Metz et al. 2017, "Unrolled GANs",
arXiv:1611.02163). Reported:

* the histogram of predicted classes;
* ``modes_hit``: classes that receive at least a `threshold` share of the samples;
* ``kl``: ``KL(p_sample || p_data) = sum_c p_sample(c) log(p_sample(c) / p_data(c))``
  in nats, where ``p_sample`` is the predicted-class distribution of the samples
  and ``p_data`` the class distribution of the reference data. This direction
  charges the generator for the classes it over-produces relative to the data;
  a generator that collapses onto one class of balanced C-class data gets
  ``log C``. Both distributions are smoothed before the KL: ``p <- (p + eps) /
  (1 + C eps)`` with ``eps = 1e-6`` (`smoothing`), so a class absent from the
  data gives a large but finite value.
"""

import numpy as np

from ganzoo.metrics import _checks
from ganzoo.metrics.registry import Metric, Option, register_metric

DEFAULT_SMOOTHING = 1e-6
#: Default threshold, as a fraction of the uniform share 1/C: a class is hit
#: when it gets at least 10% of the samples it would get under a uniform generator.
DEFAULT_RELATIVE_THRESHOLD = 0.1


def _labels(values, name, num_classes):
    """Predicted classes from probabilities ``(N, C)`` (argmax) or int labels ``(N,)``."""
    values = np.asarray(values)
    if values.ndim == 2:
        p = _checks.probabilities(values, name)
        if num_classes is not None and p.shape[1] != num_classes:
            raise ValueError(
                f"`{name}` has {p.shape[1]} classes, expected {num_classes}. "
                f"Received: shape={p.shape}"
            )
        return p.argmax(axis=1), p.shape[1]
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be class probabilities (N, C) or integer labels (N,). "
            f"Received: dtype={values.dtype}, shape={values.shape}"
        )
    if values.min() < 0 or (num_classes is not None and values.max() >= num_classes):
        raise ValueError(
            f"`{name}` must hold class indices in [0, {num_classes}). "
            f"Received: min={values.min()}, max={values.max()}"
        )
    return values.astype(np.int64), None


def kl_divergence(p, q, smoothing=DEFAULT_SMOOTHING):
    """``KL(p || q)`` in nats between two distributions over C classes, both smoothed.

    Args:
        p: float ``(C,)``, sums to 1.
        q: float ``(C,)``, sums to 1.
        smoothing: eps of ``(p + eps) / (1 + C eps)``.

    Returns:
        float >= 0.
    """
    c = p.shape[0]
    p = (p + smoothing) / (1.0 + c * smoothing)
    q = (q + smoothing) / (1.0 + c * smoothing)
    return float(max(np.sum(p * (np.log(p) - np.log(q))), 0.0))


def mode_coverage(
    sample_probs, data_labels, num_classes=None, threshold=None, smoothing=DEFAULT_SMOOTHING
):
    """Modes hit, class histogram, KL and total variation of generated samples' classes.

    Args:
        sample_probs: the classifier's output on generated images: probabilities
            ``(N, C)`` (the argmax is taken) or predicted labels ``(N,)``.
        data_labels: int labels ``(M,)`` of the reference data (true labels, or
            the same classifier's predictions on the real images).
        num_classes: C; default: the width of `sample_probs`, else
            ``max(labels) + 1``.
        threshold: minimum share of the samples (in (0, 1]) for a class to count
            as hit; default ``0.1 / C``.
        smoothing: additive smoothing of both distributions in the KL.

    Returns:
        dict with ``modes_hit`` (int), ``num_modes`` (C), ``missing_modes``
        (list of classes not hit), ``histogram`` (list of C sample counts),
        ``sample_distribution`` and ``data_distribution`` (lists of C shares),
        ``kl_sample_data`` (``KL(p_sample || p_data)``, nats),
        ``tv_sample_data`` (total variation ``0.5 * sum |p_sample - p_data|``,
        in [0, 1], unsmoothed), ``threshold``,
        ``smoothing``, ``num_samples`` and ``num_data``.
    """
    sample_labels, width = _labels(sample_probs, "sample_probs", num_classes)
    if num_classes is None:
        num_classes = width
    if np.asarray(data_labels).ndim != 1:
        raise ValueError(
            f"`data_labels` must be integer labels (M,). Received: shape={np.asarray(data_labels).shape}"
        )
    data, _ = _labels(data_labels, "data_labels", num_classes)
    if num_classes is None:
        num_classes = int(max(sample_labels.max(), data.max())) + 1
    num_classes = _checks.positive_int("num_classes", num_classes)
    if sample_labels.max() >= num_classes:
        raise ValueError(
            f"`sample_probs` holds classes outside [0, {num_classes}). "
            f"Received: max={sample_labels.max()}"
        )
    if threshold is None:
        threshold = DEFAULT_RELATIVE_THRESHOLD / num_classes
    threshold = _checks.positive_float("threshold", threshold)
    if threshold > 1:
        raise ValueError(
            f"`threshold` is a share of the samples, in (0, 1]. Received: threshold={threshold}"
        )
    smoothing = _checks.positive_float("smoothing", smoothing)
    counts = np.bincount(sample_labels, minlength=num_classes)
    p_sample = counts / counts.sum()
    p_data = np.bincount(data, minlength=num_classes) / data.shape[0]
    hit = p_sample >= threshold
    return {
        "modes_hit": int(hit.sum()),
        "num_modes": int(num_classes),
        "missing_modes": [int(c) for c in np.flatnonzero(~hit)],
        "histogram": [int(c) for c in counts],
        "sample_distribution": [float(v) for v in p_sample],
        "data_distribution": [float(v) for v in p_data],
        "kl_sample_data": kl_divergence(p_sample, p_data, smoothing),
        "tv_sample_data": float(0.5 * np.abs(p_sample - p_data).sum()),
        "threshold": float(threshold),
        "smoothing": float(smoothing),
        "num_samples": int(sample_labels.shape[0]),
        "num_data": int(data.shape[0]),
    }

@register_metric
class ModeCoverage(Metric):
    """``mode_coverage`` (``modes``): `mode_coverage` of the samples against the reference's classes.

    The data's class distribution is the extractor's predictions on the reference
    images, so that the classifier's errors affect both sides alike and any
    labelled or unlabelled data works.
    """

    name = "mode_coverage"
    aliases = ("modes",)
    needs = ("probabilities", "reference_probabilities")
    options = (
        Option("threshold", None, "share of the samples for a class to count as hit; None: 0.1 / C"),
        Option("smoothing", DEFAULT_SMOOTHING, "additive smoothing of both distributions in the KL"),
    )
    values = (
        "modes_hit", "num_modes", "missing_modes", "histogram",
        "sample_distribution", "data_distribution", "kl_sample_data", "tv_sample_data",
    )
    summary = {"modes_hit": "modes_hit", "kl_sample_data": "modes_kl", "tv_sample_data": "modes_tv"}
    description = "classes hit by the samples; KL and total variation between sample and data classes"

    def compute(self, inputs, options):
        """`mode_coverage` of ``inputs.probabilities`` against the reference's predicted classes."""
        data_labels = inputs.reference_probabilities.argmax(axis=1)
        result = mode_coverage(inputs.probabilities, data_labels, num_classes=inputs.extractor.num_classes,
                               **options)
        result["protocol"] = {
            "data_distribution_from": f"{inputs.extractor.name} predictions on the reference images"
        }
        return result
