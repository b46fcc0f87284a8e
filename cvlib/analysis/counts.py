"""Counting a layer: neurons, parameters, MACs, FLOPs and connections.

The notes' definitions (神经元数量 / 参数量 / FLOPs / 链接数), for a convolution with a ``k_h × k_w`` kernel,
``C_in`` input and ``C_out`` output channels producing an ``H_out × W_out`` map, and for a fully connected
layer with ``N_in`` inputs and ``N_out`` outputs:

==============  ===========================================  ===============================
quantity        convolution                                  fully connected
==============  ===========================================  ===============================
neurons         H_out·W_out·C_out                            N_out
parameters      (k_h·k_w·C_in/g + 1)·C_out                   (N_in + 1)·N_out
MACs            k_h·k_w·C_in/g · H_out·W_out·C_out           N_in·N_out
FLOPs (notes)   [k_h·k_w·C_in + (k_h·k_w·C_in − 1) + 1]·out  [N_in + (N_in − 1) + 1]·N_out
connections     (k_h·k_w·C_in/g + 1)·H_out·W_out·C_out       (N_in + 1)·N_out
==============  ===========================================  ===============================

``g`` is the number of groups (``g = C_in`` for a depthwise convolution). The ``+ 1`` is the bias; a
layer followed by BatchNorm has no bias, and ``bias=False`` drops it (the BatchNorm's own two parameters
per channel are counted by :func:`batchnorm_params`). With a bias the notes' FLOPs are exactly
``2 × MACs``; without one, each output saves one addition. Papers' "multiply-adds" are MACs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cvlib._validate import check_bool, check_int_sequence, check_pair, check_positive_int

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "neurons",
    "conv2d_params",
    "conv2d_macs",
    "conv2d_flops",
    "conv2d_connections",
    "linear_params",
    "linear_macs",
    "linear_flops",
    "linear_connections",
    "batchnorm_params",
    "module_params",
]


def _conv_arguments(in_channels: int, out_channels: int, groups: int, kernel_size: int | Sequence[int],
                    output_size: int | Sequence[int] | None = None) -> tuple[int, int, int, int, int, int, int]:
    """``(C_in, C_out, g, k_h, k_w, H_out, W_out)`` as ``int``; ``g`` must divide both channel counts."""
    c_in = check_positive_int("in_channels", in_channels)
    c_out = check_positive_int("out_channels", out_channels)
    g = check_positive_int("groups", groups)
    if c_in % g or c_out % g:
        raise ValueError(f"groups={g} must divide both in_channels={c_in} and out_channels={c_out}")
    kh, kw = check_pair("kernel_size", kernel_size, 1)
    oh, ow = (1, 1) if output_size is None else check_pair("output_size", output_size, 1)
    return c_in, c_out, g, kh, kw, oh, ow


def _linear_arguments(in_features: int, out_features: int) -> tuple[int, int]:
    return check_positive_int("in_features", in_features), check_positive_int("out_features", out_features)


def neurons(shape: Sequence[int]) -> int:
    """Number of neurons of a layer: the product of its output shape (e.g. ``55·55·96 = 290400``)."""
    return math.prod(check_int_sequence("shape", shape, 1, min_length=1))


def conv2d_params(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                  bias: bool = True, groups: int = 1) -> int:
    """Parameters of a 2-D convolution: ``(k_h·k_w·C_in/g + [bias])·C_out``."""
    c_in, c_out, g, kh, kw, _, _ = _conv_arguments(in_channels, out_channels, groups, kernel_size)
    return (kh * kw * c_in // g + int(check_bool("bias", bias))) * c_out


def conv2d_macs(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                output_size: int | Sequence[int], groups: int = 1) -> int:
    """Multiply-accumulates ("Multi-Adds") of a 2-D convolution: ``k_h·k_w·C_in/g · H_out·W_out·C_out``."""
    c_in, c_out, g, kh, kw, oh, ow = _conv_arguments(in_channels, out_channels, groups, kernel_size, output_size)
    return kh * kw * (c_in // g) * oh * ow * c_out


def conv2d_flops(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 output_size: int | Sequence[int], bias: bool = True, groups: int = 1) -> int:
    """FLOPs of a 2-D convolution as the notes count them.

    Each output needs ``n = k_h·k_w·C_in/g`` multiplications, ``n − 1`` additions and one more addition
    for the bias: ``(2n − 1 + [bias])·H_out·W_out·C_out``, which is ``2 × MACs`` with a bias.
    """
    c_in, c_out, g, kh, kw, oh, ow = _conv_arguments(in_channels, out_channels, groups, kernel_size, output_size)
    n = kh * kw * c_in // g
    return (2 * n - 1 + int(check_bool("bias", bias))) * oh * ow * c_out


def conv2d_connections(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                       output_size: int | Sequence[int], bias: bool = True, groups: int = 1) -> int:
    """Connections of a 2-D convolution: ``(k_h·k_w·C_in/g + [bias]) · H_out·W_out·C_out``.

    Every output neuron is wired to the inputs under its kernel (and to the bias); weight sharing makes
    connections far more numerous than parameters.
    """
    c_in, c_out, g, kh, kw, oh, ow = _conv_arguments(in_channels, out_channels, groups, kernel_size, output_size)
    return (kh * kw * c_in // g + int(check_bool("bias", bias))) * oh * ow * c_out


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``(N_in + [bias])·N_out``."""
    n_in, n_out = _linear_arguments(in_features, out_features)
    return (n_in + int(check_bool("bias", bias))) * n_out


def linear_macs(in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a fully connected layer: ``N_in·N_out``."""
    n_in, n_out = _linear_arguments(in_features, out_features)
    return n_in * n_out


def linear_flops(in_features: int, out_features: int, bias: bool = True) -> int:
    """FLOPs of a fully connected layer as the notes count them: ``[N_in + (N_in − 1) + [bias]]·N_out``."""
    n_in, n_out = _linear_arguments(in_features, out_features)
    return (2 * n_in - 1 + int(check_bool("bias", bias))) * n_out


def linear_connections(in_features: int, out_features: int, bias: bool = True) -> int:
    """Connections of a fully connected layer: ``(N_in + [bias])·N_out`` — equal to its parameters."""
    return linear_params(in_features, out_features, bias)


def batchnorm_params(channels: int, affine: bool = True) -> int:
    """Trainable parameters of BatchNorm: ``2·C`` (scale γ and shift β) with ``affine=True``, ``0``
    without (``nn.BatchNorm2d(C, affine=False)``); the running statistics are buffers either way."""
    channels = check_positive_int("channels", channels)
    return 2 * channels if check_bool("affine", affine) else 0


def module_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Parameters a built module holds: ``Σ numel`` over ``module.parameters()`` (a shared tensor counted
    once, as PyTorch yields it once); ``trainable_only`` counts only those with ``requires_grad``. The
    formulas above predict this number; pages compare the two."""
    if not callable(getattr(module, "parameters", None)):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    trainable_only = check_bool("trainable_only", trainable_only)
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
