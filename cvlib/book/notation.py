"""How the pages write a tensor's shape: PyTorch's ``(C, H, W)`` in the papers' ``H×W×C``.

PyTorch orders a feature map channels first, ``(C, H, W)``; the papers and the notes write ``224×224×3``,
height × width × channels. Every page that prints or labels a shape beside a paper's table uses these
two functions, so the order is turned round in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from cvlib._validate import check_bool, check_int_sequence

__all__ = ["as_hwc", "hwc"]


def as_hwc(shape: Sequence[int]) -> tuple[int, int, int]:
    """``(C, H, W)`` → ``(H, W, C)``: a feature map's shape in the papers' order."""
    c, h, w = check_int_sequence("shape", shape, 0, length=3)
    return h, w, c


def hwc(shape: Sequence[int], *, newline: bool = False) -> str:
    """A shape as the papers write it: ``(C, H, W)`` → ``"H×W×C"``, a vector ``(N,)`` → ``"N"``.

    ``newline=True`` puts ``×C`` on a line of its own (``"H×W\\n×C"``), for narrow figure labels.
    """
    dims = check_int_sequence("shape", shape, 0, min_length=1)
    newline = check_bool("newline", newline)
    if len(dims) == 1:
        return str(dims[0])
    if len(dims) != 3:
        raise ValueError(f"shape must be (C, H, W) or (N,), got {tuple(dims)}")
    h, w, c = as_hwc(dims)
    return f"{h}×{w}{chr(10) if newline else ''}×{c}"
