"""Layers shared by the ganzoo networks: spectral normalization and friends.

Spectral normalization (Miyato, Kataoka, Koyama, Yoshida 2018, "Spectral
Normalization for Generative Adversarial Networks", arXiv:1802.05957)
---------------------------------------------------------------------------
ganzoo implements spectral normalization as three layers, `SpectralDense`,
`SpectralConv2D` and `SpectralEmbedding`, subclasses of the matching Keras
layers. They deliberately do NOT use `keras.layers.SpectralNormalization`,
which (a) assigns `W / sigma` into the wrapped kernel, so no gradient flows
through `sigma`, and (b) normalizes only when called with `training=True`.
Our design follows Miyato et al. (their Algorithm 1 and official code):

* The trainable weight (`kernel`, or `embeddings` for the embedding layer)
  stays **unnormalized**. Every call computes the effective weight
  `W_bar = W / sigma(W)` where `W` is viewed as a matrix of shape
  `(prod(kernel.shape[:-1]), out)` (for a conv kernel `(kh * kw * in, out)`;
  for an embedding the `(input_dim, output_dim)` table itself).
* `sigma(W) = v W u^T` is the power-iteration estimate of the largest
  singular value. Starting from the stored vector `u` (shape `(1, out)`),
  `power_iterations` rounds of `v = l2n(u W^T)`, `u = l2n(v W)` are run;
  `u` and `v` are then put under `stop_gradient`, and the gradient **does**
  flow through `sigma` (d sigma / dW = v^T u), exactly as in the paper.
* `u` is a non-trainable float32 weight (random-normal init), created with
  `aggregation="only_first_replica"` so that under `tf.distribute` every
  replica holds the same vector. It is updated (assigned) only when the layer
  is called with `training=True`. With `training=False` or `None` the layer
  still normalizes, using the power iteration started from the stored `u`,
  but does not write `u` back. Normalization is therefore never silently off.
* `sigma` is computed in float32 (float64 if the variables are float64) even
  under a mixed-precision policy: the layers set `autocast = False` (as
  `keras.layers.Embedding` does), read their variables at full precision,
  cast their inputs to the compute dtype themselves and cast `W_bar` and the
  bias to the compute dtype.
* `effective_kernel()` returns `W_bar` (same shape as the kernel) and
  `spectral_norm_estimate()` returns `sigma`, both computed from the current
  `u` without updating it. A call with `training=False` uses exactly that
  `W_bar`.
* As in the paper, the conv kernel is normalized as a reshaped matrix; this
  bounds, but is not equal to, the operator norm of the convolution.
* Saved weights are, per layer: kernel (or embeddings), bias if any, then `u`.
  LoRA and quantization are not supported on these layers.

Other layers
------------
* `ConditionalBatchNormalization` (class-conditional batch norm; de Vries et
  al. 2017, arXiv:1707.00683, as used in the conditional generator of
  Miyato & Koyama 2018, arXiv:1802.05637).
* `GlobalSumPooling2D` (the pooling of the SN-GAN ResNet discriminator).
* Helpers `spectral_norm_layers(model)` and `unnormalized_kernel_layers(model)`.

The builders that the network modules share (argument checks, the resampling
plan of an image shape, initializers, input and output heads) live in
`ganzoo.networks.builders`.
"""

import keras
from keras import ops

from ganzoo.validation import check_int

_SN_EPSILON = 1e-12
# Batch-norm decay 0.9 and epsilon 1e-5, as in the DCGAN/SN-GAN authors' code
# (Keras defaults are 0.99 / 1e-3).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
# Attributes through which Keras layers expose a kernel-like weight matrix.
_KERNEL_ATTRIBUTES = (
    "kernel",
    "embeddings",
    "depthwise_kernel",
    "pointwise_kernel",
    "recurrent_kernel",
)


# --------------------------------------------------------------------------
# Spectral normalization
# --------------------------------------------------------------------------
def _l2_normalize(x):
    """Scales a (1, n) row vector to unit L2 norm (safe for zero vectors)."""
    squared = ops.sum(ops.square(x))
    return x * ops.rsqrt(ops.maximum(squared, _SN_EPSILON))


#: What `power_iterations` must be, as the messages of the layers and networks say it.
POWER_ITERATIONS_RULE = "an integer >= 1 (Miyato et al. use 1)"


def _reject_lora_and_quantization(kwargs, layer_name):
    for key in ("lora_rank", "quantization_config"):
        if kwargs.get(key) is not None:
            raise ValueError(
                f"{layer_name} does not support LoRA or quantization: the "
                "kernel must stay a plain float weight that is normalized "
                f"at every call. Expected {key}=None. "
                f"Received: {key}={kwargs[key]!r}"
            )


class _SpectralNormMixin:
    """Shared spectral-normalization logic (Miyato et al. 2018).

    Subclasses set `_spectral_weight_attribute` to the name of the raw weight
    attribute created by the Keras parent class (`"_kernel"` or
    `"_embeddings"`) and call `_init_spectral_norm` after the parent's
    `__init__` and `_build_u` at the end of `build`.
    """

    _spectral_weight_attribute = "_kernel"

    def _init_spectral_norm(self, power_iterations):
        self.power_iterations = check_int(
            power_iterations, "power_iterations", 1, type(self).__name__,
            expected=POWER_ITERATIONS_RULE, numpy=False,
        )
        # Variables are read at full precision; the layer casts by itself.
        self.autocast = False

    def _build_u(self, out_dim):
        self.u = self.add_weight(
            name="u",
            shape=(1, out_dim),
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
            dtype="float64" if self.variable_dtype == "float64" else "float32",
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
        )

    def _raw_weight(self):
        return getattr(self, self._spectral_weight_attribute)

    def _spectral_dtype(self):
        return "float64" if self.variable_dtype == "float64" else "float32"

    def _normalize(self):
        """Returns `(W_bar, sigma, u_new)`, all at full precision.

        `W_bar` has the kernel's shape; `u_new` is the power-iterated `u`.
        """
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' must be built before its spectral norm "
                "can be computed: call it on an input first. "
                f"Received: built={self.built}"
            )
        dtype = self._spectral_dtype()
        weight = ops.cast(ops.convert_to_tensor(self._raw_weight()), dtype)
        shape = weight.shape
        w_mat = ops.reshape(weight, (-1, shape[-1]))
        w_const = ops.stop_gradient(w_mat)
        u = ops.cast(ops.convert_to_tensor(self.u), dtype)
        v = None
        for _ in range(self.power_iterations):
            v = _l2_normalize(ops.matmul(u, ops.transpose(w_const)))
            u = _l2_normalize(ops.matmul(v, w_const))
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(v)
        # sigma = v W u^T, differentiable w.r.t. W (d sigma/dW = v^T u).
        sigma = ops.sum(ops.matmul(v, w_mat) * u)
        w_bar = w_mat / ops.maximum(sigma, _SN_EPSILON)
        return ops.reshape(w_bar, shape), sigma, u

    def _normalized_weight(self, training):
        """`W_bar` in the compute dtype; assigns the new `u` if training."""
        w_bar, _, u_new = self._normalize()
        if training:
            self.u.assign(ops.cast(u_new, self.u.dtype))
        return ops.cast(w_bar, self.compute_dtype)

    def effective_kernel(self):
        """The normalized weight `W / sigma(W)`, without updating `u`.

        Returns:
            Tensor with the kernel's shape (the embedding table's shape for
            `SpectralEmbedding`), float32 (float64 for float64 variables).
        """
        return self._normalize()[0]

    def spectral_norm_estimate(self):
        """The power-iteration estimate of sigma(W), without updating `u`.

        Returns:
            Scalar tensor, float32 (float64 for float64 variables).
        """
        return self._normalize()[1]

    def enable_lora(self, *args, **kwargs):
        raise ValueError(
            f"{type(self).__name__} does not support LoRA: the kernel must "
            "stay a plain trainable weight that is normalized at every call. "
            f"Received: enable_lora(args={args}, kwargs={kwargs})"
        )

    def quantize(self, mode=None, *args, **kwargs):
        raise ValueError(
            f"{type(self).__name__} does not support quantization: the "
            "kernel must stay a float weight that is normalized at every "
            f"call. Received: mode={mode!r}"
        )

    # Kernel, bias (if any), then `u`: the generic Layer format, which
    # unlike Dense/Embedding's quantization-aware format includes `u`.
    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

    def _spectral_config(self):
        return {"power_iterations": self.power_iterations}


@keras.saving.register_keras_serializable(package="ganzoo")
class SpectralDense(_SpectralNormMixin, keras.layers.Dense):
    """Dense layer with a spectrally normalized kernel (arXiv:1802.05957).

    Computes `activation(inputs @ W_bar + bias)` with `W_bar = W / sigma(W)`;
    see the module docstring for the design.

    Args:
        units: Positive integer, output dimension.
        power_iterations: Power-iteration rounds per call (paper: 1).
        **kwargs: Other `keras.layers.Dense` arguments (activation, use_bias,
            initializers, regularizers, constraints, name, dtype...).

    Call arguments:
        inputs: Tensor of shape `(batch, ..., in_dim)`.
        training: Python bool; if True the power-iteration vector `u` is
            updated.

    Returns:
        Tensor of shape `(batch, ..., units)` in the compute dtype.
    """

    _spectral_weight_attribute = "_kernel"

    def __init__(self, units, power_iterations=1, **kwargs):
        _reject_lora_and_quantization(kwargs, "SpectralDense")
        super().__init__(units, **kwargs)
        self._init_spectral_norm(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_u(self.units)

    def call(self, inputs, training=None):
        inputs = ops.cast(inputs, self.compute_dtype)
        x = ops.matmul(inputs, self._normalized_weight(training))
        if self.bias is not None:
            x = ops.add(x, ops.cast(self.bias, self.compute_dtype))
        if self.activation is not None:
            x = self.activation(x)
        return x

    def get_config(self):
        return {**super().get_config(), **self._spectral_config()}


@keras.saving.register_keras_serializable(package="ganzoo")
class SpectralConv2D(_SpectralNormMixin, keras.layers.Conv2D):
    """2D convolution with a spectrally normalized kernel (arXiv:1802.05957).

    The kernel `(kh, kw, in / groups, filters)` is normalized as the matrix
    `(kh * kw * in / groups, filters)`.

    Args:
        filters: Positive integer, number of output channels.
        kernel_size: Integer or pair of integers.
        power_iterations: Power-iteration rounds per call (paper: 1).
        **kwargs: Other `keras.layers.Conv2D` arguments.

    Call arguments:
        inputs: Tensor `(batch, H, W, C)` (channels_last) or `(batch, C, H, W)`.
        training: Python bool; if True `u` is updated.

    Returns:
        Tensor `(batch, H', W', filters)` in the compute dtype.
    """

    _spectral_weight_attribute = "_kernel"

    def __init__(self, filters, kernel_size, power_iterations=1, **kwargs):
        _reject_lora_and_quantization(kwargs, "SpectralConv2D")
        super().__init__(filters, kernel_size, **kwargs)
        self._init_spectral_norm(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_u(self.filters)

    def call(self, inputs, training=None):
        inputs = ops.cast(inputs, self.compute_dtype)
        outputs = self.convolution_op(inputs, self._normalized_weight(training))
        if self.use_bias:
            bias = ops.cast(self.bias, self.compute_dtype)
            if self.data_format == "channels_last":
                bias_shape = (1,) * (self.rank + 1) + (self.filters,)
            else:
                bias_shape = (1, self.filters) + (1,) * self.rank
            outputs = ops.add(outputs, ops.reshape(bias, bias_shape))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        return {**super().get_config(), **self._spectral_config()}


@keras.saving.register_keras_serializable(package="ganzoo")
class SpectralEmbedding(_SpectralNormMixin, keras.layers.Embedding):
    """Embedding whose `(input_dim, output_dim)` table is spectrally normalized.

    Used for the class embedding of the projection discriminator (Miyato &
    Koyama 2018, arXiv:1802.05637) with spectral normalization
    (arXiv:1802.05957).

    Args:
        input_dim: Number of classes / vocabulary size.
        output_dim: Embedding dimension.
        power_iterations: Power-iteration rounds per call (paper: 1).
        **kwargs: Other `keras.layers.Embedding` arguments.

    Call arguments:
        inputs: Integer tensor of ids, e.g. shape `(batch,)`.
        training: Python bool; if True `u` is updated.

    Returns:
        Tensor `inputs.shape + (output_dim,)` in the compute dtype.
    """

    _spectral_weight_attribute = "_embeddings"

    def __init__(self, input_dim, output_dim, power_iterations=1, **kwargs):
        _reject_lora_and_quantization(kwargs, "SpectralEmbedding")
        super().__init__(input_dim, output_dim, **kwargs)
        self._init_spectral_norm(power_iterations)

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        self._build_u(self.output_dim)

    def call(self, inputs, training=None):
        if inputs.dtype != "int32" and inputs.dtype != "int64":
            inputs = ops.cast(inputs, "int32")
        return ops.take(self._normalized_weight(training), inputs, axis=0)

    def get_config(self):
        return {**super().get_config(), **self._spectral_config()}


SPECTRAL_LAYER_CLASSES = (SpectralDense, SpectralConv2D, SpectralEmbedding)


def _all_sublayers(model):
    """All layers nested in `model` (recursively), excluding `model` itself."""
    return list(model._flatten_layers(include_self=False, recursive=True))


def spectral_norm_layers(model):
    """Lists the spectral-norm layers of a model, searching nested layers.

    Args:
        model: A `keras.Model` or `keras.layers.Layer`.

    Returns:
        List of `SpectralDense`, `SpectralConv2D` and `SpectralEmbedding`
        layers, in traversal order.
    """
    return [
        layer
        for layer in _all_sublayers(model)
        if isinstance(layer, SPECTRAL_LAYER_CLASSES)
    ]


def _has_kernel(layer):
    for attribute in _KERNEL_ATTRIBUTES:
        try:
            value = getattr(layer, attribute, None)
        except (AttributeError, ValueError):
            value = None
        if value is not None and not isinstance(value, keras.layers.Layer):
            return True
    return False


def unnormalized_kernel_layers(model):
    """Lists the layers that own a kernel/embedding and are NOT spectral.

    A layer counts if it exposes one of `kernel`, `embeddings`,
    `depthwise_kernel`, `pointwise_kernel`, `recurrent_kernel` (Dense, Conv*,
    Conv*Transpose, Embedding, EinsumDense, RNN cells...). The SN-GAN engine
    requires this list to be empty for its discriminator.

    Args:
        model: A built `keras.Model` or `keras.layers.Layer`.

    Returns:
        List of layers, in traversal order.
    """
    return [
        layer
        for layer in _all_sublayers(model)
        if not isinstance(layer, SPECTRAL_LAYER_CLASSES)
        and not isinstance(layer, keras.Model)
        and _has_kernel(layer)
    ]


# --------------------------------------------------------------------------
# Other layers
# --------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="ganzoo")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalization with class-specific scale and offset.

    `y = gamma[label] * BN(x) + beta[label]`, where `BN` normalizes with batch
    statistics (moving statistics at inference) and has no parameters of its
    own. de Vries et al. 2017 (arXiv:1707.00683); used in the generator of
    the projection cGAN (Miyato & Koyama 2018, arXiv:1802.05637).

    Args:
        num_classes: Positive integer, number of classes.
        momentum: Momentum of the moving statistics.
        epsilon: Added to the variance.
        gamma_initializer: Initializer of the `(num_classes, C)` scales
            (default ones).
        beta_initializer: Initializer of the `(num_classes, C)` offsets
            (default zeros).
        **kwargs: Base layer arguments (name, dtype...).

    Call arguments:
        inputs: List `[x, labels]`: `x` of shape `(batch, ..., C)`, `labels`
            integer of shape `(batch,)`.
        training: Python bool; batch statistics if True.

    Returns:
        Tensor with the shape of `x`.
    """

    def __init__(
        self,
        num_classes,
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        gamma_initializer="ones",
        beta_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int(num_classes, "num_classes", 1, "ConditionalBatchNormalization", numpy=False)
        self.num_classes = num_classes
        self.momentum = momentum
        self.epsilon = epsilon
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.batch_norm = keras.layers.BatchNormalization(
            momentum=momentum,
            epsilon=epsilon,
            center=False,
            scale=False,
            dtype=self.dtype_policy,
            name="batch_norm",
        )

    def build(self, input_shape):
        x_shape = input_shape[0]
        channels = x_shape[-1]
        self.batch_norm.build(x_shape)
        self.gamma = self.add_weight(
            name="gamma",
            shape=(self.num_classes, channels),
            initializer=self.gamma_initializer,
        )
        self.beta = self.add_weight(
            name="beta",
            shape=(self.num_classes, channels),
            initializer=self.beta_initializer,
        )

    def call(self, inputs, training=None):
        x, labels = inputs
        labels = ops.cast(labels, "int32")
        normalized = self.batch_norm(x, training=training)
        broadcast_shape = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
        gamma = ops.reshape(ops.take(self.gamma, labels, axis=0), broadcast_shape)
        beta = ops.reshape(ops.take(self.beta, labels, axis=0), broadcast_shape)
        return normalized * ops.cast(gamma, normalized.dtype) + ops.cast(
            beta, normalized.dtype
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "gamma_initializer": keras.initializers.serialize(
                self.gamma_initializer
            ),
            "beta_initializer": keras.initializers.serialize(
                self.beta_initializer
            ),
        }


@keras.saving.register_keras_serializable(package="ganzoo")
class GlobalSumPooling2D(keras.layers.Layer):
    """Sums over the spatial axes: `(batch, H, W, C)` -> `(batch, C)`.

    The pooling of the SN-GAN ResNet discriminator (Miyato et al. 2018,
    arXiv:1802.05957, appendix).
    """

    def call(self, inputs):
        return ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
