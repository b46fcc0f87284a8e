"""Spatial pyramid pooling (SPP, 空间金字塔池化, SPP-Net): a fixed-length vector from any input size.

For a level of ``n × n`` bins on an ``a × a`` map, SPP-Net max-pools with::

    window = ceil(a / n),   stride = floor(a / n)

(per axis for a non-square map). That gives ``floor((a − window) / stride) + 1`` bins. Writing
``a = q·n + r`` (``0 <= r < n``), this is ``n + floor((r − 1) / q)`` when ``r > 0``: the rule fails
exactly when the remainder exceeds the quotient, ``r > q``. So it always works for ``n <= 2`` and for
``a >= n(n − 1)``, but for ``n = 4`` the sizes ``a = 6, 7, 11`` give 5, 6 and 5 bins (``a = 7``:
window 2, stride 1), for ``n = 3`` ``a = 5`` gives 4, and ``a < n`` gives stride 0.
:func:`spp` raises ``ValueError`` for those sizes;
``mode="adaptive"`` instead uses adaptive max pooling, whose bin ``i`` covers
``[floor(i · a / n), ceil((i + 1) · a / n))`` and always tiles the map into ``n`` bins.

Each level is flattened channel by channel (``C · n²`` values) and the levels are concatenated in the
order given, so the output has ``C · Σ n²`` features per image: ``21 C`` for the notes' levels
``(4, 2, 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from cvlib._validate import check_choice, check_int_sequence, check_positive_int, check_tensor

__all__ = ["spp_window", "spp", "spp_length"]


def spp_window(a: int, n: int) -> tuple[int, int]:
    """SPP-Net's ``(window, stride) = (ceil(a / n), floor(a / n))``; ``ValueError`` unless they give
    exactly ``n`` bins on a map of size ``a``."""
    a = check_positive_int("a (the map size)", a)
    n = check_positive_int("n (the bins per side)", n)
    window, stride = math.ceil(a / n), a // n
    if stride == 0:
        raise ValueError(f"a map of size {a} is smaller than {n} bins: stride floor({a}/{n}) = 0; "
                         "use mode='adaptive' or fewer bins")
    bins = (a - window) // stride + 1
    if bins != n:
        raise ValueError(f"SPP's rule window=ceil({a}/{n})={window}, stride=floor({a}/{n})={stride} gives "
                         f"{bins} bins, not {n}, on a map of size {a}; use mode='adaptive'")
    return window, stride


def spp_length(channels: int, levels: Sequence[int] = (4, 2, 1)) -> int:
    """Output length per image: ``C · Σ n²`` (``channels >= 1``, a non-empty list of levels ``>= 1``)."""
    channels = check_positive_int("channels", channels)
    return channels * sum(n * n for n in check_int_sequence("levels", levels, 1, min_length=1))


def spp(features: Tensor, levels: Sequence[int] = (4, 2, 1),
        mode: Literal["spp", "adaptive"] = "spp") -> Tensor:
    """``Tensor[N, C · Σ n²]``: max pooling of ``features`` (``[N, C, H, W]``) at every pyramid level."""
    check_tensor("features", features, "N C H W")
    levels = check_int_sequence("levels", levels, 1, min_length=1)
    mode = check_choice("mode", mode, ("spp", "adaptive"))
    h, w = features.shape[-2:]
    pooled = []
    for n in levels:
        if mode == "adaptive":
            pooled.append(F.adaptive_max_pool2d(features, n))
        else:
            (wh, sh), (ww, sw) = spp_window(h, n), spp_window(w, n)
            pooled.append(F.max_pool2d(features, (wh, ww), (sh, sw)))
    return torch.cat([p.flatten(1) for p in pooled], dim=1)
