"""In-graph checks of TF Serving requests, for every input of every exported signature.

A SavedModel does not enforce its signatures' input shapes: TensorFlow Serving
(and a signature reloaded with ``tf.saved_model.load`` and called with a tensor
of another shape) feeds the tensors as they come. Inside the traced graph the
inputs still carry the signature's static shape, so ``tf.rank(z)`` is the
constant 2 and Grappler folds ``Rank``/``Size`` of the input the same way
even when the request's ``z`` has rank 1. The checks here therefore read the
request's shape only from run-time values that no optimizer can know: the
values of ``tf.shape(x)`` (its batch dimension is unknown), compared as text
like ``"2,100"`` with the expected pattern; for a scalar input, whose whole
static shape is known, the printed value (``"7"``, not ``"[7]"``).

`Chain` runs its checks one after another: each check's ops are built under a
control dependency on the previous assertion, so a check may assume that the
earlier ones held (e.g. that the rank is right before it reads the batch
size), and the first problem of a request is the one reported. Each failing
check raises ``InvalidArgumentError`` (gRPC ``INVALID_ARGUMENT``, HTTP 400)
whose text names the input, what was expected, and ends with
``Received: ...``:

    assertion failed: [z must have shape (batch, latent_dim) = (batch, 100).
    Received: z of shape [100]]

The order per signature: every input's rank and fixed dimensions (a scalar for
``num`` and ``seed``); then the batch size (``num``) in ``[1, max_num]`` and one
label per item; then the values: ``z`` and images finite, images in [-1, 1]
up to `ganzoo.image_scale.MARGIN`, labels in ``[0, num_classes)``.
"""

import tensorflow as tf

from ganzoo.image_scale import MARGIN


def _dims_text(x, separator):
    return tf.strings.reduce_join(tf.strings.as_string(tf.shape(x)), separator=separator)


def shape_text(x):
    """The run-time shape of `x` as a string tensor, e.g. ``"[2, 100]"`` (``"[]"`` for a scalar)."""
    return tf.strings.join(["[", _dims_text(x, ", "), "]"])


def _number(x):
    return tf.strings.as_string(x, shortest=True) if x.dtype.is_floating else tf.strings.as_string(x)


class Chain:
    """In-graph assertions that run in order, each only after the previous one passed.

    Args:
        max_num: the largest batch (and ``num``) accepted.

    Example:

    ```python
    chain = Chain(max_num=1024)
    chain.shape(z, "z", (None, 100), "(batch, latent_dim)")
    chain.batch(z, "z")
    chain.finite(z, "z")
    z = chain.guard(z)        # z, computed only after every check passed
    ```
    """

    def __init__(self, max_num):
        self.max_num = int(max_num)
        self._last = None

    def check(self, condition, message):
        """Adds one assertion.

        Args:
            condition: callable returning a scalar bool tensor; its ops run
                only after every earlier check passed.
            message: callable returning a list of strings and string tensors,
                joined into the error message when `condition` is False.
        """
        deps = [] if self._last is None else [self._last]
        with tf.control_dependencies(deps):
            ok = condition()
            text = tf.strings.join(message())
            self._last = tf.debugging.Assert(ok, [text], summarize=1)

    def guard(self, *tensors):
        """`tensors`, made to depend on every check (so nothing computed from them runs first)."""
        deps = [] if self._last is None else [self._last]
        with tf.control_dependencies(deps):
            out = tuple(tf.identity(t) for t in tensors)
        return out if len(out) > 1 else out[0]

    def shape(self, x, name, dims, meaning):
        """`x` has rank ``len(dims)`` and the fixed dimensions of `dims` (None: any size).

        Args:
            x: the request's tensor.
            name: its input key, e.g. ``"z"``.
            dims: expected shape with None for the batch, e.g. ``(None, 100)``;
                ``()`` for a scalar.
            meaning: the shape in words, e.g. ``"(batch, latent_dim)"``; for a
                scalar, what it holds, e.g. ``"one int32 number"``.
        """
        if not dims:
            # A scalar's static shape is fully known, so tf.shape(x) is a constant here;
            # its printed value is not: a scalar prints without brackets ("7", not "[7]").
            text = lambda: tf.strings.format("{}", x, summarize=3)  # noqa: E731
            self.check(
                lambda: tf.logical_not(tf.strings.regex_full_match(text(), r"\[[\s\S]*")),
                lambda: [f"{name} must be a scalar ({meaning}). Received: {name}=", text()],
            )
            return
        if None not in dims:
            raise ValueError(f"Expected a batch dimension (None) in dims. Received: dims={dims}")
        pattern = ",".join("[0-9]+" if d is None else str(int(d)) for d in dims)
        expected = "(" + ", ".join("batch" if d is None else str(int(d)) for d in dims)
        expected += ",)" if len(dims) == 1 else ")"
        self.check(
            lambda: tf.strings.regex_full_match(_dims_text(x, ","), pattern),
            lambda: [f"{name} must have shape {meaning}{'' if meaning == expected else ' = ' + expected}."
                     f" Received: {name} of shape ", shape_text(x)],
        )

    def batch(self, x, name):
        """`x` (shape already checked) holds between 1 and ``max_num`` items."""
        self.check(
            lambda: tf.logical_and(tf.shape(x)[0] >= 1, tf.shape(x)[0] <= self.max_num),
            lambda: [
                f"{name} must hold 1 to max_num={self.max_num} items (the export's --max-num). "
                f"Received: {name} of shape ", shape_text(x),
            ],
        )

    def count(self, num, name):
        """The scalar `num` is in ``[1, max_num]``."""
        self.check(
            lambda: tf.logical_and(num >= 1, num <= self.max_num),
            lambda: [
                f"{name} must be in [1, max_num={self.max_num}] (the export's --max-num). "
                f"Received: {name}=", _number(num),
            ],
        )

    def one_label_per_item(self, labels, x, name, of):
        """`labels` (rank 1) holds as many entries as `x` has items."""
        self.check(
            lambda: tf.equal(tf.shape(labels)[0], tf.shape(x)[0]),
            lambda: [
                f"{name} must hold one class id per item of {of} (shape ", shape_text(x),
                f"). Received: {name} of shape ", shape_text(labels),
            ],
        )

    def finite(self, x, name):
        """Every value of `x` is finite."""

        def message():
            bad = tf.reduce_sum(tf.cast(tf.logical_not(tf.math.is_finite(x)), tf.int32))
            return [f"{name} must be finite (no NaN or infinity). Received: ", _number(bad),
                    f" non-finite values in {name}"]

        self.check(lambda: tf.reduce_all(tf.math.is_finite(x)), message)

    def signed_range(self, images, name):
        """Every value of `images` (finite) is in [-1, 1] up to `ganzoo.image_scale.MARGIN`."""
        lo, hi = -1.0 - MARGIN, 1.0 + MARGIN
        self.check(
            lambda: tf.logical_and(tf.reduce_min(images) >= lo, tf.reduce_max(images) <= hi),
            lambda: [
                f"{name} must be in [-1, 1] (margin {MARGIN:g}; 8-bit pixels map there with "
                f"x / 127.5 - 1). Received: {name} in [", _number(tf.reduce_min(images)), ", ",
                _number(tf.reduce_max(images)), "]",
            ],
        )

    def class_ids(self, labels, name, num_classes):
        """Every label is in ``[0, num_classes)``."""
        self.check(
            lambda: tf.logical_and(tf.reduce_min(labels) >= 0, tf.reduce_max(labels) < num_classes),
            lambda: [
                f"{name} must be class ids in [0, {num_classes}). Received: {name} in [",
                _number(tf.reduce_min(labels)), ", ", _number(tf.reduce_max(labels)), "]",
            ],
        )
