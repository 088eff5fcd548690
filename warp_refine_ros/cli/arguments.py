"""Numeric argument types: argparse refuses a value out of range while parsing, before any work starts.

A zero crop, a negative batch or a NaN learning rate used to surface as a traceback after the data
was loaded, with a cache left behind; each option now names its range in its own error line.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

Number = int | float


def number(
    kind: type[int] | type[float],
    *,
    minimum: Number | None = None,
    above: Number | None = None,
    maximum: Number | None = None,
    below: Number | None = None,
) -> Callable[[str], Number]:
    """An argparse ``type`` parsing ``kind`` (finite) within the bounds given; ``minimum``/``maximum``
    are inclusive, ``above``/``below`` exclusive."""
    description = _describe(kind, minimum, above, maximum, below)

    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"need {description}, got {text!r}") from None
        inside = (
            math.isfinite(value)
            and (minimum is None or value >= minimum)
            and (above is None or value > above)
            and (maximum is None or value <= maximum)
            and (below is None or value < below)
        )
        if not inside:
            raise argparse.ArgumentTypeError(f"need {description}, got {text}")
        return value

    return parse


def _describe(
    kind: type, minimum: Number | None, above: Number | None, maximum: Number | None, below: Number | None
) -> str:
    noun = "a whole number" if kind is int else "a number"
    low, high = minimum if above is None else above, maximum if below is None else below
    if low is not None and high is not None:
        return f"{noun} in {'[' if above is None else '('}{low:g}, {high:g}{']' if below is None else ')'}"
    if low is not None:
        return f"{noun} of {low:g} or more" if above is None else f"{noun} above {low:g}"
    if high is not None:
        return f"{noun} of {high:g} or less" if below is None else f"{noun} below {high:g}"
    return noun


positive_int = number(int, minimum=1)
"""Sizes, counts, epochs, steps: 1 or more."""
non_negative_int = number(int, minimum=0)
"""Workers (0 = in this process), offsets, rounds, seeds: 0 or more."""
positive_float = number(float, above=0)
"""Rates, thresholds, time budgets: above 0."""
non_negative_float = number(float, minimum=0)
"""Tolerances, decays, jitter amplitudes: 0 or more."""
unit_interval = number(float, minimum=0, maximum=1)
"""Fractions and confidences: 0..1."""
