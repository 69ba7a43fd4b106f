"""Quiets TensorFlow's C++ start-up messages in the ``ganzoo`` command line.

Imported first by ``ganzoo/__init__.py``, before anything imports TensorFlow
(a leaf module: standard library only). It acts only when this process is the
command line (``ganzoo ...`` or ``python -m ganzoo.cli ...``); a program that
imports ganzoo keeps TensorFlow's logging as it set it.

Quiet (the default):

* ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set): TensorFlow's C++ INFO,
  WARNING and ERROR lines (e.g. "This TensorFlow binary is optimized ...", or
  "failed call to cuInit" on a machine without a GPU) are not printed. Errors
  still reach the command as Python exceptions, which it reports.
* While TensorFlow's libraries load, file descriptor 2 points to /dev/null:
  the lines they log before ``absl::InitializeLog()`` (the oneDNN notice, "Could
  not find cuda drivers", the absl "WARNING: All log messages before ..."
  line) ignore ``TF_CPP_MIN_LOG_LEVEL``; TensorFlow offers no other switch
  that removes them without changing its kernels (``TF_ENABLE_ONEDNN_OPTS=0``
  would turn oneDNN off). Python's ``sys.stderr`` is untouched afterwards, so
  the progress bar and ganzoo's own messages stay.

``--verbose`` anywhere on the command line, or the environment variable
``GANZOO_VERBOSE=1``, keeps all of TensorFlow's output.
"""

import os
import sys

#: Environment variable that keeps TensorFlow's start-up output (any value but "", "0").
VERBOSE_ENV = "GANZOO_VERBOSE"
_CLI_MODULES = ("ganzoo.cli", "ganzoo.cli.__main__")


def is_cli():
    """True when this process runs the ganzoo command line."""
    orig = list(getattr(sys, "orig_argv", []))
    for i, arg in enumerate(orig[1:], start=1):
        if arg == "-m":
            return i + 1 < len(orig) and orig[i + 1] in _CLI_MODULES
        if arg.startswith("-m"):
            return arg[2:] in _CLI_MODULES
        if arg == "-c" or not arg.startswith("-"):
            break  # a -c program or a script: the console script is checked below
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return script in ("ganzoo", "ganzoo.exe", "ganzoo-script.py")  # the console script


def verbose_requested(argv=None):
    """True for ``--verbose`` among the arguments (before ``--``) or GANZOO_VERBOSE set."""
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
        return True
    args = sys.argv[1:] if argv is None else argv
    for arg in args:
        if arg == "--":
            break
        if arg == "--verbose":
            return True
    return False


def import_tensorflow_quietly():
    """Imports TensorFlow with its load-time C++ log lines sent to /dev/null."""
    if "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        import tensorflow  # noqa: F401  (no usable file descriptor 2)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow_for_cli():
    """In the command line and unless verbose: the quiet settings described above."""
    if not is_cli() or verbose_requested():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import_tensorflow_quietly()
