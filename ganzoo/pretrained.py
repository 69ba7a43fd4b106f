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
or truncated file is refused; nothing is ever downloaded. Package a finished
run with::

    python -m ganzoo.pretrained RUN_DIR --name dcgan_mnist --command "ganzoo train ..."
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import tempfile
import warnings

import h5py
import numpy as np

from ganzoo.checksums import sha256_of

CARD = "model_card.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
METADATA = "metadata.json"
LEGACY_WEIGHTS = "weights.npz"  # before 2026-11-30: float16 arrays keyed by position
SAMPLES = "samples.png"
#: The quick protocol re-measured by the tests: FID on this many samples.
CHECK_SAMPLES = 1000
#: Metrics every model card records (and, for conditional GANs, also the second tuple).
CARD_METRICS = ("fid", "kid", "precision_recall", "mode_coverage", "inception_score", "data_copying")
CONDITIONAL_CARD_METRICS = ("conditional_accuracy", "intra_fid")


def _networks(gan):
    nets = {"generator": gan.generator, "discriminator": gan.discriminator}
    if getattr(gan, "ema_generator", None) is not None:
        nets["ema_generator"] = gan.ema_generator
    return nets


def _machine():
    """E.g. "x86_64, 2 CPU cores, no GPU": where the card's training ran."""
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    gpu_text = "no GPU" if gpus == 0 else f"{gpus} GPU" + ("s" if gpus > 1 else "")
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {gpu_text}"


def _folder(name_or_path):
    from ganzoo import registry

    path = pathlib.Path(str(name_or_path))
    if path.is_dir():
        return path
    return registry.SAVED_MODELS_DIR / str(name_or_path)


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


def load_pretrained(name_or_path, recipe=None, compile=True):
    """Loads a pretrained GAN from ``saved_models/<name>`` (or a folder), offline.

    Args:
        name_or_path: a zoo name with shipped weights, or a pretrained folder.
        recipe: unused except for overrides of a zoo name, which must not
            change the architecture (the shipped config is authoritative).
        compile: compile with the model's own optimizer settings.

    Returns:
        The `ganzoo.GAN`, with float32 weights.
    """
    import keras

    import ganzoo  # noqa: F401  (registers the ganzoo classes)

    folder = _folder(name_or_path)
    card = verify(folder)
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


def _sample_grid(gan):
    """The card's grid: 8x8 samples (seed 0), or one row of 8 per class for a conditional GAN."""
    from ganzoo import images

    if gan.num_classes is None:
        return images.grid(gan.generate(64, seed=0))
    labels = np.repeat(np.arange(gan.num_classes), 8)
    return images.grid(gan.generate(labels.size, seed=0, labels=labels), cols=8)


def _metadata(gan):
    import keras
    import tensorflow as tf

    return {
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "ganzoo_version": __import__("ganzoo").__version__,
        "parameter_count": int(gan.generator.count_params() + gan.discriminator.count_params()),
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }


def package(run_dir, name, command, out_root=None, evaluate=True, num_samples=5000, note=None):
    """Writes ``saved_models/<name>/`` from a finished training run.

    The folder is assembled in a temporary directory and moved into place only
    when complete. Metrics are measured on the float16-stored weights, i.e. on
    exactly what `load_pretrained` returns.
    """
    import keras

    from ganzoo import images, registry, runs

    run_dir = pathlib.Path(run_dir)
    out_root = pathlib.Path(out_root) if out_root else registry.SAVED_MODELS_DIR
    target = out_root / name
    if target.exists():
        raise FileExistsError(f"A pretrained folder already exists; remove it first. Received: {target}")
    gan = keras.models.load_model(runs.model_path(run_dir))
    run = json.loads((run_dir / runs.RUN_FILE).read_text())
    history = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]

    out_root.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=out_root))
    try:
        (tmp / CONFIG).write_text(json.dumps(keras.saving.serialize_keras_object(gan), indent=1))
        write_weights(gan, tmp / WEIGHTS)
        (tmp / METADATA).write_text(json.dumps(_metadata(gan), indent=2) + "\n")
        card = {"name": name, "files": {f: sha256_of(tmp / f) for f in (CONFIG, WEIGHTS, METADATA)}}
        (tmp / CARD).write_text(json.dumps(card))
        loaded = load_pretrained(tmp, compile=False)
        images.save_png(_sample_grid(loaded), tmp / SAMPLES)
        card["files"][SAMPLES] = sha256_of(tmp / SAMPLES)
        recipe = registry.get_recipe(run["model"])
        steps = int(np.asarray(gan.g_optimizer.iterations))
        card.update({
            "description": recipe.description,
            "paper": recipe.paper,
            "recipe": f"zoo_configs/{run['model']}.toml",
            "overrides": run.get("overrides", {}),
            "data": run["data"],
            "training": {
                "command": command,
                "seed": run.get("seed"),
                "epochs": len(history),
                "generator_steps": steps,
                "discriminator_steps": int(np.asarray(gan.d_optimizer.iterations)),
                "wall_time_seconds": round(sum(r.get("seconds", 0) for r in history), 1),
                "final_epoch_logs": {k: v for k, v in history[-1].items() if k != "epoch"},
                "machine": _machine(),
                "note": note,
            },
            "parameters": {"generator": loaded.generator.count_params(),
                           "discriminator": loaded.discriminator.count_params()},
            "weights_dtype": "float16 on disk (model.weights.h5), float32 when loaded",
            "versions": {"tensorflow": __import__("tensorflow").__version__,
                         "keras": keras.__version__},
            "date": datetime.date.today().isoformat(),
        })
        if evaluate:
            from ganzoo.metrics import evaluate as evaluate_fn

            names = list(CARD_METRICS)
            if loaded.num_classes is not None:
                names += list(CONDITIONAL_CARD_METRICS)
            report = evaluate_fn(loaded, data=run["data"], metrics=names,
                                 num_samples=num_samples, progress=False)
            check = evaluate_fn(loaded, data=run["data"], metrics=("fid",),
                                num_samples=CHECK_SAMPLES, progress=False)
            card["metrics"] = {
                "command": f"ganzoo evaluate saved_models/{name} --data {run['data']} "
                           f"--metrics {','.join(names)} --num-samples {num_samples}",
                "summary": report["summary"],
                "protocol": {"report": report.get("protocol"),
                             **{k: v.get("protocol") for k, v in report["metrics"].items()}},
            }
            card["check"] = {"metric": "fid", "num_samples": CHECK_SAMPLES, "seed": 0,
                             "value": check["summary"]["fid"]}
        (tmp / CARD).write_text(json.dumps(card, indent=2) + "\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description="Package a finished run as a pretrained zoo model.")
    parser.add_argument("run_dir")
    parser.add_argument("--name", required=True)
    parser.add_argument("--command", required=True, help="the exact training command, for the card")
    parser.add_argument("--out-root", default=None)
    parser.add_argument("--num-samples", type=int, default=5000)
    parser.add_argument("--note", default=None, help="e.g. what else ran on the machine")
    args = parser.parse_args(argv)
    print(package(args.run_dir, args.name, args.command, args.out_root,
                  num_samples=args.num_samples, note=args.note))


if __name__ == "__main__":
    main()
