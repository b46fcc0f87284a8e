"""A depthwise separable convolution (深度可分离卷积) as a factorised standard convolution.

A depthwise convolution with kernels ``D`` of shape ``(M·d, 1, k_h, k_w)`` (``d`` = depth multiplier,
output channel ``c·d + j`` filters input channel ``c``) followed by a pointwise convolution ``P`` of shape
``(N, M·d)`` computes the same thing as one standard convolution whose kernel is::

    W[o, c, u, v] = Σ_j P[o, c·d + j] · D[c·d + j, u, v]

With ``d = 1`` every slice ``W[:, c, :, :]`` — all output channels' filters for input channel ``c`` — is
the outer product of one column ``P[:, c]`` and one spatial filter ``D[c]``: a rank-one ``N × k_h·k_w``
matrix. A standard kernel is depthwise separable exactly when each of its ``M`` slices has rank at most
``d``; otherwise the best separable approximation (in the Frobenius norm) keeps each slice's leading
``d`` singular triplets (Eckart–Young), and the squared error is the sum of the dropped ``σ²``.

Cost, without biases, for an ``H × W`` output: ``k_h·k_w·M·d + M·d·N`` weights against ``k_h·k_w·M·N``
for the standard kernel, each weight used once per output pixel. :func:`separable_costs` counts both
(the MobileNet paper's Eq. 2 and 4) and :func:`separable_ratio` gives their ratio exactly (Eq. 5),
``1/N + 1/(k_h·k_w)``; :func:`depthwise_conv2d` is the depthwise step from scratch (patches and a sum),
equal to ``torch.nn.functional.conv2d(..., groups=C)``.

*Spatially* separable is another thing: :func:`separate_kernel` splits a rank-one 2-D kernel into a
column and a row from its SVD, and refuses kernels of higher rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch
import torch.nn.functional as F

from cvlib._validate import check_int, check_pair, check_positive_int, check_real
from cvlib.analysis.counts import conv2d_macs, conv2d_params

__all__ = ["separable_to_dense", "nearest_separable", "separable_error", "separable_costs", "separable_ratio",
           "depthwise_conv2d", "separate_kernel"]


def _check_weights(depthwise: torch.Tensor, pointwise: torch.Tensor) -> tuple[int, int]:
    if depthwise.dim() != 4 or depthwise.shape[1] != 1:
        raise ValueError(f"depthwise weight must be (M·d, 1, k_h, k_w), got shape {tuple(depthwise.shape)}")
    if pointwise.dim() == 4:
        if tuple(pointwise.shape[2:]) != (1, 1):
            raise ValueError(f"a 4-D pointwise weight must be (N, M·d, 1, 1), got shape {tuple(pointwise.shape)}")
        pointwise = pointwise[:, :, 0, 0]
    if pointwise.dim() != 2 or pointwise.shape[1] != depthwise.shape[0]:
        raise ValueError(f"pointwise weight must be (N, M·d) with M·d = {depthwise.shape[0]}, "
                         f"got shape {tuple(pointwise.shape)}")
    return depthwise.shape[0], pointwise.shape[0]


def separable_to_dense(depthwise: torch.Tensor, pointwise: torch.Tensor, in_channels: int | None = None) -> torch.Tensor:
    """The standard kernel ``W[o, c] = Σ_j P[o, c·d + j] · D[c·d + j]`` equal to depthwise ``D`` then
    pointwise ``P``.

    ``depthwise`` is ``(M·d, 1, k_h, k_w)`` as ``nn.Conv2d(M, M·d, k, groups=M)`` stores it;
    ``pointwise`` is ``(N, M·d)`` or ``(N, M·d, 1, 1)``; ``in_channels`` is ``M`` (default: ``M·d``, i.e.
    ``d = 1``). Returns ``(N, M, k_h, k_w)``. Without padding, or with the same zero padding on both
    sides, ``conv2d(x, W)`` equals ``conv2d(conv2d(x, D, groups=M), P)``.
    """
    md, n_out = _check_weights(depthwise, pointwise)
    m = md if in_channels is None else check_positive_int("in_channels", in_channels)
    if md % m:
        raise ValueError(f"in_channels must divide the {md} depthwise filters, got {m}")
    d = md // m
    p = pointwise.reshape(n_out, m, d)
    dw = depthwise[:, 0].reshape(m, d, *depthwise.shape[2:])
    return torch.einsum("ocj,cjuv->ocuv", p, dw)


def nearest_separable(weight: torch.Tensor, depth_multiplier: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The depthwise and pointwise weights whose product is closest to a standard kernel.

    ``weight`` is ``(N, M, k_h, k_w)``. For each input channel ``c`` the slice ``W[:, c]`` is read as an
    ``N × k_h·k_w`` matrix with SVD ``Σ σ_i u_i v_iᵀ``; its best rank-``d`` approximation (Eckart–Young)
    gives ``P[:, c·d + j] = σ_j u_j`` and ``D[c·d + j] = v_j`` reshaped to ``k_h × k_w``. Returns
    ``(D, P)`` with shapes ``(M·d, 1, k_h, k_w)`` and ``(N, M·d)``. ``ValueError`` if ``d`` exceeds
    ``min(N, k_h·k_w)``, beyond which the slices are already exact.
    """
    if weight.dim() != 4:
        raise ValueError(f"weight must be (N, M, k_h, k_w), got shape {tuple(weight.shape)}")
    n_out, m, kh, kw = weight.shape
    rank = min(n_out, kh * kw)
    d = check_int("depth_multiplier (at most min(N, k_h·k_w))", depth_multiplier, 1, rank)
    slices = weight.permute(1, 0, 2, 3).reshape(m, n_out, kh * kw)  # (M, N, k_h·k_w)
    u, s, vh = torch.linalg.svd(slices, full_matrices=False)
    p = (u[:, :, :d] * s[:, None, :d]).permute(1, 0, 2).reshape(n_out, m * d)
    dw = vh[:, :d, :].reshape(m * d, 1, kh, kw)
    return dw, p


def separable_error(weight: torch.Tensor, depth_multiplier: int = 1) -> float:
    """Relative Frobenius error ``‖W − Ŵ‖ / ‖W‖`` of the best depthwise separable approximation ``Ŵ``.

    Zero exactly when every slice ``W[:, c]`` has rank ``≤ d``; its square is the share of
    ``Σ σ²`` that the dropped singular values of the slices carry.
    """
    dw, p = nearest_separable(weight, depth_multiplier)
    approx = separable_to_dense(dw, p, in_channels=weight.shape[1])
    return float(torch.linalg.vector_norm(weight - approx) / torch.linalg.vector_norm(weight))


# ---------------------------------------------------------- the cost of a standard and a separable conv (MobileNet)


def separable_costs(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                    output_size: int | Sequence[int]) -> dict[str, dict[str, int]]:
    """Weights and multiply-adds of a standard convolution and of its depthwise separable replacement.

    ``{"standard" | "depthwise" | "pointwise": {"params": …, "macs": …}}`` for ``M = in_channels``,
    ``N = out_channels``, ``D_k = kernel_size`` and a ``D_F × D_F`` output (``D_F = output_size``),
    without biases: ``D_k²·M·N``, ``D_k²·M`` and ``M·N`` weights; each times ``D_F²`` multiply-adds.
    """
    kw = dict(kernel_size=kernel_size)
    return {
        "standard": {"params": conv2d_params(in_channels, out_channels, bias=False, **kw),
                     "macs": conv2d_macs(in_channels, out_channels, output_size=output_size, **kw)},
        "depthwise": {"params": conv2d_params(in_channels, in_channels, bias=False, groups=in_channels, **kw),
                      "macs": conv2d_macs(in_channels, in_channels, output_size=output_size, groups=in_channels, **kw)},
        "pointwise": {"params": conv2d_params(in_channels, out_channels, 1, bias=False),
                      "macs": conv2d_macs(in_channels, out_channels, 1, output_size)},
    }


def separable_ratio(out_channels: int, kernel_size: int | Sequence[int]) -> Fraction:
    """Cost of a depthwise separable convolution over a standard one (Eq. 5): ``1/N + 1/(k_h·k_w)``.

    ``(k_h·k_w·M + M·N) / (k_h·k_w·M·N)``: the input channels ``M`` and the map size cancel, so the
    ratio is the same for weights and for multiply-adds.
    """
    out_channels = check_positive_int("out_channels", out_channels)
    kh, kw = check_pair("kernel_size", kernel_size, 1)
    return Fraction(1, out_channels) + Fraction(1, kh * kw)


def depthwise_conv2d(x: torch.Tensor, weight: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Depthwise convolution from scratch: channel ``c`` of the output is channel ``c`` of ``x``
    cross-correlated with ``weight[c, 0]``, ``y[n, c, i, j] = Σ_{u,v} x[n, c, s·i + u, s·j + v]·w[c, 0, u, v]``
    (after zero padding). ``x`` is ``(N, C, H, W)``, ``weight`` is ``(C, 1, k_h, k_w)``.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {tuple(x.shape)}")
    if weight.dim() != 4 or weight.shape[1] != 1 or weight.shape[0] != x.shape[1]:
        raise ValueError(f"weight must be (C, 1, k_h, k_w) with C = {x.shape[1]} input channels, "
                         f"got shape {tuple(weight.shape)}")
    stride, padding = check_int("stride", stride, 1), check_int("padding", padding, 0)
    n, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    if h + 2 * padding < kh or w + 2 * padding < kw:
        raise ValueError(f"kernel {kh}×{kw} is larger than the padded input {h + 2 * padding}×{w + 2 * padding}")
    patches = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C·kh·kw, L), channel-major
    oh, ow = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    patches = patches.view(n, c, kh * kw, oh * ow)
    out = (patches * weight.reshape(1, c, kh * kw, 1)).sum(dim=2)
    return out.view(n, c, oh, ow)


# ------------------------------------------------------------------------------- spatial separability


def separate_kernel(kernel: torch.Tensor, rtol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a 2-D kernel into a column ``u`` (``k_h × 1``) and a row ``v`` (``1 × k_w``) with
    ``kernel = u @ v``, the spatially separable form; ``ValueError`` if the kernel is not rank one.

    From the SVD ``K = Σ σ_i u_i v_iᵀ``: ``K`` is separable exactly when ``σ_2 = 0`` (here
    ``σ_2 <= rtol·σ_1``), and then ``u = √σ_1·u_1``, ``v = √σ_1·v_1ᵀ``. The split is unique up to a
    factor ``c`` moved from ``u`` to ``v``.
    """
    rtol = check_real("rtol", rtol, 0.0)
    if kernel.dim() != 2 or min(kernel.shape) < 1:
        raise ValueError(f"kernel must be a non-empty 2-D tensor, got shape {tuple(kernel.shape)}")
    k = kernel.to(torch.float64)
    u, s, vh = torch.linalg.svd(k)
    if s[0] == 0:
        raise ValueError("the zero kernel has no meaningful separation")
    if len(s) > 1 and s[1] > rtol * s[0]:
        rank = int((s > rtol * s[0]).sum())
        raise ValueError(f"kernel has rank {rank} (singular values {[round(float(v), 6) for v in s]}); "
                         "only a rank-one kernel is spatially separable")
    root = s[0].sqrt()
    return (root * u[:, :1]).to(kernel.dtype), (root * vh[:1, :]).to(kernel.dtype)
