"""Sample quality at an equal wall-clock budget: ganzoo's best MNIST recipe vs. a keras.io-style GAN.

In one process, on the same machine and the same data (the 4,500 offline
training digits of ``mnist_5k``, same seed and shuffle order), it trains one
after the other (never in parallel, in ``--order``):

* **ganzoo**: ``GANZOO_RECIPE`` below (a zoo entry plus recipe overrides) built
  with ``ganzoo.create_model`` and compiled with its defaults;
* **baseline**: ``KerasIOGAN`` from ``train_step.py`` (a hand-written keras.io
  ``train_step``) around the networks of ``BASELINE_MODEL`` (keras.io's DCGAN:
  ``dcgan_mnist``'s networks, BCE loss, no EMA, no augmentation) at the same
  batch size, with that recipe's Adam at a constant rate,

each for ``--budget`` seconds of wall clock (from the start of ``fit``, so
tracing counts), stopped by a callback after the step that crosses it. Both are
then evaluated with the protocol of ``ganzoo evaluate``: FID, KID,
precision/recall and mode coverage of ``--num-samples`` samples (latents
``stateless_normal(seed=[seed, 0])``; ganzoo samples through its EMA generator)
against the train split, features from the offline MNIST classifier, the
reference features computed once for both. Background load is recorded
(load average and the cores used by other processes during each run).

    python benchmarks/quality_budget.py --markdown benchmarks/results/cpu_2core_quality_budget.md
    python benchmarks/quality_budget.py --order baseline,ganzoo --budget 1200
    python benchmarks/quality_budget.py --budget 15 --num-samples 300 --json /tmp/qb.json   # smoke test

Never run by the tests.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

import ganzoo
from ganzoo import metrics as metrics_lib
from ganzoo import sampling

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import write_outputs  # noqa: E402
import train_step  # noqa: E402  (KerasIOGAN, build_baseline, _adam, machine_info, _sample, _usage)

# ganzoo's side: the shipped sngan_mnist recipe as it is (half-width SN-GAN standard CNN with the
# relativistic pairing loss, R1 and R2 every 4th D step and a warmed-up generator EMA: FID 1.09 after
# 10k steps). Earlier picks, both on the dcgan_mnist networks, lost at equal budget: the recipe as
# shipped (EMA; ratio 1.08, its EMA no better than the raw generator at ~5,700 steps) and RpGAN + R1 +
# R2 (ratio 1.22, the penalty passes cost a third of the steps); their JSON is in git history
# (benchmarks/results/cpu_2core_quality_budget.json).
def _constant(settings):
    """Optimizer settings without a learning-rate schedule."""
    return {k: v for k, v in settings.items() if k not in ("schedule", "decay_steps")}


GANZOO_RECIPE = {
    "model": "sngan_mnist",
    "overrides": {},
    "batch_size": 64,
}
BASELINE_MODEL = "dcgan_mnist"  # the keras.io-style DCGAN of train_step.py: these networks, BCE loss
# keras.io's DCGAN trains with the paper's loss and no penalty, whatever the shipped recipe turns on.
BASELINE_OVERRIDES = {"loss": "non_saturating", "r1_weight": 0.0, "r2_weight": 0.0, "penalty_interval": 1}
DATA = "mnist_5k"
METRICS = ("fid", "kid", "precision_recall", "mode_coverage")
SIDES = ("ganzoo", "baseline")
STEPS_PER_EPOCH = 100  # Keras 3's fit checks stop_training after every batch; epochs only bound the logs


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the first batch that ends more than `budget` seconds after `fit` began."""

    def __init__(self, budget):
        super().__init__()
        self.budget = budget

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.elapsed = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.elapsed = time.perf_counter() - self.start
        if self.elapsed > self.budget:
            self.model.stop_training = True


class SamplingAdapter:
    """What `ganzoo.metrics.Evaluator` needs from a GAN, around a plain generator network."""

    num_classes = None

    def __init__(self, generator, latent_dim, image_shape):
        self.sampling_generator = generator
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(image_shape)

    def latent(self, num, seed=0):  # as `ganzoo.GAN.latent`
        return sampling.latent(num, self.latent_dim, seed)


def side_overrides(side):
    """The recipe overrides one side trains with."""
    return dict(GANZOO_RECIPE["overrides"] if side == "ganzoo" else BASELINE_OVERRIDES)


def build_side(side, seed):
    """(model to fit, object to evaluate, recipe, description) of one side."""
    name = GANZOO_RECIPE["model"] if side == "ganzoo" else BASELINE_MODEL
    batch = GANZOO_RECIPE["batch_size"]
    overrides = side_overrides(side)
    recipe = ganzoo.get_recipe(name).with_overrides(batch_size=batch, **overrides)
    keras.utils.set_random_seed(seed)
    gan = ganzoo.create_model(name, seed=seed, batch_size=batch, **overrides)  # compiled with its defaults
    if side == "ganzoo":
        text = ", ".join(f"{k}={v}" for k, v in overrides.items())
        return gan, gan, recipe, f"{name} {'+ ' + text if text else 'recipe as shipped'}, batch {batch}"
    model = train_step.build_baseline(gan, recipe, seed=seed)
    # keras.io's DCGAN keeps the learning rate constant: the recipe's Adam without its schedule.
    model.compile(d_optimizer=train_step._adam(_constant(recipe.d_optimizer), recipe.d_steps),
                  g_optimizer=train_step._adam(_constant(recipe.g_optimizer)),
                  jit_compile=bool(gan.jit_compile))  # what ganzoo's "auto" chose here (off on CPUs)
    sampler = SamplingAdapter(gan.generator, gan.latent_dim, gan.image_shape)
    return model, sampler, recipe, f"{name} plain (keras.io train_step, no EMA), batch {batch}"


def run_side(side, args, evaluator):
    model, sampler, recipe, description = build_side(side, args.seed)
    h, w, c = recipe.image_shape
    keras.utils.set_random_seed(args.seed)  # tf.data's seeded shuffle also uses the global seed
    dataset = ganzoo.data.load(DATA, batch_size=recipe.batch_size, d_steps=recipe.d_steps, image_size=(h, w),
                               channels=c, seed=args.seed)
    budget = TimeBudget(args.budget)
    load, s0 = os.getloadavg(), train_step._sample()
    model.fit(dataset.repeat(), steps_per_epoch=STEPS_PER_EPOCH, epochs=10**9, verbose=0, shuffle=False,
              callbacks=[budget])
    steps = int(model.g_optimizer.iterations.numpy())  # also waits for the last step
    s1 = train_step._sample()
    wall = s1[0] - s0[0]
    report = evaluator(sampler, num_samples=args.num_samples, seed=args.seed, progress=False)
    images = steps * recipe.d_steps * recipe.batch_size  # real images consumed
    return {
        "side": side, "recipe": description, "model": recipe.name,
        "overrides": side_overrides(side),
        "batch_size": recipe.batch_size, "d_steps": recipe.d_steps, "jit_compile": bool(model.jit_compile),
        "generator_steps_done": steps, "train_s_at_stop": round(budget.elapsed, 2), "wall_s": round(wall, 2),
        "images_per_s": round(images / wall, 1), "loadavg_before": [round(v, 2) for v in load],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()], "cpu_usage": train_step._usage(s0, s1),
        "summary": report["summary"], "metrics": report["metrics"], "protocol": report["protocol"],
        "eval_seconds": report["seconds"],
    }


def markdown(records):
    lines = ["| side | recipe | generator steps in budget | FID | KID (raw) | precision | recall | modes | KL |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        s, modes = r["summary"], r["metrics"]["mode_coverage"]
        lines.append(f"| {r['side']} | {r['recipe']} | {r['generator_steps_done']} | {s['fid']:.2f} "
                     f"| {s['kid']:.4g} | {s['precision']:.3f} | {s['recall']:.3f} "
                     f"| {modes['modes_hit']}/{modes['num_modes']} | {s['modes_kl']:.3f} |")
    fid = {r["side"]: r["summary"]["fid"] for r in records}
    ratio = fid["ganzoo"] / fid["baseline"] if fid["baseline"] > 0 else float("inf")
    return "\n".join(lines) + f"\n\nganzoo FID / baseline FID = {ratio:.3f} (target <= 0.5)", ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--budget", type=float, default=600, help="wall-clock seconds of training per side")
    parser.add_argument("--num-samples", type=int, default=5000, help="generated images evaluated (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="training, data order and evaluation seed (default 0)")
    parser.add_argument("--order", default=",".join(SIDES), help="training order (default ganzoo,baseline)")
    parser.add_argument("--json", default="benchmarks/results/cpu_2core_quality_budget.json", metavar="PATH")
    parser.add_argument("--markdown", default=None, metavar="PATH", help="also write the table here")
    args = parser.parse_args(argv)
    order = [s.strip() for s in args.order.split(",") if s.strip()]
    if sorted(order) != sorted(SIDES):
        parser.error(f"--order must name both of {SIDES} once each. Received: {args.order!r}")
    if args.budget <= 0 or args.num_samples < 2:
        parser.error("--budget must be > 0 and --num-samples >= 2")

    machine = {**train_step.machine_info(), "cpu_count": os.cpu_count()}
    evaluator = metrics_lib.Evaluator(data=DATA, metrics=METRICS)
    evaluator.reference(tuple(ganzoo.get_recipe(GANZOO_RECIPE["model"]).image_shape))  # once, before training
    print(f"{GANZOO_RECIPE['model']}: {args.budget:g} s per side, order {order}, seed {args.seed}; "
          f"{machine['cpu_model']}, {machine['cpu_count']} CPUs, TF {machine['tensorflow']}, "
          f"Keras {machine['keras']}", flush=True)
    records = []
    for side in order:
        r = run_side(side, args, evaluator)
        records.append(r)
        print(f"{side}: {r['generator_steps_done']} generator steps in {r['wall_s']:.1f} s "
              f"({r['images_per_s']:.0f} images/s, others used {r['cpu_usage'].get('cores_used_by_others')} "
              f"cores), FID {r['summary']['fid']:.2f}", flush=True)

    table, ratio = markdown(records)
    print(table)
    summary = {
        "command": [sys.executable, *sys.argv],
        "machine": machine,
        "settings": {"ganzoo_recipe": GANZOO_RECIPE, "budget_s": args.budget, "num_samples": args.num_samples,
                     "seed": args.seed, "order": order, "data": f"{DATA}:train", "metrics": list(METRICS),
                     "steps_per_epoch": STEPS_PER_EPOCH},
        "fid_ratio_ganzoo_over_baseline": ratio,
        "results": records,
    }
    write_outputs(summary, args.json, table, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
