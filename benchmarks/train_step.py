"""Throughput of one GAN training step per zoo entry, with XLA on and off.

Measures real images per second consumed by `train_step` (d_steps * batch_size
per generator step) at each recipe's own sizes, on synthetic data held in
memory (so the input pipeline is not measured; see data_pipeline.py for that).

    python benchmarks/train_step.py                       # the *_mnist entries
    python benchmarks/train_step.py --pattern '*' --steps 5 --json out.json

Never run by the tests.
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
import keras

import ganzoo


def measure(name, jit_compile, steps, warmup):
    keras.utils.set_random_seed(0)
    gan = ganzoo.create_model(name, compile=False, seed=0)
    gan.compile(jit_compile=jit_compile)
    recipe = ganzoo.get_recipe(name)
    n = recipe.batch_size * recipe.d_steps
    x = np.random.default_rng(0).uniform(-1, 1, (n, *gan.image_shape)).astype("float32")
    ds = tf.data.Dataset.from_tensors(x).repeat()
    start = time.perf_counter()
    gan.fit(ds, steps_per_epoch=warmup, epochs=1, verbose=0)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    gan.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    return {
        "entry": name,
        "xla": bool(jit_compile),
        "batch": f"{recipe.batch_size}x{recipe.d_steps}",
        "step_s": seconds / steps,
        "images_per_s": n * steps / seconds,
        "warmup_s": compile_s,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pattern", default="*_mnist")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, TF {tf.__version__}"
    print(f"machine: {machine}")
    rows = []
    print(f"{'entry':<24} {'batch':>7} {'XLA':>5} {'s/step':>8} {'img/s':>8} {'warmup s':>9}")
    for name in ganzoo.list_models(args.pattern):
        for jit in (False, True):
            r = measure(name, jit, args.steps, args.warmup)
            rows.append(r)
            print(f"{r['entry']:<24} {r['batch']:>7} {str(r['xla']):>5} {r['step_s']:>8.3f} "
                  f"{r['images_per_s']:>8.1f} {r['warmup_s']:>9.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
