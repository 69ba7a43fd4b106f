"""The `ganzoo` command line: list, train, sample, export, evaluate, package.

Each sub-command lives in its own module with ``add_parser(subparsers)`` (which
sets ``func``) and only parses arguments and calls the library.

Output: TensorFlow's C++ start-up messages are hidden (see `ganzoo._startup`,
which runs before TensorFlow is imported); ``--verbose`` or ``GANZOO_VERBOSE=1``
shows them. Errors: a failed command prints one line, ``ganzoo COMMAND: error:
...``, and exits non-zero (2 for bad input, 1 for an unexpected failure, 130 when
interrupted); ``--debug`` shows the Python traceback instead. A reader that
closes the pipe early (``ganzoo list | head -1``) ends any command quietly with
status 0. ``ganzoo --version`` prints ``ganzoo X.Y.Z`` from the package metadata.
"""

import argparse
import importlib
import os
import re
import sys
import zipfile

# sub-command name -> module under ganzoo.cli
COMMANDS = ("list", "train", "sample", "export", "evaluate", "package")

#: Exit status of a command refused for bad input (also argparse's).
USAGE_ERROR = 2
#: Exit status of an unexpected failure (a bug, or an error ganzoo does not classify).
FAILURE = 1


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump)."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_global_flags(parser, default):
    parser.add_argument(
        "--verbose", action="store_true", default=default,
        help="show TensorFlow's C++ start-up messages (also: GANZOO_VERBOSE=1)",
    )
    parser.add_argument(
        "--debug", action="store_true", default=default,
        help="on failure, show the Python traceback instead of a one-line error",
    )


def version():
    """ganzoo's version (``ganzoo._version``, which the package metadata is built from)."""
    from ganzoo._version import __version__

    return __version__


def build_parser():
    parser = _Parser(
        prog="ganzoo", description="A Keras model zoo of GANs: train, sample, export, evaluate."
    )
    parser.add_argument("--version", action="version", version=f"ganzoo {version()}")
    _add_global_flags(parser, False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ganzoo.cli.{name}_cmd")
        except ModuleNotFoundError as e:
            if e.name != f"ganzoo.cli.{name}_cmd":
                raise
            continue  # a command not built yet
        module.add_parser(sub)
    for command_parser in sub.choices.values():
        # Also after the command (`ganzoo list --verbose`); SUPPRESS keeps the main value.
        _add_global_flags(command_parser, argparse.SUPPRESS)
    return parser


def _user_errors():
    """Exception types that mean bad input: reported in one line, exit status 2."""
    errors = [ValueError, OSError, zipfile.BadZipFile]
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        # In-graph checks of the data (batch sizes, labels) and unreadable files.
        errors += [tf.errors.InvalidArgumentError, tf.errors.NotFoundError,
                   tf.errors.FailedPreconditionError]
    return tuple(errors)


def one_line(error):
    """The message of `error` as one line, without TensorFlow's graph context."""
    text = getattr(error, "message", None) or str(error)
    assertion = re.search(r"assertion failed: \[(.*?)\]\s*(\n|$)", text)
    if assertion:
        return assertion.group(1)
    text = re.sub(r"\{\{.*?\}\}\s*", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("Graph execution error"):
        # TensorFlow's run-time errors: the reason is the last line before the node names.
        noise = ("Graph execution error", "Detected at node", 'File "', "[[", "<stack traces")
        lines = [line for line in lines if not line.startswith(noise)][-1:]
    if not lines:
        return type(error).__name__
    return lines[0] if len(lines[0]) <= 2000 else lines[0][:2000] + " ..."


def _silence_stdout():
    """Points standard output at os.devnull after its reader went away (``ganzoo list | head -1``),
    so that the interpreter's last flush at exit does not fail again (the recipe of the Python
    docs' "Note on SIGPIPE")."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # not a file descriptor (e.g. captured by a test)
        pass


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)  # --help and --version (argparse ignores a closed pipe there)
    try:
        status = args.func(args) or 0
        sys.stdout.flush()  # a closed pipe fails here at the latest, not at exit
        return status
    except BrokenPipeError:
        # Only writes to the terminal or a pipe can break a pipe in a ganzoo command: the
        # reader took what it wanted, a normal end.
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"ganzoo {args.command}: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as e:
        if args.debug:
            raise
        print(f"ganzoo {args.command}: error: {one_line(e)}", file=sys.stderr)
        return USAGE_ERROR
    except Exception as e:  # noqa: BLE001 - never a traceback without --debug
        if args.debug:
            raise
        print(
            f"ganzoo {args.command}: error: {type(e).__name__}: {one_line(e)} "
            "(unexpected; rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return FAILURE


if __name__ == "__main__":
    sys.exit(main())
