"""Pretrained zoo models in ``saved_models/<name>/``: packaged, verified, loaded offline.

A pretrained entry is a folder of:

=================== ==========================================================
``config.json``     the GAN's Keras config (networks included)
``weights.npz``     generator and discriminator weights, stored as float16
                    (half the size; loading casts them back to float32)
``samples.png``     an 8x8 grid from ``generate(64, seed=0)``
``model_card.json`` recipe, data, training command, steps, wall time, machine,
                    measured metrics with their protocol, and the sha256 of
                    every other file
=================== ==========================================================

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

import numpy as np

from ganzoo.checksums import sha256_of

CARD = "model_card.json"
CONFIG = "config.json"
WEIGHTS = "weights.npz"
SAMPLES = "samples.png"
#: The quick protocol re-measured by the tests: FID on this many samples.
CHECK_SAMPLES = 1000


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
    with np.load(folder / WEIGHTS) as stored:
        for net_name, net in _networks(gan).items():
            values = []
            for i, variable in enumerate(net.weights):
                key = f"{net_name}/{i:04d}"
                if key not in stored or stored[key].shape != tuple(variable.shape):
                    raise ValueError(
                        f"{folder / WEIGHTS} does not fit the model in {CONFIG}: weight {key} "
                        f"expected shape {tuple(variable.shape)}. Received: "
                        f"{stored[key].shape if key in stored else 'no such weight'}"
                    )
                values.append(stored[key].astype(variable.dtype))
            net.set_weights(values)
    if compile:
        gan.compile()
    gan.pretrained_card = card
    return gan


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
        arrays = {
            f"{net_name}/{i:04d}": np.asarray(v.numpy() if hasattr(v, "numpy") else v).astype(
                "float16" if "float" in str(v.dtype) else v.dtype
            )
            for net_name, net in _networks(gan).items()
            for i, v in enumerate(net.weights)
        }
        np.savez_compressed(tmp / WEIGHTS, **arrays)
        card = {"name": name, "files": {CONFIG: sha256_of(tmp / CONFIG), WEIGHTS: sha256_of(tmp / WEIGHTS)}}
        (tmp / CARD).write_text(json.dumps(card))
        loaded = load_pretrained(tmp, compile=False)
        images.save_png(images.grid(loaded.generate(64, seed=0)), tmp / SAMPLES)
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
            "weights_dtype": "float16 on disk, float32 when loaded",
            "versions": {"tensorflow": __import__("tensorflow").__version__,
                         "keras": keras.__version__},
            "date": datetime.date.today().isoformat(),
        })
        if evaluate:
            from ganzoo.metrics import evaluate as evaluate_fn

            report = evaluate_fn(loaded, data=run["data"],
                                 metrics=("fid", "kid", "precision_recall", "mode_coverage", "is"),
                                 num_samples=num_samples, progress=False)
            check = evaluate_fn(loaded, data=run["data"], metrics=("fid",),
                                num_samples=CHECK_SAMPLES, progress=False)
            card["metrics"] = {
                "command": f"ganzoo evaluate saved_models/{name} --data {run['data']} "
                           f"--metrics fid,kid,pr,modes,is --num-samples {num_samples}",
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
