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

    Tables are merged key by key; an unset field becomes ``None`` (removed from the
    recipe by `Recipe.with_overrides`, which refuses a required field).

    Raises:
        ValueError: a field both set and unset, or a table key to unset.
    """
    overrides = {}
    for path, value in items:
        if len(path) == 1:
            overrides[path[0]] = value
        else:
            overrides.setdefault(path[0], {})[path[1]] = value
    for field in unset:
        if "." in field or "=" in field:
            raise ValueError(f"--unset takes a top-level recipe field name such as ema_decay (a table "
                             f"key is changed with --set TABLE.KEY=VALUE). Received: --unset {field!r}")
        if field in overrides:
            raise ValueError(f"--set and --unset both name '{field}'; pass one. "
                             f"Received: --set {field}=..., --unset {field}")
        overrides[field] = None
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
