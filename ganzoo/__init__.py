"""ganzoo: a Keras 3 / TensorFlow model zoo of generative adversarial networks.

The public API::

    ganzoo.list_models("sngan*")
    gan = ganzoo.create_model("wgan_gp_mnist")   # compiled with the paper's optimizers
    gan.fit(ganzoo.data.load("mnist_5k", batch_size=50, d_steps=gan.d_steps), epochs=1)
    images = gan.generate(16, seed=0)

Extending: a `ganzoo.regularizers.Regularizer` subclass passed as
``create_model(..., regularizers=[...])``; a `ganzoo.metrics.Metric` subclass
registered with `ganzoo.metrics.register_metric`.
"""

from ganzoo import _startup

_startup.quiet_tensorflow_for_cli()  # the command line only; before TensorFlow is imported

from ganzoo import data  # noqa: E402
from ganzoo import losses  # noqa: E402
from ganzoo import networks  # noqa: E402
from ganzoo import augment  # noqa: E402
from ganzoo import regularizers  # noqa: E402
from ganzoo import sampling  # noqa: E402
from ganzoo.models import DCGAN, GAN, SNGAN, WGANGP  # noqa: E402
from ganzoo.export import export_saved_model  # noqa: E402
from ganzoo.metrics import evaluate  # noqa: E402
from ganzoo.registry import create_model, get_recipe, list_models  # noqa: E402

from ganzoo._version import __version__  # noqa: E402,F401

__all__ = [
    "GAN",
    "DCGAN",
    "WGANGP",
    "SNGAN",
    "create_model",
    "evaluate",
    "export_saved_model",
    "get_recipe",
    "list_models",
    "data",
    "losses",
    "networks",
    "augment",
    "regularizers",
    "sampling",
]
