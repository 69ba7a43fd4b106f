"""The "standard CNN" of SN-GAN (Miyato et al. 2018, arXiv:1802.05957, Table 3).

Generator and discriminator of the paper's appendix (the CIFAR-10 / STL-10
CNN models, after the chainer-gan-lib code of the authors: N(0, 0.02) init).
Channel widths are `base_filters` times the paper's multiples (paper base 64:
G 512-256-128-64, D 64-64-128-128-256-256-512).
"""

import keras

from ganzoo.networks.base import Network

from ganzoo.networks import builders as B
from ganzoo.networks import layers as L


@keras.saving.register_keras_serializable(package="ganzoo")
class SNGANCNNGenerator(Network):
    """SN-GAN standard-CNN generator (Miyato et al. 2018, Table 3a).

    `z -> Dense(s*s*8b) -> BN -> ReLU -> k x [Deconv 4x4 stride 2 -> BN ->
    ReLU] -> Conv 3x3 stride 1 to C -> tanh`, with `b = base_filters`, `k`
    upsamplings from the start size `s` (4x4 for powers of two, 7x7 for 28)
    and deconv channels `max(8b / 2^i, b)` for `i = 1..k` (4b, 2b, b for
    32x32, the paper's 256, 128, 64).

    Conditional variant (`num_classes` set), by `conditioning`:

    * ``"concat"`` (default): a learned embedding of the label (dimension
      `latent_dim`, init N(0, 1)) is concatenated to `z`;
    * ``"batchnorm"``: every batch norm is a `ConditionalBatchNormalization`
      with a per-class scale and offset, as in the generator of the projection
      cGAN (Miyato & Koyama 2018, arXiv:1802.05637, Section 5), and `z` enters
      alone.

    Args:
        latent_dim: Dimension of `z` (paper: 128).
        image_shape: `(H, H, C)` of the generated images.
        base_filters: Width unit `b` (paper: 64).
        num_classes: Number of classes for a conditional generator, or None.
        conditioning: ``"concat"`` or ``"batchnorm"`` (conditional models only).
        kernel_initializer: Initializer for all kernels; None means
            N(0, 0.02) as in the authors' code.
        name: Model name.
        **kwargs: Passed to `keras.Model`.

    Call arguments:
        inputs: `z` float32 `(batch, latent_dim)`, or `[z, labels]` with
            `labels` int32 `(batch,)`.
        training: Python bool (batch-norm mode).

    Returns:
        Images `(batch, H, W, C)`, float32 in [-1, 1].
    """

    config_args = (
        "latent_dim", "image_shape", "base_filters", "num_classes", "conditioning", "kernel_initializer"
    )

    def __init__(
        self,
        latent_dim,
        image_shape,
        base_filters=64,
        num_classes=None,
        conditioning="concat",
        kernel_initializer=None,
        name=None,
        **kwargs,
    ):
        image_shape, num_up, start = self._check_generator_args(
            latent_dim, image_shape, base_filters, num_classes
        )
        if conditioning not in ("concat", "batchnorm"):
            raise ValueError(
                "conditioning must be 'concat' or 'batchnorm'. "
                f"Received: conditioning={conditioning!r}"
            )
        init_spec = B.serialize_initializer(kernel_initializer)

        def init():
            return B.make_initializer(init_spec, B.dcgan_normal)

        # === Functional graph ===
        if num_classes is not None and conditioning == "batchnorm":
            z = keras.Input(shape=(latent_dim,), dtype="float32", name="z")
            labels = keras.Input(shape=(), dtype="int32", name="labels")
            inputs, h = [z, labels], z

            def norm(x, name):
                return L.ConditionalBatchNormalization(num_classes, name=name)([x, labels])
        else:
            inputs, h = B.generator_inputs(latent_dim, num_classes)

            def norm(x, name):
                return B.batch_norm(name)(x)

        filters = base_filters * 8
        h = keras.layers.Dense(
            start * start * filters,
            use_bias=False,
            kernel_initializer=init(),
            name="project",
        )(h)
        h = keras.layers.Reshape((start, start, filters), name="project_reshape")(h)
        h = norm(h, "project_bn")
        h = keras.layers.ReLU(name="project_relu")(h)
        for i in range(1, num_up + 1):
            filters = max(base_filters * 8 // 2**i, base_filters)
            h = keras.layers.Conv2DTranspose(
                filters,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=init(),
                name=f"up{i}_deconv",
            )(h)
            h = norm(h, f"up{i}_bn")
            h = keras.layers.ReLU(name=f"up{i}_relu")(h)
        h = keras.layers.Conv2D(
            image_shape[-1],
            3,
            padding="same",
            kernel_initializer=init(),
            name="to_image",
        )(h)
        outputs = keras.layers.Activation("tanh", dtype="float32", name="tanh")(h)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        self._set_config(
            latent_dim=latent_dim,
            image_shape=image_shape,
            base_filters=base_filters,
            num_classes=num_classes,
            conditioning=conditioning,
            kernel_initializer=kernel_initializer,
        )



@keras.saving.register_keras_serializable(package="ganzoo")
class SNGANCNNDiscriminator(Network):
    """SN-GAN standard-CNN discriminator (Miyato et al. 2018, Table 3b).

    `conv3x3 s1 b -> conv4x4 s2 b -> conv3x3 s1 2b -> conv4x4 s2 2b ->
    conv3x3 s1 4b -> conv4x4 s2 4b -> conv3x3 s1 8b -> flatten -> dense 1`,
    LeakyReLU(0.1) after each conv, `b = base_filters` (paper 64). The three
    stride-2 convs use "same" padding, so every supported size works (32 ->
    4x4, 28 -> 4x4, 8 -> 1x1). Spectral normalization on every layer by
    default; no batch norm.

    Conditional variant (`num_classes` set): projection discriminator (Miyato
    & Koyama 2018, arXiv:1802.05637), `+ <embed(y), phi(x)>` with `phi(x)`
    the flattened features. The head runs in float32.

    Args:
        image_shape: `(H, H, C)` of the input images.
        base_filters: Width unit `b` (paper: 64).
        num_classes: Number of classes for a projection discriminator, or
            None.
        spectral_norm: If True (default, as in the paper), every
            conv/dense/embedding is a spectral-norm layer.
        kernel_initializer: Initializer for all kernels/embeddings; None
            means N(0, 0.02) as in the authors' code.
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
        "kernel_initializer",
        "power_iterations",
    )

    def __init__(
        self,
        image_shape,
        base_filters=64,
        num_classes=None,
        spectral_norm=True,
        kernel_initializer=None,
        power_iterations=1,
        name=None,
        **kwargs,
    ):
        image_shape, _, _ = self._check_discriminator_args(
            image_shape, base_filters, num_classes, power_iterations
        )
        spectral_norm = bool(spectral_norm)
        init_spec = B.serialize_initializer(kernel_initializer)

        def init():
            return B.make_initializer(init_spec, B.dcgan_normal)

        # (filters multiple, kernel size, stride) of Table 3b.
        plan = [
            (1, 3, 1),
            (1, 4, 2),
            (2, 3, 1),
            (2, 4, 2),
            (4, 3, 1),
            (4, 4, 2),
            (8, 3, 1),
        ]

        # === Functional graph ===
        inputs, images, labels = B.discriminator_inputs(image_shape, num_classes)
        h = images
        for i, (multiple, kernel_size, strides) in enumerate(plan, start=1):
            h = B.conv_layer(
                base_filters * multiple,
                kernel_size,
                spectral_norm,
                power_iterations,
                strides=strides,
                padding="same",
                kernel_initializer=init(),
                name=f"conv{i}",
            )(h)
            h = keras.layers.LeakyReLU(negative_slope=0.1, name=f"conv{i}_lrelu")(h)
        h = keras.layers.Flatten(name="flatten")(h)
        features = keras.layers.Activation(
            "linear", dtype="float32", name="features_float32"
        )(h)
        outputs = B.projection_logits(
            features, labels, num_classes, spectral_norm, power_iterations, init
        )
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        self._set_config(
            image_shape=image_shape,
            base_filters=base_filters,
            num_classes=num_classes,
            spectral_norm=spectral_norm,
            kernel_initializer=kernel_initializer,
            power_iterations=power_iterations,
        )

