"""Training options, each declared once by the component that implements it.

A training option (``r1_weight``, ``ema_decay``, ``augment``, ...) is one name
everywhere a user meets it: a field of a zoo recipe, a keyword of
`ganzoo.create_model` and of the GAN constructors, ``ganzoo train --set``,
and a key of ``GAN.get_config()``. The component that implements it declares
it here as an `Option` (its doc, default, the recipe types it takes and its
check); the registry, the CLI and the config are derived from those
declarations (`ganzoo.models.OPTIONS` collects them).
"""

import dataclasses
from typing import Any, Callable


@dataclasses.dataclass(frozen=True)
class Option:
    """One training option.

    Attributes:
        name: the option's name (recipe field, keyword argument, config key).
        doc: one line for the recipe-field table of `ganzoo.registry`.
        default: the value when the option is not given.
        types: the Python types a recipe (TOML) value may have, e.g.
            ``(int, float)``.
        check: callable ``value -> value`` returning the normalized value, or
            raising a ValueError that names the option and ends with
            ``Received: ...``; None for options checked by their component.
    """

    name: str
    doc: str
    default: Any
    types: tuple
    check: Callable[[Any], Any] = None

    def value(self, raw):
        """`raw` checked and normalized (the default when `raw` is None and the default is not)."""
        if raw is None:
            return self.default
        return raw if self.check is None else self.check(raw)


def pop_options(options, kwargs):
    """Removes the values of `options` from `kwargs`: ``{name: checked value}``.

    Args:
        options: iterable of `Option`.
        kwargs: dict of keyword arguments (modified: the options' keys are removed).

    Returns:
        dict of every option's checked value (its default when absent).

    Raises:
        ValueError: from an option's check.
    """
    return {o.name: o.value(kwargs.pop(o.name, None)) for o in options}
