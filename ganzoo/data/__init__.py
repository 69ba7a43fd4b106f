"""Real-image input pipelines for GAN training.

    ds = ganzoo.data.load("mnist_5k", batch_size=64, d_steps=5)   # offline default
    ds = ganzoo.data.load("tfds:cifar10", image_size=(32, 32))    # TensorFlow Datasets
    ds = ganzoo.data.load("path/to/images", image_size=(64, 64))  # a folder of files
    ds = ganzoo.data.load(np_array_or_npz_path)                   # NumPy data

Every element is a float32 batch ``(batch_size * d_steps, H, W, C)`` in [-1, 1]
(or ``(images, int32 labels)`` with ``labels=True``). See `load` for the rules.
"""

from ganzoo.data import mnist, twemoji
from ganzoo.data.pipeline import describe, load
from ganzoo.data.source import SourceInfo

__all__ = ["SourceInfo", "attribution", "describe", "load"]

_ATTRIBUTIONS = {
    mnist.NAME: mnist.ATTRIBUTION,
    twemoji.NAME: twemoji.ATTRIBUTION,
}


def attribution(source):
    """The credit and licence a model trained on a named source must carry.

    Args:
        source: a `load` source; names such as ``"twemoji:train"`` are matched by
            their part before ``":"``.

    Returns:
        A one-line attribution for the sources ganzoo ships (``mnist_5k``,
        ``twemoji``), else None (the user's own data, TFDS: see its catalog).
    """
    if not isinstance(source, str):
        return None
    return _ATTRIBUTIONS.get(source.split(":", 1)[0])
