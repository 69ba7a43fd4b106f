"""The GAN training engine: a `keras.Model` whose `train_step` plays the game.

`GAN` holds a generator and a discriminator (both `keras.Model`; the
discriminator returns logits) and overrides `train_step`, so `model.fit` on a
`tf.data` pipeline trains it with every Keras callback. Family classes
(`DCGAN`, `WGANGP`, `SNGAN`) only say what their algorithm changes: the loss,
the penalty, the number of discriminator steps, and the paper's optimizers.

One call of `train_step` is one generator iteration of the papers' algorithms
(e.g. Gulrajani et al. 2017, Algorithm 1): the batch it receives holds
``d_steps * batch_size`` real images and is split into ``d_steps`` disjoint
real batches, one per discriminator step; then one generator step follows.
"""

import contextlib

import numpy as np
import tensorflow as tf
import keras

from ganzoo import augment as augment_lib
from ganzoo import image_scale
from ganzoo import losses as losses_lib
from ganzoo import optimizers as optimizers_lib
from ganzoo.models import run_time_checks
from ganzoo.networks import inference
from ganzoo.validation import check_class_ids, check_latent, check_number, expected_class_ids


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _sublayers(model):
    """Every layer inside `model`, recursively (nested layers included)."""
    return model._flatten_layers(include_self=False, recursive=True)


def _on_cpus():
    """True when every device of the current (multi-replica) strategy is a CPU."""
    devices = tf.distribute.get_strategy().extended.worker_devices
    return all("CPU" in d.upper() for d in devices)


def _on_accelerator_free_host():
    """True when TensorFlow sees neither a GPU nor a TPU."""
    return not (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


def _replica_mean(value):
    """Mean of `value` over the replicas (identity on one device or outside a replica context)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, value)


def _after(checks, *tensors):
    """`tensors`, made to depend on `checks` (so nothing computed from them runs first)."""
    if not checks:
        return tensors
    with tf.control_dependencies(checks):
        return tuple(None if t is None else tf.identity(t) for t in tensors)


def _is_multi_worker():
    return isinstance(
        tf.distribute.get_strategy(),
        (tf.distribute.MultiWorkerMirroredStrategy, tf.distribute.experimental.MultiWorkerMirroredStrategy),
    )


@keras.saving.register_keras_serializable(package="ganzoo")
class GAN(keras.Model):
    """A generative adversarial network trained with `fit`.

    Args:
        generator: `keras.Model` mapping ``z`` (batch, latent_dim) — or
            ``[z, labels]`` when conditional — to images (batch, H, W, C) in
            [-1, 1].
        discriminator: `keras.Model` mapping images (batch, H, W, C) — or
            ``[images, labels]`` — to logits (batch, 1).
        loss: name of an adversarial loss in `ganzoo.losses` (default: the
            family's).
        d_steps: discriminator steps per generator step (default: the
            family's). Each gets its own slice of the real batch.
        g_batch_size: number of latent samples in the generator step, over
            all replicas (default: the per-D-step batch size).
        optimizer_settings: dict ``{"d": settings, "g": settings}`` used by
            `compile()` when no optimizer is passed (see `ganzoo.optimizers`);
            default: the family's published settings.
        num_classes: number of classes for a conditional GAN (generator and
            discriminator then take labels), or None.
        seed: int seed of the model's `keras.random.SeedGenerator`, the
            source of every random number drawn in `train_step`.
        ema_decay: if set (e.g. 0.999), keep ``ema_generator``, an exponential
            moving average of the generator's weights updated after every
            generator step (Yazici et al. 2019, "The Unusual Effectiveness of
            Averaging in GAN Training", arXiv:1806.04498), named
            ``<generator name>_ema``; `generate` and the export then use it
            (``gan(z)`` and `predict` keep the raw generator). BatchNorm moving statistics are averaged with
            the same decay as the weights, so they cover the same window of
            steps (and are copied, like the weights, before ``ema_start``).
        ema_start: generator steps during which the EMA generator is a copy of
            the generator (decay 0); averaging starts after (BigGAN, Brock et
            al. 2018, arXiv:1809.11096, starts at 20k steps). Default 0.
        ema_warmup: if True, step ``s`` after ``ema_start`` uses the decay
            ``min(ema_decay, (1 + s) / (10 + s))``, so early averages forget
            the initial weights quickly.
        augment: a differentiable augmentation applied to real and generated
            images before every discriminator call, in the discriminator
            steps, the generator step and inside the penalties: an
            `ganzoo.augment.Augment` layer or a spec for `ganzoo.augment.get`
            (``"diffaugment"``, ``"diffaugment:translation,cutout"``,
            ``"ada"``). With ADA the probability is adapted after every
            discriminator step and logged as ``aug_p``.
        r1_weight: gamma of the R1 penalty (Mescheder et al. 2018,
            arXiv:1801.04406): ``gamma / 2 * R1`` is added to the
            discriminator loss; logged (unweighted) as ``r1``. Default 0 (off).
        r2_weight: the same for R2 (generated images), logged as ``r2``.
        penalty_interval: lazy regularization (Karras et al. 2020, StyleGAN2,
            arXiv:1912.04958, Section 3.1): R1 and R2 are computed on every
            ``penalty_interval``-th discriminator step only, multiplied by
            ``penalty_interval``. Default 1 (every step). Under XLA the
            penalties are computed every step and kept every k-th (same
            result, no saving: XLA cannot differentiate them inside a tf.cond).
        lecam_weight: lambda of the LeCam regularizer (Tseng et al. 2021,
            arXiv:2104.03310), logged (unweighted) as ``lecam``. Its anchors
            are non-trainable weights saved with the model. Default 0 (off).
        lecam_decay: decay of the LeCam anchors' moving averages (0.99).
        instance_noise: sigma of Gaussian noise added to every image the
            discriminator sees (Sønderby et al. 2016, arXiv:1610.04490;
            Arjovsky & Bottou 2017, arXiv:1701.04862), in image units
            ([-1, 1] scale). Default 0 (off).
        instance_noise_steps: generator steps over which sigma decays
            linearly to 0 (None: constant).
        ema_step_offset: generator steps the weights were trained for before
            this model's optimizers began counting (a fine-tuned model: its
            source's; set by `ganzoo.pretrained` and ``ganzoo train
            --pretrained/--init-from``). The EMA schedule (``ema_start``,
            warm-up) counts from there, so the EMA generator continues.
        sync_batchnorm: how BatchNorm layers behave under tf.distribute with
            more than one replica. None (default) or True: batch statistics
            over all replicas (`keras.layers.BatchNormalization(
            synchronized=True)`), so N replicas train and log exactly like one
            device at the same global batch. False: each replica normalizes by
            its own batch's statistics, and the moving mean and variance are
            averaged over replicas after every step (exact for the mean; the
            variance is the mean of the per-replica variances), so every
            variable stays identical on every replica and worker. No effect on
            one device.

    Example:

    ```python
    gan = ganzoo.create_model("dcgan_mnist")
    gan.fit(ganzoo.data.load("mnist_5k", batch_size=128), epochs=1)
    images = gan.generate(16, seed=0)  # (16, 28, 28, 1) float32 in [-1, 1]
    ```
    """

    #: Defaults of the family; subclasses override them with the paper's.
    default_loss = "non_saturating"
    default_d_steps = 1
    default_optimizer_settings = {
        "d": {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999},
        "g": {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999},
    }
    #: Metric names logged by `train_step`, in order.
    metric_names = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(
        self,
        generator,
        discriminator,
        loss=None,
        d_steps=None,
        g_batch_size=None,
        optimizer_settings=None,
        num_classes=None,
        seed=None,
        ema_decay=None,
        sync_batchnorm=None,
        ema_start=0,
        ema_warmup=False,
        augment=None,
        r1_weight=0.0,
        r2_weight=0.0,
        penalty_interval=1,
        lecam_weight=0.0,
        lecam_decay=0.99,
        instance_noise=0.0,
        instance_noise_steps=None,
        ema_step_offset=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for role, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, keras.Model):
                raise ValueError(
                    f"The {role} must be a keras.Model. Received: {role}={net!r}"
                )
        self.generator = generator
        self.discriminator = discriminator
        self.loss_name = loss or self.default_loss
        self.adversarial_loss = losses_lib.get_loss(self.loss_name)
        self.d_steps = self.default_d_steps if d_steps is None else d_steps
        if not isinstance(self.d_steps, (int, np.integer)) or self.d_steps < 1:
            raise ValueError(
                f"d_steps must be a positive integer. Received: d_steps={d_steps!r}"
            )
        self.d_steps = int(self.d_steps)
        if g_batch_size is not None and (
            not isinstance(g_batch_size, (int, np.integer)) or g_batch_size < 1
        ):
            raise ValueError(
                "g_batch_size must be a positive integer or None. "
                f"Received: g_batch_size={g_batch_size!r}"
            )
        self.g_batch_size = g_batch_size
        self.optimizer_settings = optimizer_settings or self.default_optimizer_settings
        if set(self.optimizer_settings) != {"d", "g"}:
            raise ValueError(
                "optimizer_settings must have exactly the keys 'd' and 'g'. "
                f"Received: optimizer_settings={optimizer_settings!r}"
            )
        if num_classes is not None:
            num_classes = check_number("num_classes", num_classes, 1, integer=True)
        self.num_classes = num_classes
        self._check_conditioning()
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Validation (test_step) draws from its own stream, so that
        # fit(validation_data=...) leaves the training noise unchanged.
        self.validation_seed_generator = keras.random.SeedGenerator(
            None if seed is None else int(seed) + 7919
        )
        # Set while a step is traced (`_tracing`): XLA-compiled, validating.
        self._tracing_xla_step = False
        self._validating = False
        self.latent_dim = self._infer_latent_dim()
        self.image_shape = self._infer_image_shape()
        if ema_decay is not None:
            ema_decay = check_number("ema_decay", ema_decay, 0.0, 1.0, open_low=True, open_high=True)
        self.ema_start = check_number("ema_start", ema_start, 0, integer=True)
        if not isinstance(ema_warmup, (bool, np.bool_)):
            raise ValueError(f"ema_warmup must be True or False. Received: ema_warmup={ema_warmup!r}")
        self.ema_warmup = bool(ema_warmup)
        if ema_decay is None and (self.ema_start or self.ema_warmup):
            raise ValueError(
                "ema_start and ema_warmup configure the generator's EMA, which needs ema_decay "
                f"(e.g. 0.999). Received: ema_decay=None, ema_start={ema_start!r}, "
                f"ema_warmup={ema_warmup!r}"
            )
        self.r1_weight = check_number("r1_weight", r1_weight, 0.0)
        self.r2_weight = check_number("r2_weight", r2_weight, 0.0)
        self.penalty_interval = check_number("penalty_interval", penalty_interval, 1, integer=True)
        self.lecam_weight = check_number("lecam_weight", lecam_weight, 0.0)
        self.lecam_decay = check_number("lecam_decay", lecam_decay, 0.0, 1.0, open_high=True)
        self.instance_noise = check_number("instance_noise", instance_noise, 0.0)
        if instance_noise_steps is not None:
            instance_noise_steps = check_number("instance_noise_steps", instance_noise_steps, 1, integer=True)
        self.instance_noise_steps = instance_noise_steps
        self.ema_step_offset = check_number("ema_step_offset", ema_step_offset, 0, integer=True)
        self.augment = augment_lib.get(augment)
        if self.lecam_weight:
            # [anchor on real, anchor on fake, number of updates so far]
            self.lecam_anchors = self.add_weight(
                shape=(3,), initializer="zeros", trainable=False, name="lecam_anchors",
                dtype="float32", aggregation="only_first_replica",
            )
        if sync_batchnorm is not None and not isinstance(sync_batchnorm, bool):
            raise ValueError(
                "sync_batchnorm must be True, False or None (synchronized when there is more "
                f"than one replica). Received: sync_batchnorm={sync_batchnorm!r}"
            )
        self.sync_batchnorm = sync_batchnorm
        if self.sync_batchnorm:
            self._synchronize_batchnorm()
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_generator = None
        if self.ema_decay is not None:
            config = keras.saving.serialize_keras_object(generator)
            if "name" in config.get("config", {}):  # summary() tells the two apart
                config["config"]["name"] = f"{generator.name}_ema"
            self.ema_generator = keras.saving.deserialize_keras_object(config)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        extra = [n for n, on in (("r1", self.r1_weight), ("r2", self.r2_weight),
                                 ("lecam", self.lecam_weight)) if on]
        self.metric_names = tuple(type(self).metric_names) + tuple(extra)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.metric_names}
        self.d_optimizer = None
        self.g_optimizer = None

    # --- BatchNorm under tf.distribute ----------------------------------------
    def _batchnorm_layers(self):
        return [layer for net in (self.generator, self.discriminator) for layer in _sublayers(net)
                if isinstance(layer, keras.layers.BatchNormalization)]

    def _synchronize_batchnorm(self):
        for layer in self._batchnorm_layers():
            layer.synchronized = True

    def _average_batchnorm_statistics(self):
        """Moving mean and variance of every unsynchronized BatchNorm := their replica mean."""
        stats = [v for layer in self._batchnorm_layers() if not layer.synchronized
                 for v in (layer.moving_mean, layer.moving_variance)]
        if not stats:
            return
        context = tf.distribute.get_replica_context()
        means = context.all_reduce(tf.distribute.ReduceOp.MEAN, [tf.identity(v.value) for v in stats])
        for v, mean in zip(stats, means):
            v.assign(mean)

    # --- structure ---------------------------------------------------------

    def _check_conditioning(self):
        """A conditional GAN needs both networks to take labels; an unconditional one neither."""
        want = 1 if self.num_classes is None else 2
        for role, net, first in (("generator", self.generator, "z"),
                                 ("discriminator", self.discriminator, "images")):
            inputs = net.inputs or []
            if inputs and len(inputs) != want:
                names = [getattr(i, "name", "?") for i in inputs]
                if want == 2:
                    raise ValueError(
                        f"A conditional GAN (num_classes={self.num_classes}) needs a {role} "
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

    def _infer_latent_dim(self):
        z_input = self.generator.inputs[0] if self.generator.inputs else None
        if z_input is None or z_input.shape[-1] is None:
            raise ValueError(
                "Could not infer latent_dim from the generator's first input: build the "
                "generator as a functional keras.Model whose first input is "
                "keras.Input((latent_dim,)). "
                f"Received: generator.inputs={self.generator.inputs!r}"
            )
        return int(z_input.shape[-1])

    def _infer_image_shape(self):
        x_input = self.discriminator.inputs[0] if self.discriminator.inputs else None
        if x_input is None or len(x_input.shape) != 4:
            raise ValueError(
                "The discriminator's first input must be images (batch, H, W, C): build it "
                "as a functional keras.Model whose first input is keras.Input((H, W, C)). "
                f"Received: discriminator.inputs={self.discriminator.inputs!r}"
            )
        image_shape = tuple(x_input.shape[1:])
        g_shape = tuple(self.generator.outputs[0].shape[1:])
        if g_shape != image_shape:
            raise ValueError(
                "The generator's output shape must equal the discriminator's input "
                f"shape {image_shape}. Received: generator output shape {g_shape}"
            )
        return image_shape

    def build(self, input_shape=None):
        # Both networks are functional models, built at construction.
        self.built = True

    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.build()

    def call(self, inputs, training=False):
        """Runs the raw generator: ``z`` (or ``[z, labels]``) -> images (also `predict`).

        The weights being trained, never the EMA ones: `generate` samples the EMA
        generator when the GAN has one (`sampling_generator`).
        """
        return self.generator(inputs, training=training)

    # --- compile -----------------------------------------------------------

    def compile(
        self, d_optimizer=None, g_optimizer=None, jit_compile="auto", **kwargs
    ):
        """Configures the two optimizers.

        Args:
            d_optimizer: discriminator optimizer: a `keras.optimizers.Optimizer`,
                a name, or settings (see `ganzoo.optimizers`). Default: this
                model's ``optimizer_settings["d"]``, which then describes the
                optimizer compiled (`ganzoo.optimizers.settings_of`).
            g_optimizer: the same for the generator.
            jit_compile: True, False or "auto". "auto" turns XLA off on
                CPUs, where TensorFlow's oneDNN kernels were faster than XLA
                for every MNIST entry (1.2-1.8x in float32, 1.6-2.2x in
                bfloat16; ``benchmarks/README.md``), and on for a single GPU
                or TPU replica. Under a multi-replica CPU strategy XLA fails,
                so True is refused there.
            **kwargs: passed to `keras.Model.compile` (e.g.
                ``steps_per_execution``); ``loss``, ``optimizer`` and
                ``metrics`` are not accepted: the GAN owns them.
        """
        for key in ("loss", "optimizer", "metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"GAN.compile does not take `{key}`: the loss is set by the "
                    "model's `loss` argument, the optimizers by `d_optimizer` and "
                    f"`g_optimizer`, and metrics are built in. Received: {key}={kwargs[key]!r}"
                )
            kwargs.pop(key, None)
        if jit_compile == "auto":
            jit_compile = _num_replicas() == 1 and not _on_accelerator_free_host()
        elif jit_compile and _num_replicas() > 1 and _on_cpus():
            raise ValueError(
                "XLA (jit_compile=True, --xla on) fails under a multi-replica strategy on CPUs "
                "(TensorFlow cannot place the compiled step's resources across CPU "
                "devices); use jit_compile='auto' or False (--xla auto/off). Received: jit_compile=True "
                f"with {_num_replicas()} CPU replicas"
            )
        d_spec = d_optimizer if d_optimizer is not None else self.optimizer_settings["d"]
        g_spec = g_optimizer if g_optimizer is not None else self.optimizer_settings["g"]
        self.d_optimizer = optimizers_lib.build_optimizer(d_spec, step_divisor=self.d_steps)
        self.g_optimizer = optimizers_lib.build_optimizer(g_spec)
        # The config reports the optimizers the model trains with.
        self.optimizer_settings = {"d": optimizers_lib.settings_of(d_spec, self.d_optimizer, self.d_steps),
                                   "g": optimizers_lib.settings_of(g_spec, self.g_optimizer)}
        if self.generator.dtype_policy.name == "mixed_float16":
            # float16 gradients underflow: dynamic loss scaling on both players.
            if not isinstance(self.d_optimizer, keras.optimizers.LossScaleOptimizer):
                self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
            if not isinstance(self.g_optimizer, keras.optimizers.LossScaleOptimizer):
                self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)
        super().compile(optimizer=None, jit_compile=jit_compile, **kwargs)
        # Build the optimizer slots now (inside any strategy scope), so that
        # checkpoints restore their state and distribution works.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.build()

    def get_compile_config(self):
        if self.d_optimizer is None:
            return None
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "jit_compile": self.jit_compile,
        }

    def compile_from_config(self, config):
        self.compile(
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
            jit_compile=config.get("jit_compile", "auto"),
        )

    # --- metrics -----------------------------------------------------------

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _results(self):
        return {name: t.result() for name, t in self.trackers.items()}

    # --- data checks -------------------------------------------------------

    def _unpack(self, data):
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
        self._check_images(tuple(images.shape), images.dtype)
        if self.num_classes is None:
            labels = None  # an unconditional GAN ignores labels in the data
        elif labels is None:
            raise ValueError(
                f"This GAN is conditional on {self.num_classes} classes: the data must "
                "yield (images, labels). Received: images only"
            )
        else:
            images, labels = self._check_labels_tensor(images, tf.convert_to_tensor(labels))
        return tf.cast(images, "float32"), labels

    def _labels_message(self, received, hint=""):
        return f"Expected labels as {expected_class_ids(self.num_classes)}{hint}. Received: {received}"

    def _check_labels_tensor(self, images, labels):
        """Checks labels against `images` and the classes: statically, else at run time.

        Returns ``(images, int32 labels (batch,))``, both depending on the
        run-time assertions.
        """
        checks, labels = self._label_checks(images, labels)
        return _after(checks, images, labels)

    def _label_checks(self, images, labels):
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
            raise ValueError(self._labels_message(
                f"labels of dtype {labels.dtype.name} and shape {shape}", hint))
        if shape is not None and len(shape) == 2 and shape[1] == 1:
            labels, shape = labels[:, 0], (shape[0],)
        if shape is not None and len(shape) != 1:
            hint = " (one-hot labels: take argmax(axis=-1))" if len(shape) == 2 else ""
            raise ValueError(self._labels_message(f"labels of shape {shape}", hint))
        if shape is None:
            labels = tf.reshape(labels, [-1])
        n, m = images.shape[0], labels.shape[0]
        if n is not None and m is not None and n != m:
            raise ValueError(self._labels_message(f"{m} labels for a batch of {n} images"))
        checks = []
        if n is None or m is None:
            n_t, m_t = tf.shape(images)[0], tf.shape(labels)[0]
            checks.append(self._run_time_check(
                tf.equal(n_t, m_t), self._labels_message("{} labels for a batch of {} images"), m_t, n_t
            ))
        labels = tf.cast(labels, "int32")
        lo, hi = tf.reduce_min(labels), tf.reduce_max(labels)
        checks.append(self._run_time_check(
            tf.logical_and(lo >= 0, hi < self.num_classes), self._labels_message("labels in [{}, {}]"), lo, hi
        ))
        return checks, labels

    def _checked_dataset(self, dataset):
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
        replicas = self.distribute_strategy.num_replicas_in_sync

        def check(*element):
            images = element[0]
            checks = []
            if dynamic:
                n = tf.shape(images)[0]
                checks.append(self._assert_splits(n))
                if replicas > 1:
                    checks.append(self._run_time_check(
                        tf.equal(n % (replicas * self.d_steps), 0),
                        self._global_batch_message("{}", replicas), n,
                    ))
            if conditional:
                checks.extend(self._label_checks(images, tf.convert_to_tensor(element[1]))[0])
            return _after(checks, *element)

        if isinstance(spec, (tuple, list)):
            return dataset.map(lambda *e: check(*e))
        return dataset.map(lambda e: check(e)[0])

    def _check_images(self, shape, dtype):
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

    def _global_batch_message(self, n, replicas):
        return (
            f"A global batch is split over {replicas} replicas and then into d_steps="
            f"{self.d_steps} real batches (use batch_size * d_steps and drop_remainder=True), "
            f"so its size must be a multiple of {replicas * self.d_steps}. "
            f"Received: a global batch of {n} images"
        )

    def _run_time_check(self, condition, template, *values):
        """`run_time_checks.assertion`, except while tracing an XLA-compiled step.

        XLA has no kernel for the string formatting of the message and compiles
        assertions to no-ops anyway; under ``jit_compile`` the same checks run
        in the input pipeline (`_checked_dataset`) instead.
        """
        if self._tracing_xla_step:
            return tf.no_op()
        return run_time_checks.assertion(condition, template, *values)

    def _batch_message(self, n):
        return (
            f"Each batch is split into d_steps={self.d_steps} real batches, one per "
            f"discriminator step, so its size must be a positive multiple of "
            f"{self.d_steps} (use batch_size * d_steps and drop_remainder=True). "
            f"Received: a batch of {n} images"
        )

    def _assert_splits(self, n):
        """In-graph form of `_split`'s check for a batch size `n` known only at run time."""
        return self._run_time_check(
            tf.logical_and(n >= self.d_steps, tf.equal(n % self.d_steps, 0)),
            self._batch_message("{}"), n,
        )

    def _check_global_batch(self, n):
        """Under N replicas a global batch must split into N * d_steps equal parts."""
        replicas = self.distribute_strategy.num_replicas_in_sync  # fit runs outside the scope
        if n is not None and replicas > 1 and n % (replicas * self.d_steps):
            raise ValueError(self._global_batch_message(n, replicas))

    def _check_global_batch_at_run_time(self, images, labels):
        """In a replica of a multi-replica step, the same check when the batch size is dynamic."""
        replicas = _num_replicas()
        if replicas == 1 or images.shape[0] is not None:
            return images, labels
        ctx = tf.distribute.get_replica_context()
        total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.shape(images)[0])
        check = self._run_time_check(
            tf.equal(total % (replicas * self.d_steps), 0),
            self._global_batch_message("{}", replicas), total,
        )
        return _after([check], images, labels)

    def _split(self, images, labels):
        """Splits the batch into `d_steps` disjoint, equal per-step real batches.

        A batch size known only at run time (a pipeline without
        ``drop_remainder``, ``filter``, a generator) is checked by an in-graph
        assertion with the same message as the static check.
        """
        n = images.shape[0]
        if n is not None and (n < self.d_steps or n % self.d_steps):
            raise ValueError(self._batch_message(n))
        if n is None and self.d_steps > 1:
            images, labels = _after([self._assert_splits(tf.shape(images)[0])], images, labels)
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

    # --- sampling ----------------------------------------------------------

    def _replica_draw(self, draw, batch):
        """`draw(global_batch)`, then this replica's slice of it.

        Every replica holds the same SeedGenerator state, so each draws the
        same global sample and keeps its own rows: replicas get independent
        noise, and N replicas see exactly the noise of one device.
        """
        replicas = _num_replicas()
        if replicas == 1:
            return draw(batch)
        values = draw(batch * replicas)
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        return values[replica_id * batch : (replica_id + 1) * batch]

    def _sample_latent(self, batch):
        return self._replica_draw(
            lambda n: keras.random.normal((n, self.latent_dim), seed=self._rng()), batch
        )

    def _sample_labels(self, batch):
        if self.num_classes is None:
            return None
        return self._replica_draw(
            lambda n: keras.random.randint(
                (n,), 0, self.num_classes, seed=self._rng(), dtype="int32"
            ),
            batch,
        )

    def _rng(self):
        """The SeedGenerator of the step being traced: training or validation."""
        return self.validation_seed_generator if self._validating else self.seed_generator

    def _generator_inputs(self, z, labels):
        return z if labels is None else [z, labels]

    def _discriminate(self, images, labels, training=True):
        inputs = images if labels is None else [images, labels]
        return tf.cast(self.discriminator(inputs, training=training), "float32")

    # --- the game ----------------------------------------------------------

    #: Whether the discriminator step's generated images take the real batch's
    #: labels (True) or labels drawn uniformly (False); conditional GANs only.
    fake_labels_from_real = False

    def discriminator_penalty(self, real, fake, labels, critic):
        """Extra discriminator loss term of the family and its metrics; none in the base GAN.

        Args:
            real: float32 (batch, H, W, C), the step's real images.
            fake: float32 (batch, H, W, C), its generated images (constants).
            labels: int32 (batch,) labels of both, or None.
            critic: callable ``images`` or ``[images, labels]`` -> logits
                (batch, 1), the discriminator behind this step's augmentation
                and instance noise (see `_critic`).

        Returns:
            ``(penalty, metrics)``: a float32 scalar already weighted (or None)
            and a dict of metric name -> value.
        """
        return None, {}

    def _apply(self, optimizer, tape, loss, variables):
        grads = tape.gradient(loss, variables)
        # Dense gradients for embedding lookups (class embeddings, conditional
        # BatchNorm): Keras 3.15's Adam squares an IndexedSlices gradient row by
        # row before summing repeated rows (v gets sum g_i^2, not (sum g_i)^2),
        # so per-class parameters would move up to sqrt(count) * lr per step.
        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        optimizer.apply(grads, variables)

    def _scale_for_replicas(self, loss):
        # apply() sums gradients over replicas; each replica's loss is the mean
        # over its own (equal-sized) slice, so dividing by the replica count
        # gives the mean over the global batch.
        replicas = _num_replicas()
        return loss / replicas if replicas > 1 else loss

    def _uses_real_labels_for_fakes(self):
        return self.num_classes is not None and (
            self.fake_labels_from_real or self.adversarial_loss.pairs_real_and_fake
        )

    def _instance_noise_sigma(self):
        sigma = tf.constant(self.instance_noise, "float32")
        if self.instance_noise_steps is None:
            return sigma
        t = tf.cast(self.g_optimizer.iterations, "float32")
        return sigma * tf.maximum(0.0, 1.0 - t / float(self.instance_noise_steps))

    def _critic(self, batch):
        """The discriminator as the losses see it in one step, for `batch` images.

        Draws this call's augmentation parameters and instance noise (from the
        model's SeedGenerator, per replica as in `_replica_draw`) and returns
        ``critic(inputs, training=True)`` with ``inputs`` images or ``[images,
        labels]``, which augments, adds the noise and returns float32 logits.
        Penalties differentiate through it with respect to the un-augmented
        images (as StyleGAN2-ADA does).
        """
        aug = None
        if self.augment is not None:
            k = self.augment.num_random(self.image_shape)
            aug = self._replica_draw(
                lambda n: keras.random.uniform((n, k), seed=self._rng()), batch
            )
        noise = None
        if self.instance_noise:
            noise = self._replica_draw(
                lambda n: keras.random.normal((n,) + tuple(self.image_shape), seed=self._rng()),
                batch,
            ) * self._instance_noise_sigma()

        def critic(inputs, training=True):
            images, labels = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
            images = tf.cast(images, "float32")
            if aug is not None:
                images = self.augment(images, noise=aug, training=True)
            if noise is not None:
                images = images + noise
            return self._discriminate(images, labels, training=training)

        return critic

    @staticmethod
    def _inputs(images, labels):
        return images if labels is None else [images, labels]

    def _lazy(self, compute):
        """`compute()` scaled by penalty_interval on every penalty_interval-th D step, else 0.

        Returns:
            ``(weighted value, due)`` with ``due`` 1.0 when computed, else 0.0.
        """
        k = self.penalty_interval
        if k == 1:
            return compute(), tf.constant(1.0)
        due = tf.equal(tf.math.floormod(self.d_optimizer.iterations, k), 0)
        if self.jit_compile or tf.distribute.has_strategy():
            # XLA cannot differentiate the nested penalty gradient inside a tf.cond
            # ("InvertPermutation: 0 is duplicated"), and under a tf.distribute
            # strategy the discriminator's state updates inside a tf.cond (spectral-norm
            # vectors, BatchNorm statistics) are synchronisation points ("merge_call
            # called while defining a new graph"): compute it every step and keep
            # every k-th, so the result is the same and only the saving is lost. The
            # discarded computations must leave no trace either: the discriminator's
            # state they move (BatchNorm statistics, spectral-norm vectors) is put back.
            state = self.discriminator.non_trainable_variables
            saved = [tf.identity(v.value) for v in state]
            value = compute()
            with tf.control_dependencies([value]):
                for v, old in zip(state, saved):
                    v.assign(tf.where(due, v.value, old))
            return value * float(k) * tf.cast(due, "float32"), tf.cast(due, "float32")
        value = tf.cond(due, lambda: compute() * float(k), lambda: tf.constant(0.0))
        return value, tf.cast(due, "float32")

    def _regularizers(self, real, fake, labels, fake_labels, critic_real, critic_fake,
                      real_logits, fake_logits, update_state=True):
        """R1, R2 and LeCam terms of a discriminator step: (weighted sum or None, metrics).

        With ``update_state=False`` (validation) the LeCam anchors are read, not moved.
        """
        total = None
        metrics = {}

        def add(term):
            nonlocal total
            total = term if total is None else total + term

        if self.r1_weight:
            r1, due = self._lazy(lambda: losses_lib.r1_penalty(critic_real, real, labels=labels))
            add(0.5 * self.r1_weight * r1)
            metrics["r1"] = (r1 / float(self.penalty_interval), due)
        if self.r2_weight:
            r2, due = self._lazy(lambda: losses_lib.r2_penalty(critic_fake, fake, labels=fake_labels))
            add(0.5 * self.r2_weight * r2)
            metrics["r2"] = (r2 / float(self.penalty_interval), due)
        if self.lecam_weight:
            means = _replica_mean(tf.stack([
                tf.reduce_mean(tf.stop_gradient(real_logits)), tf.reduce_mean(tf.stop_gradient(fake_logits))
            ]))
            count = self.lecam_anchors[2]
            if update_state:
                decay = tf.where(count > 0, self.lecam_decay, 0.0)
                anchors = decay * self.lecam_anchors[:2] + (1.0 - decay) * means
                self.lecam_anchors.assign(tf.concat([anchors, [count + 1.0]], 0))
            else:  # the current anchors (this batch's means before the first update)
                anchors = tf.where(count > 0, self.lecam_anchors[:2], means)
            lecam = losses_lib.lecam_penalty(real_logits, fake_logits, anchors[0], anchors[1])
            add(self.lecam_weight * lecam)
            metrics["lecam"] = lecam
        return total, metrics

    def discriminator_step(self, real, labels):
        """One discriminator update on one real batch. Returns its metrics.

        A metric value may be a pair ``(value, weight)``: it then counts in the
        epoch's mean with that weight (lazy penalties count only when computed).
        """
        batch = real.shape[0] if real.shape[0] is not None else tf.shape(real)[0]
        z = self._sample_latent(batch)
        fake_labels = labels if self._uses_real_labels_for_fakes() else self._sample_labels(batch)
        # The generated images are constants of this step: computed off the tape.
        fake = tf.cast(self.generator(self._generator_inputs(z, fake_labels), training=True), "float32")
        critic_real = self._critic(batch)
        critic_fake = self._critic(batch)
        with tf.GradientTape() as tape:
            total, metrics, real_logits, _ = self._discriminator_objective(
                real, labels, fake, fake_labels, critic_real, critic_fake
            )
            scaled = self._scale_for_replicas(total)
            if hasattr(self.d_optimizer, "scale_loss"):
                scaled = self.d_optimizer.scale_loss(scaled)
        self._apply(self.d_optimizer, tape, scaled, self.discriminator.trainable_variables)
        if isinstance(self.augment, augment_lib.AdaptiveAugment):
            r_t = _replica_mean(tf.reduce_mean(tf.sign(real_logits)))
            self.augment.update(r_t, tf.cast(batch, "float32") * _num_replicas())
        return metrics

    def _discriminator_objective(self, real, labels, fake, fake_labels, critic_real, critic_fake,
                                 update_state=True):
        """The discriminator's loss with every penalty, as trained and as validated.

        Returns:
            ``(total loss, metrics, real logits, fake logits)``; ``metrics["d_loss"]``
            is the total.
        """
        real_logits = critic_real(self._inputs(real, labels))
        fake_logits = critic_fake(self._inputs(fake, fake_labels))
        total = self.adversarial_loss.discriminator(real_logits, fake_logits)
        penalty, extra = self.discriminator_penalty(real, fake, labels, critic_real)
        reg, reg_metrics = self._regularizers(
            real, fake, labels, fake_labels, critic_real, critic_fake, real_logits, fake_logits,
            update_state=update_state,
        )
        for term in (penalty, reg):
            if term is not None:
                total = total + term
        metrics = {
            "d_loss": total,
            "d_real": tf.reduce_mean(real_logits),
            "d_fake": tf.reduce_mean(fake_logits),
        }
        metrics.update(extra)
        metrics.update(reg_metrics)
        return total, metrics, real_logits, fake_logits

    def generator_step(self, batch, real=None, real_labels=None):
        """One generator update on `batch` latent samples. Returns its metrics.

        Args:
            batch: number of latent samples on this replica.
            real, real_labels: a real batch of `batch` images (and its labels)
                for losses that pair real and generated images (RpGAN).
        """
        z = self._sample_latent(batch)
        if self._uses_real_labels_for_fakes() and real_labels is not None:
            labels = real_labels
        else:
            labels = self._sample_labels(batch)
        critic_fake = self._critic(batch)
        real_logits = None
        if self.adversarial_loss.pairs_real_and_fake:
            if real is None:
                raise ValueError(
                    f"The '{self.loss_name}' loss needs a real batch in the generator step. "
                    "Received: real=None"
                )
            real_logits = tf.stop_gradient(self._critic(batch)(self._inputs(real, real_labels)))
        with tf.GradientTape() as tape:
            fake = self.generator(self._generator_inputs(z, labels), training=True)
            fake_logits = critic_fake(self._inputs(fake, labels))
            if real_logits is None:
                g_loss = self.adversarial_loss.generator(fake_logits)
            else:
                g_loss = self.adversarial_loss.generator(fake_logits, real_logits)
            scaled = self._scale_for_replicas(g_loss)
            if hasattr(self.g_optimizer, "scale_loss"):
                scaled = self.g_optimizer.scale_loss(scaled)
        self._apply(self.g_optimizer, tape, scaled, self.generator.trainable_variables)
        return {"g_loss": g_loss}

    def _track(self, metrics):
        for name, value in metrics.items():
            if isinstance(value, tuple):
                value, weight = value
                self.trackers[name].update_state(value, sample_weight=weight)
            else:
                self.trackers[name].update_state(value)

    def train_step(self, data):
        if self.d_optimizer is None:
            raise ValueError(
                "The GAN must be compiled before training: call gan.compile() "
                "(ganzoo.create_model returns a compiled model). Received: an uncompiled GAN"
            )
        if self.sync_batchnorm is None and _num_replicas() > 1:
            self._synchronize_batchnorm()  # the default: N replicas train like one device
        with self._tracing():
            return self._train_step(data)

    def _train_step(self, data):
        images, labels = self._unpack(data)
        images, labels = self._check_global_batch_at_run_time(images, labels)
        parts, per_step = self._split(images, labels)
        # Every op of the step waits for the batch and its run-time checks. Ops
        # that read no data (the generator step, the optimizers' step counters)
        # would otherwise run even when the batch never comes: when fetching it
        # fails (the end of a pipeline of unknown length, a refused batch), fit
        # would still make a generator update without its discriminator steps.
        with tf.control_dependencies([t for part in parts for t in part if t is not None]):
            return self._steps(parts, per_step)

    def _steps(self, parts, per_step):
        """The discriminator steps on `parts`, then the generator step; returns the logs."""
        for real, y in parts:
            self._track(self.discriminator_step(real, y))
        g_batch = per_step
        if self.g_batch_size is not None:
            g_batch = self.g_batch_size // _num_replicas()
        if self.adversarial_loss.pairs_real_and_fake:
            # Pairs: the last discriminator step's real batch (and its labels).
            real, real_labels = parts[-1]
            if self.g_batch_size is not None:
                message = (  # no quotes: the run-time assertion would escape them
                    f"The {self.loss_name} loss pairs each generated image with one real image "
                    f"of a discriminator step, so g_batch_size must equal the batch of one "
                    "discriminator step ({} images) or be unset. Received: "
                    f"g_batch_size={self.g_batch_size}"
                )
                if isinstance(per_step, int):
                    if g_batch != per_step:
                        raise ValueError(message.format(per_step * _num_replicas()))
                else:  # a batch size known only at run time
                    check = self._run_time_check(
                        tf.equal(per_step, g_batch), message, per_step * _num_replicas()
                    )
                    real, real_labels = _after([check], real, real_labels)
            g_metrics = self.generator_step(g_batch, real=real, real_labels=real_labels)
        else:
            g_metrics = self.generator_step(g_batch)
        self._track(g_metrics)
        if self.sync_batchnorm is False and _num_replicas() > 1:
            self._average_batchnorm_statistics()  # before the EMA reads them
        if self.ema_generator is not None:
            self._update_ema()
        results = self._results()
        if isinstance(self.augment, augment_lib.AdaptiveAugment):
            results["aug_p"] = tf.identity(self.augment.p)
        if _is_multi_worker():
            # MultiWorkerMirroredStrategy cannot reduce scalars returned by
            # train_step (tensorflow issue 72388): return rank-1 values.
            return {k: tf.reshape(v, [1]) for k, v in results.items()}
        return results

    def ema_decay_at(self, step):
        """The EMA decay used after generator step `step` (1-based): 0 until ``ema_start``.

        Args:
            step: int or int Tensor, generator steps done so far.

        Returns:
            float32 scalar in [0, ema_decay].
        """
        s = tf.cast(step, "float32") - float(self.ema_start)
        decay = tf.constant(self.ema_decay, "float32")
        if self.ema_warmup:
            decay = tf.minimum(decay, (1.0 + s) / (10.0 + s))
        return tf.where(s > 0, decay, 0.0)

    def _update_ema(self):
        decay = self.ema_decay_at(self.g_optimizer.iterations + self.ema_step_offset)
        for avg, var in zip(self.ema_generator.weights, self.generator.weights):
            if avg.dtype in ("float32", "float16", "bfloat16", "float64"):
                d = tf.cast(decay, avg.dtype)
                avg.assign(d * avg + (1.0 - d) * tf.cast(var, avg.dtype))

    @property
    def sampling_generator(self):
        """The network used for sampling and export: the EMA generator if any."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def test_step(self, data):
        """Losses of both players on a batch of real images, without updates."""
        with self._tracing(validating=True):
            images, labels = self._unpack(data)
            with tf.control_dependencies([images]):  # as in train_step: nothing runs without a batch
                return self._test_losses(images, labels)

    @contextlib.contextmanager
    def _tracing(self, validating=False):
        """While a step is traced: whether XLA compiles it (its in-graph checks then
        run in the input pipeline) and whether it validates (its own noise stream)."""
        self._tracing_xla_step, self._validating = bool(self.jit_compile), validating
        try:
            yield
        finally:
            self._tracing_xla_step = self._validating = False

    def _test_losses(self, images, labels):
        """The training step's quantities, under the same names, without any update.

        The discriminator's objective includes every penalty (gradient penalty,
        R1, R2, LeCam at the current anchors) and the augmentation, exactly as
        in training; the networks run in inference mode (BatchNorm moving
        statistics, no power-iteration update); random numbers come from
        ``validation_seed_generator``, so validating leaves the training noise
        stream untouched.
        """
        batch = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        z = self._sample_latent(batch)
        fake_labels = labels if self._uses_real_labels_for_fakes() else self._sample_labels(batch)
        fake = tf.cast(self.generator(self._generator_inputs(z, fake_labels), training=False),
                       "float32")
        critic_real, critic_fake = self._critic(batch), self._critic(batch)

        def in_inference_mode(critic):
            return lambda inputs, training=False: critic(inputs, training=False)

        _, values, real_logits, fake_logits = self._discriminator_objective(
            images, labels, fake, fake_labels, in_inference_mode(critic_real),
            in_inference_mode(critic_fake), update_state=False,
        )
        if self.adversarial_loss.pairs_real_and_fake:
            values["g_loss"] = self.adversarial_loss.generator(fake_logits, real_logits)
        else:
            values["g_loss"] = self.adversarial_loss.generator(fake_logits)
        self._track(values)
        return {name: self.trackers[name].result() for name in values}

    # --- inference ---------------------------------------------------------

    def latent(self, num, seed=0):
        """The latent vectors `generate(num, seed)` uses: float32 (num, latent_dim).

        Drawn with ``tf.random.stateless_normal(seed=[seed, 0])``, so the same
        seed gives the same vectors in every process (and in the exported
        SavedModel's ``generate`` signature).
        """
        return tf.random.stateless_normal(
            (int(num), self.latent_dim), seed=[int(seed), 0], dtype="float32"
        )

    def generate(self, num=None, seed=None, labels=None, batch_size=256, z=None):
        """Generates images with `sampling_generator`: the EMA generator if the GAN has one.

        (``gan(z)`` and ``gan.predict(z)`` run the raw generator instead.)

        Args:
            num: positive int, the number of images (with `z`: None or ``n``).
            seed: int for reproducible samples (same seed -> same images), or
                None for fresh randomness; not with `z`.
            labels: for a conditional GAN, int class ids (num,) in
                ``[0, num_classes)``, or one int for every image; default
                ``arange(num) % num_classes``. One-hot, float or out-of-range
                labels raise a ValueError.
            batch_size: images per generator call (a compiled call; the last
                batch holds the remainder).
            z: your own latent vectors, float (n, latent_dim), e.g. an
                interpolation; default ``latent(num, seed)``.

        Returns:
            float32 numpy array (num, H, W, C) in [-1, 1].
        """
        if z is not None:
            z = check_latent(z, self.latent_dim, num=num, seed=seed)
            num = z.shape[0]
        elif not isinstance(num, (int, np.integer)) or num < 1:
            raise ValueError(f"num must be a positive integer. Received: num={num!r}")
        else:
            z = self.latent(num, int(np.random.default_rng().integers(0, 2**31 - 1)) if seed is None else seed)
        if self.num_classes is not None:
            if labels is None:
                labels = np.arange(num) % self.num_classes
            elif np.ndim(labels) == 0:  # one class for every image, as `ganzoo sample --class K`
                labels = np.full(num, labels)
            labels = check_class_ids(labels, self.num_classes, num=num, what="labels")
        elif labels is not None:
            raise ValueError(
                "labels are for a class-conditional GAN; this one is unconditional "
                f"(num_classes=None). Received: labels of shape {np.shape(labels)}"
            )
        batch_size = check_number("batch_size", batch_size, 1, integer=True)
        # Compiled, traced once for any batch size (the last batch is smaller);
        # the cache holds the network only weakly.
        sample = inference.compiled(self.sampling_generator)
        out = []
        for start in range(0, num, batch_size):
            zb = z[start : start + batch_size]
            yb = None if labels is None else tf.constant(labels[start : start + batch_size])
            out.append(sample(self._generator_inputs(zb, yb)).numpy())
        return np.concatenate(out, axis=0)

    # --- fit with up-front checks ------------------------------------------

    @run_time_checks.raises_value_errors
    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`, after checking the first batch of the data.

        Images must be float and on the [-1, 1] scale, decided from the first
        batch's range by `ganzoo.image_scale`: values outside [-1, 1] (beyond
        a 1e-3 margin) and first batches with no value below 0 and none above
        1 — the [0, 1] scale of ``x / 255`` — are refused before any step
        runs, since a GAN trained on them silently learns the wrong scale.
        Labels of a conditional GAN must be int class ids ``(batch,)`` in
        ``[0, num_classes)``. A batch must split into ``d_steps`` real batches
        (and over the replicas). Batch sizes and labels known only at run time
        are checked by assertions in the input pipeline of a `tf.data.Dataset`
        (so also under XLA, which drops in-graph assertions) and in
        `train_step` (generators); they stop `fit` with a ValueError carrying
        the same message (TensorFlow's InvalidArgumentError as its cause),
        before any update of that step.
        """
        self._check_first_batch(x, y, kwargs.get("batch_size"))
        if not (isinstance(x, np.ndarray) or tf.is_tensor(x)):
            kwargs.setdefault("shuffle", False)  # a Dataset or generator shuffles itself
        if not isinstance(x, tf.data.Dataset):
            return super().fit(x, y, **kwargs)
        # A dataset's first batch is checked as it comes out of the pipeline that
        # fit reads (a separate look would fill shuffle buffers and caches twice).
        self._first_batch_error = None
        self._first_batch_seen = False
        try:
            history = super().fit(self._checked_dataset(self._first_batch_checked(x)), y, **kwargs)
        except tf.errors.OpError:
            error, self._first_batch_error = self._first_batch_error, None
            if error is not None:
                raise error from None
            raise
        # An epoch that ran without its first batch: the dataset was empty. (No epoch
        # at all is a resumed run that was already complete.)
        if history.epoch and not self._first_batch_seen:
            raise ValueError("The training dataset is empty. Received: a tf.data.Dataset that "
                             "produced no element")
        return history

    def _check_first_batch(self, x, y=None, batch_size=None):
        """Checks what can be checked before `fit` reads any data.

        Arrays are checked whole. A dataset's element spec is checked here and
        its first element's values by `_first_batch_checked`, in the pipeline.
        """
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            image_spec = spec[0] if isinstance(spec, (tuple, list)) else spec
            if isinstance(image_spec, tf.TensorSpec):
                self._check_images(tuple(image_spec.shape), image_spec.dtype)
                self._check_global_batch(image_spec.shape[0])
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
        self._check_images(values.shape, values.dtype)
        n = values.shape[0]
        # Keras batches arrays itself, keeping a smaller last batch.
        per_batch = 32 if batch_size is None else int(batch_size)
        self._check_batch_values(values, y, sorted({min(per_batch, n), n % per_batch} - {0}))

    def _first_batch_checked(self, dataset):
        """`dataset` whose first element goes through `_check_batch_values` on its way out.

        The check runs in Python (`tf.py_function`) on element 0 only; its
        ValueError is kept in ``self._first_batch_error`` and re-raised by
        `fit`, before any step has run.
        """
        spec = dataset.element_spec
        if isinstance(spec, (tuple, list)) and len(spec) > 2:
            return dataset

        def check(images, labels=None):
            self._first_batch_seen = True
            try:
                values = np.asarray(images)
                self._check_images(values.shape, values.dtype)
                # One element is one batch: its actual size (the static shape may
                # be unknown); later batches are checked at run time.
                self._check_batch_values(
                    values, None if labels is None else np.asarray(labels), [values.shape[0]]
                )
            except ValueError as e:
                self._first_batch_error = e
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
            out = _after([checked], *parts)
            return out if isinstance(element, (tuple, list)) else out[0]

        return dataset.enumerate().map(first)

    def _check_batch_values(self, values, labels, sizes):
        """Raises a ValueError unless `values` (a first batch) and `labels` are valid data."""
        n = values.shape[0]
        for size in sizes:
            if size < self.d_steps or size % self.d_steps:
                raise ValueError(self._batch_message(size))
            self._check_global_batch(size)
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

    # --- serialization -----------------------------------------------------

    _SEED_KEY = "seed_generator_state"

    def save_own_variables(self, store):
        # Keras does not save a SeedGenerator's state: without this, a loaded or
        # resumed model would replay the noise of its first steps.
        super().save_own_variables(store)
        store[self._SEED_KEY] = np.asarray(keras.ops.convert_to_numpy(self.seed_generator.state))

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self._SEED_KEY in keys:
            self.seed_generator.state.assign(np.asarray(store[self._SEED_KEY]))
        super().load_own_variables({k: store[k] for k in keys if k != self._SEED_KEY})

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "loss": self.loss_name,
                "d_steps": self.d_steps,
                "g_batch_size": self.g_batch_size,
                "optimizer_settings": {k: dict(v) for k, v in self.optimizer_settings.items()},
                "num_classes": self.num_classes,
                "seed": self.seed,
                "ema_decay": self.ema_decay,
                "sync_batchnorm": self.sync_batchnorm,
                "ema_start": self.ema_start,
                "ema_warmup": self.ema_warmup,
                "augment": None if self.augment is None
                else keras.saving.serialize_keras_object(self.augment),
                "r1_weight": self.r1_weight,
                "r2_weight": self.r2_weight,
                "penalty_interval": self.penalty_interval,
                "lecam_weight": self.lecam_weight,
                "lecam_decay": self.lecam_decay,
                "instance_noise": self.instance_noise,
                "instance_noise_steps": self.instance_noise_steps,
                "ema_step_offset": self.ema_step_offset,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(
            config["discriminator"]
        )
        return cls(**config)
