"""Argument types shared by the sub-commands: errors that say what was received."""

import argparse


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
