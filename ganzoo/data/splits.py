"""The fixed, seeded, per-class train/test split of the labelled in-memory sources.

``mnist_5k`` and ``twemoji`` use it: a permutation drawn with NumPy seed `SPLIT_SEED`
(independent of `load`'s `seed`), then the last `TEST_FRACTION` of each class in
permuted order is "test" and the rest "train". Both splits keep the permuted order.
"""

import numpy as np

SPLIT_SEED = 0
TEST_FRACTION = 0.1


def split_indices(labels, split):
    """Indices of one split of a labelled set, in the fixed permuted order.

    Args:
        labels: int array ``(N,)``.
        split: "train", "test" or "all".

    Returns:
        int array of indices into `labels`.
    """
    order = np.random.default_rng(SPLIT_SEED).permutation(labels.shape[0])
    if split == "all":
        return order
    permuted = labels[order]
    test = np.zeros(order.shape[0], dtype=bool)
    for c in np.unique(permuted):
        members = np.flatnonzero(permuted == c)  # Positions of class c, in permuted order.
        num_test = int(round(members.size * TEST_FRACTION))
        test[members[members.size - num_test :]] = True
    return order[test] if split == "test" else order[~test]
