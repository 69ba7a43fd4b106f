"""The data-copying test C_T.

Meehan, Chaudhuri & Dasgupta 2020, "A Non-Parametric Test to Detect Data-Copying
in Generative Models", AISTATS 2020, arXiv:2004.05675 (Sections 3-4).

A model that copies its training set T makes samples that lie closer to T than
fresh data from the same distribution does. The test compares, inside each cell
of a partition of feature space, the distances to the nearest training point of
held-out real samples P_n and of generated samples Q_m:

* cells: k-means with ``num_cells`` centres fit on the training features;
* in each cell pi, the Mann-Whitney U statistic of the two distance samples,
  ``U = #{(q, p): d(q) > d(p)} + 0.5 #{ties}``, and its z-score
  ``Z_U = (U - m n / 2) / sqrt(m n (m + n + 1) / 12)`` (normal approximation);
* ``C_T = sum_pi P_n(pi) Z_U(pi) / sum_pi P_n(pi)`` over the cells that hold at
  least ``min_cell_fraction`` of the generated samples (the paper's Pi_tau) and
  at least one held-out and one generated sample.

``C_T << 0`` (the paper flags C_T < -3 in its experiments) means generated
samples sit closer to the training set than held-out data: copying. ``C_T >>
0`` means they sit farther: underfitting. A model matching the distribution
gives ``C_T`` near 0.
"""

import numpy as np
from scipy import cluster
from scipy import stats

from ganzoo.metrics import _checks
from ganzoo.metrics.registry import Metric, Option, register_metric
from ganzoo.validation import check_number

DEFAULT_NUM_CELLS = 10
DEFAULT_MIN_CELL_FRACTION = 0.01
_BLOCK = 2048


def nearest_distances(queries, points):
    """Euclidean distance from each query to its nearest point: float64 (len(queries),)."""
    p_norms = np.sum(points * points, axis=1)
    out = np.empty(queries.shape[0])
    for start in range(0, queries.shape[0], _BLOCK):
        q = queries[start : start + _BLOCK]
        d2 = np.sum(q * q, axis=1)[:, None] - 2.0 * q @ points.T + p_norms[None, :]
        out[start : start + _BLOCK] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def mann_whitney_z(generated, heldout):
    """Z-score of the Mann-Whitney U statistic of two distance samples.

    Args:
        generated: float array (m,), distances of generated samples.
        heldout: float array (n,), distances of held-out samples.

    Returns:
        ``(z, u)``: negative z when the generated distances tend to be smaller.
    """
    m, n = len(generated), len(heldout)
    u = float(stats.mannwhitneyu(generated, heldout, alternative="two-sided").statistic)
    return (u - m * n / 2.0) / np.sqrt(m * n * (m + n + 1) / 12.0), u


def data_copying(
    train_features,
    heldout_features,
    generated_features,
    num_cells=DEFAULT_NUM_CELLS,
    min_cell_fraction=DEFAULT_MIN_CELL_FRACTION,
    seed=0,
):
    """C_T of Meehan et al. 2020 (arXiv:2004.05675) on feature vectors.

    Args:
        train_features: float (N_T, D), the model's training set T.
        heldout_features: float (n, D), real samples the model never saw (P_n).
        generated_features: float (m, D), the model's samples (Q_m).
        num_cells: k of the k-means partition fit on `train_features`.
        min_cell_fraction: a cell counts only if it holds at least this
            fraction of the generated samples (the paper's tau).
        seed: seed of the k-means initialisation.

    Returns:
        dict with ``c_t`` (float), ``cells`` (per cell: ``z``, ``num_heldout``,
        ``num_generated``, ``used``), ``num_cells_used`` and the parameters.

    Raises:
        ValueError: for feature sets of different dimension, fewer than
            `num_cells` training points, or no usable cell.
    """
    train = _checks.features(train_features, "train_features", min_samples=2)
    held = _checks.features(heldout_features, "heldout_features", min_samples=2)
    gen = _checks.features(generated_features, "generated_features", min_samples=2)
    _checks.same_dim(train, held, "train_features", "heldout_features")
    _checks.same_dim(train, gen, "train_features", "generated_features")
    num_cells = _checks.positive_int("num_cells", num_cells)
    if train.shape[0] < num_cells:
        raise ValueError(
            f"The partition needs at least num_cells={num_cells} training points. "
            f"Received: {train.shape[0]} training features"
        )
    min_cell_fraction = check_number("min_cell_fraction", min_cell_fraction, 0, 1, open_high=True)
    centres, _ = cluster.vq.kmeans2(train, num_cells, minit="++", seed=np.random.default_rng(seed))
    held_cell, _ = cluster.vq.vq(held, centres)
    gen_cell, _ = cluster.vq.vq(gen, centres)
    held_dist = nearest_distances(held, train)
    gen_dist = nearest_distances(gen, train)

    cells, weighted, weight = [], 0.0, 0.0
    for c in range(num_cells):
        h, g = held_dist[held_cell == c], gen_dist[gen_cell == c]
        used = len(h) > 0 and len(g) > 0 and len(g) >= min_cell_fraction * len(gen)
        z = mann_whitney_z(g, h)[0] if used else None
        cells.append({"z": z, "num_heldout": int(len(h)), "num_generated": int(len(g)), "used": bool(used)})
        if used:
            weighted += len(h) / len(held) * z
            weight += len(h) / len(held)
    if weight == 0.0:
        raise ValueError(
            "No cell holds both held-out and enough generated samples. Received: "
            f"{[(c['num_heldout'], c['num_generated']) for c in cells]} (held-out, generated) per cell"
        )
    return {
        "c_t": float(weighted / weight),
        "cells": cells,
        "num_cells_used": int(sum(c["used"] for c in cells)),
        "num_cells": num_cells,
        "min_cell_fraction": float(min_cell_fraction),
        "distance": "euclidean, to the nearest training feature",
        "num_train": int(train.shape[0]),
        "num_heldout": int(held.shape[0]),
        "num_generated": int(gen.shape[0]),
    }

@register_metric
class DataCopying(Metric):
    """``data_copying`` (``copying``, ``c_t``): `data_copying` with the reference split as the
    training set and the held-out split as the fresh real data."""

    name = "data_copying"
    aliases = ("copying", "c_t")
    needs = ("features", "reference_features", "heldout_features")
    options = (
        Option("num_cells", DEFAULT_NUM_CELLS, "k of the k-means partition of the training features"),
        Option("min_cell_fraction", DEFAULT_MIN_CELL_FRACTION,
               "share of the samples a cell needs to be used (the paper's tau)"),
    )
    values = ("c_t", "cells", "num_cells_used")
    summary = {"c_t": "c_t"}
    description = "the C_T test of Meehan et al. 2020: C_T << 0 means copying of the training set"

    def compute(self, inputs, options):
        """`data_copying` of the reference, held-out and generated features."""
        held_feats, held_name = inputs.heldout_features
        result = data_copying(inputs.reference_features, held_feats, inputs.features, seed=inputs.seed,
                              **options)
        result["protocol"] = {"heldout_data": held_name, "num_heldout": int(held_feats.shape[0])}
        return result
