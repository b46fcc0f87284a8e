import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cvlib
from cvlib import models
from cvlib.analysis import counts
from cvlib.models.mobilenet_v2 import MOBILENET_V2_CONFIG, InvertedResidual, MobileNetV2, mobilenet_v2
from cvlib.nn.blocks import make_divisible

# torchvision documents num_params = 3,504,872 for its mobilenet_v2 (same layers, BN included).
TORCHVISION_PARAMS = 3_504_872
# Sandler et al. (2018), Table 2: the (t, c, n, s) rows and the input of every row, (side, channels).
TABLE2_ROWS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
               (6, 320, 1, 1)]
TABLE2_INPUTS = [(224, 3), (112, 32), (112, 16), (56, 24), (28, 32), (14, 64), (14, 96), (7, 160), (7, 320),
                 (7, 1280)]


def blocks(model: MobileNetV2) -> list[InvertedResidual]:
    return [m for m in model.modules() if isinstance(m, InvertedResidual)]


@pytest.fixture(scope="module")
def model() -> MobileNetV2:
    torch.manual_seed(0)
    return models.build("mobilenet_v2").eval()


@pytest.fixture(scope="module")
def prof(model):
    return cvlib.profile(model, 224)


def test_config_is_table2(model):
    assert [tuple(r) for r in MOBILENET_V2_CONFIG] == TABLE2_ROWS
    assert isinstance(model, MobileNetV2) and model.input_size == 224 and model.in_channels == 3


def test_parameter_count_matches_torchvision(model, prof):
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMS
    assert prof.total_params == TORCHVISION_PARAMS and prof.extra_params == 0


def test_parameters_from_table2_with_counts():
    """Recount Table 2 layer by layer with cvlib.analysis.counts, independently of the module."""
    conv = counts.conv2d_params(3, 32, 3, bias=False)
    bn = counts.batchnorm_params(32)
    c = 32
    for t, c_out, n, _ in TABLE2_ROWS:
        for _ in range(n):
            h = c * t
            if t != 1:
                conv += counts.conv2d_params(c, h, 1, bias=False)
                bn += counts.batchnorm_params(h)
            conv += counts.conv2d_params(h, h, 3, bias=False, groups=h)
            conv += counts.conv2d_params(h, c_out, 1, bias=False)
            bn += counts.batchnorm_params(h) + counts.batchnorm_params(c_out)
            c = c_out
    conv += counts.conv2d_params(320, 1280, 1, bias=False)
    bn += counts.batchnorm_params(1280)
    fc = counts.linear_params(1280, 1000)
    assert conv + bn + fc == TORCHVISION_PARAMS
    # Without BatchNorm: 3.47 M, what the reference TensorFlow release lists; the paper prints 3.4M.
    assert round((conv + fc) / 1e6, 2) == 3.47


def test_macs_match_the_paper(prof):
    # Table 4 / §4: "a computational cost of 300 million multiply-adds".
    assert prof.total_macs == pytest.approx(300e6, rel=0.01)


def test_stage_shapes_match_table2(model):
    outs = []
    hooks = [model.features.relu1.register_forward_hook(lambda m, i, o: outs.append(tuple(o.shape[1:])))]
    for i in range(1, 8):
        seq = getattr(model.features, f"bottleneck{i}")
        hooks.append(seq.register_forward_hook(lambda m, i, o: outs.append(tuple(o.shape[1:]))))
    hooks.append(model.features.relu2.register_forward_hook(lambda m, i, o: outs.append(tuple(o.shape[1:]))))
    with torch.no_grad():
        y = model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    assert y.shape == (1, 1000)
    assert outs == [(c, s, s) for s, c in TABLE2_INPUTS[1:]]


def test_block_structure(model):
    bs = blocks(model)
    assert len(bs) == sum(n for _, _, n, _ in TABLE2_ROWS) == 17
    for b in bs:
        names = [n for n, _ in b.named_children()]
        tail = ["depthwise", "bn2", "relu2", "project", "bn3"]
        assert names == (tail if b.expand_ratio == 1 else ["expand", "bn1", "relu1"] + tail)
        assert isinstance(b.relu2, nn.ReLU6) and b.depthwise.groups == b.hidden_channels
        assert b.depthwise.kernel_size == (3, 3) and b.project.kernel_size == (1, 1)
        if b.expand_ratio != 1:
            assert isinstance(b.relu1, nn.ReLU6) and b.expand.kernel_size == (1, 1)
    # §4: "a bottleneck layer that takes 64-channel input ... the intermediate expansion layer is 64·6 = 384"
    assert InvertedResidual(64, 128, 1, 6).hidden_channels == 384


def test_shortcut_only_for_stride_1_and_equal_channels(model):
    bs = blocks(model)
    assert sum(b.stride == 2 for b in bs) == 4
    assert sum(b.stride == 1 for b in bs) == 13
    assert sum(b.use_shortcut for b in bs) == 10
    for b in bs:
        assert b.use_shortcut == (b.stride == 1 and b.in_channels == b.out_channels)


def test_block_matches_functional_reference():
    """The block, recomputed with torch.nn.functional from its own weights, in float64."""
    torch.manual_seed(1)
    for c_in, c_out, stride, t in [(8, 8, 1, 6), (8, 12, 2, 6), (16, 8, 1, 1), (8, 8, 1, 0.5)]:
        b = InvertedResidual(c_in, c_out, stride, t).double()
        for m in b.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                nn.init.uniform_(m.weight, 0.5, 1.5)
                nn.init.uniform_(m.bias, -0.5, 0.5)
        b.eval()
        x = torch.randn(2, c_in, 9, 9, dtype=torch.float64)

        def bn(z, m):
            return F.batch_norm(z, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

        z = x
        if t != 1:
            z = torch.clamp(bn(F.conv2d(z, b.expand.weight), b.bn1), 0, 6)
        z = torch.clamp(bn(F.conv2d(z, b.depthwise.weight, stride=stride, padding=1, groups=z.shape[1]), b.bn2), 0, 6)
        z = bn(F.conv2d(z, b.project.weight), b.bn3)
        ref = x + z if (stride == 1 and c_in == c_out) else z
        with torch.no_grad():
            torch.testing.assert_close(b(x), ref)


def test_projection_is_linear():
    """No activation after the projection: the block's residual can be negative (a ReLU6 would clip it)."""
    torch.manual_seed(2)
    b = InvertedResidual(8, 8, 1, 6).eval()
    with torch.no_grad():
        r = b.residual(torch.randn(4, 8, 6, 6))
    assert r.min() < 0 and r.max() > 0


def test_block_macs_follow_the_paper_formula():
    # §3.3: h·w·d'·t·(d' + k² + d'') multiply-adds for a stride-1 block.
    for d_in, d_out, t, side in [(64, 64, 6, 56), (24, 32, 6, 28), (16, 16, 6, 10)]:
        p = cvlib.profile(InvertedResidual(d_in, d_out, 1, t), (d_in, side, side))
        assert p.total_macs == side * side * d_in * t * (d_in + 9 + d_out)


def test_forward_other_sizes_and_classes():
    torch.manual_seed(0)
    m = mobilenet_v2(num_classes=10).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 3, 96, 96)).shape == (2, 10)


def test_width_multiplier():
    assert make_divisible(32 * 1.0) == 32 and make_divisible(1280 * 1.4) == 1792
    assert make_divisible(32 * 0.5) == 16 and make_divisible(32 * 0.35) == 16  # 8 would lose > 10 %
    small, large = MobileNetV2(width_mult=0.5), MobileNetV2(width_mult=1.4)
    assert small.last_channels == 1280 and large.last_channels == 1792  # §4: not scaled below 1
    assert small.features.conv1.out_channels == 16 and large.features.conv1.out_channels == 48
    for m in (small, large):
        for b in blocks(m):
            assert b.out_channels % 8 == 0


@pytest.mark.parametrize("call,match", [
    (lambda: InvertedResidual(8, 8, 3), r"stride must be an integer in \[1, 2\]"),
    (lambda: InvertedResidual(8, 8, True), r"stride must be an integer in \[1, 2\]"),
    (lambda: InvertedResidual(0, 8), "in_channels"),
    (lambda: InvertedResidual(8, 8, 1, 0), "expand_ratio must be a real number > 0"),
    (lambda: InvertedResidual(8, 8, 1, 0.01), "leaves no channel"),
    (lambda: MobileNetV2(width_mult=-1), "width_mult"),
    (lambda: MobileNetV2(dropout=1.0), "dropout"),
    (lambda: MobileNetV2(num_classes=0), "num_classes"),
    (lambda: MobileNetV2(config=[]), "at least one"),
    (lambda: MobileNetV2(config=[(6, 16, 0, 1)]), "n of row 1"),
    (lambda: MobileNetV2(config=[(6, 16, 1)]), r"must be \(t, c, n, s\)"),
    (lambda: make_divisible(0), "value must be a real number > 0"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
