"""`ganzoo package`: a finished training run as a pretrained zoo folder.

Packaging combines a run (`ganzoo.runs`), its recipe (`ganzoo.registry`) and
the metrics (`ganzoo.metrics`), so it lives here, at the top of the library;
`ganzoo.pretrained` only verifies and loads the folders it writes.
"""

import datetime
import json
import os
import pathlib
import platform
import shutil
import tempfile

import numpy as np

from ganzoo import paths
from ganzoo.checksums import sha256_of
from ganzoo.cli._args import positive_int
from ganzoo.paths import CARD, CONFIG, METADATA, SAMPLES, WEIGHTS

#: The quick protocol re-measured by the tests: FID on this many samples.
CHECK_SAMPLES = 1000
#: Metrics every model card records (and, for conditional GANs, also the second tuple).
CARD_METRICS = ("fid", "kid", "precision_recall", "mode_coverage", "inception_score", "data_copying")
CONDITIONAL_CARD_METRICS = ("conditional_accuracy", "intra_fid")


def _machine():
    """E.g. "x86_64, 2 CPU cores, no GPU": where the card's training ran."""
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    gpu_text = "no GPU" if gpus == 0 else f"{gpus} GPU" + ("s" if gpus > 1 else "")
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {gpu_text}"


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


def _logged_seconds(run_dir):
    """Seconds a run's ``metrics.jsonl`` logged (0 if `run_dir` is not a run directory)."""
    log = pathlib.Path(run_dir) / "metrics.jsonl"
    if not log.is_file():
        return 0.0
    return sum(json.loads(line).get("seconds", 0) for line in log.read_text().splitlines() if line.strip())


def _sources_seconds(run):
    """Seconds logged by the chain of runs that `run` (a ``run.json`` dict) started from.

    Follows ``init_from.source`` run directories back to the first run (a ``--pretrained``
    source, a missing directory or a loop ends the chain).
    """
    total, seen = 0.0, set()
    source = (run.get("init_from") or {}).get("source")
    while source and (path := pathlib.Path(source).resolve()) not in seen:
        seen.add(path)
        total += _logged_seconds(path)
        run_file = path / paths.RUN_FILE
        source = ((json.loads(run_file.read_text()).get("init_from") or {}).get("source")
                  if run_file.is_file() else None)
    return total


def package(run_dir, name, command, out_root=None, evaluate=True, num_samples=5000, note=None):
    """Writes ``saved_models/<name>/`` from a finished training run.

    The folder is assembled in a temporary directory and moved into place only
    when complete. A run started from other weights (``init_from`` in its
    ``run.json``) is carded with the generator steps and wall time of its whole
    chain of sources included, and its own steps (generator and discriminator) and
    wall time under ``training.this_run``. Metrics are measured on the float16-stored weights, i.e. on
    exactly what `load_pretrained` returns.

    Args:
        run_dir: a finished (or checkpointed) `ganzoo train` run directory.
        name: the folder's name under `out_root` (a zoo entry's name to ship it).
        command: the exact training command, recorded in the card.
        out_root: where to write (default: ``saved_models/``).
        evaluate: measure the card's metrics (`CARD_METRICS`) on `num_samples`.
        num_samples: generated images for the metrics.
        note: free text for the card, e.g. what else ran on the machine.

    Returns:
        The written folder's path.

    Raises:
        FileExistsError: the target folder exists (nothing is overwritten).
    """
    import keras

    from ganzoo import data as data_lib
    from ganzoo import images, registry, runs
    from ganzoo.pretrained import load_pretrained, write_weights

    run_dir = pathlib.Path(run_dir)
    out_root = pathlib.Path(out_root) if out_root else paths.SAVED_MODELS_DIR
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
        # every generator step the weights have seen: a run started from other weights
        # (--init-from, --pretrained) counts on from its source's (``ema_step_offset``)
        own_steps = int(np.asarray(gan.g_optimizer.iterations))
        steps = gan.ema_step_offset + own_steps
        wall = sum(r.get("seconds", 0) for r in history)  # this run's metrics.jsonl, read above
        init_from = run.get("init_from")  # a --pretrained source has no run directory ("source")
        d_steps = int(np.asarray(gan.d_optimizer.iterations))
        card.update({
            "description": recipe.description,
            "paper": recipe.paper,
            "recipe": f"zoo_configs/{run['model']}.toml",
            "overrides": run.get("overrides", {}),
            "data": run["data"],
            "data_attribution": data_lib.attribution(run["data"]),
            "training": {
                "command": command,
                "seed": run.get("seed"),
                "epochs": len(history),
                "generator_steps": steps,
                # the source's discriminator steps are not recorded: only this run's
                **({} if init_from else {"discriminator_steps": d_steps}),
                "wall_time_seconds": round(wall + _sources_seconds(run), 1),
                "final_epoch_logs": {k: v for k, v in history[-1].items() if k != "epoch"},
                "machine": _machine(),
                "note": note,
                # the source's directory is a path on the training machine; the command names it
                **({"init_from": {k: v for k, v in init_from.items() if k != "source"},
                    "this_run": {"generator_steps": own_steps, "discriminator_steps": d_steps,
                                 "wall_time_seconds": round(wall, 1)}}
                   if init_from else {}),
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


def add_parser(sub):
    p = sub.add_parser("package", help="package a finished run as a pretrained zoo folder")
    p.add_argument("run_dir", help="the run directory of `ganzoo train`")
    p.add_argument("--name", required=True, help="folder name under saved_models/ (the zoo entry's)")
    p.add_argument("--command", required=True, help="the exact training command, for the card")
    p.add_argument("--out-root", default=None, help="write under this folder instead of saved_models/")
    p.add_argument("--num-samples", type=positive_int, default=5000,
                   help="generated images for the card's metrics (default 5000)")
    p.add_argument("--no-eval", action="store_true", help="write the folder without measuring metrics")
    p.add_argument("--note", default=None, help="e.g. what else ran on the machine")
    p.set_defaults(func=run)


def run(args):
    print(package(args.run_dir, args.name, args.command, args.out_root, evaluate=not args.no_eval,
                  num_samples=args.num_samples, note=args.note))
