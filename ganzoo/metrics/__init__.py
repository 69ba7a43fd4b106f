"""Evaluation metrics for GANs, each recording the protocol behind its number.

    report = ganzoo.metrics.evaluate(gan, data="mnist_5k", metrics=("fid", "kid", "pr", "modes"))
    report["summary"]     # {"fid": ..., "kid": ..., "precision": ..., "recall": ..., ...}
    report["metrics"]["fid"]["protocol"]   # extractor, sample counts, reference split, resize, params

One module per metric (pure NumPy/SciPy on feature matrices, float64):

* `fid`: Fréchet Inception Distance (Heusel et al. 2017, arXiv:1706.08500), from
  streaming `FeatureStats`.
* `kid`: Kernel Inception Distance (Binkowski et al. 2018, arXiv:1801.01401).
* `inception_score`: Inception Score (Salimans et al. 2016, arXiv:1606.03498).
* `precision_recall`: improved precision and recall (Kynkäänniemi et al. 2019,
  arXiv:1904.06991).
* `mode_coverage`: modes hit, class histogram and KL(sample || data).
* `reconstruction`: latent-recovery error of held-out real images.
* `data_copying`: the C_T test for training-set copying (Meehan et al. 2020,
  arXiv:2004.05675).

The package exports each metric's function under its module's name (so after
``import ganzoo.metrics``, ``ganzoo.metrics.fid`` is the function); import
helpers from the modules, e.g. ``from ganzoo.metrics.fid import sqrtm_product``.

`extractors` maps images to features/probabilities (the offline MNIST classifier
shipped in ``saved_models/mnist_classifier``, or InceptionV3); `evaluate` and
`EvaluationCallback` tie everything to a GAN.
"""

from ganzoo.metrics.callback import EvaluationCallback
from ganzoo.metrics.data_copying import data_copying
from ganzoo.metrics.evaluate import DEFAULT_METRICS, METRICS, Evaluator, evaluate, resolve_metrics
from ganzoo.metrics.extractors import (
    FeatureExtractor,
    InceptionV3Extractor,
    MNISTClassifierExtractor,
    get_extractor,
    load_mnist_classifier,
)
from ganzoo.metrics.fid import FeatureStats, fid, fid_from_stats, frechet_distance
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kid
from ganzoo.metrics.mode_coverage import mode_coverage
from ganzoo.metrics.precision_recall import precision_recall
from ganzoo.metrics.reconstruction import reconstruction_error

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "EvaluationCallback",
    "Evaluator",
    "data_copying",
    "FeatureExtractor",
    "FeatureStats",
    "InceptionV3Extractor",
    "MNISTClassifierExtractor",
    "evaluate",
    "fid",
    "fid_from_stats",
    "frechet_distance",
    "get_extractor",
    "inception_score",
    "kid",
    "load_mnist_classifier",
    "mode_coverage",
    "precision_recall",
    "reconstruction_error",
    "resolve_metrics",
]
