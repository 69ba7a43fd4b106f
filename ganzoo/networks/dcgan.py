"""DCGAN generator and discriminator (Radford, Metz, Chintala 2015, arXiv:1511.06434).

Both networks are `keras.Model`s whose functional graph is built in
`__init__`. The discriminator also serves as the CNN critic of WGAN-GP
(Gulrajani et al. 2017, arXiv:1704.00028) with `normalization="layer"` or
`"none"` (that paper forbids batch norm in the critic), and as a
spectrally-normalized critic with `spectral_norm=True` (Miyato et al. 2018,
arXiv:1802.05957).
"""

import keras

from ganzoo.networks.base import Network

from ganzoo.networks import builders as B
from ganzoo.networks import layers as L
from ganzoo.validation import check_choice, check_int

_NORMALIZATIONS = ("batch", "layer", "none")


@keras.saving.register_keras_serializable(package="ganzoo")
class DCGANGenerator(Network):
    """DCGAN generator (Radford et al. 2015, arXiv:1511.06434, Fig. 1).

    `z -> Dense(s*s*base_filters*2^k) -> BN -> ReLU -> (k - 1) x
    [Conv2DTranspose(stride 2) -> BN -> ReLU] (channels halving) ->
    Conv2DTranspose(stride 2, C) -> tanh`, where `k` is the number of
    upsamplings and `s` the start size (`s * 2^k = H`: 4x4 for powers of two,
    7x7 for 28). With `base_filters=64` and 64x64 images this is the paper's
    1024-512-256-128-C stack. Weights are N(0, 0.02) by default.

    Conditional variant (`num_classes` set): a learned embedding of the label
    (dimension `latent_dim`) is concatenated to `z`.

    Args:
        latent_dim: Dimension of `z` (paper: 100).
        image_shape: `(H, H, C)` of the generated images.
        base_filters: Channels of the last hidden layer; the first has
            `base_filters * 2^k` (paper: 64).
        num_classes: Number of classes for a conditional generator, or None.
        kernel_size: Transposed-conv kernel size (paper code: 5; 4 is common).
        kernel_initializer: Initializer for all kernels; None means the
            paper's N(0, 0.02).
        name: Model name.
        **kwargs: Passed to `keras.Model` (e.g. `trainable`).

    Call arguments:
        inputs: `z` float32 `(batch, latent_dim)`, or `[z, labels]` with
            `labels` int32 `(batch,)` if `num_classes` is set.
        training: Python bool (batch-norm mode).

    Returns:
        Images `(batch, H, W, C)`, float32 in [-1, 1] (tanh), also under a
        mixed-precision policy.
    """

    config_args = (
        "latent_dim",
        "image_shape",
        "base_filters",
        "num_classes",
        "kernel_size",
        "kernel_initializer",
    )

    def __init__(
        self,
        latent_dim,
        image_shape,
        base_filters=64,
        num_classes=None,
        kernel_size=5,
        kernel_initializer=None,
        name=None,
        **kwargs,
    ):
        image_shape, num_up, start = self._check_generator_args(
            latent_dim, image_shape, base_filters, num_classes
        )
        check_int(kernel_size, "kernel_size", 1, type(self).__name__, numpy=False)
        init_spec = B.serialize_initializer(kernel_initializer)

        def init():
            return B.make_initializer(init_spec, B.dcgan_normal)

        # === Functional graph ===
        inputs, h = B.generator_inputs(latent_dim, num_classes)
        filters = base_filters * 2**num_up
        h = keras.layers.Dense(
            start * start * filters,
            use_bias=False,
            kernel_initializer=init(),
            name="project",
        )(h)
        h = keras.layers.Reshape((start, start, filters), name="project_reshape")(h)
        h = B.batch_norm("project_bn")(h)
        h = keras.layers.ReLU(name="project_relu")(h)
        for i in range(1, num_up):
            filters = base_filters * 2 ** (num_up - i)
            h = keras.layers.Conv2DTranspose(
                filters,
                kernel_size,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=init(),
                name=f"up{i}_deconv",
            )(h)
            h = B.batch_norm(f"up{i}_bn")(h)
            h = keras.layers.ReLU(name=f"up{i}_relu")(h)
        h = keras.layers.Conv2DTranspose(
            image_shape[-1],
            kernel_size,
            strides=2,
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
            kernel_size=kernel_size,
            kernel_initializer=kernel_initializer,
        )



@keras.saving.register_keras_serializable(package="ganzoo")
class DCGANDiscriminator(Network):
    """DCGAN discriminator (Radford et al. 2015, arXiv:1511.06434).

    `k x [Conv2D(stride 2, same) -> norm -> LeakyReLU(0.2)]` with
    `base_filters, 2*base_filters, ...` channels (no normalization after the
    first conv), `k` the number of halvings of the image side (`H / 2^k` is
    4 for powers of two, 7 for 28), then flatten -> Dense(1) logits. No
    pooling. Weights N(0, 0.02) by default.

    Conditional variant (`num_classes` set): projection discriminator
    (Miyato & Koyama 2018, arXiv:1802.05637): the logit gets
    `+ <embed(y), phi(x)>` with `phi(x)` the flattened features.

    The head (flattened features, Dense(1), embedding, projection) runs in
    float32, so logits are float32 also under mixed precision.

    Args:
        image_shape: `(H, H, C)` of the input images.
        base_filters: Channels of the first conv (paper: 64).
        num_classes: Number of classes for a projection discriminator, or
            None.
        spectral_norm: If True, every conv/dense/embedding is spectrally
            normalized (`SpectralConv2D`, `SpectralDense`,
            `SpectralEmbedding`; Miyato et al. 2018, arXiv:1802.05957) and
            batch norm is not allowed.
        kernel_size: Conv kernel size (paper code: 5; 4 is common).
        normalization: `"batch"` (DCGAN), `"layer"` (WGAN-GP critic: layer
            norm over (H, W, C) per sample) or `"none"`. None means
            `"batch"`, or `"none"` if `spectral_norm`.
        kernel_initializer: Initializer for all kernels/embeddings; None
            means N(0, 0.02).
        power_iterations: Power-iteration rounds of the spectral layers.
        name: Model name.
        **kwargs: Passed to `keras.Model`.

    Call arguments:
        inputs: Images float32 `(batch, H, W, C)`, or `[images, labels]` with
            `labels` int32 `(batch,)` if `num_classes` is set.
        training: Python bool (batch-norm mode; spectral `u` update).

    Returns:
        Logits `(batch, 1)`, float32.
    """

    config_args = (
        "image_shape",
        "base_filters",
        "num_classes",
        "spectral_norm",
        "kernel_size",
        "normalization",
        "kernel_initializer",
        "power_iterations",
    )

    def __init__(
        self,
        image_shape,
        base_filters=64,
        num_classes=None,
        spectral_norm=False,
        kernel_size=5,
        normalization=None,
        kernel_initializer=None,
        power_iterations=1,
        name=None,
        **kwargs,
    ):
        owner = type(self).__name__
        image_shape, num_down, _ = self._check_discriminator_args(
            image_shape, base_filters, num_classes, power_iterations
        )
        check_int(kernel_size, "kernel_size", 1, owner, numpy=False)
        spectral_norm = bool(spectral_norm)
        if normalization is None:
            normalization = "none" if spectral_norm else "batch"
        check_choice(normalization, "normalization", _NORMALIZATIONS, owner)
        if spectral_norm and normalization == "batch":
            raise ValueError(
                f"{owner} with spectral_norm=True must not use batch norm "
                "(a spectrally normalized critic has none): expected "
                "normalization='none' or 'layer'. "
                f"Received: normalization='batch', spectral_norm=True"
            )
        init_spec = B.serialize_initializer(kernel_initializer)

        def init():
            return B.make_initializer(init_spec, B.dcgan_normal)

        # === Functional graph ===
        inputs, images, labels = B.discriminator_inputs(image_shape, num_classes)
        h = images
        for i in range(num_down):
            normalize = i > 0 and normalization != "none"
            h = B.conv_layer(
                base_filters * 2**i,
                kernel_size,
                spectral_norm,
                power_iterations,
                strides=2,
                padding="same",
                use_bias=not normalize,
                kernel_initializer=init(),
                name=f"down{i + 1}_conv",
            )(h)
            if normalize and normalization == "batch":
                h = B.batch_norm(f"down{i + 1}_bn")(h)
            elif normalize and normalization == "layer":
                h = keras.layers.LayerNormalization(
                    axis=(1, 2, 3), epsilon=L.BN_EPSILON, name=f"down{i + 1}_ln"
                )(h)
            h = keras.layers.LeakyReLU(
                negative_slope=0.2, name=f"down{i + 1}_lrelu"
            )(h)
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
            kernel_size=kernel_size,
            normalization=normalization,
            kernel_initializer=kernel_initializer,
            power_iterations=power_iterations,
        )

