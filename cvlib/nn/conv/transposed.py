"""Transposed convolution (转置卷积), from scratch: the convolution matrix, its transpose, and the sizes.

A convolution is linear, so for one channel it is a matrix: with the input ``x`` (``in_h × in_w``) and
the output ``y`` flattened row by row, ``y = C x`` with ``C`` of shape ``(out_h·out_w, in_h·in_w)``.
The **transposed convolution** with the same kernel is the map ``y ↦ Cᵀ y``. It goes from the shape of
the convolution's output back to the shape of its input, with the same connectivity, and it is exactly
the gradient of the convolution with respect to its input. It is *not* the inverse: ``Cᵀ C x ≠ x``.

Computed directly, ``Cᵀ y`` is a scatter-add: every input pixel ``y[i, j]`` stamps a copy of the kernel,
scaled by its value, onto the output at rows ``i·s + u·d`` and columns ``j·s + v·d`` (``u, v`` the kernel
taps, ``s`` the stride, ``d`` the dilation); overlapping stamps add up; then ``p`` rows and columns are cut
from each border (the padding of the convolution) and ``output_padding`` rows/columns are kept at the
bottom/right. Along one axis the output size is::

    out = (i − 1)·s − 2p + d·(k − 1) + output_padding + 1

A stride-``s`` convolution maps ``s`` different input sizes to the same output size; ``output_padding``
(``0 ≤ a < s``) picks which one the transposed convolution restores: ``a = (i + 2p − d(k − 1) − 1) mod s``
(Dumoulin & Visin's ``a``). PyTorch accepts ``output_padding < max(stride, dilation)``; a value ``≥ s``
gives a size that the convolution does not map back.

The same result comes from a direct convolution (Dumoulin & Visin, 2016): insert ``s − 1`` zeros between
input pixels, pad by ``d(k − 1) − p`` (plus ``output_padding`` at the bottom/right), and convolve with
stride 1 and dilation ``d`` using the kernel flipped in both spatial axes with its input and output
channels swapped. It does many multiplications by zero; the scatter-add does none.

Weights use PyTorch's layout for ``conv_transpose2d``: ``(C_in, C_out, k_h, k_w)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cvlib._validate import IntPair, check_int, check_pair
from cvlib.analysis.shapes import conv_output_size

__all__ = [
    "conv_matrix",
    "transposed_output_size",
    "output_padding_for",
    "conv_transpose2d",
    "zero_insert",
    "conv_transpose2d_via_conv",
    "overlap_counts",
]


def transposed_output_size(i: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0,
                           dilation: int = 1) -> int:
    """Output length along one axis of a transposed convolution.

    ``out = (i − 1)·s − 2p + d·(k − 1) + output_padding + 1``.

    With ``output_padding < s`` the convolution with the same ``k, s, p, d`` maps ``out`` back to ``i``.

    Raises ``ValueError`` for a non-positive ``i``, ``k``, ``s`` or ``dilation``, a negative ``p`` or
    ``output_padding``, an ``output_padding`` not smaller than the stride or the dilation (the larger of
    the two is the bound, as in PyTorch), or a padding so large that the output would be empty.
    """
    i = check_int("input size i", i, 1)
    k = check_int("kernel k", k, 1)
    s = check_int("stride s", s, 1)
    p = check_int("padding p", p, 0)
    d = check_int("dilation", dilation, 1)
    a = check_int("output_padding", output_padding, 0)
    if a >= max(s, d):
        raise ValueError(f"output_padding={a} must be smaller than the stride ({s}) or the dilation ({d})")
    out = (i - 1) * s - 2 * p + d * (k - 1) + a + 1
    if out < 1:
        raise ValueError(f"padding p={p} is too large: the output size would be {out}; "
                         f"2p must be <= (i - 1)·s + d·(k - 1) + output_padding = {out - 1 + 2 * p}")
    return out


def output_padding_for(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """The ``output_padding`` that makes the transposed convolution restore ``size``.

    A convolution maps ``size`` to ``o = ⌊(size + 2p − d(k − 1) − 1)/s⌋ + 1``; the remainder of that
    division, ``a = (size + 2p − d(k − 1) − 1) mod s``, is the number of input rows the last window does
    not reach, and ``transposed_output_size(o, k, s, p, a, d) == size``.
    """
    padding = check_int("padding", padding, 0)  # one number: the same padding on both sides
    conv_output_size(size, kernel, stride, padding, dilation)  # validates the rest of the convolution
    return (int(size) + 2 * padding - int(dilation) * (int(kernel) - 1) - 1) % int(stride)


def conv_matrix(in_h: int, in_w: int, kernel: torch.Tensor, stride: int = 1, padding: int = 0,
                dilation: int = 1) -> torch.Tensor:
    """The matrix ``C`` of a single-channel 2-D convolution (PyTorch's cross-correlation, zero padding).

    ``kernel`` is a 2-D tensor ``(k_h, k_w)``. Input and output are flattened row by row, so that::

        F.conv2d(x[None, None], kernel[None, None], stride=stride, padding=padding,
                 dilation=dilation).flatten() == C @ x.flatten()

    ``C`` has shape ``(out_h·out_w, in_h·in_w)``: row ``(r, c)`` holds the kernel weights at the input
    pixels that output ``(r, c)`` reads, ``C[(r, c), (r·s − p + u·d, c·s − p + v·d)] = w[u, v]``; taps that
    fall in the zero padding have no column. ``C.T @ y.flatten()`` is the transposed convolution of ``y``.
    """
    if not isinstance(kernel, torch.Tensor) or kernel.dim() != 2:
        raise ValueError(f"kernel must be a 2-D tensor (k_h, k_w) of a single-channel convolution, got "
                         f"{type(kernel).__name__} with shape {tuple(getattr(kernel, 'shape', ()))}")
    s = check_int("stride", stride, 1)
    p = check_int("padding", padding, 0)
    d = check_int("dilation", dilation, 1)
    k_h, k_w = kernel.shape
    out_h = conv_output_size(in_h, k_h, s, p, d)
    out_w = conv_output_size(in_w, k_w, s, p, d)
    C = kernel.new_zeros(out_h * out_w, in_h * in_w)
    for r in range(out_h):
        for c in range(out_w):
            for u in range(k_h):
                for v in range(k_w):
                    row, col = r * s - p + u * d, c * s - p + v * d
                    if 0 <= row < in_h and 0 <= col < in_w:
                        C[r * out_w + c, row * in_w + col] += kernel[u, v]
    return C


def conv_transpose2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                     stride: IntPair = 1, padding: IntPair = 0, output_padding: IntPair = 0,
                     dilation: IntPair = 1) -> torch.Tensor:
    """Transposed 2-D convolution as a scatter-add; the same arguments as ``F.conv_transpose2d``
    (without ``groups``).

    ``x``: ``(N, C_in, H, W)``; ``weight``: ``(C_in, C_out, k_h, k_w)``; ``bias``: ``(C_out,)``. Each input
    pixel ``x[n, c, i, j]`` adds ``x[n, c, i, j] · weight[c, :, u, v]`` to the full-size output at
    ``(i·s + u·d, j·s + v·d)`` for every tap ``(u, v)``: it stamps a scaled copy of the kernel. The loop
    runs over the taps; for one tap the stamps of all input pixels land on a strided grid, added with one
    slice. The full output is then cropped by ``padding`` on each side, keeping ``output_padding`` extra
    rows/columns at the bottom/right, and the bias is added. Output size per axis:
    ``(H − 1)·s − 2p + d·(k − 1) + output_padding + 1``.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be (N, C_in, H, W), got shape {tuple(x.shape)}")
    if weight.dim() != 4:
        raise ValueError(f"weight must be (C_in, C_out, k_h, k_w), got shape {tuple(weight.shape)}")
    n, c_in, h, w = x.shape
    if weight.shape[0] != c_in:
        raise ValueError(f"weight has {weight.shape[0]} input channels (dim 0), x has {c_in}; they must match")
    c_out, k_h, k_w = weight.shape[1:]
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {tuple(bias.shape)}")
    s, p, a, d = (check_pair("stride", stride, 1), check_pair("padding", padding, 0),
                  check_pair("output_padding", output_padding, 0), check_pair("dilation", dilation, 1))
    out_h = transposed_output_size(h, k_h, s[0], p[0], a[0], d[0])
    out_w = transposed_output_size(w, k_w, s[1], p[1], a[1], d[1])
    full_h = (h - 1) * s[0] + d[0] * (k_h - 1) + 1 + a[0]  # uncropped, with output_padding room
    full_w = (w - 1) * s[1] + d[1] * (k_w - 1) + 1 + a[1]
    full = x.new_zeros(n, c_out, full_h, full_w)
    for u in range(k_h):
        for v in range(k_w):
            stamp = torch.einsum("nchw,co->nohw", x, weight[:, :, u, v])
            r0, c0 = u * d[0], v * d[1]
            full[:, :, r0:r0 + (h - 1) * s[0] + 1:s[0], c0:c0 + (w - 1) * s[1] + 1:s[1]] += stamp
    out = full[:, :, p[0]:p[0] + out_h, p[1]:p[1] + out_w]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def zero_insert(x: torch.Tensor, stride: IntPair) -> torch.Tensor:
    """Insert ``s − 1`` zeros between neighbouring pixels of ``(N, C, H, W)``: ``H ↦ (H − 1)·s + 1``.

    Dumoulin & Visin's "stretched input" ``ĩ'``, the fractional stride ``1/s`` of a transposed convolution.
    """
    s = check_pair("stride", stride, 1)
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, (h - 1) * s[0] + 1, (w - 1) * s[1] + 1)
    out[:, :, ::s[0], ::s[1]] = x
    return out


def conv_transpose2d_via_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                              stride: IntPair = 1, padding: IntPair = 0, output_padding: IntPair = 0,
                              dilation: IntPair = 1) -> torch.Tensor:
    """The transposed convolution computed as a direct convolution (Dumoulin & Visin's equivalence).

    Zero-insert the input (``s − 1`` zeros), pad by ``d(k − 1) − p`` on each side and ``output_padding``
    more at the bottom/right (a negative pad crops), then convolve with stride 1, dilation ``d`` and the
    kernel flipped in both spatial axes with its channels swapped, ``(C_in, C_out) → (C_out, C_in)``.
    """
    s, p, a, d = (check_pair("stride", stride, 1), check_pair("padding", padding, 0),
                  check_pair("output_padding", output_padding, 0), check_pair("dilation", dilation, 1))
    k_h, k_w = weight.shape[-2:]
    for axis, k in enumerate((k_h, k_w)):  # validates the sizes
        transposed_output_size(x.shape[2 + axis], k, s[axis], p[axis], a[axis], d[axis])
    stretched = zero_insert(x, s)
    q_h, q_w = d[0] * (k_h - 1) - p[0], d[1] * (k_w - 1) - p[1]
    padded = F.pad(stretched, (q_w, q_w + a[1], q_h, q_h + a[0]))  # (left, right, top, bottom)
    kernel = weight.flip(-2, -1).transpose(0, 1)
    return F.conv2d(padded, kernel, bias, stride=1, dilation=d)


def overlap_counts(size: IntPair, kernel: IntPair, stride: IntPair) -> torch.Tensor:
    """How many kernel stamps cover each output pixel of a transposed convolution (no padding).

    The transposed convolution of an all-ones ``size`` input with an all-ones kernel: the "uneven
    overlap" of Odena, Dumoulin & Olah (2016). Along one axis the count is periodic with period ``s``
    away from the borders, and constant there exactly when ``s`` divides ``k``; in 2-D the counts of the
    two axes multiply.
    """
    h, w = check_pair("size", size, 1)
    k_h, k_w = check_pair("kernel", kernel, 1)
    ones = torch.ones(1, 1, h, w, dtype=torch.float64)
    return conv_transpose2d(ones, torch.ones(1, 1, k_h, k_w, dtype=torch.float64), stride=stride)[0, 0]
