import math

import pytest
import torch
from torch import nn

from cvlib.nn.init import (INITIALISERS, constant, fan_in_fan_out, gain, init_weights, kaiming_normal,
                                  kaiming_std, kaiming_uniform, layer_statistics, lecun_normal, lecun_std,
                                  lecun_uniform, normal, uniform_bound, xavier_normal, xavier_std, xavier_uniform)

SHAPES = [(10, 20), (1000, 512), (128, 64, 3, 3), (96, 3, 11, 11), (32, 16, 5), (8, 4, 3, 3, 3), (1, 1), (7, 3, 1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_equal_torchs(shape):
    assert fan_in_fan_out(shape) == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert fan_in_fan_out(torch.empty(shape)) == fan_in_fan_out(shape)


def test_fans_of_real_layers():
    conv = nn.Conv2d(64, 128, 3)
    assert fan_in_fan_out(conv.weight) == (64 * 9, 128 * 9)
    assert fan_in_fan_out(nn.Linear(300, 100).weight) == (300, 100)


@pytest.mark.parametrize("nl,param", [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
                                      ("conv_transpose2d", None), ("sigmoid", None), ("tanh", None),
                                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.25),
                                      ("leaky_relu", 0.2), ("leaky_relu", 0), ("selu", None)])
def test_gains_equal_torchs(nl, param):
    assert gain(nl, param) == nn.init.calculate_gain(nl, param)


def test_gain_values_from_the_derivation():
    assert gain("relu") == pytest.approx(math.sqrt(2))
    # He et al. (2015): 1/2 (1 + a^2) n Var[w] = 1  <=>  std = sqrt(2 / (1 + a^2)) / sqrt(n)
    a = 0.25
    assert gain("leaky_relu", a) ** 2 * 0.5 * (1 + a ** 2) == pytest.approx(1.0)


# (ours, torch's in-place initialiser) pairs that use the same single generator call
PAIRS = [
    (lambda s, g: xavier_uniform(s, generator=g), lambda t, g: nn.init.xavier_uniform_(t, generator=g)),
    (lambda s, g: xavier_uniform(s, gain=5 / 3, generator=g),
     lambda t, g: nn.init.xavier_uniform_(t, gain=5 / 3, generator=g)),
    (lambda s, g: xavier_normal(s, generator=g), lambda t, g: nn.init.xavier_normal_(t, generator=g)),
    (lambda s, g: kaiming_uniform(s, generator=g), lambda t, g: nn.init.kaiming_uniform_(t, generator=g)),
    (lambda s, g: kaiming_normal(s, generator=g), lambda t, g: nn.init.kaiming_normal_(t, generator=g)),
    (lambda s, g: kaiming_normal(s, mode="fan_out", nonlinearity="relu", generator=g),
     lambda t, g: nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", generator=g)),
    (lambda s, g: kaiming_uniform(s, a=math.sqrt(5), generator=g),
     lambda t, g: nn.init.kaiming_uniform_(t, a=math.sqrt(5), generator=g)),
    (lambda s, g: lecun_normal(s, generator=g),
     lambda t, g: nn.init.kaiming_normal_(t, nonlinearity="linear", generator=g)),
    (lambda s, g: lecun_uniform(s, generator=g),
     lambda t, g: nn.init.kaiming_uniform_(t, nonlinearity="linear", generator=g)),
    (lambda s, g: normal(s, 0.01, generator=g), lambda t, g: nn.init.normal_(t, 0.0, 0.01, generator=g)),
]


@pytest.mark.parametrize("i", range(len(PAIRS)))
@pytest.mark.parametrize("shape", [(64, 32), (16, 8, 3, 3)])
def test_bit_equal_to_torch_with_the_same_generator(i, shape):
    ours, theirs = PAIRS[i]
    a = ours(shape, torch.Generator().manual_seed(123))
    b = theirs(torch.empty(shape), torch.Generator().manual_seed(123))
    assert torch.equal(a, b)


def test_torch_default_linear_init_is_uniform_one_over_sqrt_n():
    # nn.Linear uses kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(n), 1/sqrt(n)), Glorot & Bengio's eq. (1)
    torch.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = uniform_bound(kaiming_std(layer.weight, a=math.sqrt(5)))
    assert bound == pytest.approx(1 / math.sqrt(400), rel=1e-12)
    assert layer.weight.abs().max().item() <= bound


def test_formulas():
    shape = (500, 1000)  # n_out = 500, n_in = 1000
    assert xavier_std(shape) == pytest.approx(math.sqrt(2 / 1500))
    assert uniform_bound(xavier_std(shape)) == pytest.approx(math.sqrt(6 / 1500))  # Glorot eq. 16
    conv = (128, 64, 3, 3)
    assert kaiming_std(conv, nonlinearity="relu") == pytest.approx(math.sqrt(2 / 576))  # He eq. 10
    assert kaiming_std(conv, mode="fan_out", nonlinearity="relu") == pytest.approx(math.sqrt(2 / 1152))  # eq. 14
    assert lecun_std(conv) == pytest.approx(1 / 24)
    assert kaiming_std(conv, nonlinearity="linear") == lecun_std(conv)


@pytest.mark.parametrize("name,fn,std", [
    ("xavier_uniform", lambda s, g: xavier_uniform(s, generator=g, dtype=torch.float64), math.sqrt(2 / (2304 + 4608))),
    ("xavier_normal", lambda s, g: xavier_normal(s, generator=g, dtype=torch.float64), math.sqrt(2 / (2304 + 4608))),
    ("he_uniform", lambda s, g: kaiming_uniform(s, nonlinearity="relu", generator=g, dtype=torch.float64),
     math.sqrt(2 / 2304)),
    ("he_normal", lambda s, g: kaiming_normal(s, nonlinearity="relu", generator=g, dtype=torch.float64),
     math.sqrt(2 / 2304)),
    ("lecun_normal", lambda s, g: lecun_normal(s, generator=g, dtype=torch.float64), math.sqrt(1 / 2304)),
    ("normal", lambda s, g: normal(s, 0.01, generator=g, dtype=torch.float64), 0.01),
])
def test_empirical_std_and_range(name, fn, std):
    w = fn((512, 256, 3, 3), torch.Generator().manual_seed(0))  # 1.18 M values
    assert abs(w.mean().item()) < 0.01 * std
    assert w.std().item() == pytest.approx(std, rel=0.005)
    if "uniform" in name:
        b = math.sqrt(3) * std
        assert w.abs().max().item() <= b and w.abs().max().item() > 0.999 * b


def test_constant_and_init_weights():
    assert torch.equal(constant((3, 4), 0.5), torch.full((3, 4), 0.5))
    net = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Conv1d(4, 2, 3))
    init_weights(net, "he_normal", torch.Generator().manual_seed(0), bias=0.0)
    assert all(float(m.bias.detach().abs().max()) == 0 for m in (net[0], net[2]))
    ref = nn.init.kaiming_normal_(torch.empty(4, 8), nonlinearity="relu", generator=torch.Generator().manual_seed(0))
    assert torch.equal(net[0].weight.detach(), ref)
    assert set(INITIALISERS) >= {"zeros", "xavier_uniform", "he_normal", "lecun_normal"}


def test_constant_init_keeps_units_identical():
    torch.manual_seed(0)
    x, y = torch.randn(64, 5, dtype=torch.float64), torch.randint(0, 3, (64,))
    net = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    init_weights(net, lambda s, generator=None, dtype=None: constant(s, 0.3, dtype))
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for _ in range(20):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    w = net[0].weight.detach()
    assert (w - 0.3).abs().max() > 1e-3  # the weights did move
    assert (w - w[0]).abs().max() < 1e-12  # but every hidden unit still has the same weights


def test_layer_statistics_facts():
    he = layer_statistics("he_normal", "relu", depth=20, width=128, batch=128)
    assert max(he.activation_var) / min(he.activation_var) < 5
    xav = layer_statistics("xavier_normal", "relu", depth=20, width=128, batch=128)
    assert 0.1 < (xav.activation_var[-1] / xav.activation_var[0]) / 0.5 ** 19 < 10
    lin = layer_statistics("lecun_normal", "linear", depth=10, width=256, batch=256)
    assert all(0.5 < v < 2 for v in lin.activation_var)  # LeCun keeps linear layers at variance ~1
    assert len(he.activation_var) == len(he.grad_var) == 20


@pytest.mark.parametrize("call", [
    lambda: fan_in_fan_out((5,)),
    lambda: fan_in_fan_out(torch.empty(3)),
    lambda: fan_in_fan_out((3, -1)),
    lambda: fan_in_fan_out((3.0, 2)),
    lambda: gain("softplus"),
    lambda: gain("leaky_relu", "x"),
    lambda: gain("leaky_relu", True),
    lambda: kaiming_std((4, 3), mode="fan_avg"),
    lambda: kaiming_std((4, 0)),
    lambda: lecun_std((0, 0, 3, 3)),
    lambda: xavier_std((0, 0)),
    lambda: normal((3, 3), std=-1.0),
    lambda: normal((3, 3), std=float("nan")),
    lambda: constant((3, 3), float("inf")),
    lambda: init_weights(nn.Sequential(nn.ReLU()), "he_normal"),
    lambda: init_weights(nn.Linear(3, 3), "glorot"),
    lambda: layer_statistics("he_normal", "gelu"),
    lambda: layer_statistics("he_normal", "relu", depth=0),
    lambda: layer_statistics("orthogonal", "relu"),
])
def test_bad_inputs(call):
    with pytest.raises(ValueError):
        call()
