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
for the standard kernel, each weight used once per output pixel.
"""

from __future__ import annotations

import torch

__all__ = ["separable_to_dense", "nearest_separable", "separable_error"]


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
    m = md if in_channels is None else in_channels
    if not isinstance(m, int) or m < 1 or md % m:
        raise ValueError(f"in_channels must be a positive integer dividing the {md} depthwise filters, got {in_channels!r}")
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
    if not isinstance(depth_multiplier, int) or not 1 <= depth_multiplier <= rank:
        raise ValueError(f"depth_multiplier must be an integer in 1..{rank} (= min(N, k_h·k_w)), "
                         f"got {depth_multiplier!r}")
    d = depth_multiplier
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
