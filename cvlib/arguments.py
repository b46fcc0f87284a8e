"""Argument checks shared by the cvlib modules: integers with a lower bound, and (height, width) pairs.

Each check returns the cleaned value or raises a ``ValueError`` that names the argument, the bound and
what was given, e.g. ``stride must be >= 1 (a positive integer), got 0``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

__all__ = ["IntPair", "check_int", "check_pair"]

IntPair = int | Sequence[int]


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an ``int`` if it is an integer (Python or NumPy, not ``bool``) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        kind = {0: " (a non-negative integer)", 1: " (a positive integer)"}.get(minimum, "")
        raise ValueError(f"{name} must be >= {minimum}{kind}, got {value!r}")
    return int(value)


def check_pair(name: str, value: IntPair, minimum: int) -> tuple[int, int]:
    """An integer ``v`` becomes ``(v, v)``; a sequence must hold two integers; each ``>= minimum``."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ValueError(f"{name} must be an integer or a pair (height, width), got {value!r}")
        return check_int(f"{name}[0]", value[0], minimum), check_int(f"{name}[1]", value[1], minimum)
    v = check_int(name, value, minimum)
    return v, v
