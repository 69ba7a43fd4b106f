"""The GAN training engine: a `keras.Model` whose `train_step` plays the game.

`GAN` holds a generator and a discriminator (logits) and overrides
`train_step`, so `model.fit` on a `tf.data` pipeline trains it with every
Keras callback. Family classes (`DCGAN`, `WGANGP`, `SNGAN`) only say what
their algorithm changes: loss, regularizers, discriminator steps, optimizers.
One `train_step` is one generator iteration of the papers' algorithms (e.g.
Gulrajani et al. 2017, Algorithm 1): its batch of ``d_steps * batch_size``
real images is split into ``d_steps`` disjoint real batches, one per
discriminator step; then one generator step follows.

Its parts live beside it: the data checks (`ganzoo.models.input_checks`), the
replica plumbing (`ganzoo.distribute`), the EMA generator
(`ganzoo.models.ema`), the discriminator's loss terms (`ganzoo.regularizers`)
and input transforms (`ganzoo.augment`). Each training option is declared
once, by the part that implements it (`GAN.options()`).
"""

import contextlib

import numpy as np
import tensorflow as tf
import keras

from ganzoo import augment as augment_lib
from ganzoo import distribute
from ganzoo import losses as losses_lib
from ganzoo import optimizers as optimizers_lib
from ganzoo import regularizers as regularizers_lib
from ganzoo import sampling
from ganzoo.models import run_time_checks
from ganzoo.models import options as gan_options
from ganzoo.models.ema import GeneratorEMA
from ganzoo.models import input_checks
from ganzoo.options import pop_options
from ganzoo.validation import check_latent, check_number


@keras.saving.register_keras_serializable(package="ganzoo")
class GAN(keras.Model):
    """A generative adversarial network trained with `fit`.

    Args:
        generator: `keras.Model` mapping ``z`` (batch, latent_dim) — or
            ``[z, labels]`` when conditional — to images (batch, H, W, C) in [-1, 1].
        discriminator: `keras.Model` mapping images (batch, H, W, C) — or
            ``[images, labels]`` — to logits (batch, 1).
        optimizer_settings: ``{"d": settings, "g": settings}`` for `compile()`
            without optimizers (`ganzoo.optimizers`); default: the family's.
        num_classes: classes of a conditional GAN (both networks take labels), or None.
        seed: int seed of the `keras.random.SeedGenerator` behind every random
            number of `train_step`.
        regularizers: list of `ganzoo.regularizers.Regularizer`: terms of the
            discriminator's loss after the family's and the options', each
            logged (unweighted) under its name.
        ema_step_offset: generator steps the weights had before this model's
            optimizers began counting (a fine-tuned model's source's, set by
            `ganzoo.pretrained` and ``ganzoo train --pretrained/--init-from``):
            the EMA schedule counts from there.
        **options: the training options (`GAN.options()`; `ganzoo.registry.options_table()`),
            each declared with its doc, default and check by the part that
            implements it (`ganzoo.models.options`): the game's (``loss``,
            ``d_steps``, ``g_batch_size``, ``sync_batchnorm``), the EMA
            generator's (``ema_*``: `generate` and the export then sample
            ``ema_generator``; ``gan(z)`` runs the raw generator), the input
            transforms' (``augment``, ``instance_noise*``; ADA logs ``aug_p``),
            the built-in regularizers' (``r1_weight``, ``lecam_weight``, ...)
            and the family's. Other keywords go to `keras.Model` (``name``).

    Raises:
        ValueError: networks that do not fit each other or `num_classes`, or
            an option its check refuses (the message ends with what was received).

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
    #: Metric names logged by `train_step` before the regularizers' names, in order.
    metric_names = ("d_loss", "g_loss", "d_real", "d_fake")
    #: Options of the family (`Option`s), e.g. WGAN-GP's ``gp_weight``.
    family_options = ()
    #: Whether the discriminator step's generated images take the real batch's
    #: labels (True) or labels drawn uniformly (False); conditional GANs only.
    fake_labels_from_real = False

    @classmethod
    def options(cls):
        """Every training option of this family: a tuple of `ganzoo.options.Option`."""
        return gan_options.declared(cls.family_options)

    def family_regularizers(self, options):
        """The family's terms of the discriminator loss (before the options' and the user's).

        Args:
            options: ``{name: checked value}`` of every option of `options()`.

        Returns:
            list of `ganzoo.regularizers.Regularizer` (none in the base GAN).
        """
        return []

    def __init__(self, generator, discriminator, optimizer_settings=None, num_classes=None,
                 seed=None, regularizers=None, ema_step_offset=0, **kwargs):
        options = pop_options(self.options(), kwargs)
        super().__init__(**kwargs)
        for role, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, keras.Model):
                raise ValueError(
                    f"The {role} must be a keras.Model. Received: {role}={net!r}"
                )
        self.generator = generator
        self.discriminator = discriminator
        self.loss_name = options["loss"] or self.default_loss
        self.adversarial_loss = losses_lib.get_loss(self.loss_name)
        self.d_steps = self.default_d_steps if options["d_steps"] is None else options["d_steps"]
        self.g_batch_size = options["g_batch_size"]
        self.optimizer_settings = optimizer_settings or self.default_optimizer_settings
        if set(self.optimizer_settings) != {"d", "g"}:
            raise ValueError("optimizer_settings must have exactly the keys 'd' and 'g'. "
                             f"Received: optimizer_settings={optimizer_settings!r}")
        if num_classes is not None:
            num_classes = check_number("num_classes", num_classes, 1, integer=True)
        self.num_classes = num_classes
        input_checks.check_conditioning(generator, discriminator, num_classes)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Validation draws from its own stream: fit(validation_data=...) leaves training's unchanged.
        self.validation_seed_generator = keras.random.SeedGenerator(None if seed is None else int(seed) + 7919)
        self._validating = False  # set while test_step is traced
        self.latent_dim = input_checks.latent_dim_of(generator)
        self.image_shape = input_checks.image_shape_of(generator, discriminator)
        self.input_checks = input_checks.InputChecks(
            self.image_shape, self.num_classes, self.d_steps, lambda: self.distribute_strategy.num_replicas_in_sync)
        # The option values (get_config writes them back), each an attribute of its name.
        self._options = {k: v for k, v in options.items() if k not in ("loss", "d_steps", "augment")}
        for name, value in self._options.items():
            setattr(self, name, value)
        self.ema_step_offset = check_number("ema_step_offset", ema_step_offset, 0, integer=True)
        self._ema, self.augment, self.instance_noise_layer, built = gan_options.parts(options)
        user = regularizers_lib.check_list(regularizers)
        self._num_user_regularizers = len(user)  # the last ones; get_config writes them
        self.regularizers = self.family_regularizers(options) + built + user
        names = regularizers_lib.check_names(self.regularizers, set(self.metric_names) | {"aug_p"})
        if self.sync_batchnorm:
            distribute.synchronize_batchnorm(self.generator, self.discriminator)
        self.ema_generator = None if self._ema is None else GeneratorEMA.copy_of(generator)
        self.metric_names = tuple(type(self).metric_names) + tuple(names)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.metric_names}
        self.d_optimizer = self.g_optimizer = None

    def build(self, input_shape=None):  # both networks are functional: built at construction
        self.built = True

    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.build()

    def call(self, inputs, training=False):
        """The raw generator (being trained): ``z`` (or ``[z, labels]``) -> images (also
        `predict`); `generate` samples the EMA generator when there is one."""
        return self.generator(inputs, training=training)

    def compile(
        self, d_optimizer=None, g_optimizer=None, jit_compile="auto", **kwargs
    ):
        """Configures the two optimizers.

        Args:
            d_optimizer: the discriminator's: a `keras.optimizers.Optimizer`, a
                name or settings (`ganzoo.optimizers`); default
                ``optimizer_settings["d"]``, which then describes what was
                compiled (`ganzoo.optimizers.settings_of`).
            g_optimizer: the same for the generator.
            jit_compile: True, False or "auto" (`ganzoo.distribute.resolve_jit_compile`:
                off on CPUs, where oneDNN beat XLA for every MNIST entry, on for
                one GPU or TPU replica; True is refused on multi-replica CPUs).
            **kwargs: passed to `keras.Model.compile` (e.g.
                ``steps_per_execution``); ``loss``, ``optimizer`` and
                ``metrics`` are refused: the GAN owns them.
        """
        for key in ("loss", "optimizer", "metrics"):
            if kwargs.get(key) is not None:
                raise ValueError(
                    f"GAN.compile does not take `{key}`: the loss is set by the "
                    "model's `loss` argument, the optimizers by `d_optimizer` and "
                    f"`g_optimizer`, and metrics are built in. Received: {key}={kwargs[key]!r}"
                )
            kwargs.pop(key, None)
        jit_compile = distribute.resolve_jit_compile(jit_compile)
        d_spec = d_optimizer if d_optimizer is not None else self.optimizer_settings["d"]
        g_spec = g_optimizer if g_optimizer is not None else self.optimizer_settings["g"]
        self.d_optimizer = optimizers_lib.build_optimizer(d_spec, step_divisor=self.d_steps)
        self.g_optimizer = optimizers_lib.build_optimizer(g_spec)
        # The config reports the optimizers the model trains with.
        self.optimizer_settings = {"d": optimizers_lib.settings_of(d_spec, self.d_optimizer, self.d_steps),
                                   "g": optimizers_lib.settings_of(g_spec, self.g_optimizer)}
        if self.generator.dtype_policy.name == "mixed_float16":
            # float16 gradients underflow: dynamic loss scaling on both players.
            self.d_optimizer, self.g_optimizer = (
                o if isinstance(o, keras.optimizers.LossScaleOptimizer) else keras.optimizers.LossScaleOptimizer(o)
                for o in (self.d_optimizer, self.g_optimizer))
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

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _results(self):
        return {name: t.result() for name, t in self.trackers.items()}

    def _track(self, metrics):
        for name, value in metrics.items():
            if isinstance(value, tuple):
                value, weight = value
                self.trackers[name].update_state(value, sample_weight=weight)
            else:
                self.trackers[name].update_state(value)

    def _rng(self):  # the SeedGenerator of the step being traced
        return self.validation_seed_generator if self._validating else self.seed_generator

    def _drawer(self, batch):
        """``draw(sampler)``: this replica's `batch` rows of ``sampler(n, seed)`` (`Step.draw`)."""
        return lambda sampler: distribute.replica_draw(lambda n: sampler(n, self._rng()), batch)

    def _sample_latent(self, batch):
        return self._drawer(batch)(lambda n, seed: keras.random.normal((n, self.latent_dim), seed=seed))

    def _sample_labels(self, batch):
        if self.num_classes is None:
            return None
        return self._drawer(batch)(
            lambda n, seed: keras.random.randint((n,), 0, self.num_classes, seed=seed, dtype="int32"))

    @staticmethod
    def _inputs(images, labels):
        return images if labels is None else [images, labels]

    def _generator_inputs(self, z, labels):
        return self._inputs(z, labels)

    def _discriminate(self, inputs, training=True):
        return tf.cast(self.discriminator(inputs, training=training), "float32")

    @property
    def input_transforms(self):
        """The layers images go through before the discriminator: augmentation, instance noise."""
        return [t for t in (self.augment, self.instance_noise_layer) if t is not None]

    def _critic(self, batch):
        """The discriminator as the losses see it in one step, for `batch` images: this call's
        parameters of every input transform drawn (`ganzoo.augment.behind`), returns
        ``critic(images or [images, labels], training=True) -> float32 logits``."""
        return augment_lib.behind(self.input_transforms, self.image_shape, self._drawer(batch),
                                  self.g_optimizer.iterations, self._discriminate)

    def _uses_real_labels_for_fakes(self):
        return self.num_classes is not None and (
            self.fake_labels_from_real or self.adversarial_loss.pairs_real_and_fake
        )

    def _apply(self, optimizer, tape, loss, variables):
        grads = tape.gradient(loss, variables)
        # Dense gradients for embedding lookups (class embeddings, conditional
        # BatchNorm): Keras 3.15's Adam squares an IndexedSlices gradient row by
        # row before summing repeated rows (v gets sum g_i^2, not (sum g_i)^2),
        # so per-class parameters would move up to sqrt(count) * lr per step.
        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        optimizer.apply(grads, variables)

    def _lazy(self, compute, interval):
        """`ganzoo.regularizers.lazy` on this model's discriminator steps."""
        return regularizers_lib.lazy(compute, interval, self.d_optimizer.iterations, self.discriminator,
                                     every_step=bool(self.jit_compile) or tf.distribute.has_strategy())

    def discriminator_step(self, real, labels):
        """One discriminator update on one real batch. Returns its metrics; a pair ``(value,
        weight)`` counts with that weight in the epoch's mean (a lazy penalty only when due)."""
        batch = real.shape[0] if real.shape[0] is not None else tf.shape(real)[0]
        z = self._sample_latent(batch)
        fake_labels = labels if self._uses_real_labels_for_fakes() else self._sample_labels(batch)
        # The generated images are constants of this step: computed off the tape.
        fake = tf.cast(self.generator(self._generator_inputs(z, fake_labels), training=True), "float32")
        critic_real = self._critic(batch)
        critic_fake = self._critic(batch)
        with tf.GradientTape() as tape:
            total, metrics, real_logits, fake_logits = self._discriminator_objective(
                real, labels, fake, fake_labels, critic_real, critic_fake)
            scaled = distribute.scale_for_replicas(total)
            if hasattr(self.d_optimizer, "scale_loss"):
                scaled = self.d_optimizer.scale_loss(scaled)
        self._apply(self.d_optimizer, tape, scaled, self.discriminator.trainable_variables)
        for transform in self.input_transforms:
            transform.observe(real_logits, tf.cast(batch, "float32") * distribute.num_replicas(),
                              fake_logits=fake_logits)
        return metrics

    def _discriminator_objective(self, real, labels, fake, fake_labels, critic_real, critic_fake,
                                 training=True):
        """``adversarial loss + sum(weight * lazy penalty)`` over `regularizers`, as trained and
        validated: ``(total, metrics, real logits, fake logits)``, ``metrics[reg.name]`` unweighted."""
        real_logits = critic_real(self._inputs(real, labels))
        fake_logits = critic_fake(self._inputs(fake, fake_labels))
        total = self.adversarial_loss.discriminator(real_logits, fake_logits)
        step = regularizers_lib.Step(
            real=real, fake=fake, labels=labels, fake_labels=fake_labels,
            real_logits=real_logits, fake_logits=fake_logits,
            critic=lambda images, labels=None: critic_real(self._inputs(images, labels)),
            fake_critic=lambda images, labels=None: critic_fake(self._inputs(images, labels)),
            training=training, draw=self._drawer(tf.shape(real)[0]),
        )
        terms, reg_metrics = None, {}
        for reg in self.regularizers:
            value, due = self._lazy(lambda reg=reg: regularizers_lib.checked_penalty(reg, step), reg.interval)
            term = reg.weight * value
            terms = term if terms is None else terms + term
            reg_metrics[reg.name] = (value / float(reg.interval), due)
        if terms is not None:
            total = total + terms
        metrics = {
            "d_loss": total,
            "d_real": tf.reduce_mean(real_logits),
            "d_fake": tf.reduce_mean(fake_logits),
        }
        metrics.update(reg_metrics)
        return total, metrics, real_logits, fake_logits

    def generator_step(self, batch, real=None, real_labels=None):
        """One generator update on `batch` latent samples (this replica's); `real` and
        `real_labels` are a real batch of `batch` images for losses that pair them (RpGAN)."""
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
            scaled = distribute.scale_for_replicas(g_loss)
            if hasattr(self.g_optimizer, "scale_loss"):
                scaled = self.g_optimizer.scale_loss(scaled)
        self._apply(self.g_optimizer, tape, scaled, self.generator.trainable_variables)
        return {"g_loss": g_loss}

    def train_step(self, data):
        if self.d_optimizer is None:
            raise ValueError(
                "The GAN must be compiled before training: call gan.compile() "
                "(ganzoo.create_model returns a compiled model). Received: an uncompiled GAN"
            )
        if self.sync_batchnorm is None and distribute.num_replicas() > 1:
            # the default: N replicas train like one device
            distribute.synchronize_batchnorm(self.generator, self.discriminator)
        with self._tracing():
            return self._train_step(data)

    def _train_step(self, data):
        checks = self.input_checks
        images, labels = checks.unpack(data)
        images, labels = checks.check_global_batch_at_run_time(images, labels)
        parts, per_step = checks.split(images, labels)
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
        replicas = distribute.num_replicas()
        g_batch = per_step
        if self.g_batch_size is not None:
            g_batch = self.g_batch_size // replicas
        if self.adversarial_loss.pairs_real_and_fake:
            # Pairs: the last discriminator step's real batch (and its labels).
            real, real_labels = parts[-1]
            if self.g_batch_size is not None:
                real, real_labels = self.input_checks.check_pairing(
                    self.loss_name, self.g_batch_size, g_batch, per_step, replicas, real, real_labels)
            g_metrics = self.generator_step(g_batch, real=real, real_labels=real_labels)
        else:
            g_metrics = self.generator_step(g_batch)
        self._track(g_metrics)
        if self.sync_batchnorm is False and replicas > 1:  # before the EMA reads them
            distribute.average_batchnorm_statistics(self.generator, self.discriminator)
        if self.ema_generator is not None:
            self._ema.update(self.ema_generator, self.generator, self.g_optimizer.iterations + self.ema_step_offset)
        results = self._results()
        for transform in self.input_transforms:
            results.update(transform.logs())
        if distribute.is_multi_worker():
            # MultiWorkerMirroredStrategy cannot reduce scalars returned by
            # train_step (tensorflow issue 72388): return rank-1 values.
            return {k: tf.reshape(v, [1]) for k, v in results.items()}
        return results

    def ema_decay_at(self, step):
        """float32 EMA decay after generator step `step` (1-based), 0 until ``ema_start``
        (`ganzoo.models.ema.GeneratorEMA.decay_at`); ValueError without an EMA generator."""
        if self._ema is None:
            raise ValueError("This GAN keeps no EMA generator. Received: ema_decay=None")
        return self._ema.decay_at(step)

    @property
    def sampling_generator(self):
        """The network used for sampling and export: the EMA generator if any."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def test_step(self, data):
        """Losses of both players on a batch of real images, without updates."""
        with self._tracing(validating=True):
            images, labels = self.input_checks.unpack(data)
            with tf.control_dependencies([images]):  # as in train_step: nothing runs without a batch
                return self._test_losses(images, labels)

    @contextlib.contextmanager
    def _tracing(self, validating=False):
        """While a step is traced: XLA or not (in-graph checks), validating or not (noise stream)."""
        self.input_checks.xla, self._validating = bool(self.jit_compile), validating
        try:
            yield
        finally:
            self.input_checks.xla = self._validating = False

    def _test_losses(self, images, labels):
        """The training step's quantities, named as in training, without any update: every
        regularizer (LeCam at its current anchors) and input transform as in training, the
        networks in inference mode, random numbers from ``validation_seed_generator``."""
        batch = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        z = self._sample_latent(batch)
        fake_labels = labels if self._uses_real_labels_for_fakes() else self._sample_labels(batch)
        fake = tf.cast(self.generator(self._generator_inputs(z, fake_labels), training=False), "float32")
        critic_real, critic_fake = self._critic(batch), self._critic(batch)

        def in_inference_mode(critic):
            return lambda inputs, training=False: critic(inputs, training=False)

        _, values, real_logits, fake_logits = self._discriminator_objective(
            images, labels, fake, fake_labels, in_inference_mode(critic_real), in_inference_mode(critic_fake),
            training=False)
        if self.adversarial_loss.pairs_real_and_fake:
            values["g_loss"] = self.adversarial_loss.generator(fake_logits, real_logits)
        else:
            values["g_loss"] = self.adversarial_loss.generator(fake_logits)
        self._track(values)
        return {name: self.trackers[name].result() for name in values}

    def latent(self, num, seed=0):
        """The latent vectors `generate(num, seed)` uses: float32 (num, latent_dim), the same
        in every process and in the export (`ganzoo.sampling.latent`)."""
        return sampling.latent(num, self.latent_dim, seed)

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
            batch_size: images per (compiled) generator call; the last holds the rest.
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
        labels = sampling.resolve_labels(labels, num, self.num_classes)
        return sampling.sample(self.sampling_generator, z, labels, batch_size=batch_size)

    @run_time_checks.raises_value_errors
    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit` on data checked first (`ganzoo.models.input_checks`): float images
        on the [-1, 1] scale (from the first batch's range), int labels ``(batch,)`` in
        ``[0, num_classes)``, batches that split into ``d_steps`` real batches and over the
        replicas; what is known only at run time is checked in the input pipeline and the
        step. A refusal is a ValueError, raised before any update it concerns."""
        return self.input_checks.fit(super().fit, x, y, **kwargs)

    def regularizer(self, name):
        """The regularizer logged under `name` (ValueError listing the names if none)."""
        return regularizers_lib.find(self.regularizers, name)

    def save(self, filepath, *args, **kwargs):
        self.get_config()  # refuses what could not be loaded (an unregistered regularizer) before any write
        return super().save(filepath, *args, **kwargs)

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
        own = [k for k in keys if k != self._SEED_KEY]
        if own and not (self._trainable_variables + self._non_trainable_variables):
            # A file of the engine before ganzoo.regularizers held regularizer state here.
            regularizers_lib.restore_from_gan_store(self.regularizers, store, own)
            return
        super().load_own_variables({k: store[k] for k in own})

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "loss": self.loss_name,
                "d_steps": self.d_steps,
                "optimizer_settings": {k: dict(v) for k, v in self.optimizer_settings.items()},
                "num_classes": self.num_classes,
                "seed": self.seed,
                **self._options,
                "augment": None if self.augment is None
                else keras.saving.serialize_keras_object(self.augment),
                "ema_step_offset": self.ema_step_offset,
            }
        )
        user = self.regularizers[len(self.regularizers) - self._num_user_regularizers:]
        if user:
            config["regularizers"] = [regularizers_lib.serialize(r) for r in user]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(
            config["discriminator"]
        )
        return cls(**config)
