import pytest
import torch
from torch import nn

import cvlib
from cvlib import models
from cvlib.nn.lrn import LocalResponseNorm
from cvlib.models.vgg import (VGG, VGG_CONFIGS, FullyConvVGG, score_map_size, to_fully_convolutional,
                              trunk_sizes)

BUILDERS = {"A": "vgg11", "A-LRN": "vgg11_lrn", "B": "vgg13", "C": "vgg16_c", "D": "vgg16", "E": "vgg19"}
# Simonyan & Zisserman, Table 1: weight layers (conv + 3 FC) of each configuration; Table 2: parameters, millions.
WEIGHT_LAYERS = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}
TABLE2_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}
# torchvision documents num_params for its vgg11/13/16/19 (configurations A, B, D, E, same layers).
TORCHVISION_PARAMS = {"A": 132_863_336, "B": 133_047_848, "D": 138_357_544, "E": 143_667_240}
# A small VGG (five blocks, narrow) for numerical tests: a 224 input still reaches pool5 at 7×7.
TINY = [[4, "LRN"], [6], [8, (8, 1)], [8], [8, 8]]


def on_meta(name: str) -> nn.Module:
    with torch.device("meta"):
        return models.build(name)



def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def tiny(num_classes: int = 5) -> VGG:
    torch.manual_seed(0)
    return VGG(TINY, num_classes=num_classes, fc_width=16).double().eval()


def test_six_configurations_and_their_builders():
    assert list(VGG_CONFIGS) == ["A", "A-LRN", "B", "C", "D", "E"]
    for config, name in BUILDERS.items():
        model = on_meta(name)
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        fcs = [m for m in model.modules() if isinstance(m, nn.Linear)]
        pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
        assert len(convs) + len(fcs) == WEIGHT_LAYERS[config], config
        assert len(fcs) == 3 and len(pools) == 5


def test_block_widths_are_shared_by_all_configurations():
    # "the width ... starting from 64 in the first layer and then increasing by a factor of 2 after each
    # max-pooling layer, until it reaches 512" (Sect. 2.2)
    for name in BUILDERS.values():
        model = on_meta(name)
        widths = []
        for block in range(1, 6):
            outs = {m.out_channels for n, m in model.features.named_children() if n.startswith(f"conv{block}_")}
            assert len(outs) == 1
            widths.append(outs.pop())
        assert widths == [64, 128, 256, 512, 512], name


def test_conv_and_pool_hyperparameters():
    model = on_meta("vgg16")
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            assert (m.kernel_size, m.stride, m.padding) == ((3, 3), (1, 1), (1, 1))
        if isinstance(m, nn.MaxPool2d):
            assert (m.kernel_size, m.stride, m.padding) == (2, 2, 0)
    c = on_meta("vgg16_c").features
    ones = [n for n, m in c.named_children() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    assert ones == ["conv3_3", "conv4_3", "conv5_3"]
    assert all(getattr(c, n).in_channels == getattr(c, n).out_channels for n in ones)
    # C and D differ only in those three kernels.
    d = on_meta("vgg16").features
    diff = [n for n, m in c.named_children() if isinstance(m, nn.Conv2d) and m.kernel_size != getattr(d, n).kernel_size]
    assert diff == ones


def test_a_lrn_is_a_with_lrn_after_the_first_convolution():
    a, a_lrn = on_meta("vgg11"), on_meta("vgg11_lrn")
    names = list(dict(a_lrn.features.named_children()))
    assert names[:4] == ["conv1_1", "relu1_1", "norm1", "pool1"]
    assert [n for n in names if n != "norm1"] == list(dict(a.features.named_children()))
    norm = a_lrn.features.norm1
    assert isinstance(norm, LocalResponseNorm)
    assert (norm.k, norm.n, norm.alpha, norm.beta) == (2.0, 5, 1e-4, 0.75)  # Krizhevsky et al. (2012)
    assert n_params(a) == n_params(a_lrn)


def test_lrn_after_the_first_convolution_matches_torch():
    model = tiny()  # its first block is conv1_1, relu1_1, norm1 as in A-LRN
    assert list(dict(model.features.named_children()))[:3] == ["conv1_1", "relu1_1", "norm1"]
    x = torch.rand(1, 3, 32, 32, dtype=torch.float64) * 50
    with torch.no_grad():
        relu = model.features[:2](x)
        ours = model.features.norm1(relu)
    assert not torch.equal(ours, relu)
    ref = nn.LocalResponseNorm(5, alpha=1e-4 * 5, beta=0.75, k=2.0)(relu)  # torch divides α by n
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("config", list(BUILDERS))
def test_parameters_against_table2(config):
    total = n_params(on_meta(BUILDERS[config]))
    assert abs(total / 1e6 - TABLE2_MILLIONS[config]) <= 0.5
    assert round(total / 1e6) == TABLE2_MILLIONS[config]
    if config in TORCHVISION_PARAMS:
        assert total == TORCHVISION_PARAMS[config]


def test_configuration_c_by_hand():
    # C is B plus a 1×1 convolution (C→C channels, with bias) closing blocks 3, 4 and 5.
    extra = (256 * 256 + 256) + 2 * (512 * 512 + 512)
    assert n_params(on_meta("vgg16_c")) == TORCHVISION_PARAMS["B"] + extra
    # D replaces those 1×1 kernels by 3×3 ones: 8·C² more weights each.
    assert n_params(on_meta("vgg16")) - n_params(on_meta("vgg16_c")) == 8 * 256**2 + 2 * 8 * 512**2


def test_notes_block_shapes():
    # The notes' walk through VGG-16, as (H, W, C) after each block and pooling.
    notes = {"conv1_2": (224, 224, 64), "pool1": (112, 112, 64), "conv2_2": (112, 112, 128),
             "pool2": (56, 56, 128), "conv3_3": (56, 56, 256), "pool3": (28, 28, 256),
             "conv4_3": (28, 28, 512), "pool4": (14, 14, 512), "conv5_3": (14, 14, 512), "pool5": (7, 7, 512)}
    prof = cvlib.profile(on_meta("vgg16"), 224)
    for name, (h, w, c) in notes.items():
        assert prof[f"features.{name}"].output_shape == (c, h, w), name
    assert dict(trunk_sizes(224))["pool5"] == 7
    assert {n: s for n, s in trunk_sizes(224)} == {n: prof[f"features.{n}"].output_shape[1]
                                                 for n, _ in trunk_sizes(224)}
    assert prof["classifier.fc6"].input_shape == (25088,)
    assert [prof[f"classifier.fc{i}"].output_shape for i in (6, 7, 8)] == [(4096,), (4096,), (1000,)]


def test_trunk_sizes_follow_the_floor():
    sizes = dict(trunk_sizes(300))
    assert [sizes[f"pool{i}"] for i in range(1, 6)] == [150, 75, 37, 18, 9]
    assert sizes["conv4_1"] == 37


def test_fully_convolutional_equals_fc_at_224():
    model = tiny()
    dense = to_fully_convolutional(model)
    assert isinstance(dense, FullyConvVGG)
    assert [type(getattr(dense.classifier, f"fc{i}")) for i in (6, 7, 8)] == [nn.Conv2d] * 3
    assert dense.classifier.fc6.kernel_size == (7, 7) and dense.classifier.fc7.kernel_size == (1, 1)
    x = torch.randn(2, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        score_map = dense(x)
        assert score_map.shape == (2, 5, 1, 1)
        torch.testing.assert_close(score_map.flatten(1), model(x))
        torch.testing.assert_close(dense.class_scores(x), model(x))


def test_dense_score_map_is_the_fc_head_slid_over_pool5():
    model = tiny()
    dense = to_fully_convolutional(model)
    x = torch.randn(1, 3, 288, 320, dtype=torch.float64)
    with torch.no_grad():
        pool5 = model.features(x)
        score_map = dense(x)
        assert pool5.shape[-2:] == (9, 10) and score_map.shape == (1, 5, 3, 4)
        for i in range(3):
            for j in range(4):
                window = pool5[:, :, i:i + 7, j:j + 7]
                torch.testing.assert_close(score_map[:, :, i, j], model.classifier(window))
        torch.testing.assert_close(dense.class_scores(x), score_map.mean(dim=(2, 3)))


def test_conversion_copies_and_keeps_mode():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dense = to_fully_convolutional(model)
    assert not dense.training
    assert not ({id(p) for p in dense.parameters()} & {id(p) for p in model.parameters()})
    with torch.no_grad():
        for p in dense.parameters():
            p.zero_()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert n_params(dense) == n_params(model)
    assert to_fully_convolutional(model.train()).training


@pytest.mark.parametrize("size", [224, 255, 256, 288, 300, 320])
def test_score_map_size_matches_a_run(size):
    dense = to_fully_convolutional(tiny())
    with torch.no_grad():
        out = dense(torch.zeros(1, 3, size, size, dtype=torch.float64))
    assert out.shape[-1] == score_map_size(size) == size // 32 - 6


def test_paper_score_maps_and_meta_profile():
    # Q = 256, 384, 512 (Table 5) give 2×2, 6×6 and 10×10 class score maps.
    with torch.device("meta"):
        dense = to_fully_convolutional(models.build("vgg16").eval())
    for q, side in [(256, 2), (384, 6), (512, 10)]:
        assert score_map_size(q) == side
        assert cvlib.profile(dense, q)["classifier.fc8"].output_shape == (1000, side, side)


@pytest.mark.parametrize("call,match", [
    (lambda: VGG("Z"), "unknown VGG configuration"),
    (lambda: VGG([["LRN", 64]]), "must follow a convolution"),
    (lambda: VGG([[64], []]), "non-empty"),
    (lambda: VGG([[0]]), "positive channel count"),
    (lambda: VGG([[(64, 2)]]), "odd"),
    (lambda: VGG([["BN"]]), "positive channel count"),
    (lambda: VGG("A", num_classes=0), "num_classes"),
    (lambda: VGG("A", fc_width=-1), "fc_width"),
    (lambda: VGG("A", dropout=1.0), "dropout"),
    (lambda: to_fully_convolutional(nn.Linear(3, 4)), "expected a VGG"),
    (lambda: score_map_size(223), ">= 224"),
    (lambda: score_map_size(224.0), "integer"),
    (lambda: trunk_sizes(16), "too small"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_fc6_must_see_a_7x7_map():
    model = tiny()
    model.classifier.fc6 = nn.Linear(50, 16)
    with pytest.raises(ValueError, match="7×7"):
        to_fully_convolutional(model)


def test_stacked_3x3_argument():
    # Sect. 2.3: three 3×3 layers have 27C² weights, one 7×7 layer 49C² ("81% more"); two 3×3 18C² vs 25C².
    c = 32
    w = lambda k: nn.Conv2d(c, c, k, bias=False).weight.numel()  # noqa: E731
    assert (2 * w(3), w(5), 3 * w(3), w(7)) == (18 * c * c, 25 * c * c, 27 * c * c, 49 * c * c)
    assert round(w(7) / (3 * w(3)) - 1, 2) == 0.81
    # Same 7×7 field: one output pixel of the stack depends on a 7×7 input window.
    torch.manual_seed(0)
    stack = nn.Sequential(*[nn.Conv2d(1, 1, 3) for _ in range(3)])
    x = torch.zeros(1, 1, 15, 15, requires_grad=True)
    stack(x)[0, 0, 4, 4].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    assert rows.max() - rows.min() + 1 == 7
