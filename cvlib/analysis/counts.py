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
import numbers
from collections.abc import Sequence

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
]


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must contain positive integers, got {value!r}")
    return pair  # type: ignore[return-value]


def _positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_groups(c_in: int, c_out: int, groups: int) -> None:
    _positive("in_channels", c_in)
    _positive("out_channels", c_out)
    _positive("groups", groups)
    if c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must divide both in_channels={c_in} and out_channels={c_out}"
        )


def neurons(shape: Sequence[int]) -> int:
    """Number of neurons of a layer: the product of its output shape (e.g. ``55·55·96 = 290400``)."""
    if len(shape) == 0:
        raise ValueError("shape must have at least one dimension")
    for s in shape:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"every dimension must be a positive integer, got {tuple(shape)}")
    return int(math.prod(int(s) for s in shape))


def conv2d_params(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                  bias: bool = True, groups: int = 1) -> int:
    """Parameters of a 2-D convolution: ``(k_h·k_w·C_in/g + [bias])·C_out``."""
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair(kernel_size, "kernel_size")
    return (kh * kw * in_channels // groups + int(bias)) * out_channels


def conv2d_macs(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                output_size: int | Sequence[int], groups: int = 1) -> int:
    """Multiply-accumulates ("Multi-Adds") of a 2-D convolution: ``k_h·k_w·C_in/g · H_out·W_out·C_out``."""
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair(kernel_size, "kernel_size")
    oh, ow = _pair(output_size, "output_size")
    return kh * kw * (in_channels // groups) * oh * ow * out_channels


def conv2d_flops(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 output_size: int | Sequence[int], bias: bool = True, groups: int = 1) -> int:
    """FLOPs of a 2-D convolution as the notes count them.

    Each output needs ``n = k_h·k_w·C_in/g`` multiplications, ``n − 1`` additions and one more addition
    for the bias: ``(2n − 1 + [bias])·H_out·W_out·C_out``, which is ``2 × MACs`` with a bias.
    """
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair(kernel_size, "kernel_size")
    oh, ow = _pair(output_size, "output_size")
    n = kh * kw * in_channels // groups
    return (2 * n - 1 + int(bias)) * oh * ow * out_channels


def conv2d_connections(in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                       output_size: int | Sequence[int], bias: bool = True, groups: int = 1) -> int:
    """Connections of a 2-D convolution: ``(k_h·k_w·C_in/g + [bias]) · H_out·W_out·C_out``.

    Every output neuron is wired to the inputs under its kernel (and to the bias); weight sharing makes
    connections far more numerous than parameters.
    """
    _check_groups(in_channels, out_channels, groups)
    kh, kw = _pair(kernel_size, "kernel_size")
    oh, ow = _pair(output_size, "output_size")
    return (kh * kw * in_channels // groups + int(bias)) * oh * ow * out_channels


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``(N_in + [bias])·N_out``."""
    _positive("in_features", in_features)
    _positive("out_features", out_features)
    return (in_features + int(bias)) * out_features


def linear_macs(in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a fully connected layer: ``N_in·N_out``."""
    _positive("in_features", in_features)
    _positive("out_features", out_features)
    return in_features * out_features


def linear_flops(in_features: int, out_features: int, bias: bool = True) -> int:
    """FLOPs of a fully connected layer as the notes count them: ``[N_in + (N_in − 1) + [bias]]·N_out``."""
    _positive("in_features", in_features)
    _positive("out_features", out_features)
    return (2 * in_features - 1 + int(bias)) * out_features


def linear_connections(in_features: int, out_features: int, bias: bool = True) -> int:
    """Connections of a fully connected layer: ``(N_in + [bias])·N_out`` — equal to its parameters."""
    return linear_params(in_features, out_features, bias)


def batchnorm_params(channels: int, affine: bool = True) -> int:
    """Trainable parameters of BatchNorm: ``2·C`` (scale γ and shift β); running statistics are buffers."""
    _positive("channels", channels)
    return 2 * channels if affine else 0
