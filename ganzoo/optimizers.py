"""Optimizers and learning-rate schedules built from recipe settings.

A recipe describes each optimizer as a plain dict, for example::

    {"name": "adam", "learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.9,
     "schedule": "linear", "decay_steps": 100000}

``schedule`` is one of:

* ``"constant"`` (default);
* ``"linear"``: linear decay to 0 over ``decay_steps`` generator iterations, as
  in the ResNet recipes of WGAN-GP (Gulrajani et al. 2017) and SN-GAN
  (Miyato et al. 2018);
* ``"inverse_sqrt"``: ``eta_j = eta / sqrt(j + 1)`` where ``j`` counts
  generator iterations.

Schedules count **generator iterations**: the discriminator's optimizer steps
``d_steps`` times per generator step, so its schedule divides its own step
counter by ``d_steps``. Every other key is passed to the Keras optimizer and
must be one of its constructor's arguments (`check_settings` refuses any other
key before an optimizer is built, listing the valid ones).
"""

import functools
import inspect

import keras

from ganzoo.validation import did_you_mean

_SCHEDULES = ("constant", "linear", "inverse_sqrt")


@keras.saving.register_keras_serializable(package="ganzoo")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``lr * max(0, 1 - floor(step / step_divisor) / decay_steps)``.

    Args:
        initial_learning_rate: float, the rate at step 0.
        decay_steps: int, generator iterations until the rate reaches 0.
        step_divisor: int, optimizer steps per generator iteration.
    """

    def __init__(self, initial_learning_rate, decay_steps, step_divisor=1):
        if int(decay_steps) <= 0:
            raise ValueError(
                f"decay_steps must be a positive integer. Received: decay_steps={decay_steps!r}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.step_divisor = int(step_divisor)

    def __call__(self, step):
        j = keras.ops.floor(keras.ops.cast(step, "float32") / self.step_divisor)
        fraction = keras.ops.maximum(0.0, 1.0 - j / float(self.decay_steps))
        return self.initial_learning_rate * fraction

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "step_divisor": self.step_divisor,
        }


@keras.saving.register_keras_serializable(package="ganzoo")
class GeneratorIterations(keras.optimizers.schedules.LearningRateSchedule):
    """Makes any schedule count generator iterations: ``schedule(floor(step / step_divisor))``.

    `build_optimizer` wraps the schedule of a user's optimizer instance in it
    when that optimizer steps ``step_divisor`` (``d_steps``) times per
    generator iteration, so that a discriminator's schedule does not run
    ``d_steps`` times faster than the generator's.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule`.
        step_divisor: int, optimizer steps per generator iteration.
    """

    def __init__(self, schedule, step_divisor):
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        self.schedule = schedule
        self.step_divisor = int(step_divisor)

    def __call__(self, step):
        return self.schedule(keras.ops.floor(keras.ops.cast(step, "float32") / self.step_divisor))

    def get_config(self):
        return {"schedule": keras.saving.serialize_keras_object(self.schedule),
                "step_divisor": self.step_divisor}


def _count_generator_iterations(optimizer, step_divisor):
    """Wraps a user optimizer's foreign schedule in `GeneratorIterations` (in place)."""
    schedule = getattr(optimizer, "_learning_rate", None)
    ours = (LinearDecay, InverseSqrtDecay, GeneratorIterations)
    if (int(step_divisor) > 1 and isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)
            and not isinstance(schedule, ours)):
        optimizer._learning_rate = GeneratorIterations(schedule, step_divisor)


@keras.saving.register_keras_serializable(package="ganzoo")
class InverseSqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``lr / sqrt(j + 1)`` with ``j = floor(step / step_divisor)``.

    Args:
        initial_learning_rate: float, the rate at step 0.
        step_divisor: int, optimizer steps per generator iteration.
    """

    def __init__(self, initial_learning_rate, step_divisor=1):
        self.initial_learning_rate = float(initial_learning_rate)
        self.step_divisor = int(step_divisor)

    def __call__(self, step):
        j = keras.ops.floor(keras.ops.cast(step, "float32") / self.step_divisor)
        return self.initial_learning_rate / keras.ops.sqrt(j + 1.0)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "step_divisor": self.step_divisor,
        }


#: Keys of a settings dict that ganzoo reads itself; the others go to the Keras optimizer.
OWN_KEYS = ("name", "schedule", "decay_steps")


def _optimizer_classes():
    """Keras' optimizer classes by lower-case name (Keras resolves built-in names case-insensitively)."""
    return {
        cls.__name__.lower(): cls
        for cls in vars(keras.optimizers).values()
        if isinstance(cls, type) and issubclass(cls, keras.optimizers.Optimizer)
    }


@functools.lru_cache(maxsize=None)
def settings_keys(name):
    """The keys a settings dict for the optimizer `name` may hold.

    Args:
        name: a Keras optimizer name (``"adam"``, ``"Adam"``) or the registered
            name of a serializable custom optimizer.

    Returns:
        sorted tuple: `OWN_KEYS` and the Keras optimizer's constructor
        arguments, read from its signature (its own ``name`` is not settable:
        ``name`` names the optimizer class); None for an unknown name.
    """
    cls = _optimizer_classes().get(str(name).lower()) or keras.saving.get_registered_object(str(name))
    if not (isinstance(cls, type) and issubclass(cls, keras.optimizers.Optimizer)):
        return None
    arguments = {
        p.name for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in ("self", "name")
    }
    return tuple(sorted(arguments | set(OWN_KEYS)))


def check_settings(settings, where="optimizer settings"):
    """Refuses a settings dict without a known optimizer name, or with a key nothing reads.

    Args:
        settings: a dict as described in the module docstring.
        where: how the message names the dict (e.g. ``"field 'd_optimizer'"``).

    Raises:
        ValueError: naming the unknown optimizer or key, with the valid ones.
    """
    name = settings.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where[:1].upper()}{where[1:]} need a 'name'. Received: {settings!r}")
    valid = settings_keys(name)
    if valid is None:
        raise ValueError(
            f"Could not build optimizer {name!r} (no Keras optimizer has that name). Expected one of "
            f"{sorted(_optimizer_classes())} or the registered name of a custom "
            f"keras.optimizers.Optimizer. Received: {settings!r}"
        )
    for key in settings:
        if key not in valid:
            raise ValueError(
                f"Could not build optimizer {name!r} (unknown key '{key}' in {where}). Valid keys: "
                f"{list(valid)}.{did_you_mean(key, valid)} Received: {settings!r}"
            )
    schedule = settings.get("schedule", "constant")
    if schedule not in _SCHEDULES:
        raise ValueError(
            f"Unknown learning-rate schedule. Expected one of {list(_SCHEDULES)}. "
            f"Received: schedule={settings['schedule']!r}"
        )
    if "decay_steps" in settings and schedule != "linear":
        raise ValueError(
            f"'decay_steps' in {where} is the length of the 'linear' schedule, and the schedule is "
            f"{schedule!r}, so it would be ignored: set schedule = \"linear\" or remove decay_steps. "
            f"Received: schedule={schedule!r}, decay_steps={settings['decay_steps']!r}"
        )


def build_optimizer(settings, step_divisor=1):
    """Builds a Keras optimizer from recipe settings.

    Args:
        settings: a `keras.optimizers.Optimizer` (returned as is, except that
            a learning-rate schedule of its own is made to count generator
            iterations, see `GeneratorIterations`), a string
            name such as ``"adam"``, or a dict with ``name`` and optional
            ``learning_rate``, ``schedule``, ``decay_steps`` and other
            constructor arguments of the Keras optimizer.
        step_divisor: optimizer steps per generator iteration (``d_steps`` for
            the discriminator's optimizer), used by the schedules.

    Returns:
        A new `keras.optimizers.Optimizer`.

    Raises:
        ValueError: on an unknown optimizer, schedule, or argument.
    """
    if isinstance(settings, keras.optimizers.Optimizer):
        _count_generator_iterations(settings, step_divisor)
        return settings
    if isinstance(settings, str):
        settings = {"name": settings}
    if not isinstance(settings, dict):
        raise ValueError(
            "Optimizer settings must be an optimizer, a name or a dict. "
            f"Received: {settings!r}"
        )
    check_settings(settings)
    settings = dict(settings)  # flat: a shallow copy is a full copy
    name = settings.pop("name")
    schedule = settings.pop("schedule", "constant")
    decay_steps = settings.pop("decay_steps", None)
    lr = settings.get("learning_rate", 1e-3)
    if schedule == "linear":
        if decay_steps is None:
            raise ValueError(
                "The 'linear' schedule needs 'decay_steps' (generator iterations). "
                f"Received: {dict(name=name, schedule=schedule, **settings)!r}"
            )
        settings["learning_rate"] = LinearDecay(lr, decay_steps, step_divisor)
    elif schedule == "inverse_sqrt":
        settings["learning_rate"] = InverseSqrtDecay(lr, step_divisor)
    try:
        return keras.optimizers.get({"class_name": name, "config": settings})
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"Could not build optimizer {name!r} from settings {settings!r}: {e} "
            f"Received: {dict(name=name, **settings)!r}"
        ) from e


def settings_of(spec, optimizer, step_divisor=1):
    """The settings dict of an optimizer built by `build_optimizer` from `spec`.

    What a GAN reports as its ``optimizer_settings`` once compiled, so that its
    config describes the optimizers it trains with.

    Args:
        spec: what `build_optimizer` was given: a name, a settings dict or an
            optimizer.
        optimizer: the optimizer it returned.
        step_divisor: the `step_divisor` it was given.

    Returns:
        `spec` itself for a name (as ``{"name": spec}``) or a dict; for an
        optimizer, its class name and constructor arguments (its config), with
        ganzoo's own schedules of this `step_divisor` written back as
        ``schedule`` and ``decay_steps``. `build_optimizer` builds an equal
        optimizer from the result.
    """
    if isinstance(spec, str):
        return {"name": spec}
    if isinstance(spec, dict):
        return dict(spec)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    serialized = keras.optimizers.serialize(optimizer)
    settings = {k: v for k, v in serialized["config"].items() if k != "name"}
    schedule = getattr(optimizer, "_learning_rate", None)
    if isinstance(schedule, (LinearDecay, InverseSqrtDecay)) and schedule.step_divisor == int(step_divisor):
        settings["learning_rate"] = schedule.initial_learning_rate
        if isinstance(schedule, LinearDecay):
            settings.update(schedule="linear", decay_steps=schedule.decay_steps)
        else:
            settings["schedule"] = "inverse_sqrt"
    return {"name": serialized.get("registered_name") or serialized["class_name"], **settings}
