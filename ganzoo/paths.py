"""Where ganzoo's files live and what they are called.

The bottom layer of the library: it imports nothing from ganzoo, and every
module that needs a folder or a file name takes it from here.

Folders (read when this module is imported):

* `ZOO_DIR`: the recipes, ``zoo_configs/`` beside the package, or
  ``$GANZOO_ZOO_CONFIGS``.
* `SAVED_MODELS_DIR`: the pretrained folders, ``saved_models/`` beside the
  package, or ``$GANZOO_SAVED_MODELS``.

`classify_source` tells what a model source is (a pretrained folder, a run
directory, a ``.keras`` file or a zoo entry name) from these file names.
"""

import difflib
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


def model_path(run_dir):
    """The best model file of a run directory: final, else the last checkpoint."""
    run_dir = pathlib.Path(run_dir)
    for name in (FINAL, CHECKPOINT):
        if (run_dir / name).is_file():
            return run_dir / name
    raise FileNotFoundError(
        f"No {FINAL} or {CHECKPOINT} in the run directory (has an epoch finished?). "
        f"Received: {run_dir}"
    )


def classify_source(source, names=None):
    """What a model source is and where, told from its files (loads nothing).

    The kinds, tested in this order (a folder wins over a zoo entry of its name):

    * ``"pretrained"``: a folder holding `CARD`; the path is the folder.
    * ``"run"``: any other folder; the path is its model file (`model_path`).
    * ``"keras"``: a ``.keras`` file; the path is the file.
    * ``"name"``: a zoo entry name, one of ``names()``; the path is None.

    Args:
        source: a path or a name (``~`` is expanded).
        names: a callable returning the zoo entry names (called only for a
            source that is neither a folder nor a ``.keras`` path), or None
            for no names.

    Returns:
        ``(kind, path)``.

    Raises:
        FileNotFoundError: a folder without a model card or a model file, a
            missing ``.keras`` file, or a missing path (a source with a path
            separator or starting with ``.``).
        ValueError: an existing file that is not a ``.keras`` model, or a name
            that is not a zoo entry (with close matches).
    """
    text = os.fspath(source) if isinstance(source, os.PathLike) else str(source)
    path = pathlib.Path(text).expanduser()
    if path.is_dir():
        if (path / CARD).is_file():
            return "pretrained", path
        return "run", model_path(path)
    if path.suffix == ".keras":
        if not path.is_file():
            raise FileNotFoundError(f"No such model file. Received: {path}")
        return "keras", path
    entries = list(names()) if names is not None else []
    if text in entries:
        return "name", None
    if path.exists():
        raise ValueError(
            "Expected a run directory, a .keras file or a zoo entry name (see `ganzoo list`). "
            f"Received: {text!r}, a file that is not a .keras model"
        )
    if os.sep in text or (os.altsep and os.altsep in text) or text.startswith("."):
        raise FileNotFoundError(
            "No such run directory or .keras file (and not a zoo entry name). "
            f"Received: {text!r}"
        )
    close = difflib.get_close_matches(text, entries, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Not a run directory, a .keras file or a zoo entry name.{hint} See `ganzoo list` "
        f"for the {len(entries)} entries. Received: {text!r}"
    )
