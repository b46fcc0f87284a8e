"""Uniform fixed-point quantisation (定点量化) of a non-negative activation, as MobileNet's ReLU6 argument uses it.

With ``b`` bits on ``[0, max_value]`` the step is ``Δ = max_value / (2^b − 1)`` and::

    q(x) = Δ · clamp(round(x / Δ), 0, 2^b − 1)

so a bounded activation (ReLU6: ``max_value = 6``) gets a finer step than an unbounded one clipped late.
"""

from __future__ import annotations

import torch

from cvlib._validate import check_int, check_real

__all__ = ["quantize_unsigned"]


def quantize_unsigned(x: torch.Tensor, bits: int, max_value: float) -> torch.Tensor:
    """Uniform unsigned fixed-point quantisation of ``x`` on ``[0, max_value]`` with ``2^bits`` levels.

    Step ``Δ = max_value / (2^bits − 1)``; each value becomes ``Δ · clamp(round(x / Δ), 0, 2^bits − 1)``
    (round half to even). Values above ``max_value`` saturate; within the range the error is at most
    ``Δ/2``, so a smaller range means a finer step.
    """
    bits = check_int("bits", bits, 1)
    max_value = check_real("max_value", max_value, 0.0, low_open=True)
    levels = 2 ** bits - 1
    step = max_value / levels
    return torch.clamp(torch.round(x / step), 0, levels) * step
