"""Pieces several model families share. Today: the channel rounding of MobileNet V2 (and V3, EfficientNet).

``make_divisible(v, d) = max(d, ⌊v + d/2⌋ rounded down to a multiple of d)``, plus ``d`` if that lost
more than 10 % of ``v``.
"""

from __future__ import annotations

from cvlib._validate import check_positive_int, check_real

__all__ = ["make_divisible"]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a width to the nearest multiple of ``divisor``, never more than 10 % below ``value``.

    ``max(divisor, ⌊value + divisor/2⌋ rounded down to a multiple of divisor)``, plus one ``divisor`` if
    that lost more than 10 %. The rule of the reference implementation for width multipliers ≠ 1; at
    width 1.0 every width of Table 2 is already a multiple of 8 and is kept.
    """
    value = check_real("value", value, 0.0, low_open=True)
    divisor = check_positive_int("divisor", divisor)
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
