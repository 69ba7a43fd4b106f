"""Where ganzoo's files live and what they are called.

The bottom layer of the library: it imports nothing from ganzoo, and every
module that needs a folder or a file name takes it from here.

Folders (read when this module is imported):

* `ZOO_DIR`: the recipes, ``zoo_configs/`` beside the package, or
  ``$GANZOO_ZOO_CONFIGS``.
* `SAVED_MODELS_DIR`: the pretrained folders, ``saved_models/`` beside the
  package, or ``$GANZOO_SAVED_MODELS``.
"""

import os
import pathlib

_CHECKOUT = pathlib.Path(__file__).resolve().parent.parent

ZOO_DIR = pathlib.Path(os.environ.get("GANZOO_ZOO_CONFIGS", _CHECKOUT / "zoo_configs"))
SAVED_MODELS_DIR = pathlib.Path(os.environ.get("GANZOO_SAVED_MODELS", _CHECKOUT / "saved_models"))
#: The checkout's own ``saved_models/`` (the offline MNIST classifier ships there).
CHECKOUT_SAVED_MODELS_DIR = _CHECKOUT / "saved_models"

# A pretrained folder (laid out like a KerasHub preset; see `ganzoo.pretrained`).
CARD = "model_card.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
METADATA = "metadata.json"
LEGACY_WEIGHTS = "weights.npz"  # before 2026-11-30: float16 arrays keyed by position
SAMPLES = "samples.png"
#: The offline MNIST classifier's folder under `SAVED_MODELS_DIR`.
MNIST_CLASSIFIER = "mnist_classifier"
#: The offline Twemoji group classifier's folder under `SAVED_MODELS_DIR`.
TWEMOJI_CLASSIFIER = "twemoji_classifier"

# A training run's directory (see `ganzoo.train`).
RUN_FILE = "run.json"
CHECKPOINT = "checkpoint.keras"
FINAL = "final.keras"
