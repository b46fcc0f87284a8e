"""Parameter counts of the notes' examples and of the papers' networks, against what PyTorch allocates."""

import pytest
import torch
from torch import nn

from cvlib import models
from cvlib.analysis.counts import batchnorm_params, conv2d_params, linear_params


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("c_in,c_out,k,groups", [(256, 256, 3, 1), (256, 256, 3, 2), (256, 256, 3, 32),
                                                 (256, 256, 3, 256), (32, 64, 3, 32), (96, 256, 5, 2),
                                                 (128, 192, (1, 7), 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_grouped_and_depthwise_match_torch(c_in, c_out, k, groups, bias):
    layer = nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias, device="meta")
    assert conv2d_params(c_in, c_out, k, bias=bias, groups=groups) == n_params(layer)


def test_batchnorm_parameters_are_not_its_buffers():
    bn = nn.BatchNorm2d(64)
    assert batchnorm_params(64) == n_params(bn) == 128
    assert batchnorm_params(64, affine=False) == n_params(nn.BatchNorm2d(64, affine=False)) == 0
    buffers = dict(bn.named_buffers())
    assert buffers["running_mean"].numel() + buffers["running_var"].numel() == 128


def test_bn_cancels_a_bias_before_it():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    conv = nn.Conv2d(3, 5, 3).double()
    bn = nn.BatchNorm2d(5).double().train()
    y = bn(conv(x))
    y_no_bias = bn(conv(x) - conv.bias.view(1, -1, 1, 1))
    assert torch.allclose(y, y_no_bias, atol=1e-12)
    (y * torch.randn_like(y)).sum().backward()
    assert conv.bias.grad.abs().max() < 1e-10 < conv.weight.grad.abs().max()


# The notes' ResNet section: the 7×7 stem against stacks of 3×3 convolutions, all with a bias.
@pytest.mark.parametrize("chain,k,terms,total", [
    ([3, 64], 7, [9472], 9472),
    ([3, 64, 64, 64], 3, [1792, 36928, 36928], 75648),
    ([3, 24, 32, 64], 3, [672, 6944, 18496], 26112),
])
def test_notes_resnet_stem_numbers(chain, k, terms, total):
    layers = [nn.Conv2d(a, b, k, device="meta") for a, b in zip(chain, chain[1:])]
    assert [conv2d_params(a, b, k) for a, b in zip(chain, chain[1:])] == [n_params(m) for m in layers] == terms
    assert sum(terms) == total


def test_notes_vgg_coefficients():
    # Two 3×3 = 18C², one 5×5 = 25C², three 3×3 = 27C², one 7×7 = 49C² (C channels in and out, no bias).
    c = 256
    for n, k, coeff in [(2, 3, 18), (1, 5, 25), (3, 3, 27), (1, 7, 49)]:
        stack = nn.Sequential(*[nn.Conv2d(c, c, k, bias=False, device="meta") for _ in range(n)])
        assert n * conv2d_params(c, c, k, bias=False) == n_params(stack) == coeff * c * c


def test_alexnet_fc_layers():
    # Krizhevsky et al. 2012: 6×6×256 → 4096 → 4096 → 1000.
    assert linear_params(256 * 6 * 6, 4096) == n_params(nn.Linear(9216, 4096, device="meta")) == 37_752_832
    assert linear_params(4096, 1000) == n_params(nn.Linear(4096, 1000, device="meta"))


@pytest.mark.parametrize("name,millions", [("vgg11", 133), ("vgg13", 133), ("vgg16_c", 134), ("vgg16", 138),
                                           ("vgg19", 144)])
def test_vgg_sizes_match_paper_table_2(name, millions):
    # Simonyan & Zisserman 2015, Table 2: number of parameters in millions, configurations A-E.
    with torch.device("meta"):
        model = models.build(name)
    assert round(n_params(model) / 1e6) == millions


@pytest.mark.parametrize("call,match", [
    (lambda: conv2d_params(256, 256, 3, groups=3), "groups=3 must divide"),
    (lambda: conv2d_params(256, 100, 3, groups=8), "groups=8 must divide"),
    (lambda: conv2d_params(64, 64, 3, groups=0), "groups"),
    (lambda: conv2d_params(64, 64, 0), "kernel_size"),
    (lambda: conv2d_params(64, 64, (3, 3, 3)), "kernel_size"),
    (lambda: linear_params(9216, 0), "out_features"),
    (lambda: batchnorm_params(0), "channels"),
    (lambda: batchnorm_params(2.5), "channels"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
