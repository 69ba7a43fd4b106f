"""Training-run directories and loading a GAN from wherever it lives.

A run directory written by ``ganzoo train --out DIR`` holds:

=====================  ======================================================
``run.json``           the run's settings (zoo entry, overrides, data, seed, and
                       ``init_from``: the weights a fine-tuning run started from)
``checkpoint.keras``   the model after the last completed epoch (atomic write)
``final.keras``        the model when training finished (export-ready)
``backup/``            `keras.callbacks.BackupAndRestore` state, for resuming
``samples/``           ``epoch_NNN.png`` sample grids from a fixed latent seed
``metrics.jsonl``      one JSON line per epoch
``tensorboard/``       TensorBoard scalars and image grids
=====================  ======================================================
"""

import json
import os
import pathlib
import tempfile
import zipfile

from ganzoo import paths
from ganzoo import regularizers as regularizers_lib
from ganzoo.paths import CARD, CHECKPOINT, FINAL, RUN_FILE  # noqa: F401  (the run's file names)
from ganzoo.paths import model_path  # noqa: F401  (public here: the best model file of a run)


def check_source(source):
    """Raises unless `source` names a run directory, a ``.keras`` file, a
    pretrained folder or a zoo entry; cheap (loads nothing).

    Returns:
        ``(kind, path)`` as `ganzoo.paths.classify_source` tells them, with the
        zoo's entry names: kind ``"pretrained"`` (path: the folder), ``"run"``
        (path: its model file), ``"keras"`` (path: the file) or ``"name"``
        (path: None).

    Raises:
        FileNotFoundError: for a path that does not exist, or a run directory
            without a model file.
        ValueError: for an unknown zoo entry name (with close matches).
    """
    from ganzoo import registry

    return paths.classify_source(source, names=registry.list_models)


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
        ValueError: an unknown zoo name, a file that is not a readable
            ``.keras`` model, or `pretrained` with a run directory or
            ``.keras`` file (which it would not change).
    """
    from ganzoo import pretrained as pretrained_lib
    from ganzoo import registry

    kind, path = check_source(source)
    if pretrained and kind in ("run", "keras"):
        raise ValueError(
            "pretrained (--pretrained) loads the shipped weights of a zoo entry name; a run "
            f"directory or .keras file holds weights of its own: leave it out. Received: {str(source)!r} "
            "with pretrained=True"
        )
    if kind == "pretrained":
        return pretrained_lib.load_pretrained(path)
    if kind == "name":
        return registry.create_model(str(source), pretrained=pretrained)
    return load_model_file(path)


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


def is_untrained(source, pretrained=False):
    """True when `load_gan(source, pretrained)` builds a new model with random weights.

    That is a zoo entry name without `pretrained` (and no folder or ``.keras``
    file of that name); the commands warn about it or refuse it.
    """
    from ganzoo import registry

    path = pathlib.Path(str(source)).expanduser()
    if pretrained or path.is_dir() or path.suffix == ".keras":
        return False
    return str(source) in registry.list_models()


def load_init_source(source=None, pretrained=None):
    """The trained GAN a fine-tuning run starts from, and its record for ``run.json``.

    Args:
        source: ``--init-from``: a ``.keras`` file, a run directory (its
            final model, else its last checkpoint) or a pretrained folder.
        pretrained: ``--pretrained``: the zoo entry whose shipped weights to
            start from (instead of `source`).

    Returns:
        ``(gan, record)``: the loaded GAN and ``{"source": absolute path,
        "generator_steps": N}`` (``{"pretrained": name, "generator_steps":
        N}`` for shipped weights), N being the
        generator steps its weights were trained for (its own step count plus
        its ``ema_step_offset``; a pretrained folder's card gives them).

    Raises:
        FileNotFoundError: a missing path, or a run directory without a model.
        ValueError: an entry without shipped weights, or a file that is not
            a readable model.
    """
    from ganzoo import pretrained as pretrained_lib
    from ganzoo import registry

    record = {}
    if pretrained is not None:
        if not registry.has_pretrained(pretrained):
            raise ValueError(
                f"No pretrained weights for '{pretrained}' to start from. Entries with weights: "
                f"{registry.list_models(pretrained=True)}. Received: {pretrained!r} with --pretrained"
            )
        record["pretrained"] = pretrained  # by name: the record holds wherever the zoo lives
        path = pathlib.Path(paths.SAVED_MODELS_DIR) / pretrained
    else:
        path = pathlib.Path(str(source)).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                "No such .keras file, run directory or pretrained folder to start from. "
                f"Received: --init-from {str(source)!r}"
            )
        if not path.is_dir() and path.suffix != ".keras":
            raise ValueError(
                "--init-from takes a .keras file, a run directory or a pretrained folder "
                f"(with {CARD}). Received: {str(source)!r}"
            )
    kind, found = paths.classify_source(path)  # a folder or a .keras file: never a name
    if kind == "pretrained":
        gan = pretrained_lib.load_pretrained(found, compile=False)
    else:
        gan = load_model_file(found)
    steps = gan.ema_step_offset + (int(gan.g_optimizer.iterations) if gan.g_optimizer is not None else 0)
    if pretrained is None:
        record["source"] = str(path.resolve())
    record["generator_steps"] = steps
    return gan, record


def _network_config(net):
    config = {k: v for k, v in net.get_config().items() if k not in ("name", "trainable", "dtype")}
    return {"class": type(net).__name__, **json.loads(json.dumps(config, default=str))}


def start_from(gan, source, generator_steps, where):
    """Gives `gan` the trained state of `source`, a GAN with the same networks.

    Copied: both networks' weights, the EMA generator's (from `source`'s EMA
    generator, else its generator), ADA's probability and LeCam's anchors when
    both models have them. `gan` keeps its own training options and random
    numbers, and its EMA schedule counts on from `generator_steps`
    (``ema_step_offset``).

    Raises:
        ValueError: a network of `source` differs from `gan`'s, naming the
            first differing argument.
    """
    from ganzoo import registry

    for role in ("generator", "discriminator"):
        mine, theirs = _network_config(getattr(gan, role)), _network_config(getattr(source, role))
        for key in sorted(set(mine) | set(theirs), key=lambda k: k != "class"):
            if mine.get(key) != theirs.get(key):
                # image_shape, latent_dim and num_classes are top-level recipe fields, not table keys
                field = key if key in registry.TOP_LEVEL_NETWORK_ARGS else f"{role}.{key}"
                raise ValueError(
                    f"{where}: its {role} does not fit the run's (the recipe with this command's "
                    f"overrides): {role}.{key} is {theirs.get(key)!r} there and {mine.get(key)!r} in the "
                    f"run; set the run's fields to the source's (e.g. --set {field}=...). "
                    f"Received: {role}.{key}={theirs.get(key)!r}"
                )
        getattr(gan, role).set_weights(getattr(source, role).get_weights())
    if gan.ema_generator is not None:
        gan.ema_generator.set_weights((source.ema_generator or source.generator).get_weights())
    if (gan.augment is not None and source.augment is not None
            and gan.augment.get_config() == source.augment.get_config()):
        gan.augment.set_weights(source.augment.get_weights())
    regularizers_lib.copy_state(source.regularizers, gan.regularizers)
    gan.ema_step_offset = int(generator_steps)


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
