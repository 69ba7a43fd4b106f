"""One rule for the value scale of image data, decided from its actual range.

ganzoo trains on, samples and measures float images in [-1, 1]. Wherever image
data enters ganzoo without anything else saying its scale — `GAN.fit`'s first
batch, a float array or ``.npz`` given to `ganzoo.data.load`, real images given
to the metrics — the scale is decided here, once, from the data's minimum and
maximum (a leaf module: it imports nothing of ganzoo):

==============  ================================================================
scale           decided when
==============  ================================================================
``[0, 1]``      ``min >= -MARGIN`` and ``max <= 1 + MARGIN`` (no negative values)
``[-1, 1]``     ``-1 - MARGIN <= min < -MARGIN`` and ``max <= 1 + MARGIN``
``[0, 255]``    ``min >= -255 * MARGIN`` and ``BYTE_MIN_MAX < max <= 255 * (1 + MARGIN)``
None            anything else
==============  ================================================================

``MARGIN`` (1e-3 of the scale's upper end: 0.001 for [0, 1] and [-1, 1], 0.255
for [0, 255]) absorbs float rounding (e.g. of ``x / 127.5 - 1``); values further
out of a range are not in it.

The ambiguous case is data with no negative values and a maximum of at most 1:
it fits both [0, 1] and [-1, 1]. It is decided as [0, 1] — real images in
[-1, 1] have dark pixels below 0, whereas ``x / 255`` has none — so it is never
taken silently as [-1, 1]: whatever needs [-1, 1] refuses it, naming the range
and the remedy ``x * 2 - 1`` (ganzoo offers no rescale option that would guess).
Maxima in ``(1 + MARGIN, BYTE_MIN_MAX]`` fit no scale: too large for [0, 1] or
[-1, 1] (e.g. a bicubic overshoot), and as [0, 255] pixels the brightest would
be darker than 1% of white; they are refused rather than guessed.

Data whose scale is known by construction (a ganzoo generator's tanh output, a
`ganzoo.data.load` batch, whose source was decided as a whole) is only checked
for lying within [-1, 1] up to the margin (`within_signed`): a generator that
draws only bright images is still a [-1, 1] generator.
"""

#: Values may lie this far (times the scale's upper end) outside a scale.
MARGIN = 1e-3
#: The smallest maximum that reads as [0, 255] pixels rather than an overshoot.
BYTE_MIN_MAX = 2.0

UNIT = "[0, 1]"
SIGNED = "[-1, 1]"
BYTE = "[0, 255]"


def scale_of(lo, hi):
    """The scale of data with minimum `lo` and maximum `hi` (see the module docstring).

    Args:
        lo, hi: finite floats, the data's minimum and maximum.

    Returns:
        ``UNIT`` ("[0, 1]"), ``SIGNED`` ("[-1, 1]"), ``BYTE`` ("[0, 255]"), or
        None when the range fits none of them.
    """
    lo, hi = float(lo), float(hi)
    if lo >= -MARGIN and hi <= 1.0 + MARGIN:
        return UNIT
    if lo >= -1.0 - MARGIN and hi <= 1.0 + MARGIN:
        return SIGNED
    if lo >= -255.0 * MARGIN and BYTE_MIN_MAX < hi <= 255.0 * (1.0 + MARGIN):
        return BYTE
    return None


def within_signed(lo, hi):
    """True if ``[lo, hi]`` lies within [-1, 1] up to `MARGIN` (scale known to be [-1, 1])."""
    return float(lo) >= -1.0 - MARGIN and float(hi) <= 1.0 + MARGIN


def fmt_range(lo, hi):
    """``"[lo, hi]"`` with 4 significant digits, as the messages print a range."""
    return f"[{float(lo):.4g}, {float(hi):.4g}]"


def signed_problem(lo, hi, known_scale=False):
    """Why data with values in ``[lo, hi]`` is not [-1, 1] images, with the remedy; None if it is.

    Args:
        lo, hi: finite floats, the data's minimum and maximum.
        known_scale: the data is [-1, 1] by construction (generated images, a
            `ganzoo.data.load` batch): only values outside [-1, 1] beyond the
            margin are a problem.

    Returns:
        A phrase for an error message, or None.
    """
    if known_scale:
        if within_signed(lo, hi):
            return None
        scale = None
    else:
        scale = scale_of(lo, hi)
    if scale == SIGNED:
        return None
    rng = fmt_range(lo, hi)
    if scale == UNIT:
        return (
            f"values in {rng} have nothing below 0, which is the [0, 1] scale (e.g. x / 255), "
            f"not the expected [-1, 1]; rescale with x * 2 - 1"
        )
    if scale == BYTE:
        return f"values in {rng} are [0, 255] pixels, not the expected [-1, 1]; rescale with x / 127.5 - 1"
    return (
        f"values in {rng} lie outside the expected [-1, 1] by more than the margin {MARGIN:g} "
        f"(for [0, 1] data use x * 2 - 1, for [0, 255] data x / 127.5 - 1)"
    )
