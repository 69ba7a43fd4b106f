"""Metrics of class-conditional GANs: conditional accuracy and intra-FID.

Both take the samples of `ganzoo.metrics.evaluate` and the labels they were
generated for (its ``label_distribution``: by default the reference's class
proportions, `ganzoo.sampling.proportional_labels`); without labels, the
balanced ``arange(N) % num_classes`` (`requested_labels`).

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


def _requested(labels, num, num_classes):
    """The samples' labels: `labels` checked, or `requested_labels` when None."""
    if labels is None:
        return requested_labels(num, num_classes)
    return check_class_ids(labels, num_classes, num=num, what="labels of the samples")


def _samples_for(per_class, labels, num_classes):
    """The number of samples that gives every class at least `per_class`, in the proportions of
    `labels` (``per_class * num_classes`` for balanced labels)."""
    share = np.bincount(labels, minlength=num_classes) / len(labels)
    return int(np.ceil(per_class / share.min() - 1e-9))


def conditional_accuracy(probs, num_classes, labels=None):
    """Share of samples the classifier assigns to the class they were generated for.

    Args:
        probs: ``(N, num_classes)`` class probabilities of the N samples.
        num_classes: the GAN's number of classes.
        labels: int ``(N,)``, the classes the samples were generated for; None:
            `requested_labels` (balanced).

    Returns:
        dict with ``accuracy`` (float, over all N samples, so classes weigh by
        their share of `labels`) and ``per_class`` (list of num_classes floats;
        None for a class with no sample).

    Raises:
        ValueError: `labels` not N class ids in ``[0, num_classes)``.
    """
    requested = _requested(labels, probs.shape[0], num_classes)
    hit = probs.argmax(axis=1) == requested
    return {
        "accuracy": float(hit.mean()),
        "per_class": [float(hit[requested == c].mean()) if (requested == c).any() else None
                      for c in range(num_classes)],
    }


def intra_fid(feats, ref_feats, ref_labels, num_classes, labels=None, **opts):
    """Mean over classes of FID(samples of class c, reference images of class c).

    Classes with no more samples or reference images than feature dimensions have
    a singular covariance: one warning says so for all of them (not one per class).

    Args:
        feats: ``(N, D)`` features of the samples.
        ref_feats: ``(M, D)`` features of the reference images.
        ref_labels: ``(M,)`` int class ids of the reference images.
        num_classes: the GAN's number of classes.
        labels: int ``(N,)``, the classes the samples were generated for; None:
            `requested_labels` (balanced).
        **opts: options of `ganzoo.metrics.fid` (``eps``).

    Returns:
        dict with ``intra_fid`` (float) and ``per_class`` (list of num_classes FIDs).
    """
    requested = _requested(labels, feats.shape[0], num_classes)
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
            f"(preferably 10x more: num_samples >= {_samples_for(10 * (dim + 1), requested, num_classes)})."
        )
    return {"intra_fid": float(np.mean(per_class)), "per_class": per_class}


def check_reference_classes(data, split, num_classes, data_name, needing="intra_fid", required=True):
    """Refuses reference labels the GAN cannot generate before any image is read, when the
    reference's classes are known without reading it (labelled arrays, the sources whose
    classes `ganzoo.data.describe` knows); otherwise they are checked once read.

    Args:
        data, split: the evaluation's reference data and split.
        num_classes: the GAN's number of classes.
        data_name: the reference's name in messages.
        needing: what needs the labels, for messages (a metric, or the
            evaluation's ``label_distribution``).
        required: refuse reference data known to be unlabelled.

    Raises:
        ValueError: labels up to more classes than `num_classes`, or (`required`)
            unlabelled reference data.
    """
    from ganzoo import data as data_lib

    if isinstance(data, tuple) and len(data) == 2:
        labels = np.asarray(data[1])
        known = int(labels.max()) + 1 if labels.size and np.issubdtype(labels.dtype, np.integer) else None
    elif isinstance(data, np.ndarray):
        known = None
        if required:
            raise ValueError(
                f"{needing} needs the reference images' labels: pass labelled reference data, "
                "(images, labels). Received: unlabelled image array"
            )
    else:
        known = data_lib.describe(data, split=split).num_classes
        if known is None and required:
            raise ValueError(
                f"{needing} needs the reference images' labels. Received: unlabelled {data_name!r}"
            )
    if known is not None and known > num_classes:
        raise ValueError(
            f"{needing} needs reference labels in [0, {num_classes}), the GAN's classes. "
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
        result = conditional_accuracy(inputs.probabilities, inputs.gan.num_classes, labels=inputs.labels)
        result["protocol"] = {"reference": None, "split": None, "num_reference": 0,
                              "labels": f"requested: {inputs.labels_protocol}"}
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
                           inputs.gan.num_classes, labels=inputs.labels, **options)
        result["protocol"] = {"class_from": "the reference data's labels"}
        return result
