"""1×1 (pointwise) convolution (1×1卷积), written as the per-pixel matrix multiply it is.

For an input ``x`` of shape ``(N, C_in, H, W)``, weights ``W`` of shape ``(C_out, C_in)`` and a bias
``b`` of shape ``(C_out,)``::

    y[n, o, h, w] = Σ_c W[o, c] · x[n, c, h, w] + b[o]

Every pixel's channel vector ``x[n, :, h, w]`` is multiplied by the same matrix ``W``: a fully connected
layer ``C_in → C_out`` applied at every position, its weights shared across positions (the "cascaded
cross channel parametric pooling" of Network In Network). The spatial size stays ``H × W``; the number of
channels becomes ``C_out``, one per kernel. Parameters: ``C_out·C_in + C_out``; multiply-accumulates:
``C_in·C_out·H·W``. With ``C_in = C_out = 1`` the layer is ``y = W·x + b``: every element is scaled by
the same number (and shifted by the bias).
"""

from __future__ import annotations

import torch

__all__ = ["pointwise_conv"]


def pointwise_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``y[n, o, h, w] = Σ_c weight[o, c] · x[n, c, h, w] + bias[o]`` for an ``(N, C_in, H, W)`` input.

    ``weight`` is ``(C_out, C_in)``, or ``(C_out, C_in, 1, 1)`` as ``torch.nn.Conv2d`` stores a 1×1
    kernel; ``bias`` is ``(C_out,)`` or ``None``. Returns an ``(N, C_out, H, W)`` tensor.

    Raises ``ValueError`` if ``x`` is not 4-D, if ``weight`` is neither ``(C_out, C_in)`` nor a 1×1
    kernel ``(C_out, C_in, 1, 1)``, if its ``C_in`` differs from the input's channels, or if ``bias`` is
    not ``(C_out,)``.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be an (N, C_in, H, W) tensor, got shape {tuple(x.shape)}")
    if weight.dim() == 4:
        if tuple(weight.shape[2:]) != (1, 1):
            raise ValueError(f"a 4-D weight must be a 1×1 kernel (C_out, C_in, 1, 1), got shape "
                             f"{tuple(weight.shape)}")
        weight = weight[:, :, 0, 0]
    elif weight.dim() != 2:
        raise ValueError(f"weight must be (C_out, C_in) or (C_out, C_in, 1, 1), got shape {tuple(weight.shape)}")
    c_out, c_in = weight.shape
    if c_in != x.shape[1]:
        raise ValueError(f"weight expects C_in={c_in} input channels but x has {x.shape[1]}")
    y = torch.einsum("oc,nchw->nohw", weight, x)
    if bias is not None:
        if tuple(bias.shape) != (c_out,):
            raise ValueError(f"bias must have shape ({c_out},) (one per output channel), got {tuple(bias.shape)}")
        y = y + bias[None, :, None, None]
    return y
