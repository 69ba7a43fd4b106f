"""The GAN training engine: a `keras.Model` whose `train_step` plays the game.

`GAN` holds a generator and a discriminator (both `keras.Model`; the
discriminator returns logits) and overrides `train_step`, so `model.fit` on a
`tf.data` pipeline trains it with every Keras callback. Family classes
(`DCGAN`, `WGANGP`, `SNGAN`) only say what their algorithm changes: the loss,
the regularizers, the number of discriminator steps, and the paper's
optimizers.

One call of `train_step` is one generator iteration of the papers' algorithms
(e.g. Gulrajani et al. 2017, Algorithm 1): the batch it receives holds
``d_steps * batch_size`` real images and is split into ``d_steps`` disjoint
real batches, one per discriminator step; then one generator step follows.

The engine keeps the game; its parts live beside it: the data checks
(`ganzoo.models.input_checks`), the replica plumbing (`ganzoo.distribute`),
the EMA generator (`ganzoo.models.ema`), the terms of the discriminator's
loss (`ganzoo.regularizers`), the discriminator's input transforms
(`ganzoo.augment`: augmentation, instance noise) and the sampling protocol
(`ganzoo.sampling`). Each training option is declared once by the part that
implements it (`GAN.options()`).
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
from ganzoo.models import run_time_checks
from ganzoo.models.ema import OPTIONS as EMA_OPTIONS
from ganzoo.models.ema import GeneratorEMA
from ganzoo.models.input_checks import InputChecks
from ganzoo.options import Option, pop_options
from ganzoo.networks import inference
from ganzoo.validation import check_class_ids, check_latent, check_number


def _check_g_batch_size(value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"g_batch_size must be a positive integer or None. Received: g_batch_size={value!r}")
    return int(value)


def _check_d_steps(value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"d_steps must be a positive integer. Received: d_steps={value!r}")
    return int(value)


def _check_sync_batchnorm(value):
    if not isinstance(value, bool):
        raise ValueError(
            "sync_batchnorm must be True, False or None (synchronized when there is more "
            f"than one replica). Received: sync_batchnorm={value!r}"
        )
    return value


#: The options of the game itself (None: the family's default).
GAME_OPTIONS = (
    Option("loss", "a name from `ganzoo.losses.available_losses()`", None, (str,)),
    Option("d_steps", "discriminator steps per generator step", None, (int,), _check_d_steps),
    Option("g_batch_size", "latent samples per generator step", None, (int,), _check_g_batch_size),
    Option("sync_batchnorm", "false: per-replica BatchNorm statistics (default: over all replicas)",
           None, (bool,), _check_sync_batchnorm),
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
        optimizer_settings: dict ``{"d": settings, "g": settings}`` used by
            `compile()` when no optimizer is passed (see `ganzoo.optimizers`);
            default: the family's published settings.
        num_classes: number of classes for a conditional GAN (generator and
            discriminator then take labels), or None.
        seed: int seed of the model's `keras.random.SeedGenerator`, the
            source of every random number drawn in `train_step`.
        regularizers: list of `ganzoo.regularizers.Regularizer`, terms added
            to the discriminator's loss after the family's and those of the
            options below (each logged, unweighted, under its name).
        ema_step_offset: generator steps the weights were trained for before
            this model's optimizers began counting (a fine-tuned model: its
            source's; set by `ganzoo.pretrained` and ``ganzoo train
            --pretrained/--init-from``). The EMA schedule (``ema_start``,
            warm-up) counts from there, so the EMA generator continues.
        **options: the training options, each declared (with its doc, default
            and check) by the part that implements it; `GAN.options()` lists
            them:

            - the game (`GAME_OPTIONS`): ``loss`` (a name in `ganzoo.losses`,
              default the family's), ``d_steps`` (discriminator steps per
              generator step, each on its own slice of the real batch; default
              the family's), ``g_batch_size`` (latent samples of the generator
              step over all replicas; default the per-D-step batch) and
              ``sync_batchnorm`` (None or True: BatchNorm statistics over all
              replicas, so N replicas train like one device; False: per
              replica, moving statistics averaged after every step);
            - the EMA generator (`ganzoo.models.ema.OPTIONS`): ``ema_decay``,
              ``ema_start``, ``ema_warmup``; `generate` and the export then use
              ``ema_generator`` (``gan(z)`` and `predict` keep the raw
              generator);
            - the discriminator's inputs (`ganzoo.augment.OPTIONS`):
              ``augment`` (DiffAugment, ADA, ...; ADA's probability is logged
              as ``aug_p``), ``instance_noise``, ``instance_noise_steps``;
            - the built-in regularizers (`ganzoo.regularizers.OPTIONS`):
              ``r1_weight``, ``r2_weight``, ``penalty_interval``,
              ``lecam_weight``, ``lecam_decay``;
            - the family's (`family_options`), e.g. WGAN-GP's ``gp_weight``.

            Any other keyword goes to `keras.Model` (``name``, ...).

    Raises:
        ValueError: networks that do not fit together or with `num_classes`,
            and any option its check refuses (the message ends with what was
            received).

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
        return (GAME_OPTIONS + EMA_OPTIONS + augment_lib.OPTIONS + regularizers_lib.OPTIONS
                + tuple(cls.family_options))

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
        self._validating = False  # set while test_step is traced
        self.latent_dim = self._infer_latent_dim()
        self.image_shape = self._infer_image_shape()
        self.input_checks = InputChecks(self.image_shape, self.num_classes, self.d_steps,
                                        lambda: self.distribute_strategy.num_replicas_in_sync)
        # The option values the model was built with (get_config writes them
        # back); each also readable as an attribute of its name.
        self._options = {k: v for k, v in options.items() if k not in ("loss", "d_steps")}
        for name, value in self._options.items():
            if name != "augment":
                setattr(self, name, value)
        self.ema_step_offset = check_number("ema_step_offset", ema_step_offset, 0, integer=True)
        self._ema = GeneratorEMA.from_options(
            **{o.name: options[o.name] for o in EMA_OPTIONS})
        self.augment, self.instance_noise_layer = augment_lib.from_options(
            **{o.name: options[o.name] for o in augment_lib.OPTIONS})
        user = [regularizers_lib.get(r) for r in (regularizers or [])]
        self._num_user_regularizers = len(user)  # the last ones; get_config writes them
        self.regularizers = (
            self.family_regularizers(options)
            + regularizers_lib.from_options(**{o.name: options[o.name] for o in regularizers_lib.OPTIONS})
            + user
        )
        names = [r.name for r in self.regularizers]
        taken = set(self.metric_names) | {"aug_p"}
        clash = sorted({n for n in names if names.count(n) > 1 or n in taken})
        if clash:
            raise ValueError(
                "Each regularizer is logged under its name, which must differ from the other "
                f"regularizers' and from {sorted(taken)}. Received: regularizers named {names}"
            )
        if self.sync_batchnorm:
            distribute.synchronize_batchnorm(self.generator, self.discriminator)
        self.ema_generator = None if self._ema is None else GeneratorEMA.copy_of(generator)
        self.metric_names = tuple(type(self).metric_names) + tuple(names)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.metric_names}
        self.d_optimizer = None
        self.g_optimizer = None

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
            jit_compile = distribute.num_replicas() == 1 and not distribute.on_accelerator_free_host()
        elif jit_compile and distribute.num_replicas() > 1 and distribute.on_cpus():
            raise ValueError(
                "XLA (jit_compile=True, --xla on) fails under a multi-replica strategy on CPUs "
                "(TensorFlow cannot place the compiled step's resources across CPU "
                "devices); use jit_compile='auto' or False (--xla auto/off). Received: jit_compile=True "
                f"with {distribute.num_replicas()} CPU replicas"
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

    def _track(self, metrics):
        for name, value in metrics.items():
            if isinstance(value, tuple):
                value, weight = value
                self.trackers[name].update_state(value, sample_weight=weight)
            else:
                self.trackers[name].update_state(value)

    # --- random numbers and the discriminator's view ------------------------

    def _rng(self):
        """The SeedGenerator of the step being traced: training or validation."""
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

    def _discriminate(self, images, labels, training=True):
        return tf.cast(self.discriminator(self._inputs(images, labels), training=training), "float32")

    @property
    def input_transforms(self):
        """The layers every image goes through before the discriminator, in order:
        the augmentation, then instance noise (each if set)."""
        return [t for t in (self.augment, self.instance_noise_layer) if t is not None]

    def _critic(self, batch):
        """The discriminator as the losses see it in one step, for `batch` images.

        Draws this call's parameters of every input transform (from the
        model's seed stream, per replica as `ganzoo.distribute.replica_draw`)
        and returns ``critic(inputs, training=True)``, ``inputs`` images or
        ``[images, labels]``, which transforms the images and returns float32
        logits. Penalties differentiate through it with respect to the
        un-transformed images (as StyleGAN2-ADA does).
        """
        transforms = self.input_transforms
        draw = self._drawer(batch)
        params = [t.draw(self.image_shape, draw, self.g_optimizer.iterations) for t in transforms]

        def critic(inputs, training=True):
            images, labels = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
            images = tf.cast(images, "float32")
            for transform, p in zip(transforms, params):
                images = transform.apply(images, p)
            return self._discriminate(images, labels, training=training)

        return critic

    def _uses_real_labels_for_fakes(self):
        return self.num_classes is not None and (
            self.fake_labels_from_real or self.adversarial_loss.pairs_real_and_fake
        )

    # --- the game ----------------------------------------------------------

    def _apply(self, optimizer, tape, loss, variables):
        grads = tape.gradient(loss, variables)
        # Dense gradients for embedding lookups (class embeddings, conditional
        # BatchNorm): Keras 3.15's Adam squares an IndexedSlices gradient row by
        # row before summing repeated rows (v gets sum g_i^2, not (sum g_i)^2),
        # so per-class parameters would move up to sqrt(count) * lr per step.
        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
        optimizer.apply(grads, variables)

    def _lazy(self, compute, interval):
        """`compute()` scaled by `interval` on every `interval`-th D step, else 0.

        Returns:
            ``(weighted value, due)`` with ``due`` 1.0 when computed, else 0.0.
        """
        k = interval
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
            scaled = distribute.scale_for_replicas(total)
            if hasattr(self.d_optimizer, "scale_loss"):
                scaled = self.d_optimizer.scale_loss(scaled)
        self._apply(self.d_optimizer, tape, scaled, self.discriminator.trainable_variables)
        for transform in self.input_transforms:
            transform.observe(real_logits, tf.cast(batch, "float32") * distribute.num_replicas())
        return metrics

    def _discriminator_objective(self, real, labels, fake, fake_labels, critic_real, critic_fake,
                                 training=True):
        """The discriminator's loss with every regularizer, as trained and as validated.

        ``adversarial loss + sum(weight * penalty)`` over `regularizers`, each
        penalty lazy every ``interval`` D steps (`_lazy`).

        Returns:
            ``(total loss, metrics, real logits, fake logits)``; ``metrics["d_loss"]``
            is the total, ``metrics[regularizer.name]`` its unweighted penalty.
        """
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
            value, due = self._lazy(lambda reg=reg: reg.penalty(step), reg.interval)
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
                message = (  # no quotes: the run-time assertion would escape them
                    f"The {self.loss_name} loss pairs each generated image with one real image "
                    f"of a discriminator step, so g_batch_size must equal the batch of one "
                    "discriminator step ({} images) or be unset. Received: "
                    f"g_batch_size={self.g_batch_size}"
                )
                if isinstance(per_step, int):
                    if g_batch != per_step:
                        raise ValueError(message.format(per_step * replicas))
                else:  # a batch size known only at run time
                    check = self.input_checks.run_time_check(
                        tf.equal(per_step, g_batch), message, per_step * replicas
                    )
                    real, real_labels = run_time_checks.after([check], real, real_labels)
            g_metrics = self.generator_step(g_batch, real=real, real_labels=real_labels)
        else:
            g_metrics = self.generator_step(g_batch)
        self._track(g_metrics)
        if self.sync_batchnorm is False and replicas > 1:
            # before the EMA reads them
            distribute.average_batchnorm_statistics(self.generator, self.discriminator)
        if self.ema_generator is not None:
            self._ema.update(self.ema_generator, self.generator,
                             self.g_optimizer.iterations + self.ema_step_offset)
        results = self._results()
        for transform in self.input_transforms:
            results.update(transform.logs())
        if distribute.is_multi_worker():
            # MultiWorkerMirroredStrategy cannot reduce scalars returned by
            # train_step (tensorflow issue 72388): return rank-1 values.
            return {k: tf.reshape(v, [1]) for k, v in results.items()}
        return results

    def ema_decay_at(self, step):
        """The EMA decay used after generator step `step` (1-based): 0 until ``ema_start``.

        Args:
            step: int or int Tensor, generator steps done so far.

        Returns:
            float32 scalar in [0, ema_decay] (`ganzoo.models.ema.GeneratorEMA.decay_at`).

        Raises:
            ValueError: the GAN keeps no EMA generator.
        """
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
        """While a step is traced: whether XLA compiles it (its in-graph checks then
        run in the input pipeline) and whether it validates (its own noise stream)."""
        self.input_checks.xla, self._validating = bool(self.jit_compile), validating
        try:
            yield
        finally:
            self.input_checks.xla = self._validating = False

    def _test_losses(self, images, labels):
        """The training step's quantities, under the same names, without any update.

        The discriminator's objective includes every regularizer (LeCam at its
        current anchors) and the input transforms, exactly as in training; the
        networks run in inference mode (BatchNorm moving statistics, no
        power-iteration update); random numbers come from
        ``validation_seed_generator``, so validating leaves the training noise
        stream untouched.
        """
        batch = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
        z = self._sample_latent(batch)
        fake_labels = labels if self._uses_real_labels_for_fakes() else self._sample_labels(batch)
        fake = tf.cast(self.generator(self._generator_inputs(z, fake_labels), training=False), "float32")
        critic_real, critic_fake = self._critic(batch), self._critic(batch)

        def in_inference_mode(critic):
            return lambda inputs, training=False: critic(inputs, training=False)

        _, values, real_logits, fake_logits = self._discriminator_objective(
            images, labels, fake, fake_labels, in_inference_mode(critic_real),
            in_inference_mode(critic_fake), training=False,
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
        before any update of that step (`ganzoo.models.input_checks`).
        """
        checks = self.input_checks
        checks.check_first_batch(x, y, kwargs.get("batch_size"))
        if not (isinstance(x, np.ndarray) or tf.is_tensor(x)):
            kwargs.setdefault("shuffle", False)  # a Dataset or generator shuffles itself
        if not isinstance(x, tf.data.Dataset):
            return super().fit(x, y, **kwargs)
        # A dataset's first batch is checked as it comes out of the pipeline that
        # fit reads (a separate look would fill shuffle buffers and caches twice).
        checks.first_batch_error = None
        checks.first_batch_seen = False
        try:
            history = super().fit(checks.checked_dataset(checks.first_batch_checked(x)), y, **kwargs)
        except tf.errors.OpError:
            error, checks.first_batch_error = checks.first_batch_error, None
            if error is not None:
                raise error from None
            raise
        # An epoch that ran without its first batch: the dataset was empty. (No epoch
        # at all is a resumed run that was already complete.)
        if history.epoch and not checks.first_batch_seen:
            raise ValueError("The training dataset is empty. Received: a tf.data.Dataset that "
                             "produced no element")
        return history

    # --- state and serialization -------------------------------------------

    def regularizer(self, name):
        """The regularizer logged under `name`.

        Raises:
            ValueError: none has that name (the message lists the names).
        """
        for reg in self.regularizers:
            if reg.name == name:
                return reg
        raise ValueError(f"No regularizer named {name!r}; this GAN has "
                         f"{[r.name for r in self.regularizers]}. Received: name={name!r}")

    def take_regularizer_state(self, source):
        """Copies the state of each regularizer of `source` (a GAN) whose name and class match
        one of this GAN's (LeCam's anchors)."""
        theirs = {r.name: r for r in source.regularizers}
        for reg in self.regularizers:
            other = theirs.get(reg.name)
            if other is not None and type(other) is type(reg) and reg.weights:
                reg.set_weights(other.get_weights())

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
            # A file of the engine before ganzoo.regularizers: the LeCam anchors were
            # the GAN's own (only) variable; they are now the LeCam regularizer's.
            holders = [r for r in self.regularizers if isinstance(r, regularizers_lib.LeCam)]
            if len(own) != 1 or len(holders) != 1:
                raise ValueError(
                    f"This file holds {len(own)} variables of the GAN itself; a GAN of this version "
                    f"holds none (its LeCam anchors live in its LeCam regularizer). Received: {len(own)} "
                    "variables"
                )
            holders[0].anchors.assign(np.asarray(store[own[0]]))
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
            config["regularizers"] = [keras.saving.serialize_keras_object(r) for r in user]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(
            config["discriminator"]
        )
        return cls(**config)
