"""Reference outputs of the training engine, recorded before it is redesigned.

Every case is a zoo entry at tiny width (``conftest.TINY``) with some training options,
trained for `STEPS` seeded `fit` steps on a fixed random batch. Its fingerprint holds,
for every variable of the generator, the discriminator, the EMA generator and the
model's other state (LeCam anchors, ADA probability, ...): the sum, the sum of squares
and the first four values; plus the logged metrics of the last step. A redesign that
changes no training result reproduces every fingerprint to float tolerance
(`tests/test_engine_reference.py`).

Record (only from an engine whose results are the reference, i.e. before moving code):

    python tests/engine_reference.py --out tests/data/engine_reference.npz
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

STEPS = 3

# Options exercised on one entry each (the entry's recipe plus these overrides).
_NO_PENALTY = {"r1_weight": 0.0, "r2_weight": 0.0, "penalty_interval": 1}
OPTION_CASES = {
    "loss_non_saturating": ("dcgan_mnist", {**_NO_PENALTY, "loss": "non_saturating"}),
    "loss_minimax": ("dcgan_mnist", {**_NO_PENALTY, "loss": "minimax"}),
    "loss_hinge": ("dcgan_mnist", {**_NO_PENALTY, "loss": "hinge"}),
    "loss_least_squares": ("dcgan_mnist", {**_NO_PENALTY, "loss": "least_squares"}),
    "loss_relativistic": ("dcgan_mnist", {**_NO_PENALTY, "loss": "relativistic"}),
    "r1_only": ("dcgan_mnist", {**_NO_PENALTY, "r1_weight": 2.0}),
    "r2_only": ("dcgan_mnist", {**_NO_PENALTY, "r2_weight": 3.0}),
    "r1_r2_lazy_2": ("dcgan_mnist", {"r1_weight": 1.0, "r2_weight": 0.5, "penalty_interval": 2}),
    "lecam": ("sngan_mnist", {"lecam_weight": 0.3, "lecam_decay": 0.9}),
    "instance_noise": ("dcgan_mnist", {"instance_noise": 0.1, "instance_noise_steps": 2}),
    "diffaugment": ("dcgan_mnist", {"augment": "diffaugment"}),
    "ada": ("sngan_mnist", {"augment": "ada"}),
    "ema_plain": ("dcgan_mnist", {"ema_decay": 0.9, "ema_warmup": False, "ema_start": 0}),
    "ema_start_warmup": ("dcgan_mnist", {"ema_decay": 0.9, "ema_start": 1, "ema_warmup": True}),
    "d_steps_2_g_batch": ("dcgan_mnist", {**_NO_PENALTY, "loss": "hinge", "d_steps": 2, "g_batch_size": 3}),
    "wgan_gp_weight": ("wgan_gp_mnist", {"gp_weight": 5.0}),
    "conditional_lecam_ada": ("sngan_projection_mnist", {"lecam_weight": 0.1, "augment": "ada"}),
}


def cases():
    """``{case id: (entry, overrides)}``: every zoo entry as is, then `OPTION_CASES`."""
    import ganzoo

    out = {f"entry_{name}": (name, {}) for name in ganzoo.list_models()}
    out.update(OPTION_CASES)
    return out


def _variables(gan):
    """``{key: array}`` of every variable the model tracks, in tracking order. Keys are the
    position and the variable's own name (``"007:kernel"``): layer names carry process-wide
    counters (``conv2d_5``) that depend on what was built before, positions do not."""
    return {f"{i:03d}:{v.name}": np.array(v) for i, v in enumerate(gan.variables)}


def run_case(entry, overrides, run_eagerly=False):
    """Trains one case for `STEPS` seeded steps and returns its fingerprint ``{key: array}``."""
    from conftest import as_dataset, real_batch, tiny_model

    gan = tiny_model(entry, seed=0, run_eagerly=run_eagerly, **overrides)
    batch = real_batch(gan, per_step=4, seed=1)
    history = gan.fit(as_dataset(batch, STEPS), epochs=1, verbose=0)
    fp = {}
    for key, value in _variables(gan).items():
        flat = value.astype(np.float64).ravel()
        fp[f"var:{key}"] = np.concatenate([[flat.sum(), np.square(flat).sum()], flat[:4]])
    for key, values in history.history.items():
        fp[f"log:{key}"] = np.asarray(values[-1:], dtype=np.float64)
    fp["generate"] = np.asarray(gan.generate(4, seed=3), dtype=np.float64).ravel()[:64]
    return fp


def record(path, names=None):
    """Writes the fingerprints of `names` (default: every case) to an ``.npz``."""
    arrays = {}
    for case, (entry, overrides) in cases().items():
        if names and case not in names:
            continue
        for key, value in run_case(entry, overrides).items():
            arrays[f"{case}|{key}"] = value
        print(case, flush=True)
    np.savez_compressed(path, **arrays)


def load(path):
    """``{case: {key: array}}`` from a recorded ``.npz``."""
    out = {}
    with np.load(path) as data:
        for full in data.files:
            case, key = full.split("|", 1)
            out.setdefault(case, {})[key] = data[full]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="tests/data/engine_reference.npz")
    parser.add_argument("--cases", default=None, help="comma-separated case ids (default: all)")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    record(args.out, args.cases.split(",") if args.cases else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
