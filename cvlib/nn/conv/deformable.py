"""Deformable convolution (可变形卷积), version 1 (Dai et al., 2017), from scratch.

A standard convolution samples the input on a fixed grid ``R`` of kernel taps around each output
position ``p0`` (for a 3×3 kernel with dilation 1, ``R = {(−1, −1), (−1, 0), …, (1, 1)}``)::

    y(p0) = Σ_n w(p_n) · x(p0 + p_n)                         (the paper's Eq. 1)

A deformable convolution adds a learned 2-D offset ``Δp_n`` to every tap, one per output position::

    y(p0) = Σ_n w(p_n) · x(p0 + p_n + Δp_n),   n = 1 … N,   N = |R| = k_h·k_w      (Eq. 2)

The offsets are fractional, so ``x`` is read at non-integer positions by bilinear interpolation::

    x(p) = Σ_q G(q, p) · x(q),   G(q, p) = g(q_y, p_y) · g(q_x, p_x),   g(a, b) = max(0, 1 − |a − b|)
                                                                         (Eqs. 3 and 4)

``q`` runs over the integer pixels of ``x``; only the (at most) four pixels around ``p`` have a non-zero
weight, and a pixel outside the image counts as zero, exactly as zero padding does. The offsets come from
an ordinary convolution over the same input, with the same kernel size, stride, padding and dilation and
``2N`` output channels, initialised to zero so that the layer starts as the standard convolution.

**Offset layout** (the same as ``torchvision.ops.deform_conv2d``): ``offset`` has shape
``(batch, 2·k_h·k_w, H_out, W_out)``; for the kernel tap ``k = i·k_w + j`` (row ``i``, column ``j``,
row-major), channel ``2k`` holds the vertical offset ``Δy`` and channel ``2k + 1`` the horizontal offset
``Δx``, in input pixels. Not implemented here: torchvision's ``offset_groups`` and weight ``groups``, and
the modulation mask of deformable convolution v2 (Zhu et al., 2019).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cvlib._validate import IntPair, check_int, check_pair
from cvlib.analysis.shapes import conv_output_size

__all__ = ["bilinear_kernel", "bilinear_sample", "deform_conv2d", "kernel_grid", "DeformConv2d"]



def bilinear_kernel(a: torch.Tensor | float, b: torch.Tensor | float) -> torch.Tensor:
    """The 1-D bilinear kernel of the paper's Eq. (4): ``g(a, b) = max(0, 1 − |a − b|)``."""
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    return torch.clamp(1 - (a - b).abs(), min=0)


def bilinear_sample(x: torch.Tensor, py: torch.Tensor, px: torch.Tensor) -> torch.Tensor:
    """Read ``x`` at fractional pixel positions: ``x(p) = Σ_q G(q, p)·x(q)`` (Eqs. 3–4), zero outside.

    ``x`` is ``(N, C, H, W)``; ``py`` (row) and ``px`` (column) are tensors of the same shape
    ``(N, *S)`` in pixel units (pixel ``(0, 0)`` is the centre of the top-left pixel). Returns
    ``(N, C, *S)``.

    Only the four pixels ``q ∈ {⌊p⌋, ⌊p⌋ + 1}²`` can have ``G(q, p) ≠ 0``; with ``f = p − ⌊p⌋`` their
    1-D weights are ``g(⌊p⌋, p) = 1 − f`` and ``g(⌊p⌋ + 1, p) = f``. Pixels outside the image count as
    zero. The result is differentiable with respect to ``x`` and to the positions (at an integer position
    the derivative is the one-sided one from the right).
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a 4-D (N, C, H, W) tensor, got {shape}")
    if not isinstance(py, torch.Tensor) or not isinstance(px, torch.Tensor) or py.shape != px.shape:
        raise ValueError("py and px must be tensors of the same shape (N, ...)")
    if py.dim() < 1 or py.shape[0] != x.shape[0]:
        raise ValueError(f"py and px must start with the batch dimension {x.shape[0]}, got {tuple(py.shape)}")
    n, c, h, w = x.shape
    spatial = py.shape[1:]
    flat = x.reshape(n, c, h * w)
    y0, x0 = torch.floor(py), torch.floor(px)
    fy, fx = py - y0, px - x0
    out = x.new_zeros((n, c, *spatial))
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            qy, qx = y0 + dy, x0 + dx
            inside = (qy >= 0) & (qy <= h - 1) & (qx >= 0) & (qx <= w - 1)
            index = (qy.clamp(0, h - 1) * w + qx.clamp(0, w - 1)).long().reshape(n, 1, -1)
            values = flat.gather(2, index.expand(n, c, index.shape[-1])).reshape(n, c, *spatial)
            out = out + (wy * wx * inside).unsqueeze(1) * values
    return out


def kernel_grid(kernel_size: IntPair, output_size: IntPair, stride: IntPair = 1, padding: IntPair = 0,
                dilation: IntPair = 1, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Regular sampling positions ``p0 + p_n`` of a convolution, in input pixels.

    Returns ``(ys, xs)``, each ``(k_h·k_w, H_out, W_out)``: tap ``k = i·k_w + j`` of output ``(oy, ox)``
    reads row ``oy·s_h − p_h + i·d_h`` and column ``ox·s_w − p_w + j·d_w`` (negative or too large: padding).
    """
    kh, kw = check_pair("kernel_size", kernel_size, 1)
    oh, ow = check_pair("output_size", output_size, 1)
    sh, sw = check_pair("stride", stride, 1)
    ph, pw = check_pair("padding", padding, 0)
    dh, dw = check_pair("dilation", dilation, 1)
    rows = (torch.arange(kh, dtype=dtype) * dh).view(kh, 1, 1, 1) + (torch.arange(oh, dtype=dtype) * sh - ph).view(1, 1, oh, 1)
    cols = (torch.arange(kw, dtype=dtype) * dw).view(1, kw, 1, 1) + (torch.arange(ow, dtype=dtype) * sw - pw).view(1, 1, 1, ow)
    ys = rows.expand(kh, kw, oh, ow).reshape(kh * kw, oh, ow)
    xs = cols.expand(kh, kw, oh, ow).reshape(kh * kw, oh, ow)
    return ys, xs


def deform_conv2d(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                  stride: IntPair = 1, padding: IntPair = 0, dilation: IntPair = 1) -> torch.Tensor:
    """Deformable convolution v1: ``y(p0) = Σ_n w(p_n)·x(p0 + p_n + Δp_n) + b`` (Eq. 2).

    Shapes: ``x`` is ``(N, C_in, H, W)``, ``weight`` is ``(C_out, C_in, k_h, k_w)``, ``bias`` is ``(C_out,)``
    or ``None``, and ``offset`` is ``(N, 2·k_h·k_w, H_out, W_out)`` with channel ``2k`` = ``Δy`` and
    ``2k + 1`` = ``Δx`` of tap ``k = i·k_w + j`` (torchvision's layout). ``H_out`` and ``W_out`` are those of
    the standard convolution, ``⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1``.

    The computation is "im2col" with a twist: every tap of every output position is read by
    :func:`bilinear_sample` at its shifted position, giving columns of shape ``(N, C_in·k_h·k_w,
    H_out·W_out)``, and one matrix product with the ``(C_out, C_in·k_h·k_w)`` weight matrix finishes the
    job. With ``offset = 0`` this is exactly ``torch.nn.functional.conv2d``.

    Raises ``ValueError`` for tensors of the wrong rank or size (e.g. ``offset`` channels ≠ ``2·k_h·k_w``),
    a non-positive stride or dilation, a negative padding, or a kernel larger than the padded input.
    """
    for name, t in (("x", x), ("weight", weight), ("offset", offset)):
        if not isinstance(t, torch.Tensor) or t.dim() != 4:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a 4-D tensor, got {shape}")
    n, c_in, h, w = x.shape
    c_out, c_w, kh, kw = weight.shape
    if c_w != c_in:
        raise ValueError(f"weight has {c_w} input channels but x has {c_in}; they must be equal "
                         "(grouped deformable convolution is not implemented)")
    if bias is not None and (not isinstance(bias, torch.Tensor) or tuple(bias.shape) != (c_out,)):
        got = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
        raise ValueError(f"bias must have shape ({c_out},) (one value per output channel), got {got}")
    sh, sw = check_pair("stride", stride, 1)
    ph, pw = check_pair("padding", padding, 0)
    dh, dw = check_pair("dilation", dilation, 1)
    for axis, size, k, p, d in (("height", h, kh, ph, dh), ("width", w, kw, pw, dw)):
        extent = d * (k - 1) + 1
        if extent > size + 2 * p:
            raise ValueError(f"kernel extent {extent} along the {axis} (kernel {k}, dilation {d}) is larger than "
                             f"the padded input {size + 2 * p} (size {size}, padding {p} on each side); "
                             "it must be <= the padded input")
    oh = conv_output_size(h, kh, sh, ph, dh)
    ow = conv_output_size(w, kw, sw, pw, dw)
    taps = kh * kw
    expected = (n, 2 * taps, oh, ow)
    if tuple(offset.shape) != expected:
        raise ValueError(f"offset must have shape (N, 2·k_h·k_w, H_out, W_out) = {expected} (2·{kh}·{kw} = "
                         f"{2 * taps} channels: (dy, dx) per kernel tap), got {tuple(offset.shape)}")
    base_y, base_x = kernel_grid((kh, kw), (oh, ow), (sh, sw), (ph, pw), (dh, dw), dtype=x.dtype)
    off = offset.reshape(n, taps, 2, oh, ow)
    py = base_y.to(x.device) + off[:, :, 0]
    px = base_x.to(x.device) + off[:, :, 1]
    columns = bilinear_sample(x, py, px).reshape(n, c_in * taps, oh * ow)  # (N, C_in·K, L)
    out = torch.matmul(weight.reshape(c_out, c_in * taps), columns).reshape(n, c_out, oh, ow)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


class DeformConv2d(nn.Module):
    """A deformable convolution layer with its offset branch.

    ``conv_offset`` is an ordinary ``nn.Conv2d`` over the same input with the layer's kernel size, stride,
    padding and dilation and ``2·k_h·k_w`` output channels (18 for 3×3); its weight and bias start at zero
    (Dai et al., 2017, §2.3), so at initialisation the layer *is* a standard convolution with ``weight``
    and ``bias``, which are initialised as ``nn.Conv2d``'s. The offset field therefore has the spatial size
    of the output (the paper says "of the input": the same thing for stride 1 with "same" padding).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: IntPair = 0, dilation: IntPair = 1, bias: bool = True) -> None:
        super().__init__()
        in_channels = check_int("in_channels", in_channels, 1)
        out_channels = check_int("out_channels", out_channels, 1)
        self.kernel_size = check_pair("kernel_size", kernel_size, 1)
        self.stride = check_pair("stride", stride, 1)
        self.padding = check_pair("padding", padding, 0)
        self.dilation = check_pair("dilation", dilation, 1)
        kh, kw = self.kernel_size
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.conv_offset = nn.Conv2d(in_channels, 2 * kh * kw, self.kernel_size, self.stride, self.padding,
                                     self.dilation, bias=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Conv2d's default
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight[0].numel())
            nn.init.uniform_(self.bias, -bound, bound)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: torch.Tensor, return_offset: bool = False):
        offset = self.conv_offset(x)
        y = deform_conv2d(x, offset, self.weight, self.bias, self.stride, self.padding, self.dilation)
        return (y, offset) if return_offset else y

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, bias={self.bias is not None}")
