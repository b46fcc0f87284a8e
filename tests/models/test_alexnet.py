import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cvlib
from cvlib import cli, models
from cvlib.analysis import counts
from cvlib.nn.lrn import LocalResponseNorm
from cvlib.models.alexnet import AlexNet, TowerLRN, trunk_sizes

# The notes' per-layer output shapes (C, H, W) / features, in order.
NOTES_SHAPES = {
    "features.conv1": (96, 55, 55), "features.pool1": (96, 27, 27), "features.conv2": (256, 27, 27),
    "features.pool2": (256, 13, 13), "features.conv3": (384, 13, 13), "features.conv4": (384, 13, 13),
    "features.conv5": (256, 13, 13), "features.pool5": (256, 6, 6), "classifier.flatten": (9216,),
    "classifier.fc6": (4096,), "classifier.fc7": (4096,), "classifier.fc8": (1000,),
}


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.fixture(scope="module")
def single():
    torch.manual_seed(0)
    return models.build("alexnet").eval()


@pytest.fixture(scope="module")
def two_gpu():
    torch.manual_seed(0)
    return models.build("alexnet_2gpu").eval()


def test_single_tower_parameters(single):
    # Section 3.5 of the paper, every layer seeing all maps of the layer before: (k·k·C_in + 1)·C_out.
    by_hand = ((11 * 11 * 3 + 1) * 96 + (5 * 5 * 96 + 1) * 256 + (3 * 3 * 256 + 1) * 384
               + (3 * 3 * 384 + 1) * 384 + (3 * 3 * 384 + 1) * 256
               + (6 * 6 * 256 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000)
    assert n_params(single) == by_hand == 62_378_344


def test_two_gpu_parameters_and_kernel_depths(two_gpu):
    # The paper's kernels: 11×11×3, 5×5×48, 3×3×256, 3×3×192, 3×3×192 (section 3.5).
    f = two_gpu.features
    assert f.conv1.weight.shape == (96, 3, 11, 11)
    assert f.conv2.weight.shape == (256, 48, 5, 5)
    assert f.conv3.weight.shape == (384, 256, 3, 3)
    assert f.conv4.weight.shape == (384, 192, 3, 3)
    assert f.conv5.weight.shape == (256, 192, 3, 3)
    by_hand = ((11 * 11 * 3 + 1) * 96 + (5 * 5 * 48 + 1) * 256 + (3 * 3 * 256 + 1) * 384
               + (3 * 3 * 192 + 1) * 384 + (3 * 3 * 192 + 1) * 256
               + (6 * 6 * 256 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000)
    assert n_params(two_gpu) == by_hand == 60_965_224
    assert abs(by_hand / 60e6 - 1) < 0.02  # the paper's "60 million parameters"


@pytest.mark.parametrize("name", ["alexnet", "alexnet_2gpu"])
def test_profile_shapes_match_the_notes(name, single, two_gpu):
    model = single if name == "alexnet" else two_gpu
    prof = cvlib.profile(model, 227)
    for layer, shape in NOTES_SHAPES.items():
        assert prof[layer].output_shape == shape, layer
    assert prof.total_params == n_params(model) and prof.extra_params == 0


def test_paper_neuron_counts_after_conv2(single):
    # Figure 2 caption: 253,440–186,624–64,896–64,896–43,264–4096–4096–1000 neurons.
    prof = cvlib.profile(single, 227)
    layers = ["features.conv2", "features.conv3", "features.conv4", "features.conv5",
              "classifier.fc6", "classifier.fc7", "classifier.fc8"]
    assert [counts.neurons(prof[n].output_shape) for n in layers] == [186624, 64896, 64896, 43264,
                                                                      4096, 4096, 1000]
    assert counts.neurons(prof["features.conv1"].output_shape) == 55 * 55 * 96 != 253440


def test_macs_equal_the_formulas_by_hand(single, two_gpu):
    def by_hand(groups: int) -> int:
        return (counts.conv2d_macs(3, 96, 11, 55) + counts.conv2d_macs(96, 256, 5, 27, groups)
                + counts.conv2d_macs(256, 384, 3, 13) + counts.conv2d_macs(384, 384, 3, 13, groups)
                + counts.conv2d_macs(384, 256, 3, 13, groups) + counts.linear_macs(9216, 4096)
                + counts.linear_macs(4096, 4096) + counts.linear_macs(4096, 1000))

    assert cvlib.profile(single, 227).total_macs == by_hand(1)
    assert cvlib.profile(two_gpu, 227).total_macs == by_hand(2)
    assert round(by_hand(1) / 1e9, 2) == 1.14


def test_trunk_sizes_match_the_real_maps(single):
    x = torch.zeros(1, 3, 227, 227)
    seen = {}
    with torch.no_grad():
        for name, layer in single.features.named_children():
            x = layer(x)
            seen[name] = x.shape[-1]
    assert trunk_sizes(227) == [(n, seen[n]) for n, _ in trunk_sizes(227)]
    assert trunk_sizes(227)[-1] == ("pool5", 6)


def test_224_does_not_reach_6x6(single):
    # (224 − 11) / 4 + 1 = 54.25 → 54, then 26, 26, 12, 12, 12, 12, 5: a 5×5×256 map, not 6×6×256.
    assert [s for _, s in trunk_sizes(224)] == [54, 26, 26, 12, 12, 12, 12, 5]
    with torch.no_grad(), pytest.raises(RuntimeError):
        single(torch.zeros(1, 3, 224, 224))


def test_grouped_layers_only_see_their_own_half(two_gpu):
    torch.manual_seed(1)
    conv4 = two_gpu.features.conv4
    x = torch.rand(1, 384, 13, 13)
    x2 = x.clone()
    x2[:, :10] += 1.0  # touch maps of the first GPU only
    with torch.no_grad():
        d = (conv4(x2) - conv4(x)).abs().sum(dim=(0, 2, 3))
    assert (d[:192] > 0).all() and (d[192:] == 0).all()
    # A grouped convolution is two independent convolutions on the halves.
    with torch.no_grad():
        w, b = conv4.weight, conv4.bias
        halves = [F.conv2d(x[:, 192 * i:192 * (i + 1)], w[192 * i:192 * (i + 1)], b[192 * i:192 * (i + 1)],
                           padding=1) for i in range(2)]
        torch.testing.assert_close(conv4(x), torch.cat(halves, 1))


def test_tower_lrn_matches_torch_per_half():
    torch.manual_seed(2)
    a = torch.rand(2, 96, 5, 5, dtype=torch.float64) * 40
    ours = TowerLRN(towers=2)(a)
    ref = torch.nn.LocalResponseNorm(5, alpha=1e-4 * 5, beta=0.75, k=2.0)
    torch.testing.assert_close(ours, torch.cat([ref(a[:, :48]), ref(a[:, 48:])], 1))
    # Only the maps within n // 2 = 2 of the boundary between the halves differ from one LRN over all.
    diff = (ours - LocalResponseNorm()(a)).abs().sum(dim=(0, 2, 3))
    assert torch.nonzero(diff).flatten().tolist() == [46, 47, 48, 49]
    torch.testing.assert_close(TowerLRN(towers=1)(a), LocalResponseNorm()(a))


def test_fc6_is_a_6x6_convolution(single):
    torch.manual_seed(3)
    fc6 = single.classifier.fc6
    with torch.no_grad():
        x = torch.randn(2, 256, 6, 6)
        as_conv = F.conv2d(x, fc6.weight.view(4096, 256, 6, 6), fc6.bias)
        assert as_conv.shape == (2, 4096, 1, 1)
        torch.testing.assert_close(as_conv.flatten(1), fc6(x.flatten(1)), rtol=1e-4, atol=1e-5)


def test_dropout_after_fc6_and_fc7(single):
    names = [n for n, mod in single.named_modules() if isinstance(mod, nn.Dropout)]
    assert names == ["classifier.drop6", "classifier.drop7"]
    assert all(single.get_submodule(n).p == 0.5 for n in names)
    torch.manual_seed(4)
    x = torch.rand(1, 3, 227, 227)
    with torch.no_grad():
        assert torch.equal(single(x), single(x))  # eval mode: dropout is the identity


def test_cli_uses_227(capsys):
    assert cli.main(["profile", "alexnet"]) == 0
    out = capsys.readouterr().out
    assert "alexnet at 3×227×227" in out and "62,378,344" in out


@pytest.mark.parametrize("call,match", [
    (lambda: AlexNet(towers=3), r"towers must be an integer in \[1, 2\]"),
    (lambda: AlexNet(towers=True), r"towers must be an integer in \[1, 2\]"),
    (lambda: AlexNet(towers=2.0), r"towers must be an integer in \[1, 2\]"),
    (lambda: AlexNet(num_classes=0), "num_classes"),
    (lambda: AlexNet(dropout=1.0), "dropout"),
    (lambda: AlexNet(dropout="0.5"), "dropout"),
    (lambda: TowerLRN(towers=0), "towers"),
    (lambda: TowerLRN(towers=2)(torch.zeros(1, 5, 2, 2)), "divisible"),
    (lambda: TowerLRN(towers=2)(torch.zeros(4, 6)), "N, C, H, W"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
