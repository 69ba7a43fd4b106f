"""The zoo registry: one TOML recipe per entry in ``zoo_configs/``.

A recipe holds numbers, the code holds behaviour. Fields (see any file in
``zoo_configs/`` for an example):

============== ======== =====================================================
field          required meaning
============== ======== =====================================================
description    yes      one line for ``ganzoo list`` and the README table
family         yes      ``dcgan``, ``wgan_gp``, ``sngan`` (or ``gan``)
paper          yes      the paper(s) whose recipe this is
deviations     no       how this recipe departs from the paper, for the README's zoo table
dataset        yes      the data it is meant for (``mnist_5k``, ``tfds:cifar10``)
image_shape    yes      [H, W, C]
latent_dim     yes      size of z
batch_size     yes      real images per discriminator step
train_steps    yes      generator iterations of the published schedule
num_classes    no       classes of a conditional entry
generator      yes      table: ``class`` (a `ganzoo.networks` class) + arguments
discriminator  yes      table: the same
d_optimizer    yes      table: optimizer settings (see `ganzoo.optimizers`)
g_optimizer    yes      table: the same
============== ======== =====================================================

and every training option (`ganzoo.models.OPTIONS`, declared by the part
that implements it; ``loss`` and ``d_steps`` are required in a recipe):
``ganzoo.registry.options_table()`` lists them with their docs.

Inspired by timm's ``create_model``/``list_models`` and keras-hub presets.
"""

import copy
import dataclasses
import difflib
import fnmatch
import inspect
import json
import math
import os
import pathlib
import tomllib

from ganzoo import paths
from ganzoo import regularizers as regularizers_lib
from ganzoo.models import OPTIONS
from ganzoo.validation import did_you_mean


# Recipe fields that are not training options: field -> (type or tuple of types, required).
_RECIPE_FIELDS = {
    "description": (str, True),
    "family": (str, True),
    "paper": (str, True),
    "deviations": (str, False),
    "dataset": (str, True),
    "image_shape": (list, True),
    "latent_dim": (int, True),
    "batch_size": (int, True),
    "train_steps": (int, True),
    "num_classes": (int, False),
    "generator": (dict, True),
    "discriminator": (dict, True),
    "d_optimizer": (dict, True),
    "g_optimizer": (dict, True),
}

#: Training options a recipe must state (its paper's).
_REQUIRED_OPTIONS = ("loss", "d_steps")

# Every field -> (type or tuple of types, required); the options' from their declarations.
_FIELDS = {
    **_RECIPE_FIELDS,
    **{name: (o.types[0] if len(o.types) == 1 else o.types, name in _REQUIRED_OPTIONS)
       for name, o in OPTIONS.items()},
}

# Optional fields passed to the GAN constructor under the same name.
_GAN_OPTIONS = tuple(name for name in OPTIONS if name not in ("loss", "d_steps", "g_batch_size"))


def options_table():
    """The training options as a reStructuredText table, from their declarations.

    Returns:
        str: columns ``option``, ``in a recipe`` (``required`` for the paper's
        ``loss`` and ``d_steps``, else ``optional``), ``default`` (None: the
        family's or off) and ``meaning`` (the declaring part's doc).
    """
    rows = [(name, "required" if name in _REQUIRED_OPTIONS else "optional", repr(o.default), o.doc)
            for name, o in OPTIONS.items()]
    header = ("option", "in a recipe", "default", "meaning")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    rule = " ".join("=" * w for w in widths) + " " + "=" * max(len(r[3]) for r in rows + [header])

    def line(r):
        return " ".join(c.ljust(w) for c, w in zip(r, widths)) + " " + r[3]

    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


#: Fields that fix the networks (or the model class), and so what the weights are for.
ARCHITECTURE_FIELDS = ("family", "image_shape", "latent_dim", "num_classes", "generator", "discriminator")
#: Fields the model holds as training options (GAN constructor arguments and optimizer settings).
TRAINING_FIELDS = ("loss", "d_steps", "g_batch_size", "d_optimizer", "g_optimizer") + _GAN_OPTIONS
#: Fields the model does not hold: read by `ganzoo train` and `ganzoo list` (and the README).
RUN_FIELDS = ("description", "paper", "deviations", "dataset", "batch_size", "train_steps")


class RecipeError(ValueError):
    """A zoo recipe is malformed. The message names the file and the field."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A validated zoo entry.

    Attributes:
        name: the entry's name (its file name without ``.toml``).
        path: the recipe file.
        fields: dict of every field in the file (see the module docstring).
        overridden: names of the fields `with_overrides` replaced, in the order given
            (empty for the file as written); errors name them beside the file.
    """

    name: str
    path: pathlib.Path
    fields: dict
    overridden: tuple = ()

    @property
    def where(self):
        """The file, and the overrides applied to it, for error messages."""
        if not self.overridden:
            return str(self.path)
        return f"{self.path} (with overrides {list(self.overridden)})"

    def __getattr__(self, key):
        fields = self.__dict__.get("fields", {})
        if key in _FIELDS:
            return fields.get(key)
        raise AttributeError(key)

    def with_overrides(self, **overrides):
        """A copy with top-level fields replaced and tables merged key by key.

        ``None`` removes an optional field (e.g. ``ema_decay=None``: no EMA; ``ganzoo
        train --unset ema_decay``), and a table's key (``d_optimizer={"decay_steps": None}``).

        Raises:
            RecipeError: an unknown field, ``None`` for a required field, or a merged
                recipe that fails validation; the message names the file and the overrides.
        """
        fields = copy.deepcopy(self.fields)
        for key, value in overrides.items():
            if key not in _FIELDS:
                raise _unknown_override(self.name, key, value)
            if value is None:
                if _FIELDS[key][1]:
                    raise RecipeError(
                        f"{self.path}: field '{key}' is required, so it cannot be removed; give it a "
                        f"value instead. Received: {key}=None"
                    )
                fields.pop(key, None)
                continue
            if isinstance(value, tuple):
                value = list(value)
            if _FIELDS[key][0] is dict and isinstance(value, dict):
                merged = dict(fields.get(key, {}))
                merged.update(value)
                value = {k: v for k, v in merged.items() if v is not None}  # None removes a key
            fields[key] = value
        overridden = self.overridden + tuple(k for k in overrides if k not in self.overridden)
        recipe = Recipe(self.name, self.path, fields, overridden)
        _validate(fields, recipe.where)
        return recipe


#: Network constructor arguments that come from top-level fields, never from the tables.
TOP_LEVEL_NETWORK_ARGS = ("image_shape", "latent_dim", "num_classes")


def network_keys(cls):
    """The keys a ``[generator]``/``[discriminator]`` table may hold for network class `cls`.

    Read from the constructor's signature: ``class`` and every named argument
    except ``name`` and those the registry passes from top-level fields
    (``image_shape``, ``latent_dim``, ``num_classes``).
    """
    params = inspect.signature(cls.__init__).parameters.values()
    return ("class",) + tuple(sorted(
        p.name for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in ("self", "name", *TOP_LEVEL_NETWORK_ARGS)
    ))


def check_network_table(where, net, table, cls):
    """Refuses a key of network table `net` that the network class `cls` does not take."""
    valid = network_keys(cls)
    for key, value in table.items():
        if key in TOP_LEVEL_NETWORK_ARGS:
            raise RecipeError(
                f"{where}: '{net}.{key}' is set by the top-level field '{key}', not in the "
                f"[{net}] table. Received: {net}.{key}={value!r}"
            )
        if key not in valid:
            raise RecipeError(
                f"{where}: unknown key '{key}' in table '{net}' ({cls.__name__}). Valid keys: "
                f"{list(valid)}.{did_you_mean(key, valid)} Received: {net}.{key}={value!r}"
            )


def _check_type(key, value, where):
    """Raises a `RecipeError` unless `value` has the type (and range) of field `key`."""
    types = _FIELDS[key][0]
    if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
        expected = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise RecipeError(
            f"{where}: field '{key}' must be of type {expected}. Received: {key}={value!r}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise RecipeError(f"{where}: field '{key}' must be a finite number. Received: {key}={value!r}")
    if key in OPTIONS:
        if OPTIONS[key].check is not None:
            try:  # the check of the part that implements the option
                OPTIONS[key].check(value)
            except ValueError as e:
                raise RecipeError(f"{where}: field '{key}': {e}") from None
    elif types is int and value < 1:
        raise RecipeError(f"{where}: field '{key}' must be >= 1. Received: {key}={value!r}")


def _unknown_override(entry, key, value):
    close = difflib.get_close_matches(key, list(_FIELDS), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ValueError(
        f"Unknown override for zoo entry '{entry}'. Valid overrides: "
        f"{sorted(_FIELDS)}.{hint} Received: {key}={value!r}"
    )


def check_override(entry, key, value, where):
    """Refuses an override no recipe could take: an unknown field, a wrong type.

    For overrides without a recipe to merge into (a pretrained folder); a
    recipe's own `Recipe.with_overrides` checks the merged result instead.

    Raises:
        ValueError: an unknown field (with a close match), a required field
            set to None, or a value of the wrong type or range.
    """
    if key not in _FIELDS:
        raise _unknown_override(entry, key, value)
    if value is None:
        if _FIELDS[key][1]:
            raise RecipeError(f"{where}: field '{key}' is required and cannot be removed. Received: {key}=None")
        return
    _check_type(key, list(value) if isinstance(value, tuple) else value, where)


def _validate(fields, where):
    from ganzoo import optimizers
    from ganzoo.models import FAMILIES
    from ganzoo.networks import get_network_class

    if "epochs" in fields:
        raise RecipeError(
            f"{where}: field 'epochs' is gone: a run's length is train_steps generator steps "
            "(`ganzoo train` derives the epochs from the data; --epochs or --steps override it), "
            "so a hand-written epoch count can no longer disagree with it. Remove the field. "
            f"Received: epochs={fields['epochs']!r}"
        )
    for key in fields:
        if key not in _FIELDS:
            close = difflib.get_close_matches(key, list(_FIELDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise RecipeError(f"{where}: unknown field '{key}'.{hint} Received: {key}={fields[key]!r}")
    for key, (types, required) in _FIELDS.items():
        if key not in fields:
            if required:
                raise RecipeError(f"{where}: missing required field '{key}'. Received: no '{key}'")
            continue
        _check_type(key, fields[key], where)
    shape = fields["image_shape"]
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise RecipeError(
            f"{where}: field 'image_shape' must be [H, W, C] positive integers. Received: image_shape={shape!r}"
        )
    if fields["family"] not in FAMILIES:
        raise RecipeError(
            f"{where}: field 'family' must be one of {sorted(FAMILIES)}. Received: family={fields['family']!r}"
        )
    family_options = {o.name for o in FAMILIES[fields["family"]].options()}
    for key in fields:
        if key in OPTIONS and key not in family_options:
            owners = " or ".join(repr(f) for f, cls in FAMILIES.items() if key in {o.name for o in cls.options()})
            raise RecipeError(
                f"{where}: field '{key}' only applies to family {owners}. Received: family={fields['family']!r}"
            )
    for net in ("generator", "discriminator"):
        cls_name = fields[net].get("class")
        if not isinstance(cls_name, str):
            raise RecipeError(
                f"{where}: field '{net}.class' must name a ganzoo.networks class. Received: {fields[net]!r}"
            )
        try:
            cls = get_network_class(cls_name)
        except ValueError as e:
            raise RecipeError(f"{where}: field '{net}.class': {e}") from None
        check_network_table(where, net, fields[net], cls)
    for opt in ("d_optimizer", "g_optimizer"):
        if not isinstance(fields[opt].get("name"), str):
            raise RecipeError(
                f"{where}: field '{opt}.name' must name a Keras optimizer. Received: {fields[opt]!r}"
            )
        try:
            optimizers.check_settings(fields[opt], where=f"table '{opt}'")
        except ValueError as e:
            raise RecipeError(f"{where}: {e}") from None


def load_recipe(path):
    """Reads and validates one recipe file. Raises `RecipeError` naming the file and field."""
    path = pathlib.Path(path)
    try:
        with open(path, "rb") as f:
            fields = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML: {e}. Received: the file's text") from None
    _validate(fields, str(path))
    return Recipe(path.stem, path, fields)


def _recipe_paths():
    if not paths.ZOO_DIR.is_dir():
        raise FileNotFoundError(
            f"The zoo_configs directory is missing (install ganzoo with `pip install -e .` from a "
            f"checkout, or set GANZOO_ZOO_CONFIGS). Received: {paths.ZOO_DIR}"
        )
    return {p.stem: p for p in sorted(paths.ZOO_DIR.glob("*.toml"))}


def has_pretrained(name):
    """True when ``saved_models/<name>/`` holds a pretrained model card."""
    return (paths.SAVED_MODELS_DIR / name / paths.CARD).is_file()


def list_models(pattern="*", pretrained=False):
    """Names of the zoo entries, sorted.

    Args:
        pattern: shell-style wildcard, e.g. ``"sngan*"``.
        pretrained: only entries with weights in ``saved_models/``.

    Returns:
        list of str.
    """
    names = [n for n in _recipe_paths() if fnmatch.fnmatchcase(n, pattern)]
    if pretrained:
        names = [n for n in names if has_pretrained(n)]
    return names


def get_recipe(name):
    """The validated `Recipe` of a zoo entry.

    Raises:
        ValueError: for an unknown name, suggesting close matches.
        RecipeError: for a malformed recipe file.
    """
    paths = _recipe_paths()
    if name not in paths:
        close = difflib.get_close_matches(str(name), list(paths), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unknown zoo entry.{hint} See ganzoo.list_models() for all "
            f"{len(paths)} entries. Received: name={name!r}"
        )
    return load_recipe(paths[name])


def build_from_recipe(recipe, seed=None, regularizers=None):
    """Builds the (uncompiled) GAN a recipe describes (with the user's `regularizers`)."""
    from ganzoo.models import FAMILIES
    from ganzoo.networks import get_network_class

    f = recipe.fields
    common = {"image_shape": tuple(f["image_shape"])}
    if f.get("num_classes"):
        common["num_classes"] = f["num_classes"]

    def network(table, **extra):
        args = dict(table)
        cls = get_network_class(args.pop("class"))
        try:
            return cls(**common, **extra, **args)
        except TypeError as e:
            raise RecipeError(f"{recipe.where}: bad arguments for {cls.__name__}: {e}. Received: {table!r}") from None

    generator = network(f["generator"], latent_dim=f["latent_dim"])
    discriminator = network(f["discriminator"])
    kwargs = dict(
        loss=f["loss"],
        d_steps=f["d_steps"],
        g_batch_size=f.get("g_batch_size"),
        optimizer_settings={"d": f["d_optimizer"], "g": f["g_optimizer"]},
        num_classes=f.get("num_classes"),
        seed=seed,
        name=recipe.name,
        regularizers=regularizers,
    )
    for key in _GAN_OPTIONS:
        if key in f:
            kwargs[key] = f[key]
    try:
        return FAMILIES[f["family"]](generator, discriminator, **kwargs)
    except ValueError as e:
        raise RecipeError(f"{recipe.where}: {e}") from None


def _shipped_value(gan, field):
    """The value of architecture field `field` in the loaded `gan`."""
    from ganzoo.models import FAMILIES

    if field == "family":
        return next((k for k, cls in FAMILIES.items() if cls is type(gan)), type(gan).__name__)
    if field == "image_shape":
        return list(gan.image_shape)
    return getattr(gan, field)


def _check_architecture(gan, field, value, where):
    """Refuses an override of architecture field `field` unless it equals the loaded model's."""
    if field in ("generator", "discriminator"):
        net = getattr(gan, field)
        check_network_table(where, field, value, type(net))
        config = json.loads(json.dumps(net.get_config(), default=str))  # tuples as lists
        config["class"] = type(net).__name__
        differing = {k: v for k, v in value.items() if json.loads(json.dumps(v, default=str)) != config.get(k)}
        if not differing:
            return
        key, received = next(iter(differing.items()))
        field, shipped, value = f"{field}.{key}", config.get(key), received
    else:
        shipped = _shipped_value(gan, field)
        if (list(value) if isinstance(value, tuple) else value) == shipped:
            return
    raise ValueError(
        f"{where}: '{field}' would change the networks the weights were loaded into ({field}="
        f"{shipped!r} there). A pretrained model takes new training options (loss, penalties, EMA, "
        f"augmentation, optimizers, d_steps, batch sizes), not a new architecture "
        f"({', '.join(ARCHITECTURE_FIELDS)}); leave out pretrained to train a new model. "
        f"Received: {field}={value!r}"
    )


def _load_pretrained(name_or_path, compile, overrides, seed, name=None, regularizers=None):
    """`ganzoo.pretrained.load_pretrained` with the training options of `overrides` applied.

    Training options (`TRAINING_FIELDS`) replace the shipped ones and the
    weights stay the shipped ones; a field of `ARCHITECTURE_FIELDS` is refused
    unless it equals the shipped model's; `RUN_FIELDS` are accepted (the model
    does not hold them). `seed` gives a new random-number stream.
    """
    from ganzoo import pretrained as pretrained_lib

    gan = pretrained_lib.load_pretrained(name_or_path, compile=False, name=name)
    if overrides or seed is not None or regularizers:
        card = gan.pretrained_card
        gan = _with_training_options(gan, overrides, seed, where=f"pretrained model {str(name_or_path)!r}",
                                     regularizers=regularizers)
        gan.pretrained_card = card
    if compile:
        gan.compile()
    return gan


def _with_training_options(gan, overrides, seed, where, regularizers=None):
    """`gan` rebuilt around its own networks with the training options in `overrides`.

    The weights (networks, EMA generator, augmentation and LeCam state, random
    number state unless `seed` is given) are the loaded model's.
    """
    from ganzoo import optimizers

    for field, value in overrides.items():
        if field in ARCHITECTURE_FIELDS:
            _check_architecture(gan, field, value, where)
    config = gan.get_config()
    for key in ("generator", "discriminator"):
        config.pop(key)
    defaults = {o.name: o.default for o in type(gan).options()}
    for field, value in overrides.items():
        if field in ("d_optimizer", "g_optimizer"):
            settings = {k: v for k, v in {**config["optimizer_settings"][field[0]], **value}.items()
                        if v is not None}  # None removes a key, as in Recipe.with_overrides
            try:
                optimizers.check_settings(settings, where=f"table '{field}'")
            except ValueError as e:
                raise ValueError(f"{where}: {e}") from None
            config["optimizer_settings"][field[0]] = settings
        elif field in TRAINING_FIELDS:
            if field not in defaults:
                raise ValueError(
                    f"{where}: field '{field}' does not apply to a {type(gan).__name__} model. "
                    f"Received: {field}={value!r}"
                )
            config[field] = defaults[field] if value is None else value
    if "augment" not in overrides:
        config["augment"] = gan.augment  # the layer itself: ADA keeps its probability
    if seed is not None:
        config["seed"] = seed
    if regularizers:
        config["regularizers"] = [*config.get("regularizers", []), *regularizers]
    try:
        new = type(gan)(gan.generator, gan.discriminator, **config)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    if gan.ema_generator is not None and new.ema_generator is not None:
        new.ema_generator.set_weights(gan.ema_generator.get_weights())
    regularizers_lib.copy_state(gan.regularizers, new.regularizers)
    if seed is None:
        new.seed_generator.state.assign(gan.seed_generator.state)
    return new


def create_model(name=None, pretrained=False, compile=True, seed=None, regularizers=None, **overrides):
    """Builds a zoo entry, compiled with its recipe's optimizers.

    Args:
        name: a name from `list_models()` (optional when `pretrained` is a folder).
        pretrained: True to load the weights shipped in ``saved_models/<name>/``,
            or the path of a pretrained folder (``config.json``,
            ``model.weights.h5``, ``model_card.json``, ...; see
            `ganzoo.pretrained`). Checksums are verified; nothing is downloaded.
        compile: compile with the recipe's optimizers (default True).
        seed: seed of the model's random-number generator (pretrained: default
            the shipped generator's state).
        regularizers: list of `ganzoo.regularizers.Regularizer`, terms added to
            the discriminator's loss after the recipe's (see `ganzoo.GAN`).
        **overrides: recipe fields to replace, e.g. ``image_shape=(32, 32, 3)``,
            ``latent_dim=64``, or a table merged key by key such as
            ``generator={"base_filters": 8}``. With `pretrained`, training
            options (loss, penalties, EMA, augmentation, optimizers and
            schedules, d_steps, batch sizes) apply to the loaded model and its
            weights stay the shipped ones; a field of `ARCHITECTURE_FIELDS`
            that differs from the shipped model is refused (ValueError naming
            the field).

    Returns:
        A `ganzoo.GAN` subclass instance.
    """
    regularizers = regularizers_lib.check_list(regularizers)  # a Python argument: no recipe in its message
    if isinstance(pretrained, (str, os.PathLike)):
        try:
            kind, folder = paths.classify_source(pretrained)
        except (FileNotFoundError, ValueError):  # a missing path, an empty folder, another file
            kind = None
        if kind != "pretrained":
            raise ValueError(
                "pretrained must be True or a pretrained folder holding model_card.json, "
                f"config.json and model.weights.h5. Received: pretrained={str(pretrained)!r}"
            )
        for key, value in overrides.items():
            check_override(name or folder.name, key, value, where=f"overrides of {str(folder)!r}")
        return _load_pretrained(folder, compile, overrides, seed, name, regularizers=regularizers)
    if name is None:
        raise ValueError("create_model needs a zoo entry name (see list_models()) or "
                         "pretrained='path/to/folder'. Received: name=None")
    recipe = get_recipe(name)
    if overrides:
        recipe = recipe.with_overrides(**overrides)
    if pretrained:
        if not has_pretrained(name):
            raise ValueError(
                f"No pretrained weights for '{name}' in {paths.SAVED_MODELS_DIR}. Entries with "
                f"weights: {list_models(pretrained=True)}. Received: name={name!r}, pretrained=True"
            )
        return _load_pretrained(name, compile, overrides, seed, regularizers=regularizers)
    gan = build_from_recipe(recipe, seed=seed, regularizers=regularizers)
    if compile:
        gan.compile()
    return gan
