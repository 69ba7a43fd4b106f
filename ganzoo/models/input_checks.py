"""The checks of a GAN's training data: shapes, dtypes, scale, labels and batch splits.

One `InputChecks` object per GAN is used by `GAN.fit` (before any step: arrays
whole, a dataset's spec and first batch) and by `GAN.train_step` (in the
graph, for what is known only at run time). Every refusal is a ValueError
whose message says what was expected and ends with what was received; the
in-graph assertions carry the same texts (`run_time_checks`). Under XLA
(``jit_compile``), which compiles assertions to no-ops, the run-time checks
run in the input pipeline instead (`checked_dataset`).
"""

import numpy as np
import tensorflow as tf

from ganzoo import distribute, image_scale
from ganzoo.models import run_time_checks
from ganzoo.validation import check_class_ids, expected_class_ids


def check_conditioning(generator, discriminator, num_classes):
    """A conditional GAN needs both networks to take labels; an unconditional one neither."""
    want = 1 if num_classes is None else 2
    for role, net, first in (("generator", generator, "z"),
                             ("discriminator", discriminator, "images")):
        inputs = net.inputs or []
        if inputs and len(inputs) != want:
            names = [getattr(i, "name", "?") for i in inputs]
            if want == 2:
                raise ValueError(
                    f"A conditional GAN (num_classes={num_classes}) needs a {role} "
                    f"taking [{first}, labels], labels being int class ids of shape (batch,) "
                    f"(e.g. keras.Input((), dtype='int32')). Build it with num_classes, or pass "
                    f"num_classes=None for an unconditional GAN. Received: a {role} with "
                    f"{len(inputs)} input(s) {names}"
                )
            raise ValueError(
                f"An unconditional GAN (num_classes=None) needs a {role} taking {first} only; "
                f"pass num_classes for a {role} that also takes labels. Received: a {role} "
                f"with {len(inputs)} inputs {names}"
            )

def latent_dim_of(generator):
    z_input = generator.inputs[0] if generator.inputs else None
    if z_input is None or z_input.shape[-1] is None:
        raise ValueError(
            "Could not infer latent_dim from the generator's first input: build the "
            "generator as a functional keras.Model whose first input is "
            "keras.Input((latent_dim,)). "
            f"Received: generator.inputs={generator.inputs!r}"
        )
    return int(z_input.shape[-1])

def image_shape_of(generator, discriminator):
    x_input = discriminator.inputs[0] if discriminator.inputs else None
    if x_input is None or len(x_input.shape) != 4:
        raise ValueError(
            "The discriminator's first input must be images (batch, H, W, C): build it "
            "as a functional keras.Model whose first input is keras.Input((H, W, C)). "
            f"Received: discriminator.inputs={discriminator.inputs!r}"
        )
    image_shape = tuple(x_input.shape[1:])
    g_shape = tuple(generator.outputs[0].shape[1:])
    if g_shape != image_shape:
        raise ValueError(
            "The generator's output shape must equal the discriminator's input "
            f"shape {image_shape}. Received: generator output shape {g_shape}"
        )
    return image_shape


class InputChecks:
    """The data checks of one GAN.

    Args:
        image_shape: (H, W, C) of the GAN's images.
        num_classes: classes of a conditional GAN, or None.
        d_steps: discriminator steps per generator step (a batch splits into that many).
        model_replicas: callable returning the replicas of the model's
            strategy (`fit` runs outside the strategy's scope).

    Attributes:
        xla: True while an XLA-compiled step is traced (in-graph checks are
            then left to the input pipeline).
    """

    def __init__(self, image_shape, num_classes, d_steps, model_replicas):
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        self.d_steps = d_steps
        self.model_replicas = model_replicas
        self.xla = False
        self.first_batch_error = None
        self.first_batch_seen = False

    def unpack(self, data):
        """Splits a batch into float32 images and optional labels, checking both."""
        labels = None
        if isinstance(data, (tuple, list)):
            if not data:
                raise ValueError("Received an empty batch. Received: data=()")
            images = data[0]
            if len(data) > 1:
                labels = data[1]
        else:
            images = data
        images = tf.convert_to_tensor(images)
        self.check_images(tuple(images.shape), images.dtype)
        if self.num_classes is None:
            labels = None  # an unconditional GAN ignores labels in the data
        elif labels is None:
            raise ValueError(
                f"This GAN is conditional on {self.num_classes} classes: the data must "
                "yield (images, labels). Received: images only"
            )
        else:
            images, labels = self.check_labels_tensor(images, tf.convert_to_tensor(labels))
        return tf.cast(images, "float32"), labels

    def labels_message(self, received, hint=""):
        return f"Expected labels as {expected_class_ids(self.num_classes)}{hint}. Received: {received}"

    def check_labels_tensor(self, images, labels):
        """Checks labels against `images` and the classes: statically, else at run time.

        Returns ``(images, int32 labels (batch,))``, both depending on the
        run-time assertions.
        """
        checks, labels = self.label_checks(images, labels)
        return run_time_checks.after(checks, images, labels)

    def label_checks(self, images, labels):
        """Raises a ValueError for labels wrong in dtype, rank or static length.

        Returns:
            ``(checks, labels)``: the in-graph assertions of what is known only
            at run time (the values' range; the length if a batch size is
            dynamic) and the labels as int32 ``(batch,)``.
        """
        shape = tuple(labels.shape) if labels.shape.rank is not None else None
        if not labels.dtype.is_integer:
            hint = " (one-hot labels: take argmax(axis=-1))" if shape and len(shape) == 2 and (
                shape[1] is None or shape[1] > 1) else ""
            raise ValueError(self.labels_message(
                f"labels of dtype {labels.dtype.name} and shape {shape}", hint))
        if shape is not None and len(shape) == 2 and shape[1] == 1:
            labels, shape = labels[:, 0], (shape[0],)
        if shape is not None and len(shape) != 1:
            hint = " (one-hot labels: take argmax(axis=-1))" if len(shape) == 2 else ""
            raise ValueError(self.labels_message(f"labels of shape {shape}", hint))
        if shape is None:
            labels = tf.reshape(labels, [-1])
        n, m = images.shape[0], labels.shape[0]
        if n is not None and m is not None and n != m:
            raise ValueError(self.labels_message(f"{m} labels for a batch of {n} images"))
        checks = []
        if n is None or m is None:
            n_t, m_t = tf.shape(images)[0], tf.shape(labels)[0]
            checks.append(self.run_time_check(
                tf.equal(n_t, m_t), self.labels_message("{} labels for a batch of {} images"), m_t, n_t
            ))
        labels = tf.cast(labels, "int32")
        lo, hi = tf.reduce_min(labels), tf.reduce_max(labels)
        checks.append(self.run_time_check(
            tf.logical_and(lo >= 0, hi < self.num_classes), self.labels_message("labels in [{}, {}]"), lo, hi
        ))
        return checks, labels

    def checked_dataset(self, dataset):
        """`dataset` with each element checked in the input pipeline, when needed.

        A dynamic batch dimension and label values cannot be checked while
        tracing `train_step`, and under XLA (``jit_compile``) TensorFlow
        compiles in-graph assertions to no-ops. Checking in `tf.data`, outside
        the compiled step, catches them with any ``jit_compile``: the same
        messages, raised by `fit` as ValueErrors (`run_time_checks`).
        """
        spec = dataset.element_spec
        image_spec = spec[0] if isinstance(spec, (tuple, list)) else spec
        if not isinstance(image_spec, tf.TensorSpec) or len(image_spec.shape) == 0:
            return dataset
        conditional = (
            self.num_classes is not None and isinstance(spec, (tuple, list)) and len(spec) > 1
        )
        dynamic = image_spec.shape[0] is None
        if not (dynamic or conditional):
            return dataset
        replicas = self.model_replicas()

        def check(*element):
            images = element[0]
            checks = []
            if dynamic:
                n = tf.shape(images)[0]
                checks.append(self.assert_splits(n))
                if replicas > 1:
                    checks.append(self.run_time_check(
                        tf.equal(n % (replicas * self.d_steps), 0),
                        self.global_batch_message("{}", replicas), n,
                    ))
            if conditional:
                checks.extend(self.label_checks(images, tf.convert_to_tensor(element[1]))[0])
            return run_time_checks.after(checks, *element)

        if isinstance(spec, (tuple, list)):
            return dataset.map(lambda *e: check(*e))
        return dataset.map(lambda e: check(e)[0])

    def check_images(self, shape, dtype):
        """Raises a ValueError unless (shape, dtype) are float images for this model."""
        if not tf.as_dtype(dtype).is_floating:
            raise ValueError(
                "Expected float images scaled to [-1, 1] (use ganzoo.data.load, or "
                f"x / 127.5 - 1 for uint8 data). Received: images of dtype {tf.as_dtype(dtype).name}"
            )
        if len(shape) != 4 or tuple(shape[1:]) != tuple(self.image_shape):
            raise ValueError(
                f"Expected images of shape (batch, {', '.join(map(str, self.image_shape))}) "
                f"for this model. Received: images of shape {shape}"
            )

    def global_batch_message(self, n, replicas):
        return (
            f"A global batch is split over {replicas} replicas and then into d_steps="
            f"{self.d_steps} real batches (use batch_size * d_steps and drop_remainder=True), "
            f"so its size must be a multiple of {replicas * self.d_steps}. "
            f"Received: a global batch of {n} images"
        )

    def run_time_check(self, condition, template, *values):
        """`run_time_checks.assertion`, except while tracing an XLA-compiled step.

        XLA has no kernel for the string formatting of the message and compiles
        assertions to no-ops anyway; under ``jit_compile`` the same checks run
        in the input pipeline (`checked_dataset`) instead.
        """
        if self.xla:
            return tf.no_op()
        return run_time_checks.assertion(condition, template, *values)

    def batch_message(self, n):
        return (
            f"Each batch is split into d_steps={self.d_steps} real batches, one per "
            f"discriminator step, so its size must be a positive multiple of "
            f"{self.d_steps} (use batch_size * d_steps and drop_remainder=True). "
            f"Received: a batch of {n} images"
        )

    def assert_splits(self, n):
        """In-graph form of `split`'s check for a batch size `n` known only at run time."""
        return self.run_time_check(
            tf.logical_and(n >= self.d_steps, tf.equal(n % self.d_steps, 0)),
            self.batch_message("{}"), n,
        )

    def check_global_batch(self, n):
        """Under N replicas a global batch must split into N * d_steps equal parts."""
        replicas = self.model_replicas()  # fit runs outside the scope
        if n is not None and replicas > 1 and n % (replicas * self.d_steps):
            raise ValueError(self.global_batch_message(n, replicas))

    def check_global_batch_at_run_time(self, images, labels):
        """In a replica of a multi-replica step, the same check when the batch size is dynamic."""
        replicas = distribute.num_replicas()
        if replicas == 1 or images.shape[0] is not None:
            return images, labels
        ctx = tf.distribute.get_replica_context()
        total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.shape(images)[0])
        check = self.run_time_check(
            tf.equal(total % (replicas * self.d_steps), 0),
            self.global_batch_message("{}", replicas), total,
        )
        return run_time_checks.after([check], images, labels)

    def split(self, images, labels):
        """Splits the batch into `d_steps` disjoint, equal per-step real batches.

        A batch size known only at run time (a pipeline without
        ``drop_remainder``, ``filter``, a generator) is checked by an in-graph
        assertion with the same message as the static check.
        """
        n = images.shape[0]
        if n is not None and (n < self.d_steps or n % self.d_steps):
            raise ValueError(self.batch_message(n))
        if n is None and self.d_steps > 1:
            images, labels = run_time_checks.after([self.assert_splits(tf.shape(images)[0])], images, labels)
        # Strided, not contiguous: step i takes rows i, i + d, i + 2d, ... Under
        # tf.distribute each replica holds a contiguous slice of the global batch,
        # and the strided split makes the union of the replicas' step-i batches
        # exactly the step-i batch of one device (same math on any replica count).
        per_step = n // self.d_steps if n is not None else tf.shape(images)[0] // self.d_steps
        parts = []
        for i in range(self.d_steps):
            x = images[i :: self.d_steps]
            y = None if labels is None else labels[i :: self.d_steps]
            parts.append((x, y))
        return parts, per_step

    def check_first_batch(self, x, y=None, batch_size=None):
        """Checks what can be checked before `fit` reads any data.

        Arrays are checked whole. A dataset's element spec is checked here and
        its first element's values by `first_batch_checked`, in the pipeline.
        """
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            image_spec = spec[0] if isinstance(spec, (tuple, list)) else spec
            if isinstance(image_spec, tf.TensorSpec):
                self.check_images(tuple(image_spec.shape), image_spec.dtype)
                self.check_global_batch(image_spec.shape[0])
            if int(x.cardinality()) == 0:
                raise ValueError("The training dataset is empty. Received: an empty tf.data.Dataset")
            if (self.num_classes is not None and isinstance(spec, (tuple, list)) and len(spec) > 1
                    and isinstance(spec[1], tf.TensorSpec) and spec[1].shape.rank is not None):
                # The labels' dtype and static shape, checked as a batch of zeros
                # of that spec (unknown dimensions as 1); values come in the pipeline.
                n = image_spec.shape[0] if isinstance(image_spec, tf.TensorSpec) else None
                shape = [1 if d is None else d for d in spec[1].shape]
                num = n if n is not None and spec[1].shape[0] is not None else None
                check_class_ids(np.zeros(shape, spec[1].dtype.as_numpy_dtype), self.num_classes,
                                num=num, what="labels")
            return
        if not (isinstance(x, np.ndarray) or tf.is_tensor(x)):
            return  # generators and other iterables are checked per batch in train_step
        values = np.asarray(x)
        self.check_images(values.shape, values.dtype)
        n = values.shape[0]
        # Keras batches arrays itself, keeping a smaller last batch.
        per_batch = 32 if batch_size is None else int(batch_size)
        self.check_batch_values(values, y, sorted({min(per_batch, n), n % per_batch} - {0}))

    def first_batch_checked(self, dataset):
        """`dataset` whose first element goes through `check_batch_values` on its way out.

        The check runs in Python (`tf.py_function`) on element 0 only; its
        ValueError is kept in ``self.first_batch_error`` and re-raised by
        `fit`, before any step has run.
        """
        spec = dataset.element_spec
        if isinstance(spec, (tuple, list)) and len(spec) > 2:
            return dataset

        def check(images, labels=None):
            self.first_batch_seen = True
            try:
                values = np.asarray(images)
                self.check_images(values.shape, values.dtype)
                # One element is one batch: its actual size (the static shape may
                # be unknown); later batches are checked at run time.
                self.check_batch_values(
                    values, None if labels is None else np.asarray(labels), [values.shape[0]]
                )
            except ValueError as e:
                self.first_batch_error = e
                raise
            return np.int32(0)

        @tf.autograph.experimental.do_not_convert
        def first(i, element):
            parts = tuple(element) if isinstance(element, (tuple, list)) else (element,)
            checked = tf.cond(
                tf.equal(i, 0),
                lambda: tf.numpy_function(check, list(parts[:2]), tf.int32, stateful=True),
                lambda: tf.constant(0, tf.int32),
            )
            out = run_time_checks.after([checked], *parts)
            return out if isinstance(element, (tuple, list)) else out[0]

        return dataset.enumerate().map(first)

    def check_batch_values(self, values, labels, sizes):
        """Raises a ValueError unless `values` (a first batch) and `labels` are valid data."""
        n = values.shape[0]
        for size in sizes:
            if size < self.d_steps or size % self.d_steps:
                raise ValueError(self.batch_message(size))
            self.check_global_batch(size)
        if not np.all(np.isfinite(values)):
            raise ValueError(
                "The training images contain NaN or infinite values. "
                "Received: a first batch with non-finite values"
            )
        lo, hi = float(values.min()), float(values.max())
        problem = image_scale.signed_problem(lo, hi)
        if problem is not None:
            raise ValueError(
                "Expected training images scaled to [-1, 1] (ganzoo.data.load does this): "
                f"{problem}. Received: a first batch with values in {image_scale.fmt_range(lo, hi)}"
            )
        if self.num_classes is not None and labels is not None:
            check_class_ids(np.asarray(labels), self.num_classes, num=n, what="labels")

    def check_pairing(self, loss_name, g_batch_size, g_batch, per_step, replicas, real, real_labels):
        """A loss that pairs each generated image with a real one needs ``g_batch_size``
        equal to one discriminator step's batch: checked now, or in the graph when the batch
        size is known only at run time. Returns ``(real, real_labels)`` after the check."""
        message = (  # no quotes: the run-time assertion would escape them
            f"The {loss_name} loss pairs each generated image with one real image "
            f"of a discriminator step, so g_batch_size must equal the batch of one "
            "discriminator step ({} images) or be unset. Received: "
            f"g_batch_size={g_batch_size}"
        )
        if isinstance(per_step, int):
            if g_batch != per_step:
                raise ValueError(message.format(per_step * replicas))
        else:  # a batch size known only at run time
            check = self.run_time_check(
                tf.equal(per_step, g_batch), message, per_step * replicas
            )
            real, real_labels = run_time_checks.after([check], real, real_labels)
        return real, real_labels

    def fit(self, keras_fit, x=None, y=None, **kwargs):
        """`keras_fit` (the model's `keras.Model.fit`) with the data checked first (see `GAN.fit`)."""
        self.check_first_batch(x, y, kwargs.get("batch_size"))
        if not (isinstance(x, np.ndarray) or tf.is_tensor(x)):
            kwargs.setdefault("shuffle", False)  # a Dataset or generator shuffles itself
        if not isinstance(x, tf.data.Dataset):
            return keras_fit(x, y, **kwargs)
        # A dataset's first batch is checked as it comes out of the pipeline that
        # fit reads (a separate look would fill shuffle buffers and caches twice).
        self.first_batch_error = None
        self.first_batch_seen = False
        try:
            history = keras_fit(self.checked_dataset(self.first_batch_checked(x)), y, **kwargs)
        except tf.errors.OpError:
            error, self.first_batch_error = self.first_batch_error, None
            if error is not None:
                raise error from None
            raise
        # An epoch that ran without its first batch: the dataset was empty. (No epoch
        # at all is a resumed run that was already complete.)
        if history.epoch and not self.first_batch_seen:
            raise ValueError("The training dataset is empty. Received: a tf.data.Dataset that "
                             "produced no element")
        return history
