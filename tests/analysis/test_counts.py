import pytest
import torch
from torch import nn

from cvlib.analysis import counts


def test_notes_neuron_example():
    assert counts.neurons((55, 55, 96)) == 290400


@pytest.mark.parametrize("c_in,c_out,k,bias,groups", [(3, 96, 11, True, 1), (96, 256, 5, True, 2),
                                                     (32, 32, 3, False, 32), (64, 128, 1, True, 4)])
def test_conv_params_match_torch(c_in, c_out, k, bias, groups):
    layer = nn.Conv2d(c_in, c_out, k, bias=bias, groups=groups)
    assert counts.conv2d_params(c_in, c_out, k, bias, groups) == sum(p.numel() for p in layer.parameters())


def test_linear_params_match_torch():
    for bias in (True, False):
        layer = nn.Linear(9216, 4096, bias=bias)
        assert counts.linear_params(9216, 4096, bias) == sum(p.numel() for p in layer.parameters())


def test_batchnorm_params():
    assert counts.batchnorm_params(64) == sum(p.numel() for p in nn.BatchNorm2d(64).parameters())


def test_flops_conventions():
    # With a bias the notes' FLOPs are exactly 2 x MACs.
    macs = counts.conv2d_macs(3, 64, 7, 112)
    assert macs == 7 * 7 * 3 * 112 * 112 * 64 == 118013952  # the notes' ResNet stem number
    assert counts.conv2d_flops(3, 64, 7, 112) == 2 * macs
    assert counts.conv2d_flops(3, 64, 7, 112, bias=False) == 2 * macs - 112 * 112 * 64
    assert counts.linear_flops(4096, 1000) == 2 * counts.linear_macs(4096, 1000)
    assert counts.linear_flops(4096, 1000, bias=False) == (2 * 4096 - 1) * 1000


def test_macs_by_brute_force():
    # Count multiplications of a tiny convolution by unrolling it.
    c_in, c_out, k, size = 2, 3, 3, 5
    out = size - k + 1
    mults = sum(1 for _ in range(c_out) for _ in range(out) for _ in range(out)
                for _ in range(c_in) for _ in range(k) for _ in range(k))
    assert counts.conv2d_macs(c_in, c_out, k, out) == mults


def test_lenet_c1_connections():
    # LeCun et al. 1998: C1 has 122,304 connections and 156 trainable parameters.
    assert counts.conv2d_connections(1, 6, 5, 28) == 122304
    assert counts.conv2d_params(1, 6, 5) == 156


def test_depthwise_macs():
    assert counts.conv2d_macs(32, 32, 3, 112, groups=32) == 3 * 3 * 112 * 112 * 32


@pytest.mark.parametrize("call,match", [
    (lambda: counts.conv2d_params(3, 4, 3, groups=2), "groups=2 must divide"),
    (lambda: counts.conv2d_params(0, 4, 3), "in_channels"),
    (lambda: counts.conv2d_macs(3, 4, 3, 0), "output_size"),
    (lambda: counts.conv2d_macs(3, 4, (3, 3, 3), 5), "kernel_size"),
    (lambda: counts.linear_params(-1, 4), "in_features"),
    (lambda: counts.neurons((55, 0, 96)), r"shape\[1\] must be an integer >= 1, got 0"),
    (lambda: counts.neurons(()), "shape must be a non-empty sequence"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_module_params_counts_what_torch_allocates():
    conv = nn.Conv2d(3, 8, 3)
    assert counts.module_params(conv) == counts.conv2d_params(3, 8, 3) == 224
    assert type(counts.module_params(conv)) is int
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared)  # the same layer twice: its tensors count once
    assert counts.module_params(net) == 20
    frozen = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))
    frozen[0].weight.requires_grad_(False)
    assert counts.module_params(frozen) == 10 + 4 and counts.module_params(frozen, trainable_only=True) == 2 + 4
    assert counts.module_params(nn.ReLU()) == 0
    with torch.device("meta"):
        assert counts.module_params(nn.Linear(1000, 1000)) == 1_001_000


def test_module_params_rejects_what_is_not_a_module():
    with pytest.raises(ValueError, match="module"):
        counts.module_params([1, 2, 3])
    with pytest.raises(ValueError, match="trainable_only"):
        counts.module_params(nn.ReLU(), trainable_only="yes")
