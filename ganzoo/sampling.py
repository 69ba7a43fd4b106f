"""The sampling protocol, written once: latent vectors, class labels, batched generator calls.

Every image ganzoo generates goes through these functions: `ganzoo.GAN.generate`
and `ganzoo.GAN.latent`, `ganzoo.metrics.evaluate`, and the exported SavedModel's
``generate`` signature (`ganzoo.export`, which calls `latent` and `default_labels`
on tensors inside its graph). So ``gan.generate(num, seed)``, an evaluation with
``seed`` and the served ``generate(num, seed)`` give the same images.

* Latents: ``tf.random.stateless_normal((num, latent_dim), seed=[seed, 0])``,
  float32: the same seed gives the same vectors in every process.
* Labels of a class-conditional generator: ``arange(num) % num_classes`` by
  default (balanced), one int for every image, or one class id per image;
  `proportional_labels` gives labels in a data set's class proportions (the
  evaluation's default for labelled reference data).
* Generator calls: ``generator(inputs, training=False)`` compiled once
  (`ganzoo.networks.inference.compiled`) for every batch size, in batches of
  ``batch_size`` with a smaller last batch.
"""

import fractions

import numpy as np
import tensorflow as tf
import keras

from ganzoo.networks import inference
from ganzoo.validation import check_class_ids, check_number


def latent(num, latent_dim, seed):
    """The latent vectors of ``num`` images drawn with `seed`.

    ``tf.random.stateless_normal((num, latent_dim), seed=[seed, 0])``: the same
    seed gives the same vectors in every process and inside a `tf.function`.

    Args:
        num: number of vectors: an int >= 0, or an int Tensor (e.g. a serving
            signature's input).
        latent_dim: int >= 1, the size of each vector.
        seed: an int, or an int Tensor (int32 or int64) of shape ().

    Returns:
        float32 `tf.Tensor` of shape ``(num, latent_dim)``.

    Raises:
        ValueError: for Python numbers, if `num`, `latent_dim` or `seed` is not
            an integer or out of range.
    """
    if tf.is_tensor(num) or tf.is_tensor(seed):  # e.g. inside the exported `generate` graph
        num, seed = tf.convert_to_tensor(num), tf.convert_to_tensor(seed)
        return tf.random.stateless_normal(
            tf.stack([num, tf.cast(int(latent_dim), num.dtype)]),
            seed=tf.stack([seed, tf.zeros([], seed.dtype)]),
            dtype=tf.float32,
        )
    num = check_number("num", num, 0, integer=True)
    latent_dim = check_number("latent_dim", latent_dim, 1, integer=True)
    seed = check_number("seed", seed, integer=True)
    return tf.random.stateless_normal((num, latent_dim), seed=[seed, 0], dtype="float32")


def default_labels(num, num_classes):
    """The labels of ``num`` images when none are asked for: ``arange(num) % num_classes``.

    Balanced: class ``c`` for images ``c, c + num_classes, ...``.

    Args:
        num: int >= 0, or an int Tensor of shape () (inside a graph).
        num_classes: the generator's number of classes, or None (unconditional).

    Returns:
        int32 numpy array ``(num,)`` (an int32 `tf.Tensor` when `num` is a
        Tensor), or None when `num_classes` is None.
    """
    if num_classes is None:
        return None
    if tf.is_tensor(num):
        return tf.range(num, dtype=tf.int32) % int(num_classes)
    return (np.arange(num) % int(num_classes)).astype(np.int32)


def proportional_labels(num, class_counts):
    """``num`` labels in the proportions of `class_counts`, interleaved.

    The labels a class-conditional GAN is evaluated with against labelled data
    whose classes are unbalanced: the samples then follow the data's class
    distribution, which FID, KID and precision/recall against that data assume.
    Deterministic, and exact:

    * **Counts**: class ``c`` gets ``floor(num * n_c / n)`` labels, and the
      ``num - sum`` left over go to the classes with the largest remainders
      ``num * n_c mod n`` (ties: the lower class id), in integer arithmetic.
    * **Order**: the ``k``-th label of class ``c`` (of ``m_c``) sits at the
      position ``(k + 1/2) / m_c`` of the sequence, in exact fractions (ties:
      the lower class id), so every prefix is close to proportional.

    For equal `class_counts` this is ``arange(num) % num_classes``
    (`default_labels`), for any ``num``.

    Args:
        num: int >= 0, the number of labels.
        class_counts: ``(num_classes,)`` non-negative integers (e.g. the
            reference split's ``np.bincount`` of labels), not all zero.

    Returns:
        int32 numpy array ``(num,)`` with values in ``[0, num_classes)``; a
        class with count 0 never appears.

    Raises:
        ValueError: `num` not a non-negative integer; `class_counts` not a 1-d
            sequence of non-negative integers with a positive sum.
    """
    num = check_number("num", num, 0, integer=True)
    counts = np.asarray(class_counts)
    if (counts.ndim != 1 or counts.size == 0 or not np.issubdtype(counts.dtype, np.integer)
            or (counts < 0).any() or counts.sum() == 0):
        raise ValueError(
            "class_counts must be a 1-d sequence of non-negative integers, not all zero. "
            f"Received: {counts.tolist() if counts.size <= 20 else f'shape {counts.shape}'}"
        )
    total = int(counts.sum())
    scaled = [num * int(n) for n in counts]
    share = [s // total for s in scaled]
    by_remainder = sorted(range(len(counts)), key=lambda c: (-(scaled[c] % total), c))
    for c in by_remainder[: num - sum(share)]:
        share[c] += 1
    slots = sorted(
        (fractions.Fraction(2 * k + 1, 2 * m), c) for c, m in enumerate(share) for k in range(m)
    )
    return np.asarray([c for _, c in slots], dtype=np.int32)


def resolve_labels(labels, num, num_classes):
    """The class labels of ``num`` images, checked against the generator's classes.

    Args:
        labels: None (`default_labels`), one int for every image, or int class
            ids ``(num,)`` (``(num, 1)`` is accepted) in ``[0, num_classes)``.
        num: int >= 1, the number of images.
        num_classes: the generator's number of classes, or None (unconditional:
            `labels` must be None).

    Returns:
        int32 numpy array ``(num,)``, or None for an unconditional generator.

    Raises:
        ValueError: labels for an unconditional generator; one-hot, float,
            wrongly shaped or out-of-range labels (`ganzoo.validation.check_class_ids`).
    """
    if num_classes is None:
        if labels is not None:
            raise ValueError(
                "labels are for a class-conditional GAN; this one is unconditional "
                f"(num_classes=None). Received: labels of shape {np.shape(labels)}"
            )
        return None
    if labels is None:
        labels = default_labels(num, num_classes)
    elif np.ndim(labels) == 0:  # one class for every image, as `ganzoo sample --class K`
        labels = np.full(num, labels)
    return check_class_ids(labels, num_classes, num=num, what="labels")


def sample(generator, z, labels=None, batch_size=256):
    """Images of `generator` for latents `z` (and `labels`), in batches.

    Each batch is one call of ``generator(inputs, training=False)``, compiled
    once for every batch size (`ganzoo.networks.inference.compiled`; the last
    batch holds the remainder). A generator that is not a Keras layer (a
    stand-in, e.g. NumPy lookups) is called as is.

    Args:
        generator: a Keras generator taking ``z`` (or ``[z, labels]`` when
            `labels` is given).
        z: latent vectors, float32 ``(n, latent_dim)`` array or Tensor, n >= 1.
        labels: None, or int32 class ids ``(n,)`` (e.g. from `resolve_labels`).
        batch_size: int >= 1, images per generator call.

    Returns:
        float32 numpy array ``(n, H, W, C)``.

    Raises:
        ValueError: `batch_size` not a positive integer, no latent vectors, or
            not one label per latent vector.
    """
    batch_size = check_number("batch_size", batch_size, 1, integer=True)
    if not tf.is_tensor(z):
        z = np.asarray(z)
    num = int(z.shape[0]) if len(z.shape) else 0
    if num < 1:
        raise ValueError(f"sample needs at least one latent vector. Received: z of shape {tuple(z.shape)}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[:1] != (num,):
            raise ValueError(
                "sample needs one label per latent vector. "
                f"Received: labels of shape {labels.shape} for z of shape {tuple(z.shape)}"
            )
    if isinstance(generator, keras.Layer):
        # Compiled, traced once for any batch size; the cache holds the network only weakly.
        call = inference.compiled(generator)
    else:
        def call(inputs):
            return generator(inputs, training=False)
    out = []
    for start in range(0, num, batch_size):
        zb = z[start : start + batch_size]
        inputs = zb if labels is None else [zb, tf.constant(labels[start : start + batch_size])]
        out.append(np.asarray(call(inputs), dtype=np.float32))
    return np.concatenate(out, axis=0)
