"""Pretrained zoo models in ``saved_models/<name>/``: packaged, verified, loaded offline.

A pretrained entry is a folder laid out like a KerasHub preset, so it can be
copied to a model hub unchanged:

===================== ========================================================
``config.json``       the GAN's Keras config (``keras.saving.serialize_keras_object``;
                      its registered name says which ganzoo class to build)
``model.weights.h5``  the weights, written by Keras' ``save_weights`` from the
                      uncompiled GAN (networks, EMA generator, augmentation
                      state; no optimizer state), keyed by Keras' object paths
``metadata.json``     Keras/TensorFlow versions, parameter count, date
``samples.png``       an 8x8 grid from ``generate(64, seed=0)`` (one row of 8
                      per class for a conditional GAN)
``model_card.json``   recipe, data, training command, steps, wall time, machine,
                      measured metrics with their protocol, and the sha256 of
                      every other file
===================== ========================================================

Weights are stored as float16 to halve the files: after Keras writes the HDF5
file, its float32 datasets are rewritten as float16 (with h5py, which Keras
itself uses); ``load_weights`` reads them back into the float32 variables
(Keras casts on assignment). Older folders with an index-keyed ``weights.npz``
still load.

`load_pretrained` checks every sha256 before reading anything, so a tampered
or truncated file is refused; nothing is ever downloaded. A finished run is
packaged by the command line, which combines runs, the registry and metrics::

    ganzoo package RUN_DIR --name dcgan_mnist --command "ganzoo train ..."
"""

import json
import pathlib
import warnings

import h5py
import numpy as np

from ganzoo import paths
from ganzoo.checksums import sha256_of
from ganzoo.paths import CARD, CONFIG, LEGACY_WEIGHTS, METADATA, SAMPLES, WEIGHTS  # noqa: F401


def _networks(gan):
    nets = {"generator": gan.generator, "discriminator": gan.discriminator}
    if getattr(gan, "ema_generator", None) is not None:
        nets["ema_generator"] = gan.ema_generator
    return nets


def _folder(name_or_path):
    path = pathlib.Path(str(name_or_path))
    if path.is_dir():
        return path
    return paths.SAVED_MODELS_DIR / str(name_or_path)


def verify(name_or_path):
    """Checks the sha256 of every file the model card lists. Returns the card.

    Raises:
        FileNotFoundError: no model card.
        ValueError: a listed file is missing or its sha256 differs.
    """
    folder = _folder(name_or_path)
    card_path = folder / CARD
    if not card_path.is_file():
        raise FileNotFoundError(f"No {CARD} in the pretrained folder. Received: {folder}")
    card = json.loads(card_path.read_text())
    for filename, expected in card.get("files", {}).items():
        path = folder / filename
        if not path.is_file():
            raise ValueError(
                f"Pretrained file {filename} listed in {card_path} is missing. Received: {path}"
            )
        actual = sha256_of(path)
        if actual != expected:
            raise ValueError(
                f"Pretrained file {path} does not match its model card (tampered, truncated or "
                f"corrupted): sha256 expected {expected}. Received: sha256 {actual}"
            )
    return card


def load_pretrained(name_or_path, compile=True, name=None):
    """Loads a pretrained GAN from ``saved_models/<name>`` (or a folder), offline.

    Args:
        name_or_path: a zoo name with shipped weights, or a pretrained folder.
        compile: compile with the model's own optimizer settings.
        name: the zoo entry the folder must hold (its card's ``name``), if given.

    Returns:
        The `ganzoo.GAN`, with float32 weights and fresh optimizers (no
        optimizer state ships); its ``ema_step_offset`` counts the card's
        generator steps, so that fine-tuning it continues the EMA generator
        (`ganzoo.GAN`'s ``ema_step_offset``) instead of restarting its schedule.

    Raises:
        ValueError: a file that fails its checksum or does not fit the model,
            or a folder of another entry than `name`.
    """
    import keras

    import ganzoo.models  # noqa: F401  (registers the ganzoo classes)

    folder = _folder(name_or_path)
    card = verify(folder)
    if name is not None and card.get("name", name) != name:
        raise ValueError(
            f"The pretrained folder holds the model '{card['name']}', not the zoo entry requested. "
            f"Received: name={name!r}, pretrained={str(folder)!r}"
        )
    config = json.loads((folder / CONFIG).read_text())
    gan = keras.saving.deserialize_keras_object(config)
    if (folder / WEIGHTS).is_file():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                gan.load_weights(folder / WEIGHTS)
                # Keras only warns when it skips a part of the model it found no weights
                # for; a pretrained model that is partly random is refused here.
                skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
                if skipped:
                    raise ValueError(skipped[0])
            except Exception as e:  # Keras raises ValueError, KeyError or OSError here
                raise ValueError(
                    f"{folder / WEIGHTS} does not fit the model in {folder / CONFIG}: {e} "
                    f"Received: {folder / WEIGHTS}"
                ) from None
    else:
        _load_legacy_npz(gan, folder)
    # The weights are `generator_steps` into training (all of it, a source run's included)
    # while the optimizers start at 0: fine-tuning continues the EMA schedule (and the
    # shipped EMA) from there.
    steps = card.get("training", {}).get("generator_steps")
    if isinstance(steps, int) and steps > 0:
        gan.ema_step_offset = steps
    if compile:
        gan.compile()
    gan.pretrained_card = card
    return gan


def _load_legacy_npz(gan, folder):
    """Reads an index-keyed ``weights.npz`` (folders packaged before model.weights.h5)."""
    with np.load(folder / LEGACY_WEIGHTS) as stored:
        for net_name, net in _networks(gan).items():
            values = []
            for i, variable in enumerate(net.weights):
                key = f"{net_name}/{i:04d}"
                if key not in stored or stored[key].shape != tuple(variable.shape):
                    raise ValueError(
                        f"{folder / LEGACY_WEIGHTS} does not fit the model in {CONFIG}: weight {key} "
                        f"expected shape {tuple(variable.shape)}. Received: "
                        f"{stored[key].shape if key in stored else 'no such weight'}"
                    )
                values.append(stored[key].astype(variable.dtype))
            net.set_weights(values)


def write_weights(gan, path):
    """Writes `gan`'s weights (not its optimizers) as a float16 Keras ``.weights.h5`` file.

    Args:
        gan: a `ganzoo.GAN` (compiled or not).
        path: destination, ending in ``.weights.h5``.
    """
    import keras

    bare = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(gan))
    for mine, theirs in zip(bare.weights, gan.weights):
        mine.assign(theirs)
    bare.seed_generator.state.assign(gan.seed_generator.state)
    path = pathlib.Path(path)
    full = path.with_name(path.name.replace(".weights.h5", ".float32.weights.h5"))
    bare.save_weights(full)
    try:
        # HDF5 never shrinks a file when a dataset is replaced, so write a new one.
        with h5py.File(full, "r") as src, h5py.File(path, "w") as dst:
            _copy_h5(src, dst)
    finally:
        full.unlink()


def _copy_h5(src, dst):
    """Copies groups, attributes and datasets, float32 datasets as gzip'd float16."""
    dst.attrs.update(dict(src.attrs))
    for key, item in src.items():
        if isinstance(item, h5py.Group):
            _copy_h5(item, dst.create_group(key))
            continue
        values = item[()]
        if item.dtype == np.float32:
            values = values.astype(np.float16)
        if np.ndim(values):
            out = dst.create_dataset(key, data=values, compression="gzip", compression_opts=9)
        else:
            out = dst.create_dataset(key, data=values)
        out.attrs.update(dict(item.attrs))
