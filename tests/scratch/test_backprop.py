"""The hand-written NumPy layers of cvlib.scratch.backprop against torch.autograd and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cvlib.scratch import backprop as bp

TOL = dict(rtol=1e-10, atol=1e-12)


def t(a: np.ndarray, grad: bool = True) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def compare(ours: np.ndarray, ref: torch.Tensor) -> None:
    np.testing.assert_allclose(ours, ref.detach().numpy(), **TOL)


# ---------------------------------------------------------------------------------- linear

@pytest.mark.parametrize("n,d_in,d_out,bias", [(1, 1, 1, True), (5, 7, 3, True), (4, 6, 9, False)])
def test_linear_matches_autograd(n, d_in, d_out, bias):
    rng = np.random.default_rng(n * 100 + d_in)
    x, w, b = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    layer = bp.Linear(w.copy(), b.copy() if bias else None)
    y = layer.forward(x)
    xt, wt, bt = t(x), t(w.T), t(b)
    yt = F.linear(xt, wt, bt if bias else None)
    compare(y, yt)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    compare(layer.backward(g), xt.grad)
    compare(layer.grads["W"], wt.grad.T)
    if bias:
        compare(layer.grads["b"], bt.grad)
    else:
        assert "b" not in layer.grads


# ---------------------------------------------------------------------------------- conv2d

CONV_CASES = [  # (N, C_in, H, W, C_out, k_h, k_w, stride, padding)
    (1, 1, 5, 5, 1, 3, 3, 1, 0),
    (2, 3, 7, 6, 4, 3, 2, 1, 1),
    (2, 2, 9, 8, 3, 3, 3, 2, 1),
    (1, 4, 8, 11, 2, 5, 5, 3, 2),
    (3, 2, 4, 4, 5, 4, 4, 1, 0),  # kernel as large as the input: one output pixel
    (2, 3, 6, 6, 2, 1, 1, 2, 0),  # 1×1 convolution with stride
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_autograd(case):
    n, c_in, h, w_, c_out, kh, kw, s, p = case
    rng = np.random.default_rng(sum(case))
    x, w, b = (rng.standard_normal((n, c_in, h, w_)), rng.standard_normal((c_out, c_in, kh, kw)),
               rng.standard_normal(c_out))
    layer = bp.Conv2d(w.copy(), b.copy(), stride=s, padding=p)
    y = layer.forward(x)
    xt, wt, bt = t(x), t(w), t(b)
    yt = F.conv2d(xt, wt, bt, stride=s, padding=p)
    assert y.shape == tuple(yt.shape)
    compare(y, yt)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    compare(layer.backward(g), xt.grad)
    compare(layer.grads["W"], wt.grad)
    compare(layer.grads["b"], bt.grad)


def test_im2col_matches_torch_unfold_and_col2im_is_its_adjoint():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 9))
    for k, s, p in [((3, 3), 1, 1), ((2, 3), 2, 0), ((3, 2), 3, 2)]:
        cols = bp.im2col(x, k, s, p)
        # torch's unfold is (N, C·k_h·k_w, L); ours is (N·L, C·k_h·k_w) with the same column order
        ref = F.unfold(torch.from_numpy(x), k, padding=p, stride=s).permute(0, 2, 1).reshape(cols.shape)
        np.testing.assert_array_equal(cols, ref.numpy())
        # adjoint: <im2col(x), c> == <x, col2im(c)> for every x and c
        c = rng.standard_normal(cols.shape)
        back = bp.col2im(c, x.shape, k, s, p)
        np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)
        fold = F.fold(torch.from_numpy(c.reshape(2, -1, c.shape[1]).transpose(0, 2, 1).copy()), x.shape[2:],
                      k, padding=p, stride=s)
        np.testing.assert_allclose(back, fold.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------- pooling

POOL_CASES = [(2, None, 0, (2, 3, 8, 8)), (3, 2, 1, (2, 2, 7, 9)), (3, 1, 1, (1, 3, 5, 5)),
              (2, 1, 0, (2, 1, 5, 6)), (4, 3, 2, (1, 2, 10, 7)), (3, 3, 0, (2, 2, 8, 8))]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("k,s,p,shape", POOL_CASES)
def test_pooling_matches_autograd(kind, k, s, p, shape):
    rng = np.random.default_rng(k * 10 + p)
    x = rng.standard_normal(shape)
    layer = (bp.MaxPool2d if kind == "max" else bp.AvgPool2d)(k, s, p)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    y = layer.forward(x)
    xt = t(x)
    yt = fn(xt, k, s, p)
    compare(y, yt)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    compare(layer.backward(g), xt.grad)


def test_maxpool_routes_gradient_to_argmax_and_sums_overlaps():
    # one 5×5 map with a single large value at the centre: every 3×3 window with stride 2 contains it
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 9.0
    pool = bp.MaxPool2d(3, stride=2)
    assert pool.forward(x).shape == (1, 1, 2, 2)
    g = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx = pool.backward(g)
    assert dx[0, 0, 2, 2] == 10.0 and np.count_nonzero(dx) == 1


# ---------------------------------------------------------------------------------- activations, loss

def test_relu_sigmoid_flatten_match_autograd():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 4, 5))
    x[0, 0, 0, :2] = 0.0  # the kink: autograd's ReLU derivative at 0 is 0
    for layer, fn in [(bp.ReLU(), torch.relu), (bp.Sigmoid(), torch.sigmoid),
                      (bp.Flatten(), lambda z: z.reshape(z.shape[0], -1))]:
        xt = t(x)
        yt = fn(xt)
        y = layer.forward(x)
        compare(y, yt)
        g = rng.standard_normal(y.shape)
        yt.backward(torch.from_numpy(g))
        compare(layer.backward(g), xt.grad)


def test_softmax_cross_entropy_matches_autograd():
    rng = np.random.default_rng(4)
    z, y = rng.standard_normal((6, 10)) * 3, rng.integers(0, 10, 6)
    loss = bp.SoftmaxCrossEntropy()
    zt = t(z)
    lt = F.cross_entropy(zt, torch.from_numpy(y))
    lt.backward()
    assert loss.forward(z, y) == pytest.approx(lt.item(), rel=1e-12)
    compare(loss.backward(), zt.grad)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(loss.backward() * 6, p - np.eye(10)[y], atol=1e-12)  # p − y per example


def test_squared_error():
    y, d = np.array([[0.2, 0.9]]), np.array([[0.0, 1.0]])
    e = bp.SquaredError()
    assert e.forward(y, d) == pytest.approx(0.5 * (0.04 + 0.01))
    np.testing.assert_allclose(e.backward(), y - d)


# ---------------------------------------------------------------------------------- finite differences

@pytest.mark.parametrize("make,shape", [
    (lambda r: bp.Linear(r.standard_normal((4, 3)), r.standard_normal(3)), (5, 4)),
    (lambda r: bp.Conv2d(r.standard_normal((3, 2, 3, 3)), r.standard_normal(3), 2, 1), (2, 2, 7, 6)),
    (lambda r: bp.MaxPool2d(3, 2, 1), (2, 2, 7, 7)),
    (lambda r: bp.AvgPool2d(2, 1, 1), (1, 2, 5, 4)),
    (lambda r: bp.ReLU(), (3, 7)),
    (lambda r: bp.Sigmoid(), (3, 7)),
])
def test_gradcheck(make, shape):
    rng = np.random.default_rng(5)
    layer = make(rng)
    f = bp.torch_function(layer)
    x = t(rng.standard_normal(shape))
    params = [t(v.copy()) for v in layer.params.values()]
    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-6)


def test_tiny_cnn_step_matches_torch():
    rng = np.random.default_rng(6)
    conv = bp.Conv2d.init(1, 4, 3, rng, padding=1)
    lin = bp.Linear.init(4 * 4 * 4, 10, rng)
    net = bp.Sequential(conv, bp.ReLU(), bp.MaxPool2d(2), bp.Flatten(), lin)
    x, y = rng.standard_normal((8, 1, 8, 8)), rng.integers(0, 10, 8)
    ce = bp.SoftmaxCrossEntropy()
    loss = ce(net.forward(x), y)
    net.backward(ce.backward())
    wc, bc, wl, bl = (t(a) for a in (conv.params["W"], conv.params["b"], lin.params["W"].T, lin.params["b"]))
    out = F.linear(F.max_pool2d(F.relu(F.conv2d(t(x, False), wc, bc, padding=1)), 2).flatten(1), wl, bl)
    lt = F.cross_entropy(out, torch.from_numpy(y))
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    compare(conv.grads["W"], wc.grad)
    compare(lin.grads["W"], wl.grad.T)
    before = conv.params["W"].copy()
    bp.sgd_step(net, 0.5)
    np.testing.assert_allclose(conv.params["W"], before - 0.5 * wc.grad.numpy(), **TOL)


# ---------------------------------------------------------------------------------- bad input

def test_bad_inputs_raise_value_error():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((2, 3, 5, 5))
    with pytest.raises(ValueError, match="larger than the padded input"):
        bp.Conv2d(w).forward(rng.standard_normal((1, 3, 3, 3)))  # 5×5 kernel on a 3×3 input
    with pytest.raises(ValueError, match="padding"):
        bp.Conv2d(w, padding=-1)
    with pytest.raises(ValueError, match="stride"):
        bp.Conv2d(w, stride=0)
    with pytest.raises(ValueError, match="channels"):
        bp.Conv2d(w).forward(rng.standard_normal((1, 2, 8, 8)))
    with pytest.raises(ValueError, match="bias"):
        bp.Conv2d(w, rng.standard_normal(3))
    with pytest.raises(ValueError, match="4 dimensions"):
        bp.Conv2d(w).forward(rng.standard_normal((3, 8, 8)))
    with pytest.raises(ValueError, match="floating-point"):
        bp.Conv2d(w).forward(np.ones((1, 3, 8, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="features"):
        bp.Linear(rng.standard_normal((4, 2))).forward(rng.standard_normal((3, 5)))
    with pytest.raises(ValueError, match="bias"):
        bp.Linear(rng.standard_normal((4, 2)), rng.standard_normal(3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        bp.MaxPool2d(4).forward(rng.standard_normal((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="at most kernel // 2"):
        bp.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="padding"):
        bp.AvgPool2d(3, padding=-1)
    layer = bp.Linear(rng.standard_normal((4, 2)))
    with pytest.raises(ValueError, match="before forward"):
        layer.backward(np.ones((3, 2)))
    layer.forward(rng.standard_normal((3, 4)))
    with pytest.raises(ValueError, match="output's shape"):
        layer.backward(np.ones((3, 3)))
    with pytest.raises(ValueError, match="target"):
        bp.SoftmaxCrossEntropy().forward(rng.standard_normal((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="class indices"):
        bp.SoftmaxCrossEntropy().forward(rng.standard_normal((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="same shape"):
        bp.SquaredError().forward(np.ones((2, 1)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="parameter tensors"):
        bp.torch_function(bp.Linear(rng.standard_normal((4, 2))))(torch.ones(1, 4))
    with pytest.raises(ValueError, match="lr"):
        bp.sgd_step(bp.Sequential(bp.ReLU()), 0.0)
    with pytest.raises(ValueError, match="cols must have shape"):
        bp.col2im(np.ones((3, 3)), (1, 1, 4, 4), (2, 2))
