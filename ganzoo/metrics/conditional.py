"""Metrics of class-conditional GANs: conditional accuracy and intra-FID.

Both take the samples of `ganzoo.metrics.evaluate`, generated for the balanced
labels ``arange(N) % num_classes`` (`requested_labels`).

* `conditional_accuracy`: the share of samples the extractor's classifier
  assigns to the class they were generated for.
* `intra_fid`: the mean over classes of the FID between the samples of a class
  and the reference images labelled with it (Miyato & Koyama 2018,
  arXiv:1802.05637, Section 5).
"""

import warnings

import numpy as np

from ganzoo import sampling
from ganzoo.metrics import _checks
from ganzoo.metrics.frechet import DEFAULT_EPS, fid as fid_features
from ganzoo.metrics.registry import Metric, Option, register_metric
from ganzoo.validation import check_class_ids


def requested_labels(num, num_classes):
    """The balanced labels the samples are generated for: int32 ``(num,)``, ``arange(num) % num_classes``
    (`ganzoo.sampling.default_labels`)."""
    return sampling.default_labels(num, num_classes)


def conditional_accuracy(probs, num_classes):
    """Share of samples the classifier assigns to the class they were generated for.

    Args:
        probs: ``(N, num_classes)`` class probabilities of the N samples,
            generated for `requested_labels` ``(N,)``.
        num_classes: the GAN's number of classes.

    Returns:
        dict with ``accuracy`` (float) and ``per_class`` (list of num_classes floats).
    """
    requested = requested_labels(probs.shape[0], num_classes)
    hit = probs.argmax(axis=1) == requested
    return {
        "accuracy": float(hit.mean()),
        "per_class": [float(hit[requested == c].mean()) for c in range(num_classes)],
    }


def intra_fid(feats, ref_feats, ref_labels, num_classes, **opts):
    """Mean over classes of FID(samples of class c, reference images of class c).

    Classes with no more samples or reference images than feature dimensions have
    a singular covariance: one warning says so for all of them (not one per class).

    Args:
        feats: ``(N, D)`` features of the samples, generated for `requested_labels`.
        ref_feats: ``(M, D)`` features of the reference images.
        ref_labels: ``(M,)`` int class ids of the reference images.
        num_classes: the GAN's number of classes.
        **opts: options of `ganzoo.metrics.fid` (``eps``).

    Returns:
        dict with ``intra_fid`` (float) and ``per_class`` (list of num_classes FIDs).
    """
    requested = requested_labels(feats.shape[0], num_classes)
    ref_labels = check_class_ids(ref_labels, num_classes, num=ref_feats.shape[0], what="reference labels")
    dim = feats.shape[1]
    per_class, small = [], []
    for c in range(num_classes):
        mine, theirs = feats[requested == c], ref_feats[ref_labels == c]
        if min(len(mine), len(theirs)) < 2:
            raise ValueError(
                f"intra_fid needs at least 2 samples and 2 reference images of every class. "
                f"Received: {len(mine)} samples and {len(theirs)} reference images of class {c}"
            )
        if min(len(mine), len(theirs)) <= dim:
            small.append((len(mine), len(theirs)))
        with warnings.catch_warnings():  # said once for every class below
            warnings.filterwarnings("ignore", message="FID: .*covariance is singular", category=UserWarning)
            per_class.append(float(fid_features(mine, theirs, **opts)["fid"]))
    if small:
        _checks.warn(
            f"intra_fid: in {len(small)} of {num_classes} classes the samples (fewest: "
            f"{min(m for m, _ in small)}) or the reference images (fewest: {min(r for _, r in small)}) "
            f"are not more than the {dim} feature dimensions, so the class's covariance is singular "
            f"and its FID unreliable and biased upwards; use at least {dim + 1} of each per class "
            f"(preferably 10x more: num_samples >= {10 * (dim + 1) * num_classes})."
        )
    return {"intra_fid": float(np.mean(per_class)), "per_class": per_class}


def check_reference_classes(data, split, num_classes, data_name):
    """intra_fid: refuses reference labels the GAN cannot generate before any image is read,
    when the reference's classes are known without reading it (labelled arrays, the sources
    whose classes `ganzoo.data.describe` knows); otherwise `intra_fid` checks them.

    Raises:
        ValueError: labels up to more classes than `num_classes`, or an unlabelled array.
    """
    from ganzoo import data as data_lib

    if isinstance(data, tuple) and len(data) == 2:
        labels = np.asarray(data[1])
        known = int(labels.max()) + 1 if labels.size and np.issubdtype(labels.dtype, np.integer) else None
    elif isinstance(data, np.ndarray):
        raise ValueError(
            "intra_fid compares each class with the reference images of that class: pass "
            "labelled reference data, (images, labels). Received: unlabelled image array"
        )
    else:
        known = data_lib.describe(data, split=split).num_classes
    if known is not None and known > num_classes:
        raise ValueError(
            f"intra_fid needs reference labels in [0, {num_classes}), the GAN's classes. "
            f"Received: reference data {data_name!r} with labels up to {known - 1}"
        )


@register_metric
class ConditionalAccuracy(Metric):
    """``conditional_accuracy`` (``accuracy``): `conditional_accuracy` of the samples' class probabilities."""

    name = "conditional_accuracy"
    aliases = ("accuracy",)
    needs = ("probabilities",)
    values = ("accuracy", "per_class")
    summary = {"accuracy": "conditional_accuracy"}
    conditional_only = True
    description = "share of samples the extractor's classifier assigns to the requested class"

    def compute(self, inputs, options):
        """`conditional_accuracy` of ``inputs.probabilities``; no reference data."""
        result = conditional_accuracy(inputs.probabilities, inputs.gan.num_classes)
        result["protocol"] = {"reference": None, "split": None, "num_reference": 0,
                              "labels": "requested: arange(num_samples) % num_classes"}
        return result


@register_metric
class IntraFID(Metric):
    """``intra_fid``: `intra_fid` of the samples against the reference images of each class."""

    name = "intra_fid"
    needs = ("features", "reference_features", "reference_labels")
    options = (Option("eps", DEFAULT_EPS, "ridge for the retry of the matrix square root"),)
    values = ("intra_fid", "per_class")
    summary = {"intra_fid": "intra_fid"}
    conditional_only = True
    description = "mean over classes of the FID of the class's samples and reference images"

    def check(self, gan, evaluator, options):
        """`check_reference_classes` of the evaluator's reference data."""
        check_reference_classes(evaluator.data, evaluator.split, gan.num_classes, evaluator.data_name())

    def compute(self, inputs, options):
        """`intra_fid` of the generated and the labelled reference features."""
        result = intra_fid(inputs.features, inputs.reference_features, inputs.reference_labels,
                           inputs.gan.num_classes, **options)
        result["protocol"] = {"class_from": "the reference data's labels"}
        return result
