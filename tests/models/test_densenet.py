import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

import cvlib
from cvlib import models
from cvlib.models.densenet import (DENSENET_CONFIGS, DenseBlock, DenseLayer, DenseNet, Transition, channel_plan,
                                   dense_connections, densenet_counts, naive_saved_channels, saved_activation_bytes,
                                   transition_channels)

BUILDERS = ["densenet121", "densenet169", "densenet201", "densenet264"]
# Huang et al. (2017), Table 1: layers per dense block, k = 32.
TABLE1 = {"densenet121": (6, 12, 24, 16), "densenet169": (6, 12, 32, 32), "densenet201": (6, 12, 48, 32),
          "densenet264": (6, 12, 64, 48)}
# torchvision documents num_params and GFLOPS (its "_ops", multiply-adds) of the same networks.
TORCHVISION = {"densenet121": (7_978_856, 2.834), "densenet169": (14_149_480, 3.36),
               "densenet201": (20_013_928, 4.291)}
# Table 1's output sizes at 224×224.
TABLE1_SIDES = {"conv1": 112, "pool1": 56, "transition1.conv": 56, "transition1.pool": 28,
                "transition2.pool": 14, "transition3.pool": 7, "avgpool": 1}


@functools.lru_cache(maxsize=None)
def on_meta(name: str) -> nn.Module:
    """The registered network on the meta device (shapes only; built once, never modified)."""
    with torch.device("meta"):
        return models.build(name)



@functools.lru_cache(maxsize=None)
def meta_profile(name: str) -> cvlib.Profile:
    return cvlib.profile(on_meta(name), 224)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_builders_follow_table1_blocks():
    assert DENSENET_CONFIGS == TABLE1
    for name in BUILDERS:
        model = on_meta(name)
        blocks = [getattr(model, f"denseblock{b}") for b in range(1, 5)]
        assert tuple(b.num_layers for b in blocks) == TABLE1[name]
        assert model.conv1.out_channels == 2 * 32 and model.conv1.kernel_size == (7, 7)
        assert model.conv1.stride == (2, 2)
        assert (model.pool1.kernel_size, model.pool1.stride) == (3, 2)


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_parameters_match_torchvision(name):
    assert n_params(on_meta(name)) == TORCHVISION[name][0]


@pytest.mark.parametrize("name", BUILDERS)
def test_closed_form_counts_match_the_built_network(name):
    params, macs = densenet_counts(name)
    prof = meta_profile(name)
    assert prof.traced
    assert params == n_params(on_meta(name)) == prof.total_params
    assert macs == prof.total_macs
    if name in TORCHVISION:
        assert round(macs / 1e9, 3) == pytest.approx(TORCHVISION[name][1], abs=1e-3)


def test_names_count_the_weight_layers():
    # Convolutions plus the classifier: 1 + 2·Σn + 3 transitions + 1. Table 1's 264 blocks give 265.
    depth = {}
    for name in BUILDERS:
        model = on_meta(name)
        depth[name] = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
        assert depth[name] == 1 + 2 * sum(TABLE1[name]) + 3 + 1
    assert depth == {"densenet121": 121, "densenet169": 169, "densenet201": 201, "densenet264": 265}


def test_table1_output_sizes():
    prof = meta_profile("densenet121")
    for name, side in TABLE1_SIDES.items():
        assert prof[f"{name}"].output_shape[1:] == (side, side), name
    for b, side in enumerate([56, 28, 14, 7], start=1):
        assert prof[f"denseblock{b}.denselayer1.conv_3x3"].output_shape == (32, side, side)
    assert prof["fc"].input_shape == (1024,) and prof["fc"].output_shape == (1000,)


def test_channel_plan_matches_the_network():
    plan = channel_plan("densenet121")
    assert plan == [("conv1", 3, 64), ("denseblock1", 64, 256), ("transition1", 256, 128),
                    ("denseblock2", 128, 512), ("transition2", 512, 256), ("denseblock3", 256, 1024),
                    ("transition3", 1024, 512), ("denseblock4", 512, 1024)]
    model = on_meta("densenet121")
    for stage, c_in, c_out in plan[1:]:
        module = getattr(model, stage)
        assert (module.in_channels, module.out_channels) == (c_in, c_out)
    assert model.fc.in_features == plan[-1][2]


def test_dense_layer_is_bn_relu_conv_with_a_4k_bottleneck():
    layer = DenseLayer(96, growth_rate=32)
    kinds = [type(m) for m in layer.children()]
    assert kinds == [nn.BatchNorm2d, nn.ReLU, nn.Conv2d] * 2
    assert (layer.conv_1x1.in_channels, layer.conv_1x1.out_channels, layer.conv_1x1.kernel_size) == (96, 128, (1, 1))
    assert (layer.conv_3x3.in_channels, layer.conv_3x3.out_channels, layer.conv_3x3.kernel_size) == (128, 32, (3, 3))
    plain = DenseLayer(96, growth_rate=12, bottleneck=False)
    assert [type(m) for m in plain.children()] == [nn.BatchNorm2d, nn.ReLU, nn.Conv2d]
    assert (plain.conv_3x3.in_channels, plain.conv_3x3.out_channels) == (96, 12)


def test_layer_l_sees_k0_plus_l_minus_1_times_k_channels():
    block = DenseBlock(7, 20, growth_rate=6)
    for ell, layer in enumerate(block.children(), start=1):
        assert layer.in_channels == 20 + (ell - 1) * 6
    assert block.out_channels == 20 + 7 * 6
    assert block(torch.zeros(1, 20, 5, 5)).shape == (1, 62, 5, 5)


def test_block_output_by_hand():
    # x_l = H_l([x_0, …, x_{l−1}]) with H = BN-ReLU-Conv1×1-BN-ReLU-Conv3×3, written with torch.functional.
    torch.manual_seed(0)
    block = DenseBlock(3, 5, growth_rate=2).double().eval()
    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    x0 = torch.randn(2, 5, 6, 6, dtype=torch.float64)

    def bn(m, x):
        return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    xs = [x0]
    for layer in block.children():
        x = torch.cat(xs, 1)
        h = F.conv2d(F.relu(bn(layer.norm_1x1, x)), layer.conv_1x1.weight)
        xs.append(F.conv2d(F.relu(bn(layer.norm_3x3, h)), layer.conv_3x3.weight, padding=1))
    with torch.no_grad():
        torch.testing.assert_close(block(x0), torch.cat(xs, 1))


def test_transition_compresses_to_floor_theta_m():
    t = Transition(45, 0.5)
    kinds = [type(m) for m in t.children()]
    assert kinds == [nn.BatchNorm2d, nn.ReLU, nn.Conv2d, nn.AvgPool2d]
    assert t.out_channels == 22 and t.conv.kernel_size == (1, 1)
    assert (t.pool.kernel_size, t.pool.stride) == (2, 2)
    assert t(torch.zeros(1, 45, 8, 8)).shape == (1, 22, 4, 4)
    assert transition_channels(256, 1.0) == 256  # θ = 1: no compression
    assert transition_channels(100, 0.29) == 29  # not the 28 of a naive float floor
    assert transition_channels(7, 0.5) == 3


@pytest.mark.parametrize("L", range(1, 9))
def test_connections_read_from_the_graph(L):
    edges = dense_connections(DenseBlock(L, 4, growth_rate=2))
    assert len(edges) == L * (L + 1) // 2
    nodes = ["input"] + [f"denselayer{i}" for i in range(1, L + 1)]
    assert set(edges) == {(nodes[i], nodes[j]) for j in range(1, L + 1) for i in range(j)}
    with_output = dense_connections(DenseBlock(L, 4, growth_rate=2), include_output=True)
    assert len(with_output) == (L + 1) * (L + 2) // 2


def test_a_chain_has_one_connection_per_layer():
    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(DenseLayer(4 if i == 0 else 2, 2) for i in range(5))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    assert len(dense_connections(Chain())) == 5


def test_saved_activation_bytes_known_cases():
    x = torch.randn(1, 3, 4, 4)
    assert saved_activation_bytes(nn.ReLU(), x) == 3 * 16 * 4  # ReLU keeps its output
    conv = nn.Conv2d(3, 5, 3)
    assert saved_activation_bytes(conv, x) == 3 * 16 * 4  # the input, not the weight
    assert saved_activation_bytes(nn.Sequential(nn.Conv2d(3, 5, 1), nn.ReLU(), nn.Conv2d(5, 2, 1)), x) == (
        3 + 5) * 16 * 4  # conv keeps x; the ReLU output is kept by ReLU and conv, counted once
    assert saved_activation_bytes(conv.double(), x.double()) == 3 * 16 * 8


@pytest.mark.parametrize("L", [1, 2, 5, 9])
def test_naive_block_memory_is_the_quadratic_formula(L):
    k0, k, n, s = 6, 4, 2, 5
    block = DenseBlock(L, k0, growth_rate=k).train()
    measured = saved_activation_bytes(block, torch.randn(n, k0, s, s))
    assert measured == naive_saved_channels(L, k0, k) * n * s * s * 4
    # Checkpointed: the inputs x_0 … x_{L−1} once each, plus the bottleneck's 2·4k per layer.
    eff = DenseBlock(L, k0, growth_rate=k, memory_efficient=True).train()
    assert saved_activation_bytes(eff, torch.randn(n, k0, s, s)) == (k0 + (L - 1) * k + 8 * k * L) * n * s * s * 4


def test_memory_efficient_changes_no_result():
    torch.manual_seed(0)
    naive = DenseBlock(4, 6, growth_rate=3).double().train()
    eff = DenseBlock(4, 6, growth_rate=3, memory_efficient=True).double().train()
    eff.load_state_dict(naive.state_dict())
    x = torch.randn(3, 6, 5, 5, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = naive(xa), eff(xb)
    torch.testing.assert_close(ya, yb)
    (ya * ya).sum().backward()
    (yb * yb).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    for (name, pa), pb in zip(naive.named_parameters(), eff.parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, msg=name)
    for (name, ba), bb in zip(naive.named_buffers(), eff.buffers()):
        torch.testing.assert_close(ba, bb, msg=name)  # running statistics updated once


def test_recompute_matches_torch_checkpoint():
    torch.manual_seed(1)
    layer = DenseLayer(8, growth_rate=4, memory_efficient=True).double().train()
    for m in layer.modules():  # BatchNorm with fixed statistics, so both runs see the same normalisation
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    feats = [torch.randn(2, 4, 5, 5, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    ours = layer(feats)
    ours.sum().backward()
    ours_grads = [f.grad.clone() for f in feats]
    w_ours = layer.conv_1x1.weight.grad.clone()
    layer.zero_grad()
    for f in feats:
        f.grad = None
    layer.memory_efficient = False
    h = checkpoint(layer._first, *feats, use_reentrant=False)
    ref = layer.conv_3x3(layer.relu_3x3(layer.norm_3x3(h)))
    ref.sum().backward()
    torch.testing.assert_close(ours, ref)
    for a, f in zip(ours_grads, feats):
        torch.testing.assert_close(a, f.grad)
    torch.testing.assert_close(w_ours, layer.conv_1x1.weight.grad)


def test_receptive_field_through_concatenation_matches_autograd():
    # A small DenseNet; max pooling swapped for average pooling of the same window so that every pixel
    # of the field receives gradient. Positive weights and inputs keep every ReLU open.
    torch.manual_seed(0)
    model = DenseNet((2, 2), growth_rate=4, num_classes=3).eval()
    model.pool1 = nn.AvgPool2d(3, stride=2, padding=1)
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    prof = cvlib.profile(model, 128)
    assert prof.traced
    # The concatenation feeding norm_final carries the widest field of its inputs: that of the last 3×3.
    rf = prof["norm_final"].rf[0]
    assert rf == prof["denseblock2.denselayer2.conv_3x3"].rf[0] == 63
    assert prof["transition1.norm"].rf[0] == prof["denseblock1.denselayer2.conv_3x3"].rf[0] == 27
    x = torch.rand(1, 3, 128, 128, requires_grad=True)
    trunk = nn.Sequential(model.conv1, model.norm1, model.relu1, model.pool1, model.denseblock1,
                          model.transition1, model.denseblock2)
    y = trunk(x)
    y[0, :, 4, 4].sum().backward()
    rows = torch.nonzero(x.grad[0].abs().sum(0).sum(1)).flatten()
    assert rows.max().item() - rows.min().item() + 1 == rf


def test_profile_traces_densenet121():
    prof = meta_profile("densenet121")
    assert prof.traced and prof.extra_params == 0
    # Inside block 1 every layer adds one 3×3 convolution on a jump of 4: 11 + 8ℓ.
    for ell in range(1, 7):
        assert prof[f"denseblock1.denselayer{ell}.conv_3x3"].rf == (11 + 8 * ell,) * 2


@pytest.mark.parametrize("call,match", [
    (lambda: DenseNet("densenet100"), "unknown DenseNet configuration"),
    (lambda: DenseNet(()), "at least one"),
    (lambda: DenseNet((6, 0)), r"block_layers\[1\] must be an integer >= 1"),
    (lambda: DenseNet((2, 2), growth_rate=0), "growth_rate"),
    (lambda: DenseNet((2, 2), compression=0.0), r"\(0, 1\]"),
    (lambda: DenseNet((2, 2), num_classes=0), "num_classes"),
    (lambda: DenseLayer(8, drop_rate=1.0), "drop_rate"),
    (lambda: DenseLayer(0), "in_channels"),
    (lambda: DenseBlock(0, 8), "num_layers"),
    (lambda: Transition(16, 1.5), r"\(0, 1\]"),
    (lambda: Transition(16, True), r"\(0, 1\]"),
    (lambda: transition_channels(1, 0.5), "no channel"),
    (lambda: transition_channels(0, 0.5), "in_channels"),
    (lambda: naive_saved_channels(0, 4), "num_layers"),
    (lambda: channel_plan((2,), init_features=0), "init_features"),
    (lambda: densenet_counts("densenet121", input_size=0), "input_size"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
