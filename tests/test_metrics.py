"""ganzoo.metrics: each metric against values worked out by hand, the shipped
classifier, evaluate / callback / CLI on tiny models, and bad input."""

import json
import shutil

import numpy as np
import pytest
import scipy.linalg
import keras
import tensorflow as tf

from ganzoo import metrics
from ganzoo.metrics import extractors
from ganzoo.metrics.frechet import FeatureStats, fid_from_stats, frechet_distance, sqrtm_product
from ganzoo.metrics.kernel_distance import KID_UNIT, mmd2_unbiased, polynomial_kernel
from conftest import DigitLookupGAN, as_dataset, offline_keras_home, real_batch, tiny_model


def gaussian(n, mean, std, seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, len(mean))) * np.asarray(std) + np.asarray(mean)


# --------------------------------------------------------------------------- FID


def test_frechet_distance_equals_closed_form_for_diagonal_covariances():
    # mu1 = 0, S1 = diag(1, 4, 9); mu2 = (1, 2, 0), S2 = diag(4, 1, 9).
    # ||mu1 - mu2||^2 = 1 + 4 = 5. For diagonal S, (S1 S2)^{1/2} = diag(sqrt(s1 s2)), so
    # Tr(S1 + S2 - 2 (S1 S2)^{1/2}) = sum (sqrt(s1) - sqrt(s2))^2 = 1 + 1 + 0 = 2. FID = 7.
    value, eps_added = frechet_distance(
        np.zeros(3), np.diag([1.0, 4.0, 9.0]), np.array([1.0, 2.0, 0.0]), np.diag([4.0, 1.0, 9.0])
    )
    assert value == pytest.approx(7.0, abs=1e-9)
    assert not eps_added


def _rotation(a, b):
    """A 3-D rotation: by `a` in the (x0, x1) plane after `b` in the (x1, x2) plane."""
    ca, sa, cb, sb = np.cos(a), np.sin(a), np.cos(b), np.sin(b)
    first = np.array([[1.0, 0, 0], [0, cb, -sb], [0, sb, cb]])
    return np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1.0]]) @ first


def _psd_sqrt(s):
    """The symmetric PSD square root of a symmetric PSD matrix, by eigendecomposition."""
    w, v = np.linalg.eigh(s)
    return v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T


def _samples_with_moments(mean, cov, n, seed):
    """n samples whose sample mean and (unbiased) sample covariance are exactly mean and cov.

    Centred noise X with sample covariance C = L_C L_C^T is mapped to X L_C^-T L_S^T, whose
    sample covariance is L_S L_C^-1 C L_C^-T L_S^T = L_S L_S^T = cov.
    """
    x = np.random.default_rng(seed).standard_normal((n, len(mean)))
    x -= x.mean(axis=0)
    l_c = np.linalg.cholesky(x.T @ x / (n - 1))
    return x @ np.linalg.inv(l_c).T @ np.linalg.cholesky(cov).T + mean


def test_frechet_distance_with_non_commuting_covariances():
    # S1 = diag(1, 25, 100), S2 = R diag(100, 1, 25) R^T with R a rotation: S1 S2 != S2 S1, so
    # (S1 S2)^{1/2} != S1^{1/2} S2^{1/2}. The right trace term, computed here without the
    # non-symmetric product: Tr (S1 S2)^{1/2} = Tr (S1^{1/2} S2 S1^{1/2})^{1/2} (same
    # eigenvalues, as A B and B A have), i.e. the sum of square roots of the eigenvalues of a
    # symmetric PSD matrix (numpy eigvalsh). FID = ||mu1 - mu2||^2 + Tr S1 + Tr S2 - 2 that.
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 0.0])
    s1 = np.diag([1.0, 25.0, 100.0])
    r = _rotation(np.pi / 4, np.pi / 3)
    s2 = r @ np.diag([100.0, 1.0, 25.0]) @ r.T
    assert np.abs(s1 @ s2 - s2 @ s1).max() > 10  # far from commuting
    h1 = _psd_sqrt(s1)
    right_trace = np.sqrt(np.clip(np.linalg.eigvalsh(h1 @ s2 @ h1), 0, None)).sum()
    base = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
    right = base - 2.0 * right_trace
    # The formula that is right only for commuting covariances: Tr S1^{1/2} S2^{1/2}.
    wrong = base - 2.0 * np.trace(h1 @ _psd_sqrt(s2))
    assert right == pytest.approx(122.075, abs=1e-3)  # 5 + 252 - 2 * 67.462
    assert wrong - right > 10.0  # 133.0 vs 122.1: the two formulas are far apart here

    value, eps_added = frechet_distance(mu1, s1, mu2, s2)
    assert value == pytest.approx(right, rel=1e-9) and not eps_added
    # The same through the feature pipeline: sets whose sample moments are exactly these.
    a = _samples_with_moments(mu1, s1, 40, seed=0)
    b = _samples_with_moments(mu2, s2, 60, seed=1)
    np.testing.assert_allclose(np.cov(b, rowvar=False), s2, atol=1e-9)
    assert metrics.fid(a, b)["fid"] == pytest.approx(right, rel=1e-8)
    assert metrics.fid(b, a)["fid"] == pytest.approx(right, rel=1e-8)  # symmetric


def test_fid_of_gaussian_samples_approaches_closed_form():
    a = gaussian(100_000, [0, 0, 0], [1, 2, 3], seed=0)
    b = gaussian(100_000, [1, 2, 0], [2, 1, 3], seed=1)
    result = metrics.fid(a, b)
    assert result["fid"] == pytest.approx(7.0, abs=0.1)
    assert (result["num_a"], result["num_b"], result["feature_dim"]) == (100_000, 100_000, 3)


def test_fid_of_a_set_with_itself_is_zero():
    x = gaussian(500, [0.5] * 8, [1.0] * 8, seed=2)
    assert metrics.fid(x, x)["fid"] == pytest.approx(0.0, abs=1e-6)


def test_streaming_stats_in_uneven_batches_equal_one_pass():
    x = gaussian(1000, [3.0, -1.0, 100.0, 0.0], [1.0, 0.1, 5.0, 2.0], seed=3)
    stats = FeatureStats()
    for lo, hi in ((0, 1), (1, 8), (8, 300), (300, 1000)):
        stats.update(x[lo:hi])
    np.testing.assert_allclose(stats.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats.covariance, np.cov(x, rowvar=False), rtol=1e-10)
    # merge() of two halves (e.g. two workers) equals the single pass too.
    merged = FeatureStats().update(x[:400]).merge(FeatureStats().update(x[400:]))
    np.testing.assert_allclose(merged.covariance, np.cov(x, rowvar=False), rtol=1e-10)
    y = gaussian(800, [3.0, -1.0, 99.0, 0.5], [1.0, 0.2, 5.0, 2.0], seed=4)
    streamed = fid_from_stats(stats, FeatureStats.from_features(y, batch_size=64))["fid"]
    assert streamed == pytest.approx(metrics.fid(x, y)["fid"], rel=1e-9)


def test_stats_round_trip_through_npz(tmp_path):
    stats = FeatureStats.from_features(gaussian(50, [0, 1], [1, 1], seed=5))
    loaded = FeatureStats.load(stats.save(tmp_path / "ref.npz"))
    assert loaded.num == 50
    np.testing.assert_array_equal(loaded.covariance, stats.covariance)


def test_sqrtm_retries_with_eps_on_non_finite_result(monkeypatch):
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def flaky(m):
        calls.append(m.copy())
        return np.full_like(m, np.nan) if len(calls) == 1 else real_sqrtm(m)

    monkeypatch.setattr(scipy.linalg, "sqrtm", flaky)
    s = np.diag([1.0, 4.0])
    root, eps_added = sqrtm_product(s, s, eps=1e-3)
    assert eps_added and len(calls) == 2
    np.testing.assert_allclose(calls[1], (s + 1e-3 * np.eye(2)) @ (s + 1e-3 * np.eye(2)))
    np.testing.assert_allclose(root, np.diag([1.001, 4.001]), rtol=1e-9)


def test_sqrtm_discards_tiny_imaginary_parts_and_refuses_large_ones(monkeypatch):
    s = np.diag([1.0, 4.0])
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda m: real_root(m) + 1e-9j)
    real_root = lambda m: np.sqrt(np.diag(np.diag(m)))  # noqa: E731 (diagonal inputs only)
    root, eps_added = sqrtm_product(s, s)
    assert not np.iscomplexobj(root) and not eps_added
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda m: real_root(m) + 0.5j)
    with pytest.raises(ValueError, match=r"not real and finite.*Received: max imaginary part"):
        sqrtm_product(s, s)


def test_fid_sample_count_checks():
    with pytest.raises(ValueError, match=r"at least 2 samples.*Received: the first set has 1 samples"):
        metrics.fid(np.zeros((1, 4)), np.ones((10, 4)))
    # Fewer samples than dimensions: a singular covariance, flagged with the minimum.
    with pytest.warns(UserWarning, match="use at least 9 samples"):
        metrics.fid(gaussian(5, [0] * 8, [1] * 8, 0), gaussian(50, [0] * 8, [1] * 8, 1))


# --------------------------------------------------------------------------- KID


def test_unbiased_mmd_matches_the_definition_on_a_tiny_set():
    x = gaussian(4, [0, 0], [1, 1], seed=6)
    y = gaussian(4, [1, 0], [1, 1], seed=7)
    k = lambda a, b: (a @ b / 2 + 1) ** 3  # noqa: E731
    m = 4
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_when_shifted():
    a = gaussian(600, [0] * 8, [1] * 8, seed=8)
    b = gaussian(600, [0] * 8, [1] * 8, seed=9)
    same = metrics.kid(a, b, subset_size=200, num_subsets=50)
    shifted = metrics.kid(a, b + 0.5, subset_size=200, num_subsets=50)
    assert abs(same["kid"]) < 0.02
    assert shifted["kid"] > 0.5 and shifted["kid"] > 10 * shifted["kid_std"] / np.sqrt(50)
    # The biased (V-statistic) estimate of the same pair is clearly positive.
    x, y = a[:200], b[:200]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    biased = k_xx.mean() + k_yy.mean() - 2 * k_xy.mean()
    assert biased > 0.03
    assert same["subset_size"] == 200 and same["num_subsets"] == 50 and same["kernel"] == "(x.y/d + 1)^3"


def test_kid_is_the_raw_mmd2_not_times_1000_and_says_so():
    # The cards' 0.21 and the small-data table's 20.45 are on one scale: the unbiased MMD^2
    # itself. One subset of every row is a permutation of each set: the same MMD^2.
    a = gaussian(40, [0] * 4, [1] * 4, seed=10)
    b = gaussian(40, [0.3] * 4, [1] * 4, seed=11)
    result = metrics.kid(a, b, subset_size=40, num_subsets=1)
    assert result["kid"] == pytest.approx(mmd2_unbiased(a, b), rel=1e-9)
    assert result["unit"] == KID_UNIT == "raw MMD^2 (not x1000)"


def test_metric_warnings_point_at_the_callers_line_not_inside_ganzoo():
    # A warning shows the file and line it is attributed to: the user's call, however deep in
    # ganzoo it was raised (fid -> fid_from_stats -> the sample-count check; evaluate -> kid).
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics.fid(gaussian(5, [0] * 8, [1] * 8, 0), gaussian(50, [0] * 8, [1] * 8, 1))
        metrics.kid(gaussian(30, [0] * 3, [1] * 3, 2), np.ones((40, 3)), subset_size=100, num_subsets=2)
        metrics.evaluate(tiny_model("dcgan_mnist"), data=np.zeros((40, 28, 28, 1), "float32") - 0.5,
                         metrics="kid", num_samples=30, progress=False, options={"kid": {"num_subsets": 2}})
    assert [str(w.message)[:4] for w in caught] == ["FID:", "KID:", "KID:"]
    assert [w.filename for w in caught] == [__file__] * 3


def test_kid_reduces_oversized_subsets_with_a_warning():
    with pytest.warns(UserWarning, match="using subsets of 30"):
        result = metrics.kid(
            np.random.default_rng(0).normal(size=(30, 3)), np.ones((40, 3)), subset_size=100, num_subsets=2
        )
    assert result["subset_size"] == 30


# --------------------------------------------------------------------------- IS


def test_inception_score_of_uniform_output_is_one():
    result = metrics.inception_score(np.full((100, 10), 0.1), splits=5)
    assert result["is"] == pytest.approx(1.0) and result["is_std"] == pytest.approx(0.0, abs=1e-12)


def test_inception_score_of_confident_balanced_output_is_num_classes():
    probs = np.tile(np.eye(7), (20, 1))  # each chunk of 14 rows holds every class twice
    result = metrics.inception_score(probs, splits=10)
    assert result["is"] == pytest.approx(7.0) and result["num_classes"] == 7
    # Confident but collapsed onto one class: 1.
    assert metrics.inception_score(np.tile(np.eye(7)[:1], (50, 1)), splits=1)["is"] == pytest.approx(1.0)


def test_inception_score_refuses_logits_and_too_many_splits():
    with pytest.raises(ValueError, match="did you pass logits.*Received"):
        metrics.inception_score(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match="must sum to 1.*Received"):
        metrics.inception_score(np.full((10, 3), 0.5))
    with pytest.raises(ValueError, match=r"at most the number of samples \(4\).*Received: splits=10"):
        metrics.inception_score(np.full((4, 2), 0.5), splits=10)


# --------------------------------------------------------------------------- precision / recall


def test_precision_recall_identical_sets_are_one_and_far_sets_zero():
    x = gaussian(200, [0] * 5, [1] * 5, seed=10)
    assert metrics.precision_recall(x, x.copy()) == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "k": 3, "num_real": 200, "num_fake": 200, "feature_dim": 5}
    )
    far = metrics.precision_recall(x, x + 1000.0)
    assert far["precision"] == 0.0 and far["recall"] == 0.0


def test_precision_recall_when_fakes_cover_half_of_the_real_modes():
    # Real data: two clusters A and B (100 points each), 100 apart. Fakes: copies of A only.
    # Each fake sits on a real point (distance 0 <= its radius) -> precision 1. Each real
    # point of A sits on a fake; B is ~100 away from fake balls of radius ~0.3 -> recall 1/2.
    a = gaussian(100, [0, 0], [1, 1], seed=11)
    b = gaussian(100, [100, 0], [1, 1], seed=12)
    result = metrics.precision_recall(np.concatenate([a, b]), a.copy(), k=3, batch_size=7)
    assert result["precision"] == 1.0 and result["recall"] == 0.5


def test_precision_recall_on_a_line_by_hand():
    # Real points 0..9 on a line, k=1: every ball has radius 1 and covers [-1, 10].
    # Fakes 0.5, 9.9, 10.5, 20: precision 2/4. Fake radii (1st neighbour): 9.4, 0.6, 0.6,
    # 9.5 -> balls [-8.9, 9.9], [9.3, 10.5], [9.9, 11.1], [10.5, 29.5]: every real point is
    # covered -> recall 1.
    real = np.arange(10, dtype=float)[:, None]
    fake = np.array([[0.5], [9.9], [10.5], [20.0]])
    result = metrics.precision_recall(real, fake, k=1)
    assert result["precision"] == pytest.approx(0.5) and result["recall"] == pytest.approx(1.0)
    # Blocked distances give the same answer as one block.
    assert metrics.precision_recall(real, fake, k=1, batch_size=3) == result


# --------------------------------------------------------------------------- mode coverage


def test_mode_coverage_on_synthetic_classifier_output():
    # 100 samples over 4 classes: 50 x class 0, 30 x class 1, 20 x class 2, none of 3.
    predicted = np.repeat([0, 1, 2], [50, 30, 20])
    probs = np.full((100, 4), 0.1)
    probs[np.arange(100), predicted] = 0.7
    data_labels = np.repeat(np.arange(4), 25)  # balanced data
    result = metrics.mode_coverage(probs, data_labels, threshold=0.25)
    assert result["histogram"] == [50, 30, 20, 0]
    assert result["modes_hit"] == 2 and result["missing_modes"] == [2, 3]
    # KL(p_sample || p_data) = .5 ln(.5/.25) + .3 ln(.3/.25) + .2 ln(.2/.25) (0 log 0 = 0).
    expected = 0.5 * np.log(2.0) + 0.3 * np.log(1.2) + 0.2 * np.log(0.8)
    assert result["kl_sample_data"] == pytest.approx(expected, abs=1e-4)
    # TV = 0.5 (|.5 - .25| + |.3 - .25| + |.2 - .25| + |0 - .25|) = 0.5 * 0.6.
    assert result["tv_sample_data"] == pytest.approx(0.3, abs=1e-9)
    # Default threshold 0.1 / C: the three present classes are hit.
    assert metrics.mode_coverage(probs, data_labels)["modes_hit"] == 3


def test_mode_coverage_collapsed_generator_has_kl_log_c():
    result = metrics.mode_coverage(np.zeros(60, dtype=int), np.arange(60) % 6, num_classes=6)
    assert result["modes_hit"] == 1
    assert result["kl_sample_data"] == pytest.approx(np.log(6), abs=1e-4)
    assert result["tv_sample_data"] == pytest.approx(5 / 6)  # all mass on 1 of 6 equal classes


# --------------------------------------------------------------------------- reconstruction


def tiny_generator(seed=0):
    keras.utils.set_random_seed(seed)
    z = keras.Input((4,))
    h = keras.layers.Dense(32, activation="tanh")(z)
    h = keras.layers.Dense(64, activation="tanh")(h)
    return keras.Model(z, keras.layers.Reshape((8, 8, 1))(h))


def test_reconstruction_error_near_zero_for_own_samples_and_large_for_others():
    g = tiny_generator()
    own = g.predict(np.random.default_rng(1).normal(size=(12, 4)).astype("float32"), verbose=0)
    noise = np.random.default_rng(2).uniform(-1, 1, size=(12, 8, 8, 1)).astype("float32")
    kwargs = dict(steps=300, learning_rate=0.1, restarts=2, seed=0)
    on_manifold = metrics.reconstruction_error(g, own, **kwargs)
    off_manifold = metrics.reconstruction_error(g, noise, **kwargs)
    assert on_manifold["mse"] < 1e-4
    assert off_manifold["mse"] > 0.1 > 1000 * on_manifold["mse"]
    assert on_manifold["num_images"] == 12 and on_manifold["restarts"] == 2
    assert "per-pixel mean squared error" in on_manifold["error"]


def test_reconstruction_cache_keeps_no_generator_alive():
    import gc
    import weakref

    g = tiny_generator()
    images = g.predict(np.random.default_rng(0).normal(size=(2, 4)).astype("float32"), verbose=0)
    metrics.reconstruction_error(g, images, steps=2, known_scale=True)
    alive = weakref.ref(g)
    del g
    gc.collect()
    assert alive() is None  # the compiled-function cache let the model go


def test_reconstruction_refuses_images_of_the_wrong_shape_or_range():
    g = tiny_generator()
    with pytest.raises(ValueError, match=r"shape \(N, 8, 8, 1\).*Received: shape=\(2, 28, 28, 1\)"):
        metrics.reconstruction_error(g, np.zeros((2, 28, 28, 1), "float32"))
    images = np.zeros((2, 8, 8, 1), "float32")
    images[1] = 255.0
    with pytest.raises(ValueError, match=r"scaled to \[-1, 1\].*Received: min=0, max=255"):
        metrics.reconstruction_error(g, images)


def test_metric_image_checks_decide_the_scale_from_the_range(tiny_gan):
    # [0, 1] images (x / 255) fit inside [-1, 1] but are refused, naming the range and the remedy.
    unit = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 1)).astype("float32") / 255.0
    with pytest.raises(ValueError, match=r"images must be scaled to \[-1, 1\]: values in \[0, 1\] have "
                                         r"nothing below 0.*\[0, 1\] scale.*x \* 2 - 1\. Received: min=0, max=1"):
        metrics.reconstruction_error(tiny_generator(), unit)
    extractor = metrics.get_extractor("mnist_5k_classifier")
    unit28 = np.random.default_rng(1).uniform(0, 1, (6, 28, 28, 1)).astype("float32")
    with pytest.raises(ValueError, match=r"\[0, 1\] scale.*Received: min=.*max="):
        extractor.features(unit28)
    with pytest.raises(ValueError, match=r"Reference images must be scaled to \[-1, 1\]: .*\[0, 1\] scale"):
        metrics.evaluate(tiny_gan, data=unit28, metrics=("fid",), num_samples=10, progress=False)
    # Within the margin of 1e-3 passes; beyond it does not.
    signed = unit28 * 2 - 1
    assert extractor.features(np.clip(signed * 1.0005, -1.0005, 1.0005)).shape == (6, 64)
    with pytest.raises(ValueError, match=r"outside the expected \[-1, 1\] by more than the margin 0.001"):
        extractor.features(signed * 1.01)
    # Decided on all the images, not per batch: a batch of only bright images is fine
    # inside a [-1, 1] array, and generated images are [-1, 1] by construction.
    bright_first = np.concatenate([np.abs(signed[:2]), signed])
    assert extractor.features(bright_first, batch_size=2).shape == (8, 64)
    assert extractor(np.abs(signed), known_scale=True)[0].shape == (6, 64)
    with pytest.raises(ValueError, match=r"\[0, 1\] scale"):
        extractor(np.abs(signed))


def test_evaluation_refuses_bad_labels():
    gan = tiny_model("dcgan_mnist", num_classes=10)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    with pytest.raises(ValueError, match=r"one-hot.*Received: labels of dtype float64 and shape \(4, 10\)"):
        metrics.reconstruction_error(gan, images, labels=np.eye(10)[:4], steps=1)
    with pytest.raises(ValueError, match=r"shape \(4,\) in \[0, 10\)\. Received: labels in \[0, 12\]"):
        metrics.reconstruction_error(gan, images, labels=[0, 1, 12, 3], steps=1)
    with pytest.raises(ValueError, match=r"reference labels.*Received: reference labels of shape \(4, 10\)"):
        metrics.evaluate(gan, data=(images, np.eye(10, dtype="int32")[:4]), metrics="intra_fid",
                         num_samples=10, progress=False)


# --------------------------------------------------------------------------- the shipped classifier


def test_shipped_classifier_loads_offline_and_matches_its_model_card():
    from ganzoo.metrics._reference import load_arrays

    extractor = metrics.get_extractor("auto", (28, 28, 1))
    assert isinstance(extractor, metrics.MNISTClassifierExtractor)
    card = extractor.card
    weights = extractors.default_classifier_dir() / card["weights"]["file"]
    assert weights.stat().st_size < 400_000  # a few hundred KB at most
    x, y, name = load_arrays("mnist_5k", "test", image_shape=(28, 28, 1))
    assert name == "mnist_5k:test" and x.shape[0] == card["data"]["num_test"] == 500
    probs = extractor.probabilities(x)
    correct = int(np.sum(probs.argmax(axis=1) == y))
    assert abs(correct - card["test_correct"]) <= 1  # last-bit differences across CPUs
    assert card["test_accuracy"] >= 0.97
    feats = extractor.features(x[:10])
    assert feats.shape == (10, 64) and feats.dtype == np.float32


def test_corrupted_or_incomplete_classifier_is_refused(tmp_path):
    source = extractors.default_classifier_dir()
    copy = tmp_path / "clf"
    shutil.copytree(source, copy)
    card = json.loads((copy / "model_card.json").read_text())
    weights = copy / card["weights"]["file"]
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match its model card.*Received: sha256=[0-9a-f]{64}"):
        extractors.load_mnist_classifier(copy)
    weights.unlink()
    with pytest.raises(ValueError, match="weights are missing.*Received"):
        extractors.load_mnist_classifier(copy)
    (copy / "model_card.json").unlink()
    with pytest.raises(ValueError, match="No model_card.json.*Received: directory="):
        extractors.MNISTClassifierExtractor(copy)


def test_auto_extractor_picks_inception_for_other_shapes_without_downloading():
    extractor = metrics.get_extractor("auto", (32, 32, 3))
    assert isinstance(extractor, metrics.InceptionV3Extractor)
    assert extractor._net is None  # built lazily
    x = extractors.inception_preprocess(np.linspace(-1, 1, 2 * 8 * 8).reshape(2, 8, 8, 1))
    assert tuple(x.shape) == (2, 299, 299, 3)
    assert float(x.numpy().min()) >= -1.0 and float(x.numpy().max()) <= 1.0
    with pytest.raises(ValueError, match="Unknown extractor.*Received: extractor='vgg'"):
        metrics.get_extractor("vgg", (28, 28, 1))


class RecordsCalls(keras.layers.Layer):
    """An identity layer that records, at each run of its `call`, whether it ran eagerly.

    A compiled (`tf.function`) caller runs `call` once, while tracing (False), and
    never again; an eager caller runs it at every batch (True each time).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.eager = []

    def call(self, x):
        self.eager.append(bool(tf.executing_eagerly()))
        return x


def spy_on_calls(monkeypatch, layer):
    """Records `tf.executing_eagerly()` at each run of `layer.call` (an existing layer)."""
    runs, call = [], layer.call

    def spy(*args, **kwargs):
        runs.append(bool(tf.executing_eagerly()))
        return call(*args, **kwargs)

    monkeypatch.setattr(layer, "call", spy)
    return runs


def test_inception_extractor_builds_one_network_for_features_and_probabilities(monkeypatch, tmp_path):
    # No download: keras.applications.InceptionV3 is replaced by a tiny network with the
    # same interface (a 2048-d "avg_pool" layer, a 1000-way softmax top), and the weights
    # file it is given is a placeholder in the Keras cache.
    models, _ = offline_keras_home(monkeypatch, tmp_path)
    models.mkdir()
    (models / extractors.INCEPTION_WEIGHTS_FILE).write_bytes(b"stand-in")
    built = []

    def fake_inception(include_top=True, weights="imagenet", pooling=None, input_shape=None):
        inputs = keras.Input((299, 299, 3))
        recorder = RecordsCalls()
        x = keras.layers.AveragePooling2D(13)(recorder(inputs))  # 23x23 cells of 13x13 pixels
        x = keras.layers.Conv2D(4, 3, strides=4)(x)
        x = keras.layers.Flatten()(x)
        pool = keras.layers.Dense(2048, activation="relu", name="avg_pool")(x)
        model = keras.Model(inputs, pool)
        if include_top:
            probs = keras.layers.Dense(1000, activation="softmax", name="predictions")(pool)
            model = keras.Model(inputs, probs)
        recorder.eager.clear()  # forget the symbolic build
        built.append(({"include_top": include_top, "weights": weights, "pooling": pooling},
                      model, recorder))
        return model

    monkeypatch.setattr(keras.applications, "InceptionV3", fake_inception)
    extractor = metrics.InceptionV3Extractor()
    # 13 images (a prime) in batches of 4: 4 + 4 + 4 + 1.
    images = np.random.default_rng(0).uniform(-1, 1, size=(13, 32, 32, 1)).astype("float32")
    feats = extractor.features(images, batch_size=4)
    probs = extractor.probabilities(images, batch_size=5)  # 5 + 5 + 3
    # Features, then probabilities: one network, built once, serves both.
    assert len(built) == 1
    args, model, recorder = built[0]
    assert args == {"include_top": True, "weights": str(models / extractors.INCEPTION_WEIGHTS_FILE),
                    "pooling": None}
    # Compiled: the network ran once while tracing and never op by op, for all the
    # batch sizes (4, 1, 5, 3) and both requests.
    assert recorder.eager == [False]
    both = extractor.features_and_probabilities(images)  # one pass, one batch of 13
    # Against the stand-in called directly, image by image, on the documented
    # preprocessing: bilinear resize to 299x299 without antialiasing, gray -> RGB.
    feature_model = keras.Model(model.inputs, model.get_layer("avg_pool").output)
    want_feats, want_probs = [], []
    for image in images:
        x = tf.image.resize(image[None], (299, 299), method="bilinear", antialias=False)
        x = tf.concat([x, x, x], axis=-1)
        want_feats.append(feature_model(x, training=False).numpy()[0])
        want_probs.append(model(x, training=False).numpy()[0])
    assert feats.shape == (13, 2048) and probs.shape == (13, 1000)
    assert np.ptp(feats[:, np.abs(feats).max(axis=0) > 0], axis=0).max() > 1e-3  # images differ
    np.testing.assert_allclose(feats, np.stack(want_feats), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, np.stack(want_probs), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(both[0], feats, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(both[1], probs, rtol=1e-6, atol=1e-8)
    assert extractor.protocol()["resize"].startswith("bilinear to 299x299")


def test_missing_inception_weights_are_found_or_fetched_or_refused_in_one_line(monkeypatch, tmp_path):
    models, fetches = offline_keras_home(monkeypatch, tmp_path)
    path = models / extractors.INCEPTION_WEIGHTS_FILE
    with pytest.raises(FileNotFoundError) as error:
        extractors.inception_weights()
    message = str(error.value)
    assert "\n" not in message and f"no {extractors.INCEPTION_WEIGHTS_FILE} in {models}" in message
    assert f"download {extractors.INCEPTION_WEIGHTS_URL} and copy it into {models}" in message
    assert "URL fetch failure" in message and message.endswith(f"Received: KERAS_HOME={str(models.parent)!r}")
    assert fetches == [extractors.INCEPTION_WEIGHTS_URL]
    # With a network Keras fetches them into its cache (md5 checked) once; then they are found.

    def online(fname, origin=None, cache_subdir=None, cache_dir=None, file_hash=None):
        assert (fname, cache_subdir, cache_dir, file_hash) == (
            extractors.INCEPTION_WEIGHTS_FILE, "models", str(models.parent), extractors.INCEPTION_WEIGHTS_MD5)
        fetches.append(origin)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"stand-in")
        return str(path)

    monkeypatch.setattr(keras.utils, "get_file", online)
    assert extractors.inception_weights() == path and extractors.inception_weights() == path
    assert len(fetches) == 2  # the failed one, then one download


def test_evaluation_with_inception_refuses_missing_weights_before_reading_any_image(monkeypatch, tmp_path):
    # Offline with an RGB model: a set-up error before the reference data is read or a
    # sample generated (the evaluator) and before the first training step (the callback).
    import sys

    evaluate_lib = sys.modules["ganzoo.metrics.evaluate"]  # the module (ganzoo.metrics.evaluate is the function)
    models, _ = offline_keras_home(monkeypatch, tmp_path)

    def no_reading(*args, **kwargs):
        raise AssertionError("the reference data was read")

    monkeypatch.setattr(evaluate_lib, "iter_batches", no_reading)
    gan = tiny_model("dcgan_mnist", image_shape=(32, 32, 3), run_eagerly=True)
    with pytest.raises(FileNotFoundError, match=rf"no {extractors.INCEPTION_WEIGHTS_FILE} in {models}"):
        metrics.evaluate(gan, metrics="fid", num_samples=10, progress=False)
    callback = metrics.EvaluationCallback(metrics="fid", num_samples=10)
    with pytest.raises(FileNotFoundError, match="InceptionV3's ImageNet weights are missing"):
        gan.fit(as_dataset(real_batch(gan)), epochs=1, verbose=0, callbacks=[callback])
    assert int(gan.g_optimizer.iterations) == 0
    # Metrics that do not apply to the GAN are refused at the same point.
    callback = metrics.EvaluationCallback(metrics="intra_fid", extractor="mnist_5k_classifier")
    with pytest.raises(ValueError, match=r"\['intra_fid'\] measure a class-conditional GAN"):
        gan.fit(as_dataset(real_batch(gan)), epochs=1, verbose=0, callbacks=[callback])
    assert int(gan.g_optimizer.iterations) == 0


def test_mnist_classifier_runs_compiled_and_batching_leaves_features_unchanged(monkeypatch):
    from ganzoo.metrics._reference import load_arrays

    extractor = metrics.get_extractor("mnist_5k_classifier")
    runs = spy_on_calls(monkeypatch, extractor._net.get_layer(extractors.FEATURE_LAYER))
    x, _, _ = load_arrays("mnist_5k", "test", image_shape=(28, 28, 1), limit=13)  # a prime count
    feats = extractor.features(x, batch_size=4)  # 4 + 4 + 4 + 1
    probs = extractor.probabilities(x, batch_size=5)  # 5 + 5 + 3
    assert runs == [False]  # traced once, for every batch size; never run eagerly
    # Against the shipped model loaded afresh and called eagerly, one image at a time.
    model, _ = extractors.load_mnist_classifier()
    direct = keras.Model(model.inputs[0], [model.get_layer(extractors.FEATURE_LAYER).output,
                                           model.outputs[0]])
    singles = [direct(x[i : i + 1], training=False) for i in range(13)]
    want_feats = np.concatenate([f.numpy() for f, _ in singles])
    want_probs = np.concatenate([p.numpy() for _, p in singles])
    assert feats.shape == (13, 64) and probs.shape == (13, 10)
    np.testing.assert_allclose(feats, want_feats, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probs, want_probs, rtol=1e-5, atol=1e-6)
    assert (probs.argmax(axis=1) == want_probs.argmax(axis=1)).all()


def test_generate_runs_compiled_and_equals_a_direct_generator_call(monkeypatch):
    for gan in (tiny_model("dcgan_mnist"), tiny_model("dcgan_mnist", num_classes=10)):
        net = gan.sampling_generator
        runs = spy_on_calls(monkeypatch, net.layers[-1])
        images = gan.generate(13, seed=3, batch_size=4)  # 4 + 4 + 4 + 1
        again = gan.generate(7, seed=3, batch_size=7)
        assert runs == [False]  # traced once for every batch size; never run eagerly
        z = gan.latent(13, 3)
        inputs = z if gan.num_classes is None else [z, tf.constant(np.arange(13) % 10, tf.int32)]
        want = np.asarray(net(inputs, training=False), dtype="float32")  # one eager call
        assert images.shape == (13, 28, 28, 1) and images.dtype == np.float32
        assert images.std() > 1e-4  # not a constant output
        np.testing.assert_allclose(images, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(again, want[:7], rtol=1e-5, atol=1e-6)


def test_compiled_sampling_and_extraction_keep_no_model_alive():
    import gc
    import weakref

    gan = tiny_model("dcgan_mnist")
    gan.generate(3, seed=0)
    extractor = extractors.MNISTClassifierExtractor()
    extractor.features(np.linspace(-1, 1, 2 * 28 * 28, dtype="float32").reshape(2, 28, 28, 1))
    alive = [weakref.ref(gan), weakref.ref(gan.sampling_generator), weakref.ref(extractor._net)]
    del gan, extractor
    gc.collect()
    assert [ref() is None for ref in alive] == [True, True, True]  # the compiled functions let go


def test_a_prime_number_of_reference_images_is_read_and_extracted_in_full_batches(tmp_path):
    from ganzoo.metrics._reference import iter_batches

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(503, 16, 16, 1)).astype("float32")  # 503 is prime
    path = tmp_path / "ref.npz"
    np.savez(path, x=images)
    num, _, batches = iter_batches(str(path), "all", image_shape=(16, 16, 1), labels=False)
    read = [x for x, _ in batches]
    assert num == 503 and [x.shape[0] for x in read] == [500, 3]  # not 503 batches of 1
    np.testing.assert_allclose(np.concatenate(read), images, atol=1e-6)  # in order, all of them

    class Recording(MeanPoolExtractor):
        def __init__(self):
            self.sizes = []

        def _forward(self, images, need_probs):
            self.sizes.append(images.shape[0])
            return super()._forward(images, need_probs)

    extractor = Recording()
    evaluator = metrics.Evaluator(data=str(path), metrics=("fid",), extractor=extractor,
                                  split="all", batch_size=100)
    ref = evaluator.reference((16, 16, 1))
    # Batches of 100 across the batches read (500 + 3), the remainder last.
    assert extractor.sizes == [100] * 5 + [3]
    want = images.reshape(503, 4, 4, 4, 4).mean(axis=(2, 4)).reshape(503, 16)  # 4x4 mean pooling
    assert ref["num"] == 503
    np.testing.assert_allclose(ref["features"], want, atol=1e-6)


def test_rebatch_regroups_any_batch_sizes_in_order():
    from ganzoo.metrics._reference import rebatch

    x = np.arange(23, dtype="float32")[:, None]
    y = np.arange(23, dtype="int32") * 10
    cuts = [0, 1, 2, 9, 10, 17, 23]  # batches of 1, 1, 7, 1, 7, 6
    stream = [(x[a:b], y[a:b]) for a, b in zip(cuts, cuts[1:])]
    out = list(rebatch(stream, 5))
    assert [b.shape[0] for b, _ in out] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate([b for b, _ in out]), x)
    np.testing.assert_array_equal(np.concatenate([l for _, l in out]), y)
    unlabelled = list(rebatch([(x[:4], None), (x[4:], None)], 10))
    assert [b.shape[0] for b, _ in unlabelled] == [10, 10, 3] and unlabelled[0][1] is None


# --------------------------------------------------------------------------- evaluate, callback, CLI


class MeanPoolExtractor(metrics.FeatureExtractor):
    """A test extractor: 4x4 average-pooled pixels (16 features of 16x16x1 images)."""

    name = "mean_pool_4x4"
    input_shape = None
    feature_dim = 16

    def _forward(self, images, need_probs):
        b, h, w, _ = images.shape
        return images.reshape(b, 4, h // 4, 4, w // 4).mean(axis=(2, 4)).reshape(b, 16), None


@pytest.fixture(scope="module")
def tiny_gan():
    return tiny_model("dcgan_mnist")


def test_evaluate_report_records_protocol_and_is_json(tiny_gan):
    report = metrics.evaluate(
        tiny_gan,
        data="mnist_5k",
        metrics="fid,kid,is,pr,modes,recon",
        num_samples=200,
        num_reference=300,
        progress=False,
        options={
            "kid": {"subset_size": 100, "num_subsets": 5},
            "reconstruction": {"num_images": 4, "steps": 10},
        },
    )
    json.dumps(report)  # serializable as is
    assert set(report["metrics"]) == {
        "fid", "kid", "inception_score", "precision_recall", "mode_coverage", "reconstruction"
    }
    fid = report["metrics"]["fid"]["protocol"]
    assert fid["extractor"] == "mnist_5k_classifier" and fid["resize"].startswith("none")
    counts = (fid["reference"], fid["split"], fid["num_generated"], fid["num_reference"])
    assert counts == ("mnist_5k", "train", 200, 300)
    assert report["metrics"]["kid"]["protocol"]["params"]["subset_size"] == 100
    assert report["metrics"]["kid"]["protocol"]["params"]["unit"] == KID_UNIT  # raw, not x1000
    recon = report["metrics"]["reconstruction"]["protocol"]
    assert (recon["split"], recon["num_reference"], recon["params"]["steps"]) == ("test", 4, 10)
    assert report["metrics"]["mode_coverage"]["num_modes"] == 10
    assert sum(report["metrics"]["mode_coverage"]["histogram"]) == 200
    summary_keys = {"fid", "kid", "is", "precision", "recall", "modes_hit", "modes_kl", "modes_tv", "recon_mse"}
    assert summary_keys <= set(report["summary"])
    assert report["protocol"]["seed"] == 0 and report["protocol"]["extractor_details"]["classifier_sha256"]


def test_evaluate_against_array_data_with_a_custom_extractor(tiny_gan):
    class Crop(MeanPoolExtractor):
        feature_dim = 16

        def _forward(self, images, need_probs):
            return super()._forward(images[:, 6:22, 6:22, :], need_probs)

    ex = Crop()
    same = metrics.evaluate(tiny_gan, data=tiny_gan.generate(300, seed=7), metrics=("fid", "kid", "pr"),
                            num_samples=300, extractor=ex, progress=False,
                            options={"kid": {"subset_size": 100, "num_subsets": 10}})
    # Bright noise, on the [-1, 1] scale (uniform [0, 1] would be refused as the [0, 1] scale).
    noise = np.random.default_rng(0).uniform(-0.2, 1, size=(300, 28, 28, 1)).astype("float32")
    other = metrics.evaluate(tiny_gan, data=noise, metrics=("fid", "kid", "pr"), num_samples=300,
                             extractor=ex, progress=False, options={"kid": {"subset_size": 100, "num_subsets": 10}})
    assert same["protocol"]["reference"] == "array" and same["protocol"]["split"] is None
    assert other["summary"]["fid"] > 10 * same["summary"]["fid"]
    assert other["summary"]["kid"] > 10 * abs(same["summary"]["kid"])
    assert same["summary"]["precision"] > 0.8 and other["summary"]["precision"] < 0.2


def test_evaluate_conditional_gan_samples_the_reference_proportions_and_reconstructs_with_labels():
    # The first 100 digits of mnist_5k:train are not balanced: the samples follow their classes.
    gan = tiny_model("dcgan_mnist", num_classes=10)
    report = metrics.evaluate(gan, metrics=("kid", "modes", "recon"), num_samples=100, num_reference=100,
                              progress=False, options={"kid": {"subset_size": 50, "num_subsets": 2},
                                                       "reconstruction": {"num_images": 4, "steps": 5}})
    from ganzoo.metrics._reference import load_arrays

    _, y, _ = load_arrays("mnist_5k", "train", image_shape=(28, 28, 1), limit=100)
    counts = np.bincount(y, minlength=10).tolist()
    assert f"in the class proportions of mnist_5k:train ({counts})" in report["protocol"]["sampling"]
    assert report["protocol"]["label_distribution"] == "auto"
    assert report["model"]["num_classes"] == 10
    assert report["metrics"]["reconstruction"]["protocol"]["num_reference"] == 4


def test_evaluation_callback_logs_every_n_epochs_and_appends_jsonl(tmp_path):
    gan = tiny_model("dcgan_mnist")
    path = tmp_path / "metrics.jsonl"
    # Another logger's line stays; an evaluation line left by a killed run is replaced.
    path.write_text('{"epoch": 1, "d_loss": 0.5}\n{"epoch": 4, "kind": "evaluation", "summary": {}}\n')
    callback = metrics.EvaluationCallback(
        data="mnist_5k", metrics=("fid", "modes"), every_n_epochs=2, num_samples=100,
        num_reference=200, jsonl_path=path,
    )
    history = gan.fit(as_dataset(real_batch(gan), repeats=1), epochs=4, verbose=0, callbacks=[callback])
    assert len(history.history["eval_fid"]) == 2 and len(history.history["d_loss"]) == 4
    records = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [(r["epoch"], r.get("kind")) for r in records]
    assert kinds == [(1, None), (2, "evaluation"), (4, "evaluation")]
    assert np.isfinite(records[1]["summary"]["fid"])
    assert records[2]["summary"]["fid"] == history.history["eval_fid"][1]
    assert records[1]["metrics"]["fid"]["protocol"]["num_generated"] == 100


def test_evaluation_reads_its_data_with_the_load_options_it_is_given(tmp_path):
    from ganzoo.metrics._reference import iter_batches

    # The options of ganzoo.data.load that training used; anything else is refused up front.
    for make in (metrics.Evaluator, metrics.EvaluationCallback):
        with pytest.raises(ValueError, match=r"data_options takes .*'resize', 'skip_corrupt', 'data_dir', "
                                             r"'download'.*Received: \['shuffle'\]"):
            make(data="mnist_5k", data_options={"resize": True, "shuffle": False})
    path = tmp_path / "small.npz"  # 20x20 images for a 28x28 model
    np.savez(path, x=(np.arange(40 * 20 * 20) % 256).astype(np.uint8).reshape(40, 20, 20))
    with pytest.raises(ValueError, match=r"resize=True \(`--resize` on the command line\)"):
        iter_batches(str(path), image_shape=(28, 28, 1))
    num, _, batches = iter_batches(str(path), image_shape=(28, 28, 1), data_options={"resize": True})
    images = np.concatenate([x for x, _ in batches])
    assert num == 40 and images.shape == (40, 28, 28, 1)


def test_cli_evaluate_writes_report(tmp_path, tiny_gan, capsys):
    from ganzoo import runs
    from ganzoo.cli import main

    model = runs.save_atomic(tiny_gan, tmp_path / "tiny.keras")
    out = tmp_path / "eval.json"
    code = main(["evaluate", str(model), "--metrics", "fid,modes", "--num-samples", "100",
                 "--out", str(out), "--no-progress"])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["source"] == str(model) and set(report["metrics"]) == {"fid", "mode_coverage"}
    assert "fid" in capsys.readouterr().out
    assert main(["evaluate", str(model), "--metrics", "fid,bogus"]) == 2
    assert "Unknown metric" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad input


def test_bad_features_and_images_are_refused_with_clear_errors(tiny_gan):
    x = gaussian(20, [0, 0], [1, 1], seed=0)
    nan = x.copy()
    nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite values.*Received"):
        metrics.fid(nan, x)
    with pytest.raises(ValueError, match="same feature dimension.*Received"):
        metrics.kid(x, np.ones((20, 3)))
    with pytest.raises(ValueError, match=r"2-D array.*Received: shape=\(20,\)"):
        metrics.precision_recall(x[:, 0], x[:, 0])
    with pytest.raises(ValueError, match=r"at least 4 samples.*Received: num_samples=3"):
        metrics.precision_recall(x, x[:3], k=3)
    extractor = metrics.get_extractor("mnist_5k_classifier")
    with pytest.raises(ValueError, match=r"scaled to \[-1, 1\].*Received: min=0, max=255"):
        extractor.features(np.tile(np.array([0.0, 255.0], "float32")[:, None, None, None], (1, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"shape \(N, 28, 28, 1\).*Received: shape=\(2, 32, 32, 3\)"):
        extractor.features(np.zeros((2, 32, 32, 3), "float32"))
    with pytest.raises(ValueError, match="float images.*Received: dtype=uint8"):
        extractor.features(np.zeros((2, 28, 28, 1), "uint8"))
    with pytest.raises(ValueError, match="Unknown metric.*Received: 'fidd'"):
        metrics.evaluate(tiny_gan, metrics=("fidd",))
    with pytest.raises(ValueError, match="takes the options.*Received"):
        metrics.evaluate(tiny_gan, metrics=("kid",), options={"kid": {"subsets": 3}})


def test_generated_nans_are_refused():
    gan = tiny_model("dcgan_mnist", seed=1)
    for w in gan.sampling_generator.weights:  # the EMA generator when the recipe keeps one
        if len(w.shape) > 1:
            w.assign(np.full(w.shape, np.nan, "float32"))
    with pytest.raises(ValueError, match="Generated images contain .* NaN.*Received"):
        metrics.evaluate(gan, metrics=("fid",), num_samples=10, num_reference=20, progress=False)


# --- data copying (Meehan et al. 2020) ---------------------------------------


def _gaussian(n, seed, dim=6, scale=1.0):
    return np.random.default_rng(seed).normal(scale=scale, size=(n, dim))


def test_data_copying_is_strongly_negative_for_copies_of_the_training_set():
    from ganzoo.metrics import data_copying

    train, held = _gaussian(2000, 0), _gaussian(500, 1)
    copies = train[:1000] + 1e-3 * _gaussian(1000, 2)  # near-exact copies of training points
    result = data_copying(train, held, copies, num_cells=5)
    assert result["c_t"] < -10
    assert result["num_cells_used"] == 5


def test_data_copying_is_near_zero_for_fresh_samples_and_positive_for_underfitting():
    from ganzoo.metrics import data_copying

    train, held = _gaussian(2000, 0), _gaussian(500, 1)
    fresh = data_copying(train, held, _gaussian(1000, 3), num_cells=5)
    assert abs(fresh["c_t"]) < 2.5
    far = data_copying(train, held, _gaussian(1000, 4, scale=1.5), num_cells=5)
    assert far["c_t"] > 3


def test_mann_whitney_z_matches_a_hand_count():
    from ganzoo.metrics.copying import mann_whitney_z

    # pairs (g, h) with g > h: 2 > 1, 3 > 1, 3 > 2.5 -> U = 3 of m n = 4; z = (3 - 2) / sqrt(4 * 5 / 12)
    z, u = mann_whitney_z(np.array([2.0, 3.0]), np.array([1.0, 2.5]))
    assert u == 3.0
    assert z == pytest.approx(1.0 / np.sqrt(20 / 12))


def test_data_copying_refuses_mismatched_features():
    from ganzoo.metrics import data_copying

    with pytest.raises(ValueError, match="Received: "):
        data_copying(_gaussian(50, 0), _gaussian(20, 1, dim=3), _gaussian(20, 2))
    for bad in (1.0, -0.1, "0.5", float("nan")):
        with pytest.raises(ValueError, match=rf"^min_cell_fraction must be a finite number in \[0, 1\)\. "
                                             rf"Received: min_cell_fraction={bad!r}$"):
            data_copying(_gaussian(50, 0), _gaussian(20, 1), _gaussian(20, 2), min_cell_fraction=bad)


def test_conditional_accuracy_and_intra_fid_on_real_digits_of_the_requested_or_wrong_class():
    # 50 test digits per class: the per-class FIDs warn that 64-d covariances are singular
    with pytest.warns(UserWarning, match="covariance is singular"):
        right = metrics.evaluate(DigitLookupGAN(), metrics="accuracy,intra_fid,copying",
                                 num_samples=500, progress=False)
        wrong = metrics.evaluate(DigitLookupGAN(lambda c: (c + 1) % 10), metrics="accuracy,intra_fid", num_samples=500,
                                 progress=False)
    assert right["summary"]["conditional_accuracy"] >= 0.95  # the classifier's test accuracy is 98.4%
    assert wrong["summary"]["conditional_accuracy"] <= 0.05
    assert len(right["metrics"]["intra_fid"]["per_class"]) == 10
    assert right["summary"]["intra_fid"] < 0.2 * wrong["summary"]["intra_fid"]
    # Held-out digits are fresh real data: no copying of the training split
    assert abs(right["summary"]["c_t"]) < 3
    assert right["metrics"]["data_copying"]["protocol"]["heldout_data"] == "mnist_5k:test"


def test_intra_fid_warns_once_not_once_per_class_about_singular_covariances():
    # 20 samples per class against 64-d features: every class's covariance is singular. One
    # warning says so for all ten classes (it was repeated for each class, and for each side).
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics.evaluate(DigitLookupGAN(), metrics="intra_fid", num_samples=200, progress=False)
    singular = [str(w.message) for w in caught if "singular" in str(w.message)]
    assert len(singular) == 1, singular
    assert [w.filename for w in caught if "singular" in str(w.message)] == [__file__]  # the caller's line
    assert singular[0].startswith("intra_fid: in 10 of 10 classes the samples (fewest: 20)")
    assert "use at least 65 of each per class" in singular[0]


def test_conditional_metrics_refuse_an_unconditional_gan(tiny_gan):
    with pytest.raises(ValueError, match="class-conditional GAN"):
        metrics.evaluate(tiny_gan, metrics="intra_fid", num_samples=10, progress=False)


# --- quality claims measured here, not read back from a card -----------------


def test_the_shipped_classifier_classifies_the_held_out_digits_with_accuracy_at_least_0_97():
    # Measured here, not read from its card: the 500 digits of mnist_5k:test (50 per class, never
    # trained on), read by the data pipeline with their true labels, through the raw Keras model.
    import ganzoo.data

    model, _ = extractors.load_mnist_classifier()
    ds = ganzoo.data.load("mnist_5k:test", batch_size=100, labels=True, shuffle=False)
    images, labels = (np.concatenate(part) for part in zip(*ds.as_numpy_iterator()))
    assert images.shape == (500, 28, 28, 1) and images.min() == -1.0 and images.max() == 1.0
    assert np.bincount(labels, minlength=10).tolist() == [50] * 10
    predicted = np.asarray(model(images, training=False)).argmax(axis=1)
    accuracy = float(np.mean(predicted == labels))
    assert accuracy >= 0.97, f"accuracy {accuracy:.3f} on mnist_5k:test"
    # The extractor's probabilities (what IS, mode coverage and conditional accuracy use) are
    # this network's.
    probs = metrics.get_extractor("mnist_5k_classifier").probabilities(images)
    np.testing.assert_array_equal(probs.argmax(axis=1), predicted)


def test_evaluate_fid_equals_the_frechet_formula_on_features_computed_here():
    # 200 samples (seed 4) of the pretrained DCGAN against the first 300 digits of mnist_5k:train
    # in their fixed order: every term of the distance is large (||mu_g - mu_r||^2 about 3, the
    # traces about 220 and 250), so a wrong term, factor or covariance normalization shows.
    # Independently of ganzoo.metrics: the same samples (gan.generate, as documented), the
    # reference read by ganzoo.data.load, features from the classifier's "features" layer,
    # numpy mean / unbiased covariance, scipy's sqrtm and
    #   FID = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^{1/2})   (Heusel et al. 2017).
    import warnings

    import ganzoo
    import ganzoo.data

    gan = ganzoo.create_model("dcgan_mnist", pretrained=True)
    report = metrics.evaluate(gan, data="mnist_5k", metrics=("fid",), num_samples=200, seed=4,
                              num_reference=300, progress=False)

    model, _ = extractors.load_mnist_classifier()
    features = keras.Model(model.inputs[0], model.get_layer("features").output)
    samples = gan.generate(200, seed=4)
    ds = ganzoo.data.load("mnist_5k", batch_size=100, split="train", shuffle=False)
    reference = np.concatenate(list(ds.take(3).as_numpy_iterator()))
    stats = []
    for images in (samples, reference):
        f = np.asarray(features(images, training=False), dtype=np.float64)
        stats.append((f.mean(axis=0), np.cov(f, rowvar=False)))
    (mu_g, s_g), (mu_r, s_r) = stats
    with warnings.catch_warnings():  # two ReLU units of the classifier never fire: S is singular
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(s_g @ s_r)
    assert np.abs(root.imag).max() < 1e-6 * np.abs(root.real).max()
    expected = np.sum((mu_g - mu_r) ** 2) + np.trace(s_g + s_r - 2.0 * root.real)
    # The two agree to round-off (1e-13 measured); the biased covariance (N instead of N - 1)
    # would be 1.4e-3 off, a reference of other digits or other samples far more.
    assert report["summary"]["fid"] == pytest.approx(expected, rel=1e-5)
    assert report["metrics"]["fid"]["protocol"]["params"]["eps_added"] is False


@pytest.mark.parametrize("shape", [(2, 8, 8, 1), (1, 37, 50, 3), (1, 450, 400, 1), (1, 299, 299, 3)])
def test_inception_preprocess_is_tf_bilinear_resize_without_antialias_then_gray_to_rgb(shape):
    # The extractor's documented protocol: "resized from their size to 299x299 with bilinear
    # interpolation (tf.image.resize, no antialiasing), gray is repeated to RGB, and the [-1, 1]
    # range is kept". Up- and downscaling (where antialiasing would matter), gray and RGB, and an
    # image already 299x299 (untouched).
    x = np.random.default_rng(0).uniform(-1, 1, size=shape).astype("float32")
    expected = x
    if shape[1:3] != (299, 299):
        expected = tf.image.resize(x, (299, 299), method="bilinear", antialias=False).numpy()
    if shape[-1] == 1:
        expected = np.repeat(expected, 3, axis=-1)
    got = np.asarray(extractors.inception_preprocess(x))
    assert got.shape == (shape[0], 299, 299, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    if shape[1] > 299:  # the comparison tells the documented method from its neighbours
        for other in ({"method": "bilinear", "antialias": True}, {"method": "area"}):
            alt = np.repeat(tf.image.resize(x, (299, 299), **other).numpy(), 3, axis=-1)
            assert np.abs(alt - expected).max() > 0.1, other


@pytest.mark.parametrize(
    "metric, data, options, match",
    [
        ("intra_fid", "labels_beyond", {}, r"labels in \[0, 3\).*labels up to 9"),
        ("intra_fid", "mnist_5k", {}, r"labels in \[0, 3\).*labels up to 9"),
        ("intra_fid", "unlabelled", {}, "pass labelled reference data"),
        ("recon", "labels_beyond", {"reconstruction": {"num_images": 0}}, "num_images.*>= 1"),
    ],
)
def test_evaluation_options_the_gan_or_data_cannot_meet_are_refused_before_any_image_is_read(
        monkeypatch, metric, data, options, match):
    gan = tiny_model("sngan_projection_mnist", num_classes=3)
    images = np.zeros((20, 28, 28, 1), dtype="float32")
    data = {"labels_beyond": (images, np.arange(20) % 10), "unlabelled": images}.get(data, data)
    evaluator = metrics.Evaluator(data=data, metrics=metric, options=options)
    for work in ("reference", "_generate_and_extract"):
        monkeypatch.setattr(metrics.Evaluator, work, lambda *a, **k: pytest.fail("work started"))
    with pytest.raises(ValueError, match=match):
        evaluator(gan, num_samples=10, progress=False)
