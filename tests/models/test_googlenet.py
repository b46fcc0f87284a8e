import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cvlib
from cvlib.analysis import counts
from cvlib.models.googlenet import (INCEPTION_CONFIG, AuxClassifier, GoogLeNetOutputs, Inception, InceptionSpec, NaiveInception, googlenet, googlenet_loss)
from cvlib.analysis.tracing import layer_depth

# Szegedy et al. (2015), Table 1: output size (H, W, C) of every module.
TABLE1_OUTPUT = {
    "conv1": (112, 112, 64), "pool1": (56, 56, 64), "conv2": (56, 56, 192), "pool2": (28, 28, 192),
    "3a": (28, 28, 256), "3b": (28, 28, 480), "pool3": (14, 14, 480), "4a": (14, 14, 512),
    "4b": (14, 14, 512), "4c": (14, 14, 512), "4d": (14, 14, 528), "4e": (14, 14, 832),
    "pool4": (7, 7, 832), "5a": (7, 7, 832), "5b": (7, 7, 1024), "avgpool": (1, 1, 1024),
}
# Table 1, "ops" column (millions of multiply-adds) for the rows whose filter counts reproduce it.
TABLE1_OPS = {"conv2": 360, "inception3a": 128, "inception3b": 304, "inception4a": 73, "inception4b": 88,
              "inception4c": 100, "inception4d": 119, "inception4e": 170, "inception5b": 71, "fc": 1}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Single-image passes of a 1.5-GMAC network run fastest on one thread; restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def prof(one_thread):
    torch.manual_seed(0)
    return cvlib.profile(googlenet(), 224)


def hwc(chw):
    c, h, w = chw
    return (h, w, c)


def test_module_outputs_match_table1(prof):
    for name, expected in TABLE1_OUTPUT.items():
        if name[0].isdigit():
            rows = [r for r in prof.rows if r.name.startswith(f"inception{name}.")]
            nxt = prof.rows[prof.rows.index(rows[-1]) + 1]
            got = hwc(nxt.input_shape)  # the concatenated output feeds the next layer
        else:
            got = hwc(prof[name].output_shape)
        assert got == expected, name
    assert prof["fc"].output_shape == (1000,)


def test_table1_config_as_printed():
    # Table 1 columns: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
    assert INCEPTION_CONFIG["3a"] == (64, 96, 128, 16, 32, 32)
    assert INCEPTION_CONFIG["4e"] == (256, 160, 320, 32, 128, 128)
    assert INCEPTION_CONFIG["5b"] == (384, 192, 384, 48, 128, 128)
    assert [s.out_channels for s in INCEPTION_CONFIG.values()] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]


def test_ops_match_table1(prof):
    for module, ops in TABLE1_OPS.items():
        rows = ([prof["conv2_reduce"], prof["conv2"]] if module == "conv2"
                else [r for r in prof.rows if r.name == module or r.name.startswith(module + ".")])
        assert abs(sum(r.macs for r in rows) / 1e6 - ops) <= max(0.01 * ops, 0.5), module


def test_total_is_about_the_papers_budget(prof):
    # "a computational budget of 1.5 billion multiply-adds at inference time"
    assert 1.45e9 < prof.total_macs < 1.65e9
    assert prof.traced and prof.extra_params == 0
    assert prof.total_params == sum(p.numel() for p in googlenet().parameters())


def test_torchvision_variant_counts():
    # torchvision documents 6,624,904 parameters for its googlenet: 3x3 in the "5x5" branch, no conv
    # biases but a BatchNorm (2 parameters) per filter, no auxiliary heads.
    m = googlenet(branch3_kernel=3)
    filters = sum(mod.out_channels for mod in m.modules() if isinstance(mod, nn.Conv2d))
    assert sum(p.numel() for p in m.parameters()) - filters + 2 * filters == 6_624_904


def test_depth_22_and_27():
    m = googlenet(aux_logits=True)
    assert layer_depth(m) == 22
    assert layer_depth(m, with_pooling=True) == 27


class TwoPaths(nn.Module):
    """conv -> pool -> {conv -> conv | pool -> conv} -> concat -> linear: 4 weight layers deep, 5 with pooling."""

    def __init__(self):
        super().__init__()
        self.stem, self.pool = nn.Conv2d(1, 2, 3), nn.MaxPool2d(2)
        self.a1, self.a2 = nn.Conv2d(2, 2, 1), nn.Conv2d(2, 2, 1)
        self.b_pool, self.b = nn.MaxPool2d(3, 1, 1), nn.Conv2d(2, 2, 1)
        self.fc = nn.Linear(4 * 3 * 3, 2)

    def forward(self, x):
        x = self.pool(torch.relu(self.stem(x)))
        return self.fc(torch.cat([self.a2(self.a1(x)), self.b(self.b_pool(x))], 1).flatten(1))


def test_depth_follows_the_longest_path():
    m = TwoPaths()
    assert m(torch.zeros(1, 1, 8, 8)).shape == (1, 2)
    assert layer_depth(m) == 4  # stem, a1, a2, fc
    assert layer_depth(m, with_pooling=True) == 5  # + pool; b_pool -> b ties with a1 -> a2


def test_inception_block_shapes_and_params():
    block = Inception(192, INCEPTION_CONFIG["3a"])
    y = block(torch.zeros(2, 192, 28, 28))
    assert y.shape == (2, 256, 28, 28)
    by_formula = sum(counts.conv2d_params(ci, co, k) for ci, co, k in
                     [(192, 64, 1), (192, 96, 1), (96, 128, 3), (192, 16, 1), (16, 32, 5), (192, 32, 1)])
    assert sum(p.numel() for p in block.parameters()) == by_formula
    assert block.branch3.conv_5x5.kernel_size == (5, 5)


def test_inception_equals_its_branches_by_hand():
    torch.manual_seed(1)
    spec = InceptionSpec(3, 2, 4, 2, 3, 2)
    block = Inception(5, spec).double()
    x = torch.randn(1, 5, 7, 7, dtype=torch.float64)
    conv = lambda layer, t: F.conv2d(t, layer.weight, layer.bias, padding=layer.padding)  # noqa: E731
    b1 = conv(block.branch1.conv_1x1, x).relu()
    b2 = conv(block.branch2.conv_3x3, conv(block.branch2.conv_3x3_reduce, x).relu()).relu()
    b3 = conv(block.branch3.conv_5x5, conv(block.branch3.conv_5x5_reduce, x).relu()).relu()
    b4 = conv(block.branch4.pool_proj, F.max_pool2d(x, 3, 1, 1)).relu()
    torch.testing.assert_close(block(x), torch.cat([b1, b2, b3, b4], 1))


def test_naive_block():
    naive = NaiveInception(192, 64, 128, 32)
    assert naive(torch.zeros(1, 192, 28, 28)).shape == (1, 64 + 128 + 32 + 192, 28, 28)
    p = cvlib.profile(naive, (192, 28, 28))
    assert p.total_macs == 28 * 28 * 192 * (64 * 1 + 128 * 9 + 32 * 25)


def test_lrn_is_caffes():
    # Caffe's LRN (local_size 5, alpha 1e-4, beta 0.75, k 1) divides alpha by n, as torch does.
    torch.manual_seed(2)
    a = torch.randn(1, 16, 5, 5, dtype=torch.float64) * 20
    ours = googlenet().norm1(a)
    ref = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)(a)
    torch.testing.assert_close(ours, ref)


def test_aux_heads_train_and_eval():
    torch.manual_seed(3)
    m = googlenet(aux_logits=True, num_classes=10).train()
    x, y = torch.randn(1, 3, 224, 224), torch.tensor([4])
    out = m(x)
    assert isinstance(out, GoogLeNetOutputs) and all(o.shape == (1, 10) for o in out)
    loss = googlenet_loss(out, y)
    expected = (F.cross_entropy(out.logits, y)
                + 0.3 * (F.cross_entropy(out.aux1, y) + F.cross_entropy(out.aux2, y)))
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert m.aux1.fc2.weight.grad is not None and m.aux2.fc2.weight.grad is not None
    m.eval()
    with torch.no_grad():
        assert m(x).shape == (1, 10)
    assert googlenet_loss(out.logits, y) == F.cross_entropy(out.logits, y)


def test_aux_head_shapes_and_profile_sees_inference_only():
    aux = AuxClassifier(512)
    assert aux(torch.zeros(1, 512, 14, 14)).shape == (1, 1000)
    assert nn.AvgPool2d(5, 3)(torch.zeros(1, 1, 14, 14)).shape[-1] == 4  # 5x5/3 on 14x14 -> 4x4
    m = googlenet(aux_logits=True)
    p = cvlib.profile(m, 224)
    assert p.traced and m.training  # traced in eval mode, training mode restored
    aux_params = sum(q.numel() for q in m.aux1.parameters()) + sum(q.numel() for q in m.aux2.parameters())
    assert p.extra_params == aux_params
    assert not any(r.name.startswith("aux") for r in p.rows)


@pytest.mark.parametrize("call,match", [
    (lambda: Inception(0, INCEPTION_CONFIG["3a"]), "in_channels"),
    (lambda: Inception(192, InceptionSpec(64, 96, 128, 0, 32, 32)), "n5x5_reduce"),
    (lambda: Inception(192, INCEPTION_CONFIG["3a"], branch3_kernel=7), "branch3_kernel"),
    (lambda: NaiveInception(192, 64, -1, 32), "n3x3"),
    (lambda: AuxClassifier(512, dropout=1.0), "dropout"),
    (lambda: googlenet(num_classes=0), "num_classes"),
    (lambda: googlenet_loss(torch.zeros(1, 3), torch.tensor([0]), aux_weight=-0.3), "aux_weight"),
    (lambda: googlenet_loss((torch.zeros(1, 3),) * 2, torch.tensor([0])), "logits, aux1, aux2"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()

