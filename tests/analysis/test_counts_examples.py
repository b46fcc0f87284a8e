"""Neuron and connection counts of :mod:`cvlib.analysis.counts` against torch and against published numbers.

Connections are measured independently of the formulas: the Jacobian ∂output/∂input of a torch layer
with no zero weight has one non-zero entry per (output neuron, input) wire, and a bias adds one wire per
output. The published numbers are LeNet-5's (LeCun et al. 1998, Section II-B) and the notes' AlexNet
example (55×55×96 = 290,400).
"""

import pytest
import torch
from torch import nn

from cvlib.analysis import counts

# LeNet-5, Table I: the S2 maps each of the 16 C3 maps reads.
C3_TABLE = [(0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
            (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
            (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5)]


def measured_wires(layer: nn.Module, x: torch.Tensor) -> int:
    """Wires of ``layer`` on inputs shaped like ``x``: non-zeros of the Jacobian, plus one per output
    with a bias. The layer is affine, so its Jacobian's column i is ``layer(e_i) − layer(0)``."""
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.0)  # no zero weight, so every wire shows in the Jacobian
        n = x.numel()
        basis = torch.eye(n).reshape(n, *x.shape[1:]) if x.dim() > 1 else torch.eye(n)
        zero = torch.zeros_like(x if x.dim() > 1 else x[None])
        jac = layer(basis) - layer(zero)
        outputs = layer(zero).numel()
    return int((jac != 0).sum()) + (outputs if layer.bias is not None else 0)


@pytest.mark.parametrize("c_in,c_out,k,size,stride,groups,bias", [
    (2, 3, 3, 6, 1, 1, True),
    (3, 2, 3, 9, 2, 1, True),
    (4, 4, 2, 5, 1, 2, True),
    (4, 4, 3, 7, 1, 4, True),      # depthwise
    (2, 3, (3, 1), 6, 1, 1, True),  # rectangular kernel
    (2, 3, 3, 6, 1, 1, False),
])
def test_conv_connections_match_jacobian(c_in, c_out, k, size, stride, groups, bias):
    torch.manual_seed(0)
    layer = nn.Conv2d(c_in, c_out, k, stride=stride, groups=groups, bias=bias)
    x = torch.rand(1, c_in, size, size)
    out_hw = tuple(layer(x).shape[-2:])
    expected = counts.conv2d_connections(c_in, c_out, k, out_hw, bias=bias, groups=groups)
    assert expected == measured_wires(layer, x)


def test_padding_taps_are_counted_by_the_formula():
    # With padding the formula also counts the products with padding zeros: more than the real wires.
    torch.manual_seed(0)
    layer = nn.Conv2d(2, 3, 3, padding=1)
    x = torch.rand(1, 2, 6, 6)
    formula = counts.conv2d_connections(2, 3, 3, 6)
    real = measured_wires(layer, x)
    # Per axis, the 6 output positions see 2+3+3+3+3+2 = 16 real taps instead of 18.
    assert formula == (2 * 9 + 1) * 6 * 6 * 3
    assert real == 2 * 3 * 16 * 16 + 6 * 6 * 3
    assert real < formula


@pytest.mark.parametrize("bias", [True, False])
def test_linear_connections_match_jacobian_and_params(bias):
    torch.manual_seed(0)
    layer = nn.Linear(12, 5, bias=bias)
    x = torch.rand(12)
    assert counts.linear_connections(12, 5, bias) == measured_wires(layer, x)
    assert counts.linear_connections(12, 5, bias) == sum(p.numel() for p in layer.parameters())


def test_connections_are_macs_plus_bias_wires():
    for c_in, c_out, k, out, groups in [(3, 64, 3, 224, 1), (96, 256, 5, 27, 2), (32, 32, 3, 112, 32)]:
        macs = counts.conv2d_macs(c_in, c_out, k, out, groups)
        n = counts.neurons((c_out, out, out))
        assert counts.conv2d_connections(c_in, c_out, k, out, groups=groups) == macs + n
        assert counts.conv2d_connections(c_in, c_out, k, out, bias=False, groups=groups) == macs
    assert counts.linear_connections(4096, 1000) == counts.linear_macs(4096, 1000) + 1000


def test_conv_connections_are_params_times_map_area():
    # Weight sharing: every parameter serves one connection per output position.
    for c_in, c_out, k, out in [(1, 6, 5, 28), (16, 120, 5, 1), (64, 64, 3, (56, 28))]:
        oh, ow = (out, out) if isinstance(out, int) else out
        assert counts.conv2d_connections(c_in, c_out, k, out) == counts.conv2d_params(c_in, c_out, k) * oh * ow


def test_neurons_match_torch_outputs():
    torch.manual_seed(0)
    y = nn.Conv2d(3, 96, 11, stride=4)(torch.rand(1, 3, 227, 227))
    assert counts.neurons(tuple(y.shape[1:])) == y[0].numel() == 290400  # the notes' AlexNet example
    y = nn.Conv2d(3, 8, 3, padding=1)(torch.rand(1, 3, 20, 20))
    assert counts.neurons(tuple(y.shape[1:])) == y[0].numel() == 8 * 20 * 20


def test_lenet5_paper_counts():
    # LeCun et al. 1998, Section II-B.
    assert counts.conv2d_params(1, 6, 5) == 156
    assert counts.conv2d_connections(1, 6, 5, 28) == 122304
    # C3 with the partial table: each map is a convolution over its own subset of S2 maps.
    assert sum(len(m) for m in C3_TABLE) == 60
    assert sum(counts.conv2d_params(len(m), 1, 5) for m in C3_TABLE) == 1516
    assert sum(counts.conv2d_connections(len(m), 1, 5, 10) for m in C3_TABLE) == 151600
    # S2 / S4: wired like a depthwise 2×2 convolution (4 inputs + bias per unit).
    assert counts.conv2d_connections(6, 6, 2, 14, groups=6) == 5880
    assert counts.conv2d_connections(16, 16, 2, 5, groups=16) == 2000
    # C5: 1×1 output map, so connections = parameters; F6 is fully connected.
    assert counts.conv2d_connections(16, 120, 5, 1) == counts.conv2d_params(16, 120, 5) == 48120
    assert counts.linear_connections(120, 84) == counts.linear_params(120, 84) == 10164


@pytest.mark.parametrize("call,match", [
    (lambda: counts.conv2d_connections(3, 4, 3, 5, groups=2), "groups=2 must divide"),
    (lambda: counts.conv2d_connections(3, 4, 3, 0), "output_size"),
    (lambda: counts.conv2d_connections(3, 4, (3, 3, 3), 5), "kernel_size"),
    (lambda: counts.conv2d_connections(True, 4, 3, 5), "in_channels"),
    (lambda: counts.linear_connections(0, 5), "in_features"),
    (lambda: counts.linear_connections(5, -1), "out_features"),
    (lambda: counts.neurons((55, 55.0, 96)), r"shape\[1\] must be an integer"),
    (lambda: counts.neurons((-1,)), r"shape\[0\] must be an integer >= 1"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
