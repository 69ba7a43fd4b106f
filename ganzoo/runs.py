"""Training-run directories and loading a GAN from wherever it lives.

A run directory written by ``ganzoo train --out DIR`` holds:

=====================  ======================================================
``run.json``           the run's settings (zoo entry, overrides, data, seed)
``checkpoint.keras``   the model after the last completed epoch (atomic write)
``final.keras``        the model when training finished (export-ready)
``backup/``            `keras.callbacks.BackupAndRestore` state, for resuming
``samples/``           ``epoch_NNN.png`` sample grids from a fixed latent seed
``metrics.jsonl``      one JSON line per epoch
``tensorboard/``       TensorBoard scalars and image grids
=====================  ======================================================
"""

import os
import pathlib
import tempfile

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


def load_gan(source, pretrained=False):
    """Loads a GAN from a run directory, a ``.keras`` file, or a zoo name.

    Args:
        source: path of a run directory, a pretrained folder (with
            ``model_card.json``), a ``.keras`` file, or a name from
            `ganzoo.list_models()` (a fresh model, or the shipped weights with
            ``pretrained=True``).
        pretrained: for a zoo name, load ``saved_models/<name>``.

    Returns:
        A compiled `ganzoo.GAN`.
    """
    import keras

    from ganzoo import pretrained as pretrained_lib
    from ganzoo import registry

    path = pathlib.Path(str(source)).expanduser()
    if path.is_dir() and (path / pretrained_lib.CARD).is_file():
        return pretrained_lib.load_pretrained(path)
    if path.is_dir():
        return keras.models.load_model(model_path(path))
    if path.suffix == ".keras":
        if not path.is_file():
            raise FileNotFoundError(f"No such model file. Received: {path}")
        return keras.models.load_model(path)
    if str(source) in registry.list_models():
        return registry.create_model(str(source), pretrained=pretrained)
    raise ValueError(
        "Expected a run directory, a .keras file or a zoo entry name (see `ganzoo list`). "
        f"Received: {source!r}"
    )


def save_atomic(gan, path):
    """Saves `gan` to `path` (.keras) through a temporary file and a rename,
    so a crash never leaves a half-written model behind."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".keras", dir=path.parent, prefix=".tmp-")
    os.close(fd)
    try:
        gan.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
