"""Checks of what is known only at run time, reported as ganzoo's own ValueErrors.

A batch size or label values that arrive with the batch (a pipeline without
``drop_remainder``, a ``filter``, a generator) cannot be checked while tracing
the step. These checks run in the graph as assertions whose message is the
same text as the ValueError of the static check. TensorFlow reports a failed
assertion as an ``InvalidArgumentError`` buried in "Graph execution error:
Detected at node Assert/Assert ..."; `raises_value_errors` (on `GAN.fit`)
turns it back into a ``ValueError`` with ganzoo's message, the TensorFlow error
kept as its ``__cause__``. Assertions of other code are left as they are.
"""

import functools
import re

import tensorflow as tf

#: The message templates of every assertion made here, each with the pattern of its filled-in text.
_TEMPLATES = {}
#: One failed assertion's message in TensorFlow's error text.
_FAILED = re.compile(r"assertion failed: \[(.*?)\]\s*(?:\n|$)", re.DOTALL)


def assertion(condition, template, *values):
    """An in-graph assertion whose message is `template` with `values` filled in.

    Args:
        condition: scalar bool tensor that must hold.
        template: the message, with ``{}`` where each of `values` goes (no
            quotes: the assertion would escape them).
        *values: scalar tensors for the placeholders.

    Returns:
        The assertion op (run it before what depends on the checked tensors).
    """
    if template not in _TEMPLATES:
        parts = (re.escape(part) for part in template.split("{}"))
        _TEMPLATES[template] = re.compile(r"[^\]]*?".join(parts))
    message = tf.strings.format(template, list(values)) if values else template
    return tf.debugging.Assert(condition, [message], summarize=1)


def value_error(error):
    """The ValueError of the failed `assertion` that `error` reports, or None.

    Args:
        error: a ``tf.errors.InvalidArgumentError``.

    Returns:
        ``ValueError(message)`` with the assertion's filled-in message, or None
        when `error` is not the failure of one of these assertions.
    """
    text = getattr(error, "message", None) or str(error)
    for found in _FAILED.finditer(text):
        message = found.group(1)
        if any(pattern.fullmatch(message) for pattern in _TEMPLATES.values()):
            return ValueError(message)
    return None


def raises_value_errors(method):
    """Decorates `method` (``GAN.fit``) so that a failed `assertion` raises its ValueError.

    The ValueError carries the check's message; the ``InvalidArgumentError``
    TensorFlow raised is its ``__cause__``. Other errors pass unchanged.
    """

    @functools.wraps(method)
    def checked(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except tf.errors.InvalidArgumentError as e:
            error = value_error(e)
            if error is None:
                raise
            raise error from e

    return checked


def after(checks, *tensors):
    """`tensors` (None kept as None), made to depend on the ops `checks`, so that nothing
    computed from them runs before the checks pass; `tensors` themselves when `checks` is empty."""
    if not checks:
        return tensors
    with tf.control_dependencies(checks):
        return tuple(None if t is None else tf.identity(t) for t in tensors)
