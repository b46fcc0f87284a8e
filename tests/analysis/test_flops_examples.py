"""FLOP and MAC counts checked three independent ways: against a convolution that counts its own scalar
operations, against PyTorch's ``FlopCounterMode``, and against the numbers printed in the notes and papers."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cvlib
from cvlib import models
from cvlib.analysis import counts


class Tally:
    def __init__(self) -> None:
        self.mul = 0
        self.add = 0

    def times(self, a: float, b: float) -> float:
        self.mul += 1
        return a * b

    def plus(self, a: float, b: float) -> float:
        self.add += 1
        return a + b


def counted_conv2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, stride: int, padding: int,
                   groups: int) -> tuple[torch.Tensor, Tally]:
    """A grouped convolution as scalar loops (input explicitly zero-padded), counting every * and +."""
    tally = Tally()
    xp = nn.functional.pad(x, (padding,) * 4).tolist()
    c_out, c_per_group, kh, kw = w.shape
    hp, wp = len(xp[0]), len(xp[0][0])
    oh, ow = (hp - kh) // stride + 1, (wp - kw) // stride + 1
    wl = w.tolist()
    out_per_group = c_out // groups
    y = torch.zeros(c_out, oh, ow, dtype=x.dtype)
    for co in range(c_out):
        first_in = (co // out_per_group) * c_per_group
        for i, j in itertools.product(range(oh), range(ow)):
            acc = None
            for ci, u, v in itertools.product(range(c_per_group), range(kh), range(kw)):
                p = tally.times(xp[first_in + ci][i * stride + u][j * stride + v], wl[co][ci][u][v])
                acc = p if acc is None else tally.plus(acc, p)
            if b is not None:
                acc = tally.plus(acc, b[co].item())
            y[co, i, j] = acc
    return y, tally


def torch_flops(module: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops()


CONVS = [  # c_in, c_out, kernel, stride, padding, groups, size
    (3, 4, (3, 2), 2, 1, 1, 6),
    (2, 5, 1, 1, 0, 1, 4),
    (4, 4, 3, 1, 1, 4, 5),   # depthwise
    (4, 6, 3, 2, 0, 2, 7),   # grouped
]


@pytest.mark.parametrize("c_in,c_out,k,stride,padding,groups,size", CONVS)
@pytest.mark.parametrize("bias", [True, False])
def test_counted_operations_match_the_formulas(c_in, c_out, k, stride, padding, groups, size, bias):
    torch.manual_seed(0)
    layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, groups=groups, bias=bias).double()
    x = torch.randn(c_in, size, size, dtype=torch.float64)
    y, tally = counted_conv2d(x, layer.weight.detach(), layer.bias, stride, padding, groups)
    ref = layer(x[None])[0].detach()
    assert torch.allclose(y, ref, atol=1e-12)
    out_hw = tuple(ref.shape[-2:])
    assert tally.mul == counts.conv2d_macs(c_in, c_out, k, out_hw, groups=groups)
    assert tally.mul + tally.add == counts.conv2d_flops(c_in, c_out, k, out_hw, bias=bias, groups=groups)


@pytest.mark.parametrize("c_in,c_out,k,stride,padding,groups,size", CONVS + [(64, 128, 3, 1, 1, 1, 28),
                                                                            (32, 32, 3, 2, 1, 32, 56)])
@pytest.mark.parametrize("bias", [True, False])
def test_torch_counts_two_flops_per_mac_and_ignores_bias(c_in, c_out, k, stride, padding, groups, size, bias):
    layer = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, groups=groups, bias=bias)
    x = torch.zeros(1, c_in, size, size)
    out_hw = tuple(layer(x).shape[-2:])
    macs = counts.conv2d_macs(c_in, c_out, k, out_hw, groups=groups)
    t = torch_flops(layer, x)
    assert t == 2 * macs
    outputs = c_out * out_hw[0] * out_hw[1]
    assert t == counts.conv2d_flops(c_in, c_out, k, out_hw, bias=bias, groups=groups) + (0 if bias else outputs)


@pytest.mark.parametrize("n_in,n_out", [(1, 1), (7, 5), (25088, 4096)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_against_torch(n_in, n_out, bias):
    with torch.device("meta"):  # shapes only: counting needs no data
        t = torch_flops(nn.Linear(n_in, n_out, bias=bias), torch.empty(1, n_in))
    assert t == 2 * counts.linear_macs(n_in, n_out)
    assert t == counts.linear_flops(n_in, n_out, bias=bias) + (0 if bias else n_out)


def test_notes_resnet_stem_numbers():
    # The notes' products, written out as the notes write them.
    assert counts.conv2d_macs(3, 64, 7, 112) == 7 * 7 * 3 * 112 * 112 * 64 == 118013952
    wide = [counts.conv2d_macs(3, 64, 3, 112), counts.conv2d_macs(64, 64, 3, 112), counts.conv2d_macs(64, 64, 3, 112)]
    assert wide == [21676032, 462422016, 462422016] and sum(wide) == 946520064
    narrow = [counts.conv2d_macs(3, 24, 3, 112), counts.conv2d_macs(24, 32, 3, 112), counts.conv2d_macs(32, 64, 3, 112)]
    assert narrow == [8128512, 86704128, 231211008] and sum(narrow) == 326043648


def test_stem_receptive_fields():
    def stem(*convs):
        return nn.Sequential(*[nn.Conv2d(ci, co, k, s, p, bias=False) for ci, co, k, s, p in convs])

    stride_first = cvlib.profile(stem((3, 64, 3, 2, 1), (64, 64, 3, 1, 1), (64, 64, 3, 1, 1)), 64)
    stride_last = cvlib.profile(stem((3, 64, 3, 1, 1), (64, 64, 3, 1, 1), (64, 64, 3, 2, 1)), 64)
    seven = cvlib.profile(stem((3, 64, 7, 2, 3)), 64)
    assert seven.rows[-1].rf == (7, 7) and stride_last.rows[-1].rf == (7, 7)
    assert stride_first.rows[-1].rf == (11, 11)  # 3, then + 2·2 twice
    assert stride_first.rows[-1].output_shape == stride_last.rows[-1].output_shape == seven.rows[-1].output_shape


@pytest.mark.parametrize("name,paper_gmacs,tol", [("vgg19", 19.6, 0.005), ("vgg16", 15.3, 0.015)])
def test_vgg_against_the_resnet_paper(name, paper_gmacs, tol):
    # He et al. 2016: "VGG-16/19 nets (15.3/19.6 billion FLOPs)", FLOPs meaning multiply-adds.
    with torch.device("meta"):
        model = models.build(name).eval()
    flops = torch_flops(model, torch.empty(1, 3, 224, 224, device="meta"))
    assert flops % 2 == 0
    assert abs(flops / 2 / 1e9 - paper_gmacs) <= tol * paper_gmacs


def test_vgg16_profile_agrees_with_torch():
    prof = cvlib.profile(models.build("vgg16"), 224)
    with torch.device("meta"):
        meta = models.build("vgg16").eval()
    assert torch_flops(meta, torch.empty(1, 3, 224, 224, device="meta")) == prof.total_flops == 2 * prof.total_macs


@pytest.mark.parametrize("call,match", [
    (lambda: counts.conv2d_flops(3, 4, 3, 5, groups=2), "groups=2 must divide"),
    (lambda: counts.conv2d_flops(3, 4, 0, 5), "kernel_size"),
    (lambda: counts.conv2d_flops(3, 4, 3, (5, 0)), "output_size"),
    (lambda: counts.conv2d_macs(3, 0, 3, 5), "out_channels"),
    (lambda: counts.linear_flops(0, 4), "in_features"),
    (lambda: counts.linear_macs(4, -2), "out_features"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
