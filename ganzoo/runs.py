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

import difflib
import os
import pathlib
import tempfile
import zipfile

from ganzoo import paths
from ganzoo.paths import CARD, CHECKPOINT, FINAL, RUN_FILE  # noqa: F401  (the run's file names)


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


def check_source(source):
    """Raises unless `source` names a run directory, a ``.keras`` file, a
    pretrained folder or a zoo entry; cheap (loads nothing).

    Raises:
        FileNotFoundError: for a path that does not exist, or a run directory
            without a model file.
        ValueError: for an unknown zoo entry name (with close matches).
    """
    from ganzoo import registry

    path = pathlib.Path(str(source)).expanduser()
    if path.is_dir():
        if not (path / CARD).is_file():
            model_path(path)
        return
    if path.suffix == ".keras":
        if not path.is_file():
            raise FileNotFoundError(f"No such model file. Received: {path}")
        return
    names = registry.list_models()
    if str(source) in names:
        return
    if path.exists():
        raise ValueError(
            "Expected a run directory, a .keras file or a zoo entry name (see `ganzoo list`). "
            f"Received: {str(source)!r}, a file that is not a .keras model"
        )
    text = str(source)
    if os.sep in text or (os.altsep and os.altsep in text) or text.startswith("."):
        raise FileNotFoundError(
            "No such run directory or .keras file (and not a zoo entry name). "
            f"Received: {text!r}"
        )
    close = difflib.get_close_matches(text, names, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Not a run directory, a .keras file or a zoo entry name.{hint} See `ganzoo list` "
        f"for the {len(names)} entries. Received: {text!r}"
    )


def load_model_file(path):
    """`keras.models.load_model(path)`, with unreadable files reported as a ValueError."""
    import keras

    try:
        return keras.models.load_model(path)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as e:
        reason = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        reason = reason.strip().splitlines()[0] if reason.strip() else type(e).__name__
        raise ValueError(
            f"Could not load {str(path)!r} as a Keras model file (a corrupt or "
            f"incomplete .keras zip?): {type(e).__name__}: {reason}. Received: {path}"
        ) from e


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

    Raises:
        FileNotFoundError: a missing path, or a run directory without a model.
        ValueError: an unknown zoo name, or a file that is not a readable
            ``.keras`` model.
    """
    from ganzoo import pretrained as pretrained_lib
    from ganzoo import registry

    check_source(source)
    path = pathlib.Path(str(source)).expanduser()
    if path.is_dir() and (path / CARD).is_file():
        return pretrained_lib.load_pretrained(path)
    if path.is_dir():
        return load_model_file(model_path(path))
    if path.suffix == ".keras":
        return load_model_file(path)
    return registry.create_model(str(source), pretrained=pretrained)


def source_data(source, pretrained=False):
    """The data a model was trained on, as a `ganzoo.data.load` source, if recorded.

    Args:
        source: as for `load_gan` (already checked by `check_source`).
        pretrained: for a zoo name, the shipped weights.

    Returns:
        The ``data`` of the run's ``run.json`` (for a run directory or a ``.keras``
        file inside one), of a pretrained folder's model card, or a zoo entry's
        ``dataset`` (its card's ``data`` with ``pretrained=True``); None when
        nothing records it (a lone ``.keras`` file).
    """
    import json

    from ganzoo import registry

    path = pathlib.Path(str(source)).expanduser()
    if path.suffix == ".keras" and path.is_file():
        path = path.parent
    if path.is_dir():
        for name, key in ((RUN_FILE, "data"), (CARD, "data")):
            try:
                value = json.loads((path / name).read_text()).get(key)
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(value, str):
                return value
        return None
    if str(source) in registry.list_models():
        if pretrained and registry.has_pretrained(str(source)):
            return source_data(pathlib.Path(paths.SAVED_MODELS_DIR) / str(source))
        return registry.get_recipe(str(source)).dataset
    return None


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
