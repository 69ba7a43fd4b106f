"""What real images score on ganzoo's offline protocols: the ceiling for the pretrained models.

Features come from the offline classifier of the data (``saved_models/mnist_classifier`` for
``mnist_5k``, ``saved_models/twemoji_classifier`` for ``twemoji``), as in ``ganzoo evaluate``.
Two pairs of real sets, each scored like generated images against a reference set:

* ``heldout``: the test split (500 digits; 377 emoji) against the train split (4,500; 3,396),
  the reference of every model card;
* ``halves``: one half of the train split against the other (seeded permutation);
* with ``--blurred``, also ``blurred``: the first half blurred 2x (area-downsampled to half
  size, bilinearly upsampled back) against the other half: a scale for how much the
  extractor punishes missing detail.

For each pair: FID (Heusel et al. 2017, arXiv:1706.08500) and improved precision and recall
(Kynkäänniemi et al. 2019, arXiv:1904.06991, k = 3). FID is biased upwards for small sets, so a
model's 5,000-sample FID is best compared with the ``halves`` row; precision and recall are
ratios and compare directly.

    python benchmarks/real_reference.py --markdown benchmarks/results/cpu_2core_real_reference.md
    python benchmarks/real_reference.py --data twemoji --blurred \
        --json benchmarks/results/cpu_2core_twemoji_real_reference.json \
        --markdown benchmarks/results/cpu_2core_twemoji_real_reference.md

Never run by the tests.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from ganzoo import metrics as metrics_lib
from ganzoo.metrics._reference import load_arrays

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _report import write_outputs  # noqa: E402


# data -> (extractor, image shape, split sizes for the table)
PROTOCOLS = {
    "mnist_5k": ("mnist_5k_classifier", (28, 28, 1)),
    "twemoji": ("twemoji_classifier", (32, 32, 3)),
}


def split_images(data, split):
    """Images of one split in [-1, 1], read as `ganzoo evaluate` reads them."""
    images, _, _ = load_arrays(data, split, image_shape=PROTOCOLS[data][1], labels=False)
    return images


def blur(images):
    """2x blur: area-downsample to half size, bilinear upsample back (float32, [-1, 1])."""
    import tensorflow as tf

    h, w = images.shape[1:3]
    small = tf.image.resize(images, (h // 2, w // 2), method="area")
    return tf.clip_by_value(tf.image.resize(small, (h, w), method="bilinear"), -1.0, 1.0).numpy()


def score(candidate, reference):
    pr = metrics_lib.precision_recall(reference, candidate)
    return {"fid": metrics_lib.fid(candidate, reference)["fid"], "precision": pr["precision"],
            "recall": pr["recall"], "num_candidate": len(candidate), "num_reference": len(reference)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=sorted(PROTOCOLS), default="mnist_5k")
    parser.add_argument("--seed", type=int, default=0, help="seed of the halves' permutation (default 0)")
    parser.add_argument("--blurred", action="store_true", help="add the blurred-half row")
    parser.add_argument("--json", default="benchmarks/results/cpu_2core_real_reference.json", metavar="PATH")
    parser.add_argument("--markdown", default=None, metavar="PATH", help="also write the table here")
    args = parser.parse_args(argv)

    extractor_name, shape = PROTOCOLS[args.data]
    extractor = metrics_lib.get_extractor(extractor_name, shape)
    train_images, test_images = split_images(args.data, "train"), split_images(args.data, "test")
    train, test = extractor.features(train_images), extractor.features(test_images)
    order = np.random.default_rng(args.seed).permutation(len(train))
    half = len(train) // 2
    rows = {
        "heldout": score(test, train),
        "halves": score(train[order[:half]], train[order[half:]]),
    }
    n, h = f"{len(train):,}", f"{half:,}"
    names = {"heldout": (f"`{args.data}:test` ({len(test):,})", f"`{args.data}:train` ({n})"),
             "halves": (f"half of `{args.data}:train` ({h})", f"the other half ({len(train) - half:,})"),
             "blurred": (f"that half blurred 2x ({h})", f"the other half ({len(train) - half:,})")}
    if args.blurred:
        rows["blurred"] = score(extractor.features(blur(train_images[order[:half]])),
                                train[order[half:]])
    lines = ["| real set | against | FID | precision | recall |", "|---|---|---|---|---|"]
    for key, r in rows.items():
        lines.append(f"| {names[key][0]} | {names[key][1]} | {r['fid']:.2f} | {r['precision']:.3f} "
                     f"| {r['recall']:.3f} |")
    table = "\n".join(lines)
    print(table)
    summary = {"command": [sys.executable, *sys.argv], "data": args.data, "extractor": extractor_name,
               "k": 3, "seed": args.seed, "results": rows}
    write_outputs(summary, args.json, table, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
