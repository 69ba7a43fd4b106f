"""CIFAR-10 ResNet generator and discriminator of WGAN-GP and SN-GAN.

Gulrajani et al. 2017, "Improved Training of Wasserstein GANs"
(arXiv:1704.00028, appendix F) and Miyato et al. 2018, "Spectral
Normalization for GANs" (arXiv:1802.05957, appendix B.4); the conditional
variants follow Miyato & Koyama 2018, "cGANs with Projection Discriminator"
(arXiv:1802.05637): conditional batch norm in G, projection in D.

Residual blocks are built functionally inside the models (every conv is a
top-level layer of the functional graph), so the models serialize through
their constructor arguments alone.

Initialization (SN-GAN authors' code): Glorot-uniform with gain sqrt(2)
(`VarianceScaling(2.0, "fan_avg", "uniform")`) for the 3x3 convs inside the
residual branches, which are followed by ReLUs, and plain Glorot-uniform
(gain 1) for the 1x1 shortcut convs, the input dense layer, the output conv,
the final dense layer and the class embedding. Passing `kernel_initializer`
replaces all of them.
"""

import keras

from ganzoo.networks.base import Network

from ganzoo.networks import builders as B
from ganzoo.networks import layers as L
from ganzoo.validation import check_choice

_POOLINGS = ("sum", "mean")


def _initializers(kernel_initializer):
    """Returns `(residual_init, other_init)` zero-arg factories."""
    spec = B.serialize_initializer(kernel_initializer)

    def residual():
        return B.make_initializer(spec, B.glorot_gain_sqrt2)

    def other():
        return B.make_initializer(spec, B.glorot)

    return residual, other


def _generator_block(x, labels, filters, num_classes, index, residual_init, other_init):
    """Up block: BN-ReLU-up2-conv3-BN-ReLU-conv3, shortcut up2-conv1.

    Args:
        x: `(batch, h, h, c)` features.
        labels: `(batch,)` int labels or None.
        filters: Output channels.
        num_classes: Classes for conditional BN, or None for plain BN.
        index: Block number, for layer names.
        residual_init: Factory of the residual-branch conv initializer.
        other_init: Factory of the shortcut conv initializer.

    Returns:
        `(batch, 2h, 2h, filters)` features.
    """
    prefix = f"block{index}"

    def norm(h, tag):
        if num_classes is None:
            return B.batch_norm(f"{prefix}_{tag}")(h)
        return L.ConditionalBatchNormalization(num_classes, name=f"{prefix}_{tag}")(
            [h, labels]
        )

    h = norm(x, "bn1")
    h = keras.layers.ReLU(name=f"{prefix}_relu1")(h)
    h = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{prefix}_up")(h)
    h = keras.layers.Conv2D(
        filters,
        3,
        padding="same",
        kernel_initializer=residual_init(),
        name=f"{prefix}_conv1",
    )(h)
    h = norm(h, "bn2")
    h = keras.layers.ReLU(name=f"{prefix}_relu2")(h)
    h = keras.layers.Conv2D(
        filters,
        3,
        padding="same",
        kernel_initializer=residual_init(),
        name=f"{prefix}_conv2",
    )(h)
    shortcut = keras.layers.UpSampling2D(
        2, interpolation="nearest", name=f"{prefix}_shortcut_up"
    )(x)
    shortcut = keras.layers.Conv2D(
        filters, 1, kernel_initializer=other_init(), name=f"{prefix}_shortcut_conv"
    )(shortcut)
    return keras.layers.Add(name=f"{prefix}_add")([h, shortcut])


@keras.saving.register_keras_serializable(package="ganzoo")
class ResNetGenerator(Network):
    """ResNet generator of WGAN-GP / SN-GAN (arXiv:1704.00028, 1802.05957).

    `z -> Dense(s*s*b) -> k up-blocks (b channels) -> BN -> ReLU -> conv3x3
    to C -> tanh`, `b = base_filters` (SN-GAN: 256, WGAN-GP: 128), start
    size `s` (4x4 for powers of two, 7x7 for 28) and `k` upsamplings. Each
    up-block is `BN -> ReLU -> nearest up x2 -> conv3x3 -> BN -> ReLU ->
    conv3x3` plus the shortcut `up x2 -> conv1x1`.

    Conditional variant (`num_classes` set): the batch norms inside the
    blocks are `ConditionalBatchNormalization` (Miyato & Koyama 2018,
    arXiv:1802.05637); the final batch norm stays unconditional, as in the
    authors' code.

    Args:
        latent_dim: Dimension of `z` (SN-GAN: 128).
        image_shape: `(H, H, C)` of the generated images.
        base_filters: Channels of every block (SN-GAN: 256).
        num_classes: Number of classes for a conditional generator, or None.
        kernel_initializer: Initializer for all kernels; None means the
            SN-GAN scheme (see the module docstring).
        name: Model name.
        **kwargs: Passed to `keras.Model`.

    Call arguments:
        inputs: `z` float32 `(batch, latent_dim)`, or `[z, labels]` with
            `labels` int32 `(batch,)`.
        training: Python bool (batch-norm mode).

    Returns:
        Images `(batch, H, W, C)`, float32 in [-1, 1].
    """

    config_args = ("latent_dim", "image_shape", "base_filters", "num_classes", "kernel_initializer")

    def __init__(
        self,
        latent_dim,
        image_shape,
        base_filters=256,
        num_classes=None,
        kernel_initializer=None,
        name=None,
        **kwargs,
    ):
        image_shape, num_up, start = self._check_generator_args(
            latent_dim, image_shape, base_filters, num_classes
        )
        residual_init, other_init = _initializers(kernel_initializer)

        # === Functional graph ===
        z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
        if num_classes is None:
            inputs, labels = z, None
        else:
            labels = keras.Input(shape=(), dtype="int32", name="labels")
            inputs = [z, labels]
        h = keras.layers.Dense(
            start * start * base_filters,
            kernel_initializer=other_init(),
            name="project",
        )(z)
        h = keras.layers.Reshape(
            (start, start, base_filters), name="project_reshape"
        )(h)
        for i in range(1, num_up + 1):
            h = _generator_block(
                h, labels, base_filters, num_classes, i, residual_init, other_init
            )
        h = B.batch_norm("final_bn")(h)
        h = keras.layers.ReLU(name="final_relu")(h)
        h = keras.layers.Conv2D(
            image_shape[-1],
            3,
            padding="same",
            kernel_initializer=other_init(),
            name="to_image",
        )(h)
        outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(h)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        self._set_config(
            latent_dim=latent_dim,
            image_shape=image_shape,
            base_filters=base_filters,
            num_classes=num_classes,
            kernel_initializer=kernel_initializer,
        )



@keras.saving.register_keras_serializable(package="ganzoo")
class ResNetDiscriminator(Network):
    """ResNet critic of WGAN-GP / discriminator of SN-GAN.

    Gulrajani et al. 2017 (arXiv:1704.00028) and Miyato et al. 2018
    (arXiv:1802.05957), CIFAR-10 models, `b = base_filters` channels
    (paper: 128) in every block:

    1. optimized block: `conv3x3 -> ReLU -> conv3x3 -> avgpool2`, shortcut
       `avgpool2 -> conv1x1`;
    2. down block: `ReLU -> conv3x3 -> ReLU -> conv3x3 -> avgpool2`, shortcut
       `conv1x1 -> avgpool2`;
    3. two plain blocks: `ReLU -> conv3x3 -> ReLU -> conv3x3`, identity
       shortcut;

    then `ReLU -> global pooling -> dense 1`. Pooling is `"sum"` in SN-GAN
    and `"mean"` in WGAN-GP. The image is halved twice (32 -> 8, 28 -> 7).
    No normalization layers (WGAN-GP's critic has none; SN-GAN uses spectral
    norm only).

    Conditional variant (`num_classes` set): projection discriminator
    (Miyato & Koyama 2018, arXiv:1802.05637), `+ <embed(y), phi(x)>` with
    `phi(x)` the pooled features. Pooling and head run in float32.

    Defaults are the WGAN-GP critic (`spectral_norm=False`,
    `pooling="mean"`); SN-GAN is `spectral_norm=True, pooling="sum"`.

    Args:
        image_shape: `(H, H, C)` of the input images.
        base_filters: Channels of every block (paper: 128).
        num_classes: Number of classes for a projection discriminator, or
            None.
        spectral_norm: If True, every conv (shortcuts included), the dense
            layer and the embedding are spectral-norm layers.
        pooling: `"sum"` (SN-GAN) or `"mean"` (WGAN-GP) over the spatial
            axes.
        kernel_initializer: Initializer for all kernels; None means the
            SN-GAN scheme (see the module docstring).
        power_iterations: Power-iteration rounds of the spectral layers.
        name: Model name.
        **kwargs: Passed to `keras.Model`.

    Call arguments:
        inputs: Images float32 `(batch, H, W, C)`, or `[images, labels]`.
        training: Python bool (spectral `u` update).

    Returns:
        Logits `(batch, 1)`, float32.
    """

    config_args = (
        "image_shape",
        "base_filters",
        "num_classes",
        "spectral_norm",
        "pooling",
        "kernel_initializer",
        "power_iterations",
    )

    def __init__(
        self,
        image_shape,
        base_filters=128,
        num_classes=None,
        spectral_norm=False,
        pooling="mean",
        kernel_initializer=None,
        power_iterations=1,
        name=None,
        **kwargs,
    ):
        image_shape, _, _ = self._check_discriminator_args(
            image_shape, base_filters, num_classes, power_iterations
        )
        check_choice(pooling, "pooling", _POOLINGS, type(self).__name__)
        spectral_norm = bool(spectral_norm)
        residual_init, other_init = _initializers(kernel_initializer)
        b = base_filters

        def conv(filters, kernel_size, init, name):
            return B.conv_layer(
                filters,
                kernel_size,
                spectral_norm,
                power_iterations,
                padding="same",
                kernel_initializer=init(),
                name=name,
            )

        def relu(name):
            return keras.layers.ReLU(name=name)

        def pool(name):
            return keras.layers.AveragePooling2D(2, name=name)

        # === Functional graph ===
        inputs, images, labels = B.discriminator_inputs(image_shape, num_classes)
        # 1. Optimized block.
        h = conv(b, 3, residual_init, "block1_conv1")(images)
        h = relu("block1_relu1")(h)
        h = conv(b, 3, residual_init, "block1_conv2")(h)
        h = pool("block1_pool")(h)
        shortcut = pool("block1_shortcut_pool")(images)
        shortcut = conv(b, 1, other_init, "block1_shortcut_conv")(shortcut)
        x = keras.layers.Add(name="block1_add")([h, shortcut])
        # 2. Down block.
        h = relu("block2_relu1")(x)
        h = conv(b, 3, residual_init, "block2_conv1")(h)
        h = relu("block2_relu2")(h)
        h = conv(b, 3, residual_init, "block2_conv2")(h)
        h = pool("block2_pool")(h)
        shortcut = conv(b, 1, other_init, "block2_shortcut_conv")(x)
        shortcut = pool("block2_shortcut_pool")(shortcut)
        x = keras.layers.Add(name="block2_add")([h, shortcut])
        # 3. Two plain blocks with identity shortcuts.
        for i in (3, 4):
            h = relu(f"block{i}_relu1")(x)
            h = conv(b, 3, residual_init, f"block{i}_conv1")(h)
            h = relu(f"block{i}_relu2")(h)
            h = conv(b, 3, residual_init, f"block{i}_conv2")(h)
            x = keras.layers.Add(name=f"block{i}_add")([h, x])
        h = relu("final_relu")(x)
        h = keras.layers.Activation(
            "linear", dtype="float32", name="features_float32"
        )(h)
        if pooling == "sum":
            features = L.GlobalSumPooling2D(dtype="float32", name="sum_pool")(h)
        else:
            features = keras.layers.GlobalAveragePooling2D(
                dtype="float32", name="mean_pool"
            )(h)
        outputs = B.projection_logits(
            features, labels, num_classes, spectral_norm, power_iterations, other_init
        )
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        self._set_config(
            image_shape=image_shape,
            base_filters=base_filters,
            num_classes=num_classes,
            spectral_norm=spectral_norm,
            pooling=pooling,
            kernel_initializer=kernel_initializer,
            power_iterations=power_iterations,
        )

