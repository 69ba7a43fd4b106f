"""The `ganzoo` command line: list, train, sample, export, evaluate.

Each sub-command lives in its own module with ``add_parser(subparsers)`` (which
sets ``func``) and only parses arguments and calls the library.
"""

import argparse
import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

# sub-command name -> module under ganzoo.cli
COMMANDS = ("list", "train", "sample", "export", "evaluate")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ganzoo", description="A Keras model zoo of GANs: train, sample, export, evaluate."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ganzoo.cli.{name}_cmd")
        except ModuleNotFoundError as e:
            if e.name != f"ganzoo.cli.{name}_cmd":
                raise
            continue  # a command not built yet
        module.add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"ganzoo {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
