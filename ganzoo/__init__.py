"""ganzoo: a Keras 3 / TensorFlow model zoo of generative adversarial networks.

The public API::

    ganzoo.list_models("sngan*")
    gan = ganzoo.create_model("wgan_gp_mnist")   # compiled with the paper's optimizers
    gan.fit(ganzoo.data.load("mnist_5k", batch_size=50, d_steps=gan.d_steps), epochs=1)
    images = gan.generate(16, seed=0)
"""

from ganzoo import data
from ganzoo import losses
from ganzoo import networks
from ganzoo.models import DCGAN, GAN, SNGAN, WGANGP
from ganzoo.export import export_saved_model
from ganzoo.metrics import evaluate
from ganzoo.registry import create_model, get_recipe, list_models

__version__ = "0.1.0"

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
]
