"""Evaluation metrics for GANs, each recording the protocol behind its number.

    report = ganzoo.metrics.evaluate(gan, data="mnist_5k", metrics=("fid", "kid", "pr", "modes"))
    report["summary"]     # {"fid": ..., "kid": ..., "precision": ..., "recall": ..., ...}
    report["metrics"]["fid"]["protocol"]   # extractor, sample counts, reference split, resize, params

One module per metric (pure NumPy/SciPy on feature matrices, float64); the
package exports each metric's function, and the modules have other names, so
both stay reachable (``ganzoo.metrics.fid`` is the function,
``ganzoo.metrics.frechet`` its module):

============================ ==================== =====================================
function                     module               source
============================ ==================== =====================================
`fid`, `frechet_distance`    `frechet`            Fréchet Inception Distance (Heusel et
                                                  al. 2017, arXiv:1706.08500), from
                                                  streaming `FeatureStats`
`kid`                        `kernel_distance`    Kernel Inception Distance (Binkowski
                                                  et al. 2018, arXiv:1801.01401)
`inception_score`            `inception`          Inception Score (Salimans et al.
                                                  2016, arXiv:1606.03498)
`precision_recall`           `improved_precision_ improved precision and recall
                             recall`              (Kynkäänniemi et al. 2019,
                                                  arXiv:1904.06991)
`mode_coverage`              `modes`              modes hit, class histogram and
                                                  KL(sample || data)
`reconstruction_error`       `reconstruction`     latent-recovery error of held-out
                                                  real images
`data_copying`               `copying`            the C_T test for training-set copying
                                                  (Meehan et al. 2020, arXiv:2004.05675)
`conditional_accuracy`,      `conditional`        class-conditional GANs: the classifier
`intra_fid`                                       agrees with the requested class; mean
                                                  per-class FID (Miyato & Koyama 2018)
============================ ==================== =====================================

Helpers are imported from the modules, e.g.
``from ganzoo.metrics.frechet import sqrtm_product``.

`evaluate` computes the metrics registered in `registry` (`register_metric`,
`available_metrics`, `describe_metrics`): each built-in metric registers itself
in its module, and a metric written elsewhere is one `Metric` subclass.

`extractors` maps images to features/probabilities (the offline MNIST classifier
shipped in ``saved_models/mnist_classifier``, or InceptionV3); `evaluate` and
`EvaluationCallback` tie everything to a GAN.
"""

from ganzoo.metrics.callback import EvaluationCallback
from ganzoo.metrics.conditional import conditional_accuracy, intra_fid
from ganzoo.metrics.copying import data_copying
from ganzoo.metrics.evaluate import DEFAULT_METRICS, METRICS, Evaluator, evaluate, resolve_metrics
from ganzoo.metrics.extractors import (
    FeatureExtractor,
    InceptionV3Extractor,
    MNISTClassifierExtractor,
    TwemojiClassifierExtractor,
    get_extractor,
    load_mnist_classifier,
)
from ganzoo.metrics.frechet import FeatureStats, fid, fid_from_stats, frechet_distance
from ganzoo.metrics.inception import inception_score
from ganzoo.metrics.kernel_distance import kid
from ganzoo.metrics.modes import mode_coverage
from ganzoo.metrics.improved_precision_recall import precision_recall
from ganzoo.metrics.reconstruction import reconstruction_error
from ganzoo.metrics.registry import (
    Metric,
    MetricInputs,
    Option,
    available_metrics,
    describe_metrics,
    get_metric,
    register_metric,
    unregister_metric,
)

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "EvaluationCallback",
    "Evaluator",
    "conditional_accuracy",
    "data_copying",
    "describe_metrics",
    "FeatureExtractor",
    "Metric",
    "MetricInputs",
    "Option",
    "FeatureStats",
    "InceptionV3Extractor",
    "MNISTClassifierExtractor",
    "TwemojiClassifierExtractor",
    "available_metrics",
    "evaluate",
    "fid",
    "fid_from_stats",
    "frechet_distance",
    "get_extractor",
    "get_metric",
    "inception_score",
    "intra_fid",
    "kid",
    "load_mnist_classifier",
    "mode_coverage",
    "precision_recall",
    "reconstruction_error",
    "register_metric",
    "resolve_metrics",
    "unregister_metric",
]
