"""The labels a conditional GAN is evaluated with: `sampling.proportional_labels` and
`Evaluator(label_distribution=...)`.

Against unbalanced labelled data (Twemoji: 60% People & Body) balanced labels make the
samples a different distribution from the reference, and FID measures that mismatch;
the default draws them in the reference's class proportions.
"""

import numpy as np
import pytest

from ganzoo import metrics, sampling
from ganzoo.metrics._reference import load_arrays
from conftest import DigitLookupGAN


# --- proportional_labels: counts and order computed by hand -------------------------


def test_proportional_labels_counts_and_order_by_hand():
    # 7 labels for counts [1, 1, 2]: exact shares 1.75, 1.75, 3.5 -> floors [1, 1, 3], and the
    # 2 left over go to the largest remainders (0.75, 0.75 > 0.5): counts [2, 2, 3]. Slots
    # (k + 1/2) / m: class 0 and 1 at 1/4, 3/4; class 2 at 1/6, 1/2, 5/6.
    labels = sampling.proportional_labels(7, [1, 1, 2])
    assert labels.dtype == np.int32
    assert labels.tolist() == [2, 0, 1, 2, 0, 1, 2]


def test_proportional_labels_gives_the_exact_share_and_skips_empty_classes():
    counts = [151, 2034, 0, 121, 196, 77, 236, 201, 242]  # twemoji:train's, one class emptied
    labels = sampling.proportional_labels(5000, counts)
    got = np.bincount(labels, minlength=9)
    exact = 5000 * np.asarray(counts) / sum(counts)
    assert got.sum() == 5000 and got[2] == 0
    assert np.all(np.abs(got - exact) < 1)  # floor or ceiling of each exact share
    # Interleaved, not sorted by class: the first 100 already hold every class but the empty one.
    assert set(labels[:100].tolist()) == {0, 1, 3, 4, 5, 6, 7, 8}


@pytest.mark.parametrize("num", [0, 1, 6, 7, 23, 500])
@pytest.mark.parametrize("num_classes", [1, 3, 10])
def test_proportional_labels_of_equal_counts_are_the_balanced_default(num, num_classes):
    np.testing.assert_array_equal(sampling.proportional_labels(num, [450] * num_classes),
                                  sampling.default_labels(num, num_classes))


@pytest.mark.parametrize("counts", [[], [0, 0], [1, -1], [1.0, 2.0], [[1, 2]], "abc"])
def test_proportional_labels_refuses_counts_that_are_not_a_distribution(counts):
    with pytest.raises(ValueError, match="class_counts must be .*Received"):
        sampling.proportional_labels(5, counts)


def test_proportional_labels_refuses_a_negative_num():
    with pytest.raises(ValueError, match="num"):
        sampling.proportional_labels(-1, [1, 2])


# --- the evaluation ------------------------------------------------------------------


def _reference(counts):
    """Labelled reference digits (mnist_5k:train), `counts[c]` of class c."""
    x, y, _ = load_arrays("mnist_5k", "train", image_shape=(28, 28, 1), limit=2000)
    keep = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate(counts)])
    return x[keep], y[keep]


def test_a_conditional_gan_is_sampled_in_the_reference_class_proportions():
    # Reference 60% zeros, 20% ones, 20% nines; only class 0 is generated right, so the
    # conditional accuracy is the share of class 0 among the requested labels: 0.6 with the
    # reference's proportions, 0.1 with balanced labels (up to the classifier's few errors).
    ref = _reference([60, 20, 0, 0, 0, 0, 0, 0, 0, 20])
    gan = DigitLookupGAN(lambda c: c if c == 0 else (c + 1) % 10)
    report = metrics.evaluate(gan, data=ref, metrics="accuracy", num_samples=200, progress=False)
    assert np.bincount(gan.requested(), minlength=10).tolist() == [120, 40, 0, 0, 0, 0, 0, 0, 0, 40]
    assert report["summary"]["conditional_accuracy"] == pytest.approx(0.6, abs=0.03)
    assert report["protocol"]["label_distribution"] == "auto"
    assert "class proportions of array" in report["protocol"]["sampling"]
    per_class = report["metrics"]["conditional_accuracy"]["per_class"]
    assert per_class[2] is None and per_class[0] > 0.9 and per_class[1] < 0.1

    balanced = DigitLookupGAN(lambda c: c if c == 0 else (c + 1) % 10)
    report = metrics.evaluate(balanced, data=ref, metrics="accuracy", num_samples=200, progress=False,
                              label_distribution="balanced")
    np.testing.assert_array_equal(balanced.requested(), np.arange(200) % 10)
    assert report["summary"]["conditional_accuracy"] == pytest.approx(0.1, abs=0.02)
    assert "arange(N) % num_classes" in report["protocol"]["sampling"]


def test_balanced_reference_data_gives_the_balanced_labels():
    # mnist_5k:train has 450 digits of each class: its proportions are arange(N) % 10.
    gan = DigitLookupGAN()
    report = metrics.evaluate(gan, metrics="accuracy", num_samples=130, progress=False)
    np.testing.assert_array_equal(gan.requested(), np.arange(130) % 10)
    assert "mnist_5k:train ([450, 450, 450, 450, 450, 450, 450, 450, 450, 450])" in report["protocol"]["sampling"]


def test_unlabelled_reference_data_gives_balanced_labels_unless_data_is_asked_for():
    images, _ = _reference([10] * 10)
    gan = DigitLookupGAN()
    report = metrics.evaluate(gan, data=images, metrics="accuracy", num_samples=20, progress=False)
    np.testing.assert_array_equal(gan.requested(), np.arange(20) % 10)
    assert "balanced" in report["protocol"]["sampling"]

    refused = DigitLookupGAN()
    with pytest.raises(ValueError, match="needs the reference images' labels.*Received: unlabelled image array"):
        metrics.evaluate(refused, data=images, metrics="accuracy", num_samples=20, progress=False,
                         label_distribution="data")
    assert refused.asked == []  # refused before any sample


def test_reference_labels_the_gan_has_no_class_for_give_balanced_labels_or_are_refused_for_data():
    ref = _reference([5] * 10)
    gan = DigitLookupGAN()
    gan.num_classes = 3
    report = metrics.evaluate(gan, data=ref, metrics="accuracy", num_samples=12, progress=False)
    np.testing.assert_array_equal(gan.requested(), np.arange(12) % 3)
    assert "labels go up to 9, beyond the GAN's 3 classes" in report["protocol"]["sampling"]
    refused = DigitLookupGAN()
    refused.num_classes = 3
    with pytest.raises(ValueError, match=r"labels in \[0, 3\).*Received: reference data 'array' with labels up to 9"):
        metrics.evaluate(refused, data=ref, metrics="accuracy", num_samples=12, progress=False,
                         label_distribution="data")
    assert refused.asked == []


@pytest.mark.parametrize("value", ["uniform", None, "Data"])
def test_an_unknown_label_distribution_is_refused(value):
    with pytest.raises(ValueError, match=r"label_distribution must be one of \['auto', 'data', 'balanced'\]\. Received"):
        metrics.Evaluator(label_distribution=value)


def test_intra_fid_advice_counts_the_smallest_class_of_the_requested_labels():
    # Labels 40 : 10 : ... : 10 (the reference's proportions): the smallest class gets 1/13 of
    # the samples, so 10 x 65 = 650 samples of it (64-d features) need 13 x 650 = 8450 in all.
    ref = _reference([40] + [10] * 9)
    with pytest.warns(UserWarning, match=r"preferably 10x more: num_samples >= 8450\)"):
        report = metrics.evaluate(DigitLookupGAN(), data=ref, metrics="intra_fid", num_samples=130, progress=False)
    assert len(report["metrics"]["intra_fid"]["per_class"]) == 10
