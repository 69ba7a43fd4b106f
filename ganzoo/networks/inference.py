"""Compiled inference calls of Keras models (imports nothing else of ganzoo).

`compiled(net)` returns a callable that runs ``net(inputs, training=False)``
inside a `tf.function`, so sampling (`GAN.generate`, `ganzoo.metrics.evaluate`)
and feature extraction run as graphs instead of op by op. One function is
traced per input signature: the shapes without their batch dimension, the
dtypes and the nesting of the inputs. The batch dimension is left unknown
(``None``) in that signature, so batches of any size, a smaller last batch
included, reuse the same trace: nothing is retraced per batch and nothing is
padded. The results are those of the direct call ``net(inputs, training=False)``
up to float rounding.

The functions are cached per network in a `weakref.WeakKeyDictionary` and reach
their network through a weak reference, so the cache keeps no model alive: when
a model is deleted its compiled functions go with it.
"""

import weakref

import tensorflow as tf
import keras

# network -> {preprocess: _Compiled}. The values reach their key only through
# weak references (a value holding its key strongly would keep it alive).
_CACHE = weakref.WeakKeyDictionary()


def _as_float32(outputs):
    return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), outputs)


class _Compiled:
    """``inputs -> float32 net(preprocess(inputs), training=False)``, one trace per signature."""

    def __init__(self, net, preprocess):
        self._net = weakref.ref(net)
        self._preprocess = preprocess
        self._functions = {}

    def _run(self, inputs):
        net = self._net()
        if net is None:  # only reachable if a caller kept this object past its network
            raise ValueError("The network of this compiled function was deleted.")
        if self._preprocess is not None:
            inputs = self._preprocess(inputs)
        return _as_float32(net(inputs, training=False))

    def function(self, inputs):
        """The `tf.function` for the signature of `inputs` (a tensor or a nest of tensors)."""
        specs = tf.nest.map_structure(
            lambda t: tf.TensorSpec((None,) + tuple(t.shape[1:]), t.dtype), inputs
        )
        key = (repr(tf.nest.map_structure(lambda _: 0, inputs)), tuple(tf.nest.flatten(specs)))
        fn = self._functions.get(key)
        if fn is None:
            fn = tf.function(self._run, input_signature=[specs])
            self._functions[key] = fn
        return fn

    def __call__(self, inputs):
        inputs = tf.nest.map_structure(tf.convert_to_tensor, inputs)
        if isinstance(inputs, tuple):  # Keras models take several inputs as a list
            inputs = list(inputs)
        return self.function(inputs)(inputs)


def compiled(net, preprocess=None):
    """The cached compiled inference call of `net`.

    Args:
        net: a `keras.Model` (any Keras layer) whose call is traceable.
        preprocess: optional TensorFlow function applied to the inputs inside
            the same graph (e.g. a resize); one compiled call is kept per
            ``(net, preprocess)``.

    Returns:
        A callable ``inputs -> outputs``: inputs a tensor / array or a list of
        them (each with the batch first), outputs as the network returns them
        (a tensor or a list), cast to float32, as `tf.Tensor`.
    """
    if not isinstance(net, keras.Layer):
        raise ValueError(
            f"Only Keras models are compiled for inference. Received: {type(net).__name__}"
        )
    per_net = _CACHE.get(net)
    if per_net is None:
        per_net = _CACHE[net] = {}
    fn = per_net.get(preprocess)
    if fn is None:
        fn = per_net[preprocess] = _Compiled(net, preprocess)
    return fn
