"""Dilated (atrous) convolution (空洞卷积): a kernel with holes.

A kernel of ``k`` taps with dilation ``d`` reads inputs ``d`` pixels apart::

    y[i] = Σ_{t=0}^{k-1} w[t] · x[s·i + d·t − p]

It is an ordinary convolution with the *dilated kernel* — ``d − 1`` zeros inserted between neighbouring
taps — whose extent is ``d·(k − 1) + 1``: a 3×3 kernel with ``d = 2`` covers 5×5 with 9 weights. Stacking
stride-1 layers adds ``d_i·(k_i − 1)`` to the receptive field per layer, so dilations 1, 2, 4, … grow it
exponentially with a linear number of weights (Yu & Koltun). Only the taps of the dilated kernels touch
the input, so a stack whose dilations share a common factor reads a sparse grid of input pixels — the
*gridding* effect; :func:`footprint` counts, for every input pixel, the number of paths by which it
reaches one output unit, and :func:`hdc_max_gap` is Wang et al.'s hybrid-dilated-convolution test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from cvlib._validate import check_int, check_positive_int

__all__ = ["dilate_kernel", "dilated_conv2d", "footprint_1d", "footprint", "hdc_max_gap", "hdc_ok"]


def dilate_kernel(weight: torch.Tensor, dilation: int) -> torch.Tensor:
    """Insert ``dilation − 1`` zeros between neighbouring taps of the last two axes of ``weight``.

    A ``(…, k_h, k_w)`` kernel becomes ``(…, d·(k_h − 1) + 1, d·(k_w − 1) + 1)`` with
    ``out[…, d·u, d·v] = weight[…, u, v]`` and zeros elsewhere.
    """
    d = check_int("dilation", dilation, 1)
    if weight.dim() < 2:
        raise ValueError(f"weight must have at least 2 dimensions (…, k_h, k_w), got shape {tuple(weight.shape)}")
    kh, kw = weight.shape[-2:]
    out = weight.new_zeros(*weight.shape[:-2], d * (kh - 1) + 1, d * (kw - 1) + 1)
    out[..., ::d, ::d] = weight
    return out


def dilated_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1,
                   padding: int = 0, dilation: int = 1, groups: int = 1) -> torch.Tensor:
    """``y[n, o, i, j] = Σ_{c,u,v} w[o, c, u, v] · x[n, c, s·i + d·u − p, s·j + d·v − p] + b[o]``.

    Computed as an undilated convolution with :func:`dilate_kernel`'s kernel, so the output size is
    ``⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1``. ``ValueError`` if the dilated kernel is larger than the padded
    input, or for a non-positive stride/dilation or a negative padding.
    """
    if x.dim() != 4 or weight.dim() != 4:
        raise ValueError(f"x must be (N, C, H, W) and weight (C_out, C_in/groups, k_h, k_w); got shapes "
                         f"{tuple(x.shape)} and {tuple(weight.shape)}")
    stride = check_int("stride", stride, 1)
    d = check_int("dilation", dilation, 1)
    padding = check_int("padding", padding, 0)
    groups = check_positive_int("groups", groups)
    big = dilate_kernel(weight, d)
    h, w = x.shape[-2:]
    if big.shape[-2] > h + 2 * padding or big.shape[-1] > w + 2 * padding:
        raise ValueError(f"dilated kernel {big.shape[-2]}×{big.shape[-1]} (k = {tuple(weight.shape[-2:])}, "
                         f"d = {d}) is larger than the padded input {h + 2 * padding}×{w + 2 * padding}")
    return F.conv2d(x, big, bias, stride=stride, padding=padding, groups=groups)


def footprint_1d(kernels: Sequence[int], dilations: Sequence[int]) -> np.ndarray:
    """How many paths lead from each input position to one output unit of a stack of stride-1 layers.

    Each layer is an all-ones kernel of ``k_i`` taps, dilation ``d_i``; the stack's footprint is the
    full convolution of the dilated all-ones kernels. Its length is the receptive field
    ``1 + Σ d_i·(k_i − 1)``; a zero marks an input position the output never reads (a hole).
    """
    if len(kernels) != len(dilations) or not kernels:
        raise ValueError(f"need one dilation per kernel and at least one layer, got {len(kernels)} kernels "
                         f"and {len(dilations)} dilations")
    out = np.ones(1, dtype=np.int64)
    for k, d in zip(kernels, dilations):
        k, d = check_int("kernel", k, 1), check_int("dilation", d, 1)
        taps = np.zeros(d * (k - 1) + 1, dtype=np.int64)
        taps[::d] = 1
        out = np.convolve(out, taps)
    return out


def footprint(kernels: Sequence[int], dilations: Sequence[int]) -> np.ndarray:
    """The 2-D footprint of square kernels: the outer product of :func:`footprint_1d` with itself
    (an all-ones ``k × k`` kernel is separable, so paths along rows and columns multiply)."""
    f = footprint_1d(kernels, dilations)
    return np.outer(f, f)


def hdc_max_gap(dilations: Sequence[int]) -> int:
    """Wang et al.'s "maximum distance between two non-zero values" ``M_2`` of a stack of dilations.

    ``M_n = r_n`` and ``M_i = max(M_{i+1} − 2 r_i, M_{i+1} − 2 (M_{i+1} − r_i), r_i)`` for
    ``i = n − 1, …, 2``, where ``r_1, …, r_n`` are the dilation rates from the input upwards. The design
    goal of hybrid dilated convolution is ``M_2 ≤ K`` for kernel size ``K``.
    """
    rates = [check_int("dilation", r, 1) for r in dilations]
    if len(rates) < 2:
        raise ValueError(f"the rule needs at least two layers, got {len(rates)}")
    m = rates[-1]
    for r in reversed(rates[1:-1]):
        m = max(m - 2 * r, m - 2 * (m - r), r)
    return m


def hdc_ok(dilations: Sequence[int], kernel: int = 3) -> bool:
    """``True`` when :func:`hdc_max_gap` ``≤ kernel``. With ``r_1 = 1`` this guarantees a footprint
    without holes; for non-decreasing rates (the paper's setting) it is also necessary."""
    return hdc_max_gap(dilations) <= check_int("kernel", kernel, 1)
