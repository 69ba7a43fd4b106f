"""What real digits score on ganzoo's MNIST protocol: the ceiling for the pretrained models.

Features come from the offline MNIST classifier (``saved_models/mnist_classifier``), as in
``ganzoo evaluate --data mnist_5k``. Two pairs of real sets, each scored like generated images
against a reference set:

* ``heldout``: the 500 digits of ``mnist_5k:test`` against the 4,500 of ``mnist_5k:train``
  (the reference of every model card);
* ``halves``: one half of ``mnist_5k:train`` against the other (2,250 each, seeded permutation).

For each pair: FID (Heusel et al. 2017, arXiv:1706.08500) and improved precision and recall
(Kynkäänniemi et al. 2019, arXiv:1904.06991, k = 3). FID is biased upwards for small sets, so a
model's 5,000-sample FID is best compared with the ``halves`` row; precision and recall are
ratios and compare directly.

    python benchmarks/real_reference.py --markdown benchmarks/results/cpu_2core_real_reference.md

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


def split_features(extractor, split):
    """Classifier features ``(N, 64)`` of one mnist_5k split, read as `ganzoo evaluate` reads it."""
    images, _, _ = load_arrays("mnist_5k", split, image_shape=(28, 28, 1), labels=False)
    return np.asarray(extractor.features(images))


def score(candidate, reference):
    pr = metrics_lib.precision_recall(reference, candidate)
    return {"fid": metrics_lib.fid(candidate, reference)["fid"], "precision": pr["precision"],
            "recall": pr["recall"], "num_candidate": len(candidate), "num_reference": len(reference)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the halves' permutation (default 0)")
    parser.add_argument("--json", default="benchmarks/results/cpu_2core_real_reference.json", metavar="PATH")
    parser.add_argument("--markdown", default=None, metavar="PATH", help="also write the table here")
    args = parser.parse_args(argv)

    extractor = metrics_lib.get_extractor("mnist_5k_classifier", (28, 28, 1))
    train, test = split_features(extractor, "train"), split_features(extractor, "test")
    order = np.random.default_rng(args.seed).permutation(len(train))
    half = len(train) // 2
    rows = {
        "heldout": score(test, train),
        "halves": score(train[order[:half]], train[order[half:]]),
    }
    lines = ["| real set | against | FID | precision | recall |", "|---|---|---|---|---|"]
    names = {"heldout": ("`mnist_5k:test` (500)", "`mnist_5k:train` (4,500)"),
             "halves": ("half of `mnist_5k:train` (2,250)", "the other half (2,250)")}
    for key, r in rows.items():
        lines.append(f"| {names[key][0]} | {names[key][1]} | {r['fid']:.2f} | {r['precision']:.3f} "
                     f"| {r['recall']:.3f} |")
    table = "\n".join(lines)
    print(table)
    summary = {"command": [sys.executable, *sys.argv], "extractor": "mnist_5k_classifier",
               "k": 3, "seed": args.seed, "results": rows}
    write_outputs(summary, args.json, table, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
