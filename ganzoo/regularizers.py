"""Terms added to the discriminator's loss, behind one interface.

A `Regularizer` computes an **unweighted** penalty from one discriminator
step (a `Step`); the GAN engine adds ``weight * penalty`` to the
discriminator's loss and logs the unweighted penalty under the regularizer's
``name``. Lazy regularization (Karras et al. 2020, StyleGAN2,
arXiv:1912.04958, Section 3.1) is the engine's: with ``interval=k`` the
penalty is computed on every k-th discriminator step and the engine adds
``weight * k * penalty`` then, 0 otherwise.

Built in (each cited in its class):

* `GradientPenalty`: WGAN-GP's two-sided penalty (the ``wgan_gp`` family's).
* `R1`, `R2`: zero-centred input-gradient penalties on real / generated images.
* `LeCam`: the LeCam regularizer, its anchors held as its own weights.

Every GAN takes ``regularizers=[...]``; the recipe fields ``r1_weight``,
``r2_weight``, ``penalty_interval``, ``lecam_weight`` and ``lecam_decay``
(declared in `OPTIONS`) build the built-in ones (`from_options`). A
regularizer written outside ganzoo is a subclass registered with
``keras.saving.register_keras_serializable``::

    @keras.saving.register_keras_serializable(package="my_project")
    class LogitSquare(ganzoo.regularizers.Regularizer):
        def penalty(self, step):
            return tf.reduce_mean(tf.square(step.real_logits))

    gan = ganzoo.create_model("dcgan_mnist", regularizers=[LogitSquare(0.01, name="logit_sq")])
"""

import dataclasses
from typing import Any, Callable

import keras
import tensorflow as tf

from ganzoo import distribute
from ganzoo import losses as losses_lib
from ganzoo.options import Option
from ganzoo.validation import check_number

#: The LeCam anchors' default decay (Tseng et al. 2021's reference setting).
LECAM_DECAY = 0.99


@dataclasses.dataclass(frozen=True)
class Step:
    """What a regularizer sees of one discriminator step.

    Attributes:
        real: float32 (batch, H, W, C), the step's real images in [-1, 1].
        fake: float32 (batch, H, W, C), its generated images (constants).
        labels: int32 (batch,) labels of `real`, or None (unconditional).
        fake_labels: int32 (batch,) labels `fake` was generated for, or None.
        real_logits: float32 (batch, 1), the discriminator on `real`.
        fake_logits: float32 (batch, 1), the discriminator on `fake`.
        critic: callable ``critic(images, labels=None) -> float32 (n, 1)``:
            the discriminator behind the real batch's augmentation and
            instance noise, a function of un-augmented images,
            differentiable in them (penalties differentiate through the
            augmentation, as StyleGAN2-ADA does).
        fake_critic: the same behind the generated batch's augmentation.
        training: False in validation (``fit(validation_data=...)``): a
            regularizer must then move no state.
        draw: callable ``draw(sampler) -> Tensor (batch, ...)`` for random
            numbers: ``sampler(n, seed)`` draws ``n`` rows with
            ``keras.random`` and ``seed``; `draw` gives this replica's rows of
            one global draw from the model's seed stream (so N replicas draw
            like one device, and a seeded fit is reproducible).
    """

    real: Any
    fake: Any
    labels: Any
    fake_labels: Any
    real_logits: Any
    fake_logits: Any
    critic: Callable
    fake_critic: Callable
    training: bool
    draw: Callable


def _as_inputs(critic):
    """`critic(images, labels)` as the callable ``inputs -> logits`` that `ganzoo.losses` takes."""
    def call(inputs, training=True):  # the engine's critic decides the mode
        images, labels = inputs if isinstance(inputs, (list, tuple)) else (inputs, None)
        return critic(images, labels)
    return call


@keras.saving.register_keras_serializable(package="ganzoo")
class Regularizer(keras.layers.Layer):
    """A term of the discriminator's loss: the engine adds ``weight * penalty(step)``.

    Subclasses implement `penalty`, which reads one discriminator step from
    its `Step` (real and generated images, labels, logits, ``critic`` /
    ``fake_critic`` to differentiate the discriminator in its input,
    ``training``, ``draw`` for random numbers) and returns a float32 scalar;
    the engine logs it, unweighted, under the regularizer's ``name``, which
    must be unique among the GAN's regularizers (the recipe's ``r1``, ``r2``,
    ``lecam``, ``gp`` included). State (like LeCam's anchors) is the layer's
    own weights, saved with the GAN. To save a GAN with it, register the
    class with ``keras.saving.register_keras_serializable`` and return its
    extra constructor arguments from ``get_config``.

    Example::

        @keras.saving.register_keras_serializable(package="my_project")
        class LogitSquare(ganzoo.regularizers.Regularizer):
            def penalty(self, step):  # E[D(x)^2] on real images
                return tf.reduce_mean(tf.square(step.real_logits))

        ganzoo.create_model("dcgan_mnist", regularizers=[LogitSquare(0.01, name="logit_sq")])

    Args:
        weight: float >= 0, the factor of the penalty in the loss.
        interval: positive int, lazy regularization: the penalty is computed
            on every `interval`-th discriminator step only and then counts
            ``interval`` times (StyleGAN2, Section 3.1). Default 1.
        name: the name the unweighted penalty is logged under.
        **kwargs: passed to `keras.layers.Layer`.

    Raises:
        ValueError: a negative weight or a non-positive interval.
    """

    def __init__(self, weight=1.0, interval=1, name=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(name=name, **kwargs)
        self.weight = check_number("weight", weight, 0.0)
        self.interval = check_number("interval", interval, 1, integer=True)
        self.built = True  # no weights that depend on an input shape

    def penalty(self, step):
        """The unweighted penalty of one discriminator step.

        Args:
            step: a `Step`.

        Returns:
            float32 scalar Tensor (a Python number is converted); anything
            else stops `fit` with a ValueError naming the regularizer.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement penalty(step)")

    def call(self, step):
        return self.penalty(step)

    def get_config(self):
        config = super().get_config()
        config.update({"weight": self.weight, "interval": self.interval})
        return config


@keras.saving.register_keras_serializable(package="ganzoo")
class GradientPenalty(Regularizer):
    """WGAN-GP's two-sided gradient penalty (Gulrajani et al. 2017, arXiv:1704.00028,
    Algorithm 1): ``E[(||grad D(x_hat)||_2 - 1)^2]`` at ``x_hat = a * real + (1 - a) * fake``,
    ``a ~ U(0, 1)`` per sample (drawn from the model's seed stream), logged as ``gp``.

    Args:
        weight: lambda (the paper's 10). Other arguments as `Regularizer`.
    """

    def __init__(self, weight=10.0, interval=1, name="gp", **kwargs):
        super().__init__(weight=weight, interval=interval, name=name, **kwargs)

    def penalty(self, step):
        alpha = step.draw(lambda n, seed: keras.random.uniform((n,), 0.0, 1.0, seed=seed))
        return losses_lib.gradient_penalty(_as_inputs(step.critic), step.real, step.fake,
                                           labels=step.labels, alpha=alpha)


@keras.saving.register_keras_serializable(package="ganzoo")
class R1(Regularizer):
    """R1 (Mescheder, Geiger & Nowozin 2018, arXiv:1801.04406, eq. 9): ``E[||grad_x D(x)||^2]``
    on real images, added as ``gamma / 2 * R1``; logged (unweighted) as ``r1``.

    Args:
        gamma: float >= 0, the paper's gamma (the weight is ``gamma / 2``).
        interval: lazy interval (see `Regularizer`).
        name: log name (default ``"r1"``).
    """

    def __init__(self, gamma=1.0, interval=1, name="r1", **kwargs):
        if "weight" in kwargs:
            raise ValueError(f"{type(self).__name__} takes gamma, its weight being gamma / 2 (Mescheder et "
                             f"al. 2018, eq. 9). Received: weight={kwargs['weight']!r}")
        self.gamma = check_number("gamma", gamma, 0.0)
        super().__init__(weight=0.5 * self.gamma, interval=interval, name=name, **kwargs)

    def penalty(self, step):
        return losses_lib.r1_penalty(_as_inputs(step.critic), step.real, labels=step.labels)

    def get_config(self):
        config = {**super().get_config(), "gamma": self.gamma}
        del config["weight"]  # gamma / 2
        return config


@keras.saving.register_keras_serializable(package="ganzoo")
class R2(R1):
    """R2 (Mescheder et al. 2018, arXiv:1801.04406): `R1` on generated images, through the
    generated batch's augmentation; logged as ``r2``. Arguments as `R1`."""

    def __init__(self, gamma=1.0, interval=1, name="r2", **kwargs):
        super().__init__(gamma=gamma, interval=interval, name=name, **kwargs)

    def penalty(self, step):
        return losses_lib.r2_penalty(_as_inputs(step.fake_critic), step.fake, labels=step.fake_labels)


@keras.saving.register_keras_serializable(package="ganzoo")
class LeCam(Regularizer):
    """LeCam regularization (Tseng et al. 2021, arXiv:2104.03310, eq. 3), logged as ``lecam``.

    ``E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2]`` with anchors
    ``a_real``, ``a_fake`` the moving averages (decay `decay`) of the mean
    logits on real and generated images over the replicas, updated before
    each penalty (the first update sets them to the batch's means). The
    anchors and the update count are the non-trainable weight
    ``lecam_anchors`` (3,) ``[a_real, a_fake, count]``, saved with the model.
    In validation the current anchors are read, not moved.

    Args:
        weight: lambda. decay: float in [0, 1), the anchors' decay (0.99).
        Other arguments as `Regularizer`.
    """

    def __init__(self, weight=1.0, decay=LECAM_DECAY, interval=1, name="lecam", **kwargs):
        super().__init__(weight=weight, interval=interval, name=name, **kwargs)
        self.decay = check_number("decay", decay, 0.0, 1.0, open_high=True)
        self.anchors = self.add_weight(
            shape=(3,), initializer="zeros", trainable=False, name="lecam_anchors",
            dtype="float32", aggregation="only_first_replica",
        )

    def penalty(self, step):
        means = distribute.replica_mean(tf.stack([
            tf.reduce_mean(tf.stop_gradient(step.real_logits)),
            tf.reduce_mean(tf.stop_gradient(step.fake_logits)),
        ]))
        count = self.anchors[2]
        if step.training:
            decay = tf.where(count > 0, self.decay, 0.0)
            anchors = decay * self.anchors[:2] + (1.0 - decay) * means
            self.anchors.assign(tf.concat([anchors, [count + 1.0]], 0))
        else:  # the current anchors (this batch's means before the first update)
            anchors = tf.where(count > 0, self.anchors[:2], means)
        return losses_lib.lecam_penalty(step.real_logits, step.fake_logits, anchors[0], anchors[1])

    def load_own_variables(self, store):
        if not list(store.keys()):
            return  # a file of the engine before this module: `GAN.load_own_variables` restores them
        super().load_own_variables(store)

    def get_config(self):
        return {**super().get_config(), "decay": self.decay}


# --- the recipe fields of the built-in regularizers ---------------------------

def _weight(name):
    return lambda v: check_number(name, v, 0.0)


#: The recipe fields that build the built-in regularizers (`from_options`).
OPTIONS = (
    Option("r1_weight", "gamma of the R1 penalty (gamma / 2 * R1 on D's loss)", 0.0, (int, float),
           _weight("r1_weight")),
    Option("r2_weight", "gamma of the R2 penalty", 0.0, (int, float), _weight("r2_weight")),
    Option("penalty_interval", "lazy R1/R2: every N-th discriminator step, times N", 1, (int,),
           lambda v: check_number("penalty_interval", v, 1, integer=True)),
    Option("lecam_weight", "weight of the LeCam regularizer", 0.0, (int, float), _weight("lecam_weight")),
    Option("lecam_decay", f"decay of the LeCam anchors ({LECAM_DECAY})", LECAM_DECAY, (int, float),
           lambda v: check_number("lecam_decay", v, 0.0, 1.0, open_high=True)),
)


def from_options(r1_weight=0.0, r2_weight=0.0, penalty_interval=1, lecam_weight=0.0, lecam_decay=LECAM_DECAY):
    """The built-in regularizers the recipe fields of `OPTIONS` ask for (checked values).

    Returns:
        list: `R1` (``gamma=r1_weight``) and `R2` if their gamma is non-zero,
        both lazy every `penalty_interval` steps, then `LeCam` if
        `lecam_weight` is non-zero: the order their terms are summed and
        logged in.

    Raises:
        ValueError: `penalty_interval` other than 1 without R1 or R2, or `lecam_decay` other
            than its default without LeCam: settings nothing would use.
    """
    if penalty_interval != 1 and not (r1_weight or r2_weight):
        raise ValueError(
            "penalty_interval makes the R1/R2 penalties lazy, which needs r1_weight or r2_weight > 0 "
            f"(or penalty_interval = 1). Received: penalty_interval={penalty_interval!r}, "
            f"r1_weight={r1_weight!r}, r2_weight={r2_weight!r}"
        )
    if lecam_decay != LECAM_DECAY and not lecam_weight:
        raise ValueError(
            "lecam_decay sets the LeCam anchors' decay, which needs lecam_weight > 0. "
            f"Received: lecam_weight={lecam_weight!r}, lecam_decay={lecam_decay!r}"
        )
    out = []
    if r1_weight:
        out.append(R1(gamma=r1_weight, interval=penalty_interval))
    if r2_weight:
        out.append(R2(gamma=r2_weight, interval=penalty_interval))
    if lecam_weight:
        out.append(LeCam(weight=lecam_weight, decay=lecam_decay))
    return out


def restore_from_gan_store(regularizers, store, keys):
    """Restores regularizer state kept by a file of the engine before this module among the
    GAN's own variables: the LeCam anchors, then the GAN's only variable.

    Raises:
        ValueError: the store does not hold exactly one variable, or `regularizers` not
            exactly one `LeCam`.
    """
    holders = [r for r in regularizers if isinstance(r, LeCam)]
    if len(keys) != 1 or len(holders) != 1:
        raise ValueError(
            f"This file holds {len(keys)} variables of the GAN itself; a GAN of this version "
            "holds none (its LeCam anchors live in its LeCam regularizer). "
            f"Received: {len(keys)} variables and {len(holders)} LeCam regularizers"
        )
    holders[0].anchors.assign(store[keys[0]])


#: Log keys a regularizer's name may not take (besides the GAN's metrics): the run log's own.
RESERVED_NAMES = ("loss", "epoch", "seconds")


def check_names(regularizers, taken):
    """The regularizers' names, each logged as a metric: non-empty, unique, not in `taken` nor
    `RESERVED_NAMES`, and not starting with ``val_`` (Keras' prefix of validation logs).

    Raises:
        ValueError: naming the offending names.
    """
    names = [r.name for r in regularizers]
    taken = set(taken) | set(RESERVED_NAMES)
    bad = sorted({n for n in names if names.count(n) > 1 or n in taken or not n or n.startswith("val_")})
    if bad:
        raise ValueError(
            "Each regularizer is logged under its name, which must be non-empty, differ from the other "
            f"regularizers' (the recipe's r1, r2, lecam, gp included) and from {sorted(taken)}, and not "
            f"start with 'val_'. Received: regularizers named {names} ({bad} not allowed)"
        )
    return names


def find(regularizers, name):
    """The member of `regularizers` logged under `name`.

    Raises:
        ValueError: none has that name (the message lists the names).
    """
    for reg in regularizers:
        if reg.name == name:
            return reg
    raise ValueError(f"No regularizer named {name!r}; there are {[r.name for r in regularizers]}. "
                     f"Received: name={name!r}")


def copy_state(source, target):
    """Copies the weights of each regularizer of `source` to the one of `target` with the
    same name and class (for a GAN rebuilt around trained networks)."""
    theirs = {r.name: r for r in source}
    for reg in target:
        other = theirs.get(reg.name)
        if other is not None and type(other) is type(reg) and reg.weights:
            reg.set_weights(other.get_weights())


def get(spec):
    """A `Regularizer` from itself or its serialized config.

    Raises:
        ValueError: anything else, or a subclass that does not implement `penalty`.
    """
    if isinstance(spec, dict) and "class_name" in spec:
        spec = keras.saving.deserialize_keras_object(spec)
    if not isinstance(spec, Regularizer):
        raise ValueError(
            "regularizers must be ganzoo.regularizers.Regularizer instances (or their serialized "
            f"configs). Received: {spec!r}"
        )
    if type(spec).penalty is Regularizer.penalty:
        raise ValueError(f"A Regularizer subclass must implement penalty(step). Received: {type(spec).__name__}")
    return spec


def check_list(regularizers):
    """`regularizers` (None, a list or a tuple) as a list of `Regularizer` (see `get`).

    Raises:
        ValueError: not a list or tuple (e.g. one regularizer or a string), a bad
            member, or a name that cannot be a log key.
    """
    if regularizers is None:
        return []
    if not isinstance(regularizers, (list, tuple)):
        raise ValueError("regularizers must be a list of ganzoo.regularizers.Regularizer instances. "
                         f"Received: regularizers={regularizers!r}")
    out = [get(r) for r in regularizers]
    bad = [r.name for r in out if not r.name or r.name in RESERVED_NAMES or r.name.startswith("val_")]
    if bad:
        raise ValueError(f"A regularizer's name is the key of its log: non-empty, not one of {list(RESERVED_NAMES)}, "
                         f"not starting with 'val_'. Received: regularizers named {bad}")
    return out


def checked_penalty(regularizer, step):
    """``regularizer.penalty(step)`` as a float32 scalar Tensor (Python numbers converted).

    Raises:
        ValueError: a penalty that is not a float32 scalar, naming the regularizer.
    """
    value = regularizer.penalty(step)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = tf.constant(float(value), "float32")
    if not tf.is_tensor(value) or value.dtype != tf.float32 or value.shape.rank != 0:
        got = (f"a {value.dtype.name} tensor of shape {tuple(value.shape)}" if tf.is_tensor(value)
               else repr(value))
        raise ValueError(f"{type(regularizer).__name__} {regularizer.name!r}: penalty(step) must return a "
                         f"float32 scalar (reduce over the batch). Received: {got}")
    return value


def serialize(regularizer):
    """The config of `regularizer` for a saved GAN.

    Raises:
        ValueError: its class is not registered with
            ``keras.saving.register_keras_serializable`` (the file could not be loaded).
    """
    cls = type(regularizer)
    if keras.saving.get_registered_object(keras.saving.get_registered_name(cls)) is not cls:
        raise ValueError(
            f"To save a GAN with the regularizer {regularizer.name!r}, register its class with "
            "@keras.saving.register_keras_serializable(package=...) (and give its extra arguments a "
            f"get_config), or the file could not be loaded. Received: an unregistered {cls.__name__}"
        )
    return keras.saving.serialize_keras_object(regularizer)


def lazy(compute, interval, d_step, discriminator, every_step=False):
    """Lazy regularization (StyleGAN2, Section 3.1): `compute()` times `interval` on every
    `interval`-th discriminator step, 0 on the others.

    Args:
        compute: callable returning the float32 scalar penalty.
        interval: positive int.
        d_step: int Tensor, discriminator steps done so far (the step is due when
            ``d_step % interval == 0``).
        discriminator: the network whose non-trainable state (BatchNorm statistics,
            spectral-norm vectors) a discarded computation must not move.
        every_step: compute on every step and keep every `interval`-th (needed under
            XLA, which cannot differentiate the nested penalty gradient inside a
            ``tf.cond`` ("InvertPermutation: 0 is duplicated"), and under a
            tf.distribute strategy, where the discriminator's state updates inside a
            ``tf.cond`` are synchronisation points ("merge_call called while defining
            a new graph")): the same result without the saving; the state the
            discarded computations move is put back.

    Returns:
        ``(weighted value, due)``: float32 scalars, ``due`` 1.0 when computed, else 0.0.
    """
    k = interval
    if k == 1:
        return compute(), tf.constant(1.0)
    due = tf.equal(tf.math.floormod(d_step, k), 0)
    if every_step:
        state = discriminator.non_trainable_variables
        saved = [tf.identity(v.value) for v in state]
        value = compute()
        with tf.control_dependencies([value]):
            for v, old in zip(state, saved):
                v.assign(tf.where(due, v.value, old))
        return value * float(k) * tf.cast(due, "float32"), tf.cast(due, "float32")
    value = tf.cond(due, lambda: compute() * float(k), lambda: tf.constant(0.0))
    return value, tf.cast(due, "float32")
