"""Every colour recipe trained on real colour images (Twemoji), with its quick-FID trajectory.

The zoo's colour recipes were written for CIFAR-10 and CelebA, which need a network. This
script trains each of them on the offline ``twemoji`` source (``twemoji:train``, 3,396
emoji; 32x32, and 64x64 for ``dcgan_celeba64``) for a committed schedule, as
``ganzoo train ENTRY --data twemoji --steps S --checkpoint-every C --eval-every 1
--eval-metrics fid --eval-samples 1000`` would, and copies each run's per-checkpoint log
to ``benchmarks/results/cpu_2core_<entry>_twemoji_metrics.jsonl``: the FID of 1,000
samples against ``twemoji:train`` on the offline Twemoji classifier (the quick protocol)
every ``C`` generator steps, with the step's wall time. The table summarizes them.

What differs from each recipe is in `PLANS` and stated in the table: the ResNet entries
run at reduced width (about 12 s per step at full width on 2 CPU cores) and with the EMA's
warm-up, min(0.9999, (1 + s) / (10 + s)): their recipes' EMA (decay 0.9999 from step 0, for
50k-step runs) still holds 0.9999^1500 = 86% of the initial weights after 1,500 steps, so its
samples would measure the averaging's lag (`sngan_cifar10_resnet` without the warm-up: the same
losses, quick FID 3804, 2949, 2460 against 960, 1233, 1198 with it; its log is
``benchmarks/results/cpu_2core_sngan_cifar10_resnet_twemoji_noemawarmup_metrics.jsonl``). The
schedules are far shorter than the papers' (a linear learning-rate decay, where the
recipe has one, still runs over the recipe's ``train_steps``, so it barely decays).

Runs live in ``--out/<entry>`` and are resumable: rerun the same command after a kill and
each run continues from its last checkpoint; finished runs are reused.

    python benchmarks/colour_trajectories.py --markdown benchmarks/results/cpu_2core_colour_trajectories.md
    python benchmarks/colour_trajectories.py --entries dcgan_cifar10 --steps-scale 0.004 \\
        --out /tmp/ct --results-dir /tmp/ct --json /tmp/ct/summary.json     # smoke test

Never run by the tests.
"""

import argparse
import json
import os
import pathlib
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ganzoo.train import train_run

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import write_outputs  # noqa: E402

# entry: (generator steps, checkpoint and quick-FID interval, recipe overrides, what they change).
# Seconds per generator step measured on 2 CPU cores (Xeon, AVX-512) while another training run
# shared them, so about twice what each takes alone: dcgan_cifar10 1.8, sngan_cifar10 1.7,
# sngan_cifar10_resnet at G 64 / D 32 channels 2.8, wgan_gp_cifar10_resnet at G 32 / D 32 2.3,
# dcgan_celeba64 at its recipe width (batch 128, 64x64) 11.4. The schedules keep each entry under
# about 45 minutes alone.
PLANS = {
    "dcgan_cifar10": (3000, 500, {}, "recipe width"),
    "sngan_cifar10": (3000, 500, {}, "recipe width"),
    "sngan_cifar10_resnet": (
        1500, 500,
        {"generator": {"base_filters": 64}, "discriminator": {"base_filters": 32}, "ema_warmup": True},
        "G 64 / D 32 channels (recipe 256 / 128); EMA warm-up",
    ),
    "wgan_gp_cifar10_resnet": (
        1500, 500,
        {"generator": {"base_filters": 32}, "discriminator": {"base_filters": 32}, "ema_warmup": True},
        "G 32 / D 32 channels (recipe 128 / 128); EMA warm-up",
    ),
    "dcgan_celeba64": (
        3000, 500,
        {"generator": {"base_filters": 32}, "discriminator": {"base_filters": 32}, "batch_size": 64},
        "half width (32 channels), batch 64 (recipe 128); twemoji at 64x64",
    ),
}
QUICK_SAMPLES = 1000


def results_path(entry, results_dir="benchmarks/results"):
    return pathlib.Path(results_dir) / f"cpu_2core_{entry}_twemoji_metrics.jsonl"


def run_entry(entry, out, scale, seed, results_dir):
    steps, every, overrides, _ = PLANS[entry]
    steps, every = max(1, int(steps * scale)), max(1, int(every * scale))
    steps -= steps % every
    run_dir = pathlib.Path(out) / entry
    start = time.perf_counter()
    train_run(entry, run_dir, data="twemoji", steps=steps, checkpoint_every=every, seed=seed,
              eval_every=1, eval_metrics=("fid",), eval_samples=QUICK_SAMPLES,
              recipe_overrides=overrides, verbose=0)
    wall = time.perf_counter() - start
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line]
    target = results_path(entry, results_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "metrics.jsonl", target)
    return {"entry": entry, "steps": steps, "every": every, "overrides": overrides,
            "this_call_wall_s": round(wall, 1),
            "logged_wall_s": round(sum(r.get("seconds", 0.0) for r in lines), 1),
            "fids": [round(r["eval_fid"], 2) for r in lines if "eval_fid" in r],
            "log": str(target)}


def markdown(records):
    lines = ["| entry | width | steps | quick FID every checkpoint (1,000 samples vs `twemoji:train`) "
             "| s / step | log |", "|---|---|---|---|---|---|"]
    for r in records:
        per_step = r["logged_wall_s"] / r["steps"] if r["steps"] else 0.0
        lines.append(f"| `{r['entry']}` | {PLANS[r['entry']][3]} | {r['steps']} | "
                     f"{' -> '.join(f'{f:.0f}' for f in r['fids'])} | {per_step:.2f} | `{r['log']}` |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--entries", default=",".join(PLANS), help=f"subset of {', '.join(PLANS)}")
    parser.add_argument("--steps-scale", type=float, default=1.0,
                        help="multiply every plan's steps and interval (a smoke test: 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/runs/colour", help="run directories (git-ignored)")
    parser.add_argument("--results-dir", default="benchmarks/results", help="where the per-entry logs go")
    parser.add_argument("--json", default="benchmarks/results/cpu_2core_colour_trajectories.json")
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args(argv)
    names = [e.strip() for e in args.entries.split(",") if e.strip()]
    unknown = [e for e in names if e not in PLANS]
    if unknown or not names:
        parser.error(f"unknown entries {unknown}; choose from {list(PLANS)}")
    if not 0 < args.steps_scale <= 1:
        parser.error(f"--steps-scale must be in (0, 1]. Received: {args.steps_scale}")
    records = []
    for entry in names:
        records.append(run_entry(entry, args.out, args.steps_scale, args.seed, args.results_dir))
        print(f"{entry}: quick FID {records[-1]['fids']}", flush=True)
    table = markdown(records)
    print(table)
    write_outputs({"command": [sys.executable, *sys.argv], "plans": {e: PLANS[e][:3] for e in names},
                   "results": records}, args.json, table, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
