"""Grouped convolution (分组卷积) and the channel shuffle of ShuffleNet.

A convolution with ``g`` groups splits the ``C_in`` input channels into ``g`` consecutive slices of
``C_in/g`` and the ``C_out`` filters into ``g`` sets of ``C_out/g``; filter set ``j`` sees only input
slice ``j``::

    y[:, j·C_out/g : (j+1)·C_out/g] = conv(x[:, j·C_in/g : (j+1)·C_in/g], W_j) ,   j = 0 … g−1

The weight is stored as PyTorch stores it, ``(C_out, C_in/g, k_h, k_w)``: each filter is ``C_in/g``
deep instead of ``C_in``. Parameters ``k_h·k_w·(C_in/g)·C_out (+ C_out)`` and multiply-accumulates
``k_h·k_w·(C_in/g)·H_out·W_out·C_out`` are both ``1/g`` of the ungrouped layer's (the bias aside).
The same layer is an ordinary convolution whose ``(C_out, C_in)`` channel matrix is block-diagonal:
:func:`block_diagonal_weight` builds that dense weight, zero off the ``g`` diagonal blocks.

Channels never cross groups, so two grouped layers in a row keep ``g`` separate towers. ShuffleNet's
channel shuffle interleaves them: with ``C = g·n`` channels, reshape to ``(g, n)``, transpose to
``(n, g)``, flatten back (:func:`channel_shuffle`). :func:`channel_jacobian` measures which output
channel depends on which input channel, by autograd.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from cvlib._validate import IntPair, check_pair, check_positive_int

__all__ = ["grouped_conv2d", "block_diagonal_weight", "channel_shuffle", "channel_jacobian"]


def _require_divides(groups: int, channels: int, what: str) -> None:
    if channels % groups:
        raise ValueError(f"groups={groups} must divide the {what} ({channels}); "
                         f"allowed: a divisor of {channels}")


def grouped_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                   groups: int = 1, stride: IntPair = 1, padding: IntPair = 0,
                   dilation: IntPair = 1) -> torch.Tensor:
    """A 2-D convolution with ``groups`` groups, computed as ``groups`` separate convolutions.

    ``x`` is ``(N, C_in, H, W)``, ``weight`` is ``(C_out, C_in/g, k_h, k_w)`` as in ``torch.nn.Conv2d``,
    ``bias`` is ``(C_out,)`` or ``None``. Slice ``j`` of the input (channels ``j·C_in/g`` to
    ``(j+1)·C_in/g``) is convolved, with plain ``F.conv2d``, with filters ``j·C_out/g`` to
    ``(j+1)·C_out/g``; the ``g`` outputs are concatenated along the channels. ``stride``, ``padding``
    and ``dilation`` are those of ``F.conv2d``. Equal to ``F.conv2d(..., groups=g)``.

    Raises ``ValueError`` if ``groups < 1``, if ``x`` or ``weight`` is not 4-D, if ``groups`` does not
    divide ``C_in`` or ``C_out``, if ``weight``'s depth is not ``C_in/g``, or if ``bias`` is not
    ``(C_out,)``.
    """
    groups = check_positive_int("groups", groups)
    stride, padding = check_pair("stride", stride, 1), check_pair("padding", padding, 0)
    dilation = check_pair("dilation", dilation, 1)
    if x.dim() != 4:
        raise ValueError(f"x must be an (N, C_in, H, W) tensor, got shape {tuple(x.shape)}")
    if weight.dim() != 4:
        raise ValueError(f"weight must be (C_out, C_in/groups, k_h, k_w), got shape {tuple(weight.shape)}")
    c_in, c_out = x.shape[1], weight.shape[0]
    _require_divides(groups, c_in, "input channels C_in")
    _require_divides(groups, c_out, "output channels C_out (filters)")
    if weight.shape[1] * groups != c_in:
        raise ValueError(f"weight must be (C_out, C_in/groups, k_h, k_w) = ({c_out}, {c_in // groups}, k_h, "
                         f"k_w) for C_in={c_in} and groups={groups}, got shape {tuple(weight.shape)}")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},) (one per filter), got {tuple(bias.shape)}")
    xs = x.chunk(groups, dim=1)
    ws = weight.chunk(groups, dim=0)
    bs = bias.chunk(groups) if bias is not None else [None] * groups
    return torch.cat([F.conv2d(xj, wj, bj, stride, padding, dilation) for xj, wj, bj in zip(xs, ws, bs)],
                     dim=1)


def block_diagonal_weight(weight: torch.Tensor, groups: int) -> torch.Tensor:
    """The dense ``(C_out, C_in, k_h, k_w)`` weight of a grouped convolution, with ``C_in = g·weight.shape[1]``.

    Filter ``o`` of group ``j = o // (C_out/g)`` keeps its ``C_in/g`` kernels at input channels
    ``j·C_in/g … (j+1)·C_in/g − 1``; every other entry is zero. An ungrouped convolution with this weight
    computes exactly the grouped one: only ``1/g`` of the dense weight's entries are non-zero.

    Raises ``ValueError`` if ``groups < 1``, if ``weight`` is not 4-D, or if ``groups`` does not divide
    ``C_out``.
    """
    groups = check_positive_int("groups", groups)
    if weight.dim() != 4:
        raise ValueError(f"weight must be (C_out, C_in/groups, k_h, k_w), got shape {tuple(weight.shape)}")
    c_out, depth = weight.shape[:2]
    _require_divides(groups, c_out, "output channels C_out (filters)")
    per_group = c_out // groups
    dense = weight.new_zeros((c_out, depth * groups, *weight.shape[2:]))
    for j in range(groups):
        rows = slice(j * per_group, (j + 1) * per_group)
        dense[rows, j * depth:(j + 1) * depth] = weight[rows]
    return dense


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle of an ``(N, C, …)`` tensor with ``C = g·n``.

    Reshape the channels to ``(g, n)``, transpose to ``(n, g)``, flatten: output channel ``i·g + j`` is
    input channel ``j·n + i``, so the ``g`` channels that follow one another come from ``g`` different
    groups. ``channel_shuffle(·, n)`` undoes ``channel_shuffle(·, g)``. Equal to
    ``torch.nn.ChannelShuffle(g)``.

    Raises ``ValueError`` if ``groups < 1``, if ``x`` has fewer than two dimensions, or if ``groups`` does
    not divide ``C``.
    """
    groups = check_positive_int("groups", groups)
    if x.dim() < 2:
        raise ValueError(f"x must be (N, C, ...), got shape {tuple(x.shape)}")
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    _require_divides(groups, c, "channels C")
    return x.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


def channel_jacobian(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """How strongly each output channel depends on each input channel of ``fn`` at ``x``.

    ``J[o, c] = Σ |∂y[n, o, …] / ∂x[n', c, …]|`` summed over the batch and all positions, from the full
    autograd Jacobian (meant for small tensors). ``J[o, c] == 0`` means that no value of input channel
    ``c`` reaches output channel ``o`` (at ``x``; for a linear ``fn`` everywhere).

    Raises ``ValueError`` if ``x`` or ``fn(x)`` has fewer than two dimensions.
    """
    if x.dim() < 2:
        raise ValueError(f"x must be (N, C, ...), got shape {tuple(x.shape)}")
    y = fn(x)
    if y.dim() < 2:
        raise ValueError(f"fn(x) must be (N, C, ...), got shape {tuple(y.shape)}")
    jac = torch.autograd.functional.jacobian(fn, x, vectorize=True).abs()  # y.shape + x.shape
    jac = jac.movedim(1, 0).movedim(y.dim() + 1, 1)  # (C_out, C_in, N, ..., N, ...)
    return jac.reshape(jac.shape[0], jac.shape[1], -1).sum(-1)
