import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cvlib
from cvlib import models
from cvlib.analysis import counts
from cvlib.cli import main as cli_main
from cvlib.models.lenet import (
    C3_TABLE,
    DIGIT_BITMAPS,
    LeNet5,
    MaskedConv2d,
    RBFOutput,
    ScaledTanh,
    TrainableSubsampling,
    connection_matrix,
    layer_connections,
    paper_input_scale,
    rbf_loss,
    rbf_prototypes,
)

# Table I of LeCun et al. (1998), transcribed row by row: row n = S2 map n, column m = C3 map m.
PAPER_TABLE_I = [
    "X   XXX  XXXX XX",
    "XX   XXX  XXXX X",
    "XXX   XXX  X XXX",
    " XXX  XXXX  X XX",
    "  XXX  XXXX XX X",
    "   XXX  XXXX XXX",
]

# Section II-B of the paper: trainable parameters and connections of every layer.
PAPER_PARAMS = {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164}
PAPER_CONNECTIONS = {"c1": 122304, "s2": 5880, "c3": 151600, "s4": 2000, "c5": 48120, "f6": 10164}
PAPER_SHAPES = {"c1": (6, 28, 28), "s2": (6, 14, 14), "c3": (16, 10, 10), "s4": (16, 5, 5),
                "c5": (120, 1, 1), "f6": (84,), "output": (10,)}


def own_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_table_i_is_the_papers():
    paper = torch.tensor([[c == "X" for c in row] for row in PAPER_TABLE_I])
    assert torch.equal(connection_matrix(C3_TABLE), paper)
    assert paper.sum(1).tolist() == [10] * 6  # every S2 map feeds ten C3 maps


def test_table_i_follows_the_papers_rationale():
    def contiguous(maps):  # contiguous modulo 6
        return any(sorted((m - s) % 6 for m in maps) == list(range(len(maps))) for s in range(6))

    sizes = [len(t) for t in C3_TABLE]
    assert sizes == [3] * 6 + [4] * 6 + [4] * 3 + [6]
    assert all(contiguous(t) for t in C3_TABLE[:12])
    assert not any(contiguous(t) for t in C3_TABLE[12:15])
    assert len({frozenset(t) for t in C3_TABLE}) == 16


@pytest.mark.parametrize("name,expected", PAPER_PARAMS.items())
def test_trainable_parameters_per_layer(name, expected):
    assert own_params(models.build("lenet5").get_submodule(name)) == expected


def test_totals():
    m = models.build("lenet5")
    assert own_params(m) == 60_000  # the paper's "60,000 trainable free parameters"
    assert own_params(m.output) == 0 and m.output.prototypes.numel() == 84 * 10
    assert own_params(models.build("lenet5_modern")) == (
        counts.conv2d_params(1, 6, 5) + counts.conv2d_params(6, 16, 5) + counts.conv2d_params(16, 120, 5)
        + counts.linear_params(120, 84) + counts.linear_params(84, 10)) == 61_706


def test_connections_per_layer_and_total():
    conn = layer_connections(models.build("lenet5"))
    for name, expected in PAPER_CONNECTIONS.items():
        assert conn[name] == expected, name
    assert conn["output"] == 840
    assert sum(conn.values()) == 340_908  # the paper's total for LeNet-5
    assert conn["c1"] == counts.conv2d_connections(1, 6, 5, 28)
    assert conn["c5"] == counts.conv2d_connections(16, 120, 5, 1)


@pytest.mark.parametrize("layer,in_shape", [("s2", (6, 28, 28)), ("c3", (6, 14, 14)), ("s4", (16, 10, 10))])
def test_connections_by_counting_the_jacobian(layer, in_shape):
    # A connection is a non-zero entry of d(output)/d(input), plus one per output for the bias.
    torch.manual_seed(0)
    module = models.build("lenet5").get_submodule(layer).double()
    x = torch.randn(1, *in_shape, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(module, x, vectorize=True)
    outputs = module(x).numel()
    assert int((jac != 0).sum()) + outputs == PAPER_CONNECTIONS[layer]
    prof = cvlib.profile(models.build("lenet5"), 32, channels=1)
    assert prof[layer].macs == int((jac != 0).sum())


def test_masked_conv_equals_sum_over_connected_maps():
    torch.manual_seed(0)
    conv = MaskedConv2d(6, 5, C3_TABLE)
    x = torch.randn(2, 6, 14, 14)
    y = conv(x)
    dense = conv.dense_weight()
    for m, inputs in enumerate(C3_TABLE):
        ref = sum(F.conv2d(x[:, n:n + 1], dense[m:m + 1, n:n + 1]) for n in inputs) + conv.bias[m]
        torch.testing.assert_close(y[:, m:m + 1], ref)
        missing = [n for n in range(6) if n not in inputs]
        assert torch.all(dense[m, missing] == 0)
    # The same as torch's dense convolution with the unconnected kernels zeroed.
    ref = nn.Conv2d(6, 16, 5)
    with torch.no_grad():
        ref.weight.copy_(dense)
        ref.bias.copy_(conv.bias)
    torch.testing.assert_close(y, ref(x))


def test_masked_conv_outputs_ignore_unconnected_maps():
    torch.manual_seed(1)
    conv = MaskedConv2d(6, 5, C3_TABLE)
    x = torch.randn(1, 6, 14, 14)
    x2 = x.clone()
    x2[:, 3:] = torch.randn(1, 3, 14, 14)  # change maps 3, 4, 5 only
    y, y2 = conv(x), conv(x2)
    assert torch.equal(y[:, 0], y2[:, 0])  # map 0 reads maps 0, 1, 2
    assert not torch.equal(y[:, 15], y2[:, 15])


@pytest.mark.parametrize("h,w", [(28, 28), (10, 10), (7, 9)])
def test_subsampling_is_scaled_average_pooling(h, w):
    torch.manual_seed(0)
    layer = TrainableSubsampling(3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
        layer.bias.copy_(torch.tensor([0.1, 0.0, -0.3]))
    x = torch.randn(2, 3, h, w)
    ref = 4 * F.avg_pool2d(x, 2) * layer.weight.view(1, 3, 1, 1) + layer.bias.view(1, 3, 1, 1)
    torch.testing.assert_close(layer(x), ref)


def test_scaled_tanh():
    f = ScaledTanh()
    a = torch.linspace(-5, 5, 101, dtype=torch.float64)
    torch.testing.assert_close(f(a), 1.7159 * torch.tanh(2 * a / 3))
    # Appendix A: A and S are chosen so that f(1) = 1 and f(-1) = -1 ...
    assert abs(f(torch.tensor(1.0)).item() - 1) < 1e-4 and abs(f(torch.tensor(-1.0)).item() + 1) < 1e-4
    # ... and the second derivative of f is largest (in magnitude) close to a = ±1.
    a = torch.linspace(0, 3, 30001, dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(f(a).sum(), a, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), a)
    assert abs(a[d2.abs().argmax()].item() - 1) < 0.02


def test_rbf_output_is_squared_distance():
    torch.manual_seed(0)
    protos = rbf_prototypes()
    assert protos.shape == (10, 84) and set(protos.unique().tolist()) == {-1.0, 1.0}
    layer = RBFOutput(protos)
    x = torch.randn(5, 84)
    torch.testing.assert_close(layer(x), torch.cdist(x, protos) ** 2, rtol=1e-4, atol=1e-3)
    assert layer(protos).argmin(1).tolist() == list(range(10))  # each prototype is nearest itself
    assert len(list(layer.parameters())) == 0


def test_prototypes_are_distinct_bitmaps():
    protos = rbf_prototypes()
    hamming = (protos[:, None] != protos[None]).sum(-1)
    off_diagonal = hamming[~torch.eye(10, dtype=torch.bool)]
    assert off_diagonal.min() >= 8
    assert all(len(b) == 12 and all(len(r) == 7 for r in b) for b in DIGIT_BITMAPS)


def test_rbf_loss():
    torch.manual_seed(0)
    y = torch.rand(4, 10) * 50
    t = torch.tensor([0, 3, 9, 5])
    torch.testing.assert_close(rbf_loss(y, t), F.cross_entropy(-y, t))
    j = 3.0
    by_hand = torch.stack([y[i, t[i]] + torch.log(math.exp(-j) + torch.exp(-y[i]).sum()) for i in range(4)])
    torch.testing.assert_close(rbf_loss(y, t, j), by_hand.mean())
    assert rbf_loss(y, t, j) > rbf_loss(y, t)


def test_input_scale():
    x = torch.tensor([0.0, 8.0, 16.0])
    torch.testing.assert_close(paper_input_scale(x, 16.0), torch.tensor([-0.1, 0.5375, 1.175]))


@pytest.mark.parametrize("name", ["lenet5", "lenet5_modern"])
def test_shapes_and_registry(name):
    m = models.build(name)
    assert (m.input_size, m.in_channels) == (32, 1)
    prof = cvlib.profile(m, m.input_size, channels=m.in_channels)
    for layer, shape in PAPER_SHAPES.items():
        assert prof[layer].output_shape == shape, layer
    assert m(torch.zeros(3, 1, 32, 32)).shape == (3, 10)


def test_modern_variant_layers():
    m = models.build("lenet5_modern")
    assert isinstance(m.s2, nn.MaxPool2d) and isinstance(m.act1, nn.ReLU) and isinstance(m.output, nn.Linear)
    assert own_params(m.c3) == counts.conv2d_params(6, 16, 5) == 2416
    assert layer_connections(m)["c3"] == counts.conv2d_connections(6, 16, 5, 10)


def test_c5_is_a_full_connection_on_32x32():
    torch.manual_seed(0)
    c5 = models.build("lenet5").c5
    x = torch.randn(4, 16, 5, 5)
    fc = F.linear(x.flatten(1), c5.weight.flatten(1), c5.bias)
    torch.testing.assert_close(c5(x).flatten(1), fc)


def test_cli_profiles_at_32(capsys):
    assert cli_main(["profile", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "1×32×32" in out and "parameters: 60,000" in out


@pytest.mark.parametrize("call,match", [
    (lambda: connection_matrix([(0, 6)], 6), "allowed are 0..5"),
    (lambda: connection_matrix([(1, 1)], 6), "twice"),
    (lambda: connection_matrix([()], 6), "at least one"),
    (lambda: connection_matrix([(0,)], 0), "in_channels"),
    (lambda: MaskedConv2d(6, 0, C3_TABLE), "kernel_size"),
    (lambda: TrainableSubsampling(0), "channels"),
    (lambda: TrainableSubsampling(3, 0), "kernel_size"),
    (lambda: TrainableSubsampling(3)(torch.zeros(1, 4, 8, 8)), r"\(N, 3, H, W\)"),
    (lambda: TrainableSubsampling(3)(torch.zeros(3, 8, 8)), r"\(N, 3, H, W\)"),
    (lambda: TrainableSubsampling(3)(torch.zeros(1, 3, 1, 8)), "smaller than"),
    (lambda: RBFOutput(torch.ones(84)), "classes, features"),
    (lambda: RBFOutput(torch.ones(10, 84))(torch.zeros(2, 80)), r"\(N, 84\)"),
    (lambda: rbf_loss(torch.zeros(10), torch.zeros(1, dtype=torch.long)), "penalties"),
    (lambda: rbf_loss(torch.zeros(2, 10), torch.zeros(2, dtype=torch.long), j=0), "j must be a real number > 0"),
    (lambda: paper_input_scale(torch.zeros(2), 0), "max_value"),
    (lambda: rbf_prototypes([("#.", "#."), ("#.", "#")]), "not 2×2"),
    (lambda: rbf_prototypes([("#x",)]), "only '#' and '.'"),
    (lambda: rbf_prototypes([]), "at least one"),
    (lambda: ScaledTanh(amplitude=-1.0), "amplitude must be a real number > 0"),
    (lambda: LeNet5(faithful=True, num_classes=5), "num_classes must be 10"),
    (lambda: LeNet5(faithful=False, num_classes=0), "num_classes must be an integer >= 1"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_slicing_keeps_the_layers():
    m = models.build("lenet5")
    trunk = m[:10]  # c1 … act5
    assert list(dict(trunk.named_children())) == ["c1", "act1", "s2", "act2", "c3", "act3", "s4", "act4",
                                                  "c5", "act5"]
    assert trunk.c3 is m.c3
    assert trunk(torch.zeros(1, 1, 48, 48)).shape == (1, 120, 5, 5)
