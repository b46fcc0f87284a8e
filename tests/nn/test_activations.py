import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvlib.nn import activations as A


def grid(dtype=torch.float64):
    """A dense grid with the kinks (0 and 6) on it, plus large values on both sides."""
    x = torch.arange(-1600, 1601, dtype=dtype) / 200  # step 0.005: contains 0.0 and 6.0 exactly
    assert (x == 0).any() and (x == 6).any()
    return torch.cat([x, torch.tensor([-1e4, -50.0, 50.0, 1e4], dtype=dtype)])


def autograd_derivative(fn, x):
    x = x.clone().requires_grad_()
    fn(x).sum().backward()
    return x.grad


# (ours, ours', torch reference)
PAIRS = {
    "relu": (A.relu, A.relu_grad, torch.relu),
    "relu6": (A.relu6, A.relu6_grad, F.relu6),
    "sigmoid": (A.sigmoid, A.sigmoid_grad, torch.sigmoid),
    "tanh": (A.tanh, A.tanh_grad, torch.tanh),
    "leaky_relu": (A.leaky_relu, A.leaky_relu_grad, F.leaky_relu),
    "leaky_relu_0.2": (lambda x: A.leaky_relu(x, 0.2), lambda x: A.leaky_relu_grad(x, 0.2),
                       lambda x: F.leaky_relu(x, 0.2)),
    "gelu": (A.gelu, A.gelu_grad, lambda x: F.gelu(x, approximate="none")),
    "gelu_tanh": (lambda x: A.gelu(x, "tanh"), lambda x: A.gelu_grad(x, "tanh"),
                  lambda x: F.gelu(x, approximate="tanh")),
    "softplus": (A.softplus, A.sigmoid, F.softplus),  # softplus' = sigmoid
}


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_function_matches_torch(name, dtype):
    ours, _, ref = PAIRS[name]
    x = grid(dtype)
    y = ours(x)
    assert y.dtype == dtype and y.shape == x.shape and torch.isfinite(y).all()
    torch.testing.assert_close(y, ref(x))


@pytest.mark.parametrize("name", PAIRS)
def test_derivative_matches_autograd(name):
    ours, ours_grad, ref = PAIRS[name]
    x = grid()
    torch.testing.assert_close(ours_grad(x), autograd_derivative(ref, x))  # torch's function, autograd
    # autograd through our own formulas too, off the points 0 and 6 where they use |x|, sign(x) or a
    # comparison and autograd's choice of subgradient is arbitrary
    smooth = (x != 0) & (x != 6)
    torch.testing.assert_close(ours_grad(x)[smooth], autograd_derivative(ours, x)[smooth])


def test_kink_conventions_are_pytorchs():
    x = torch.tensor([0.0, 6.0])
    assert A.relu_grad(x).tolist() == [0.0, 1.0]
    assert A.relu6_grad(x).tolist() == [0.0, 0.0]
    assert A.leaky_relu_grad(torch.tensor([0.0]), 0.3).tolist() == pytest.approx([0.3])


def test_known_values():
    assert A.sigmoid_grad(torch.tensor(0.0)).item() == 0.25  # the largest slope of the sigmoid
    assert A.tanh_grad(torch.tensor(0.0)).item() == 1.0
    assert A.gelu(torch.tensor(1.0, dtype=torch.float64)).item() == pytest.approx(0.5 * (1 + math.erf(1 / math.sqrt(2))))
    assert A.relu6(torch.tensor([7.5])).item() == 6.0
    # tanh near 0 keeps full relative precision (no 1 − 1 cancellation)
    tiny = torch.tensor([1e-9, -3e-12], dtype=torch.float32)
    torch.testing.assert_close(A.tanh(tiny), tiny, rtol=1e-6, atol=0)


def test_sigmoid_and_tanh_do_not_overflow():
    x = torch.tensor([-1000.0, 1000.0])
    assert A.sigmoid(x).tolist() == [0.0, 1.0]
    assert A.tanh(x).tolist() == [-1.0, 1.0]
    assert A.sigmoid_grad(x).tolist() == [0.0, 0.0]  # saturated: the gradient vanishes


def test_gelu_tanh_approximates_the_exact_form():
    x = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    assert (A.gelu(x, "tanh") - A.gelu(x)).abs().max() < 1e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_and_log_softmax_match_torch(dtype):
    g = torch.Generator().manual_seed(0)
    z = (torch.randn(4, 5, 7, generator=g) * 10).to(dtype)
    for dim in (0, 1, 2, -1):
        torch.testing.assert_close(A.softmax(z, dim), torch.softmax(z, dim))
        torch.testing.assert_close(A.log_softmax(z, dim), torch.log_softmax(z, dim))
    torch.testing.assert_close(A.softmax(z, temperature=2.5), torch.softmax(z / 2.5, -1))


def test_softmax_overflow():
    z = torch.tensor([1000.0, 1001.0, 1002.0])
    naive = A.naive_softmax(z)
    assert torch.isnan(naive).all()  # exp(1000) = inf in float32: inf / inf
    assert torch.isinf(torch.exp(z)).all()
    e = torch.tensor([math.exp(-2), math.exp(-1), 1.0])  # the same logits minus 1002, by hand
    torch.testing.assert_close(A.softmax(z), e / e.sum())
    torch.testing.assert_close(A.softmax(z), torch.softmax(z, 0))
    torch.testing.assert_close(A.log_softmax(z), torch.log_softmax(z, 0))
    # very negative logits: the naive form underflows to 0/0, the stable one does not
    assert torch.isnan(A.naive_softmax(-z)).all()
    torch.testing.assert_close(A.softmax(-z), torch.softmax(-z, 0))
    # and the float64 limit is just above 709
    assert torch.isfinite(A.naive_softmax(torch.tensor([709.0], dtype=torch.float64))).all()
    assert torch.isnan(A.naive_softmax(torch.tensor([710.0], dtype=torch.float64))).all()


def test_softmax_is_shift_invariant_and_sums_to_one():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(3, 6, generator=g, dtype=torch.float64)
    torch.testing.assert_close(A.softmax(z + 123.4), A.softmax(z))
    torch.testing.assert_close(A.softmax(z).sum(-1), torch.ones(3, dtype=torch.float64))


def test_softmax_temperature_limits():
    z = torch.tensor([1.0, 3.0, 2.0], dtype=torch.float64)
    assert A.softmax(z, temperature=1e-3).tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert A.softmax(z, temperature=1e6).tolist() == pytest.approx([1 / 3] * 3, abs=1e-5)


def test_softmax_jacobian_and_backward_match_autograd():
    g = torch.Generator().manual_seed(2)
    z = torch.randn(6, generator=g, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), z)
    torch.testing.assert_close(A.softmax_jacobian(z), jac)
    zz = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 6, generator=g, dtype=torch.float64)
    (torch.softmax(zz, 1) * w).sum().backward()
    torch.testing.assert_close(A.softmax_backward(zz.detach(), w, dim=1), zz.grad)


def test_cross_entropy_matches_torch_with_indices_and_probabilities():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(8, 5, generator=g, dtype=torch.float64) * 4
    target = torch.randint(0, 5, (8,), generator=g)
    torch.testing.assert_close(A.cross_entropy(logits, target), F.cross_entropy(logits, target))
    probs = torch.softmax(torch.randn(8, 5, generator=g, dtype=torch.float64), 1)
    torch.testing.assert_close(A.cross_entropy(logits, probs), F.cross_entropy(logits, probs))
    big = torch.tensor([[1000.0, 1001.0, 1002.0]])
    torch.testing.assert_close(A.cross_entropy(big, torch.tensor([0])), F.cross_entropy(big, torch.tensor([0])))


def test_cross_entropy_gradient_is_p_minus_y():
    g = torch.Generator().manual_seed(4)
    logits = (torch.randn(8, 5, generator=g, dtype=torch.float64) * 3).requires_grad_()
    target = torch.randint(0, 5, (8,), generator=g)
    F.cross_entropy(logits, target).backward()
    p_minus_y = (torch.softmax(logits.detach(), 1) - F.one_hot(target, 5)) / 8
    torch.testing.assert_close(A.cross_entropy_grad(logits.detach(), target), logits.grad)
    torch.testing.assert_close(A.cross_entropy_grad(logits.detach(), target), p_minus_y)
    # soft targets: still p − y
    logits.grad = None
    probs = torch.softmax(torch.randn(8, 5, generator=g, dtype=torch.float64), 1)
    F.cross_entropy(logits, probs).backward()
    torch.testing.assert_close(A.cross_entropy_grad(logits.detach(), probs), logits.grad)


@pytest.mark.parametrize("name,kwargs,ref", [
    ("relu", {}, nn.ReLU()), ("relu6", {}, nn.ReLU6()), ("sigmoid", {}, nn.Sigmoid()), ("tanh", {}, nn.Tanh()),
    ("leaky_relu", {"negative_slope": 0.1}, nn.LeakyReLU(0.1)), ("gelu", {}, nn.GELU()),
    ("gelu", {"approximate": "tanh"}, nn.GELU(approximate="tanh")),
])
def test_activation_layer_trains_like_torchs(name, kwargs, ref):
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(4, 8), A.Activation(name, **kwargs), nn.Linear(8, 3)).double()
    twin = nn.Sequential(nn.Linear(4, 8), ref, nn.Linear(8, 3)).double()
    twin.load_state_dict(net.state_dict())
    x = torch.randn(16, 4, dtype=torch.float64) * 3
    for m in (net, twin):
        F.cross_entropy(m(x), torch.arange(16) % 3).backward()
    torch.testing.assert_close(net(x), twin(x))
    for p, q in zip(net.parameters(), twin.parameters()):
        torch.testing.assert_close(p.grad, q.grad)
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(A.Activation(name, **kwargs), (x,))


def test_stepped_sigmoid_sum_is_close_to_softplus():
    # Nair & Hinton (2010): sum_{i>=1} sigmoid(x - i + 0.5) is approximated by log(1 + e^x).
    x = torch.linspace(-5, 10, 301, dtype=torch.float64)
    stepped = sum(torch.sigmoid(x - i + 0.5) for i in range(1, 200))
    assert (stepped - A.softplus(x)).abs().max() < 0.05


@pytest.mark.parametrize("call,match", [
    (lambda: A.relu([1.0, -1.0]), "x must be a tensor, got list"),
    (lambda: A.sigmoid(torch.tensor([1, 2])), "floating-point"),
    (lambda: A.leaky_relu(torch.ones(2), "0.1"), "negative_slope"),
    (lambda: A.leaky_relu_grad(torch.ones(2), float("inf")), "negative_slope"),
    (lambda: A.gelu(torch.ones(2), "erf"), "approximate"),
    (lambda: A.softmax(torch.tensor(1.0)), "at least one dimension"),
    (lambda: A.softmax(torch.empty(2, 0)), "at least one class"),
    (lambda: A.log_softmax(torch.empty(0)), "at least one class"),
    (lambda: A.softmax(torch.ones(2, 3), dim=2), "dim must be"),
    (lambda: A.naive_softmax(torch.ones(2, 3), dim=-3), "dim must be"),
    (lambda: A.softmax(torch.ones(3), temperature=0), "temperature"),
    (lambda: A.softmax(torch.ones(3), temperature=-1.0), "temperature"),
    (lambda: A.softmax_backward(torch.ones(3), torch.ones(4)), "shape of z"),
    (lambda: A.softmax_jacobian(torch.ones(2, 3)), "1-D"),
    (lambda: A.cross_entropy(torch.ones(3), torch.tensor([0, 1, 2])), r"\(N, C\)"),
    (lambda: A.cross_entropy(torch.ones(0, 3), torch.tensor([], dtype=torch.long)), r"\(N, C\)"),
    (lambda: A.cross_entropy(torch.ones(2, 3), torch.tensor([0, 3])), "class indices"),
    (lambda: A.cross_entropy(torch.ones(2, 3), torch.tensor([0, -1])), "class indices"),
    (lambda: A.cross_entropy_grad(torch.ones(2, 3), torch.tensor([0, 1, 2])), "shape"),
    (lambda: A.cross_entropy_grad(torch.ones(2, 3), torch.ones(2, 4)), "shape of the logits"),
    (lambda: A.Activation("swish"), "unknown activation"),
    (lambda: A.Activation("relu", negative_slope=0.1), "keyword"),
    (lambda: A.Activation("gelu", approximate="erf"), "approximate"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
