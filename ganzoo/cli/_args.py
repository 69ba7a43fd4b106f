"""Argument types shared by the sub-commands: errors that say what was received."""

import argparse
import sys
import tomllib


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {text!r}")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number. Received: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number. Received: {text!r}")
    return value


def unit_interval(text):
    value = positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1). Received: {text!r}")
    return value


def recipe_override(text):
    """Parses ``field=value`` or ``table.key=value`` with a TOML value."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE. Received: {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value  # a bare word is a string
    path = key.strip().split(".")
    if len(path) > 2:
        raise argparse.ArgumentTypeError(f"expected FIELD or TABLE.KEY before '='. Received: {text!r}")
    return path, parsed


def merge_overrides(items, unset=()):
    """Turns parsed ``--set`` items and ``--unset`` fields into recipe overrides.

    A table's keys are merged, whether given as ``TABLE.KEY=VALUE`` or as an inline
    table; an unset field or table key becomes ``None`` (removed from the recipe by
    `Recipe.with_overrides`, which refuses a required field). Repeating a setting with
    the same value is harmless.

    Raises:
        ValueError: a field or table key given two different values or both set and
            unset, or a table key under a field set to a non-table value.
    """
    overrides = {}

    def put(field, key, value):
        if key is None and isinstance(value, dict) and isinstance(overrides.get(field), dict):
            for k, v in value.items():
                put(field, k, v)
            return
        if key is None:
            if field in overrides and overrides[field] != value:
                raise ValueError(f"--set gives '{field}' two different values; pass it once. "
                                 f"Received: {field}={overrides[field]!r} and {field}={value!r}")
            overrides[field] = value
            return
        table = overrides.setdefault(field, {})
        if not isinstance(table, dict):
            raise ValueError(f"--set {field}.{key}=... sets a key of table '{field}', but --set gave "
                             f"'{field}' a value that is not a table. Received: {field}={table!r}")
        if key in table and table[key] != value:
            raise ValueError(f"--set gives '{field}.{key}' two different values; pass it once. "
                             f"Received: {field}.{key}={table[key]!r} and {field}.{key}={value!r}")
        table[key] = value

    for path, value in items:
        put(path[0], path[1] if len(path) == 2 else None, value)
    for name in unset:
        path = name.strip().split(".")
        if "=" in name or len(path) > 2 or not all(path):
            raise ValueError(f"--unset takes a recipe field (ema_decay) or a table's key "
                             f"(d_optimizer.decay_steps), without a value. Received: --unset {name!r}")
        field, key = path[0], (path[1] if len(path) == 2 else None)
        table = overrides.get(field)
        given = table if key is None else (table.get(key) if isinstance(table, dict) else None)
        if given is not None:  # --set values are never None (TOML has no null)
            raise ValueError(f"--set and --unset both name '{name}'; pass one. "
                             f"Received: --set {name}={given!r}, --unset {name}")
        if key is None:
            overrides[field] = None
        else:
            put(field, key, None)
    return overrides


def check_untrained(command, source, pretrained, allow=True):
    """Says so when SOURCE is a bare zoo entry name: a new model with random weights.

    Prints one warning line on stderr, or, with ``allow=False`` (``export``
    without ``--allow-untrained``), refuses. Suggests ``--pretrained`` for an
    entry with shipped weights, else a trained run.

    Raises:
        ValueError: an untrained source and not `allow`.
    """
    from ganzoo import registry, runs

    if not runs.is_untrained(source, pretrained):
        return
    if registry.has_pretrained(str(source)):
        remedy = "add --pretrained for its shipped weights"
    else:
        remedy = f"it has no shipped weights: train it (`ganzoo train {source} --out DIR`) and pass DIR"
    what = f"'{source}' without --pretrained is a new model with random weights (untrained)"
    if not allow:
        raise ValueError(f"Refusing to {command} an untrained model: {what}; {remedy}, or pass "
                         f"--allow-untrained to {command} it anyway. Received: {str(source)!r} without --pretrained")
    print(f"ganzoo {command}: warning: {what}; {remedy}", file=sys.stderr)
