"""Builders shared by the network modules (`dcgan`, `sngan_cnn`, `resnet`, `base`).

The resampling plan of an image shape, the papers' initializers, spectral-or-plain layer factories, the
generator's and discriminator's inputs (with labels for conditional networks),
the projection discriminator's output head (Miyato & Koyama 2018,
arXiv:1802.05637) and BatchNorm with the zoo's constants. The layers themselves
live in `ganzoo.networks.layers`.
"""

import copy

import keras

from ganzoo.networks import layers as L


def resampling_plan(image_shape, owner):
    """Validates `image_shape` and returns `(image_shape, num_up, start)`.

    Rule: halve the side while it is even and > 4; the number of halvings is
    the number of up/down-samplings and what remains is the start size
    (32 -> 3 from 4x4, 64 -> 4 from 4x4, 28 -> 2 from 7x7). Supported: square
    images with at least one halving and a start size from 3 to 7.

    Args:
        image_shape: `(H, W, C)`.
        owner: Class name for error messages.

    Returns:
        Tuple `((H, W, C), num_resamplings, start_size)`.
    """
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 3
        or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0
            for d in image_shape
        )
    ):
        raise ValueError(
            f"`image_shape` of {owner} must be a tuple of 3 positive integers "
            f"(height, width, channels). Received: image_shape={image_shape!r}"
        )
    height, width, channels = image_shape
    if height != width:
        raise ValueError(
            f"{owner} supports square images only: `image_shape` must have "
            f"height == width. Received: image_shape={tuple(image_shape)!r}"
        )
    size, num = height, 0
    while size % 2 == 0 and size > 4:
        size //= 2
        num += 1
    if num < 1 or size > 7:
        raise ValueError(
            f"Unsupported image size for {owner}: halving the side while it "
            "is even and > 4 must take at least one step and end at 3 to 7 "
            "(e.g. 8, 16, 28, 32, 48, 64, 128). "
            f"Received: image_shape={tuple(image_shape)!r}"
        )
    return (height, width, channels), num, size


def serialize_initializer(initializer):
    """None stays None (the paper default); anything else is serialized."""
    if initializer is None:
        return None
    return keras.initializers.serialize(keras.initializers.get(initializer))


def make_initializer(serialized, default):
    """A fresh initializer from a serialized spec, or `default()` if None."""
    if serialized is None:
        return default()
    return keras.initializers.get(copy.deepcopy(serialized))


def dcgan_normal():
    """N(0, 0.02), the init of Radford et al. 2015 and chainer-gan-lib."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def glorot_gain_sqrt2():
    """Glorot-uniform with gain sqrt(2) (SN-GAN residual convs)."""
    return keras.initializers.VarianceScaling(
        scale=2.0, mode="fan_avg", distribution="uniform"
    )


def glorot():
    return keras.initializers.GlorotUniform()


def dense_layer(units, spectral, power_iterations, **kwargs):
    if spectral:
        return L.SpectralDense(units, power_iterations=power_iterations, **kwargs)
    return keras.layers.Dense(units, **kwargs)


def conv_layer(filters, kernel_size, spectral, power_iterations, **kwargs):
    if spectral:
        return L.SpectralConv2D(
            filters, kernel_size, power_iterations=power_iterations, **kwargs
        )
    return keras.layers.Conv2D(filters, kernel_size, **kwargs)


def embedding_layer(input_dim, output_dim, spectral, power_iterations, **kwargs):
    if spectral:
        return L.SpectralEmbedding(
            input_dim, output_dim, power_iterations=power_iterations, **kwargs
        )
    return keras.layers.Embedding(input_dim, output_dim, **kwargs)


def projection_logits(features, labels, num_classes, spectral, power_iterations, initializer):
    """`dense(features) + <embed(labels), features>`, all in float32.

    The output layer of a (projection) discriminator: Miyato & Koyama 2018
    (arXiv:1802.05637), eq. (3) with psi linear.

    Args:
        features: `(batch, F)` float32 features phi(x).
        labels: `(batch,)` int labels, or None for an unconditional critic.
        num_classes: Number of classes (ignored if `labels` is None).
        spectral: Whether the dense/embedding layers are spectral.
        power_iterations: For the spectral layers.
        initializer: Zero-arg callable returning a fresh kernel initializer.

    Returns:
        `(batch, 1)` float32 logits.
    """
    logits = dense_layer(
        1,
        spectral,
        power_iterations,
        kernel_initializer=initializer(),
        dtype="float32",
        name="logits_dense",
    )(features)
    if labels is None:
        return logits
    embedded = embedding_layer(
        num_classes,
        features.shape[-1],
        spectral,
        power_iterations,
        embeddings_initializer=initializer(),
        dtype="float32",
        name="class_embedding",
    )(labels)
    projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")(
        [embedded, features]
    )
    return keras.layers.Add(dtype="float32", name="logits")([logits, projection])


def label_embedding(labels, num_classes, dim):
    """Learned class embedding `(batch,) -> (batch, dim)`, init N(0, 1).

    Unit variance keeps the embedding on the scale of z ~ N(0, I).
    """
    return keras.layers.Embedding(
        num_classes,
        dim,
        embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0),
        name="label_embedding",
    )(labels)


def generator_inputs(latent_dim, num_classes):
    """Builds the generator inputs and the conditioning vector.

    Returns:
        `(inputs, h)`: `inputs` is `z` or `[z, labels]`; `h` is `z`
        `(batch, latent_dim)` or `concat(z, embed(labels))`
        `(batch, 2 * latent_dim)`.
    """
    z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
    if num_classes is None:
        return z, z
    labels = keras.Input(shape=(), dtype="int32", name="labels")
    embedded = label_embedding(labels, num_classes, latent_dim)
    h = keras.layers.Concatenate(name="z_and_label")([z, embedded])
    return [z, labels], h


def discriminator_inputs(image_shape, num_classes):
    """Returns `(inputs, images, labels)`; `labels` is None if unconditional."""
    images = keras.Input(shape=image_shape, dtype="float32", name="images")
    if num_classes is None:
        return images, images, None
    labels = keras.Input(shape=(), dtype="int32", name="labels")
    return [images, labels], images, labels


def batch_norm(name):
    return keras.layers.BatchNormalization(
        momentum=L.BN_MOMENTUM, epsilon=L.BN_EPSILON, name=name
    )
