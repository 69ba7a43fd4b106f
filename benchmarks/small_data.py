"""Small-data GAN training options compared on one zoo entry at equal generator steps.

Every configuration in `CONFIGS` (recipe overrides: augmentation, R1/R2,
LeCam, EMA, ...) trains the same zoo entry (default ``dcgan_mnist`` on
``mnist_5k``: 4,500 training digits; or an entry whose data is ``twemoji``,
e.g. ``sngan_twemoji``: 3,396 colour emoji) from the same seed, weights and
data order for ``--steps`` generator steps with ``ganzoo.train.train_run``, then
is evaluated with the protocol of ``ganzoo evaluate`` by default: FID, KID,
precision/recall and mode coverage of ``--num-samples`` samples
(``gan.generate(N, seed)``, through the EMA generator when there is one) against
the train split of the entry's data, features from its offline classifier.
Wall time is that of training only (this machine's background load is recorded
as the load average before and after).

Runs live in ``--out/<config>`` and are resumable: a finished run is loaded,
not retrained, and an interrupted one continues; for those the table's wall
time is the sum of the epoch times the run logged (``epoch_s_logged``) instead
of this call's ``wall_s``. Checkpoints come every min(steps, 1000) steps, so
``--steps`` above 1000 must be a multiple of 1000.

    python benchmarks/small_data.py --markdown benchmarks/results/cpu_2core_small_data.md
    python benchmarks/small_data.py --configs plain,diffaugment,diffaugment_ema --steps 1000
    python benchmarks/small_data.py --model sngan_twemoji --steps 3000 \\
        --json benchmarks/results/cpu_2core_small_data_twemoji.json \\
        --markdown benchmarks/results/cpu_2core_small_data_twemoji.md
    python benchmarks/small_data.py --steps 6 --num-samples 200 --batch-size 16 \\
        --configs plain,ada --out /tmp/sd_test --json /tmp/sd.json     # smoke test

Never run by the tests.
"""

import argparse
import json
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import tensorflow as tf

import ganzoo
from ganzoo import metrics as metrics_lib
from ganzoo.models import FAMILIES
from ganzoo.train import train_run

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import write_outputs  # noqa: E402

THIRD = "steps // 3"  # placeholder resolved per run: the EMA starts averaging after 1/3 of the steps
DIFFAUG = "diffaugment:translation,cutout"

# name: (what it turns on, recipe overrides). R1/R2 gamma = 1.0 is a documented, untuned choice:
# the middle of the 0.1-10 range used in the literature (Mescheder et al. 2018 use 10 on larger images).
CONFIGS = {
    "plain": ("the networks and Adam of the recipe, its paper's loss (BASE)", {}),
    "diffaugment": ("DiffAugment translation+cutout", {"augment": DIFFAUG}),
    "diffaugment_full": ("DiffAugment color+translation+cutout", {"augment": "diffaugment"}),
    "ada": ("adaptive augmentation (ADA, p tuned from r_t)", {"augment": "ada"}),
    "r1": ("R1 penalty, gamma 1", {"r1_weight": 1.0}),
    "rpgan_r1_r2": ("relativistic loss + R1 + R2, gamma 1", {"loss": "relativistic", "r1_weight": 1.0,
                                                             "r2_weight": 1.0}),
    "lecam": ("LeCam regularizer, lambda 0.01", {"lecam_weight": 0.01}),
    "ema": ("generator EMA 0.999 with warm-up, from 1/3 of the steps",
            {"ema_decay": 0.999, "ema_warmup": True, "ema_start": THIRD}),
    "diffaugment_ema": ("DiffAugment translation+cutout + EMA as in `ema`",
             {"augment": DIFFAUG, "ema_decay": 0.999, "ema_warmup": True, "ema_start": THIRD}),
    "rpgan_r1_r2_ema": ("relativistic loss + R1 + R2 (gamma 1) + EMA as in `ema`",
                        {"loss": "relativistic", "r1_weight": 1.0, "r2_weight": 1.0, "ema_decay": 0.999,
                         "ema_warmup": True, "ema_start": THIRD}),
    "ada_rpgan_r1_r2_ema": ("ADA + relativistic loss + R1 + R2 (gamma 1) + EMA as in `ema`",
                            {"augment": "ada", "loss": "relativistic", "r1_weight": 1.0, "r2_weight": 1.0,
                             "ema_decay": 0.999, "ema_warmup": True, "ema_start": THIRD}),
    "ada_pair_rpgan_r1_r2_ema": ("as `ada_rpgan_r1_r2_ema`, ADA's r_t from the pairs' logit differences",
                                 {"augment": {"name": "ada", "heuristic": "pair_sign"}, "loss": "relativistic",
                                  "r1_weight": 1.0, "r2_weight": 1.0, "ema_decay": 0.999, "ema_warmup": True,
                                  "ema_start": THIRD}),
}
# Every configuration starts from the entry's networks and Adam settings with its family's paper loss,
# no R1/R2, no augmentation, a constant learning rate and no EMA (what the zoo recipes held when this
# table was measured; the shipped recipes have since turned some of these options on), so that each
# row adds only what it names.
BASE = {"ema_decay": None, "ema_warmup": False, "ema_start": None, "augment": None, "r1_weight": 0.0,
        "r2_weight": 0.0, "penalty_interval": 1,
        "d_optimizer": {"schedule": "constant"}, "g_optimizer": {"schedule": "constant"}}
# The data sets with an offline extractor; the reference is the entry's data, its "train" split, as
# `ganzoo evaluate` reads it by default (extractor "auto").
REFERENCES = ("mnist_5k", "twemoji")


def overrides_for(name, steps, model):
    """Recipe overrides of configuration `name` for zoo entry `model`: BASE, its family's paper loss
    (the family class's ``default_loss``), then what the configuration turns on."""
    own = {k: (steps // 3 if v == THIRD else v) for k, v in CONFIGS[name][1].items()}
    return {**BASE, "loss": FAMILIES[ganzoo.get_recipe(model).family].default_loss, **own}


def machine_info():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor()) if os.path.exists("/proc/cpuinfo") else platform.processor()
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu_model": cpu,
            "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "tensorflow": tf.__version__, "keras": keras.__version__}


def logged_seconds(run_dir):
    """Sum of the per-epoch wall times in a run's metrics.jsonl (None if absent)."""
    path = pathlib.Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return None
    return round(sum(json.loads(line).get("seconds", 0.0) for line in path.read_text().splitlines() if line), 1)


def run_config(name, args, evaluator):
    overrides = overrides_for(name, args.steps, args.model)
    run_dir = pathlib.Path(args.out) / name
    status = ("reused" if (run_dir / "final.keras").exists()
              else "resumed" if (run_dir / "run.json").exists() else "fresh")
    load = os.getloadavg()
    start = time.perf_counter()
    gan = train_run(args.model, run_dir, steps=args.steps, checkpoint_every=min(args.steps, 1000), seed=args.seed,
                    batch_size=args.batch_size, recipe_overrides=overrides, verbose=0)
    wall = time.perf_counter() - start
    report = evaluator(gan, num_samples=args.num_samples, seed=args.seed, progress=False)
    return {
        "config": name, "description": CONFIGS[name][0], "overrides": overrides, "run_dir": str(run_dir),
        "steps": args.steps, "generator_steps_done": int(gan.g_optimizer.iterations.numpy()),
        "status": status, "wall_s": round(wall, 1), "epoch_s_logged": logged_seconds(run_dir),
        "loadavg_before": [round(v, 2) for v in load], "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "summary": report["summary"], "metrics": report["metrics"], "protocol": report["protocol"],
        "eval_seconds": report["seconds"],
    }


def wall_text(r):
    if r["status"] == "fresh":
        return f"{r['wall_s']:.0f} s"
    return f"{r['epoch_s_logged'] or 0:.0f} s ({r['status']})"


def markdown(records):
    lines = ["| configuration | what it turns on | FID | KID (raw) | precision | recall | modes hit | KL(modes) "
             "| wall time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        s, modes = r["summary"], r["metrics"]["mode_coverage"]
        lines.append(
            f"| {r['config']} | {r['description']} | {s['fid']:.2f} | {s['kid']:.4f} | {s['precision']:.3f} "
            f"| {s['recall']:.3f} | {modes['modes_hit']}/{modes['num_modes']} | {s['modes_kl']:.3f} "
            f"| {wall_text(r)} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--model", default="dcgan_mnist",
                        help="a zoo entry whose data is mnist_5k or twemoji (default dcgan_mnist)")
    parser.add_argument("--steps", type=int, default=3000, help="generator steps per configuration (default 3000)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per discriminator step (default 64)")
    parser.add_argument("--num-samples", type=int, default=5000, help="generated images evaluated (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="training and evaluation seed (default 0)")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated subset of: {', '.join(CONFIGS)} (default: all)")
    parser.add_argument("--out", default="benchmarks/runs/small_data", help="run directories (git-ignored)")
    parser.add_argument("--json", default="benchmarks/results/cpu_2core_small_data.json", metavar="PATH")
    parser.add_argument("--markdown", default=None, metavar="PATH", help="also write the table here")
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown or not names:
        parser.error(f"unknown configuration(s) {unknown}; choose from {list(CONFIGS)}")
    if min(args.steps, args.batch_size, args.num_samples) < 1:
        parser.error("--steps, --batch-size and --num-samples must be >= 1")
    if args.steps > 1000 and args.steps % 1000:
        parser.error(f"--steps above 1000 must be a multiple of 1000 (train_run rounds up to whole "
                     f"checkpoints of 1000 steps). Received: --steps {args.steps}")
    reference = ganzoo.get_recipe(args.model).dataset
    if reference not in REFERENCES:
        parser.error(f"--model must be a zoo entry whose data is one of {list(REFERENCES)} (an offline "
                     f"extractor). Received: {args.model} (data {reference})")

    evaluator = metrics_lib.Evaluator(data=reference)  # one reference pass, shared by every configuration
    machine = machine_info()
    print(f"{args.model}: {len(names)} configuration(s) x {args.steps} generator steps, batch {args.batch_size}, "
          f"seed {args.seed}; {machine['cpu_count']} CPUs, TF {machine['tensorflow']}, Keras {machine['keras']}")
    records = []
    for name in names:
        records.append(run_config(name, args, evaluator))
        r = records[-1]
        print(f"{name}: FID {r['summary']['fid']:.2f}, {wall_text(r)}", flush=True)

    table = markdown(records)
    print(table)
    summary = {
        "command": [sys.executable, *sys.argv],
        "machine": machine,
        "settings": {"model": args.model, "steps": args.steps, "batch_size": args.batch_size,
                     "num_samples": args.num_samples, "seed": args.seed, "configs": names, "out": args.out,
                     "checkpoint_every": min(args.steps, 1000), "reference": reference,
                     "metrics": list(metrics_lib.DEFAULT_METRICS)},
        "results": records,
    }
    write_outputs(summary, args.json, table, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
