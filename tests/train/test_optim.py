import math

import pytest
import torch
import torch.nn.functional as F

from cvlib.train import optim

STEPS = 120


def problem(dtype, seed=0):
    """A small softmax regression: data, labels and an initial (W, b)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 5, generator=g, dtype=dtype)
    y = torch.randint(0, 3, (64,), generator=g)
    w0 = torch.randn(3, 5, generator=g, dtype=dtype) * 0.5
    b0 = torch.randn(3, generator=g, dtype=dtype) * 0.1
    return x, y, w0, b0


def loss_fn(x, y, w, b):
    return F.cross_entropy(x @ w.T + b, y) + 0.1 * (w ** 4).sum()  # a quartic term: curvature changes


CASES = [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=0.01)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.05)),
    (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.1)),
    (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.1, weight_decay=0.01, eps=1e-6)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, weight_decay=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.01)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1, eps=1e-6)),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("ours_cls,torch_cls,hyper", CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_step_for_step(ours_cls, torch_cls, hyper, dtype):
    x, y, w0, b0 = problem(dtype)
    params = {}
    opts = {}
    for name, cls in [("ours", ours_cls), ("torch", torch_cls)]:
        w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
        params[name] = (w, b)
        opts[name] = cls([w, b], **hyper)
    for step in range(STEPS):
        for name in ("ours", "torch"):
            opts[name].zero_grad()
            loss_fn(x, y, *params[name]).backward()
            opts[name].step()
        for a, b in zip(params["ours"], params["torch"]):
            diff = (a - b).abs().max().item()
            assert diff < 1e-6, f"step {step + 1}: max |ours − torch| = {diff:.2e}"
    # the optimiser did move the parameters
    assert (params["ours"][0] - w0).abs().max() > 1e-3


def test_defaults_equal_torchs():
    w = torch.zeros(2, requires_grad=True)
    for ours, ref in [(optim.SGD, torch.optim.SGD), (optim.Adagrad, torch.optim.Adagrad),
                      (optim.RMSprop, torch.optim.RMSprop), (optim.Adam, torch.optim.Adam),
                      (optim.AdamW, torch.optim.AdamW)]:
        a, b = ours([w]).defaults, ref([w]).defaults
        for key, value in a.items():
            if key in b:
                assert b[key] == value, (ours.__name__, key)


def test_param_groups_and_parameters_without_gradient():
    x, y, w0, b0 = problem(torch.float64)
    runs = {}
    for name, cls in [("ours", optim.Adam), ("torch", torch.optim.Adam)]:
        w, b = w0.clone().requires_grad_(), b0.clone().requires_grad_()
        unused = torch.ones(4, dtype=torch.float64, requires_grad=True)
        opt = cls([{"params": [w], "lr": 0.02}, {"params": [b, unused], "lr": 0.005, "weight_decay": 0.1}])
        for _ in range(50):
            opt.zero_grad()
            loss_fn(x, y, w, b).backward()
            opt.step()
        runs[name] = (w, b, unused)
    for a, b in zip(runs["ours"], runs["torch"]):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    assert torch.equal(runs["ours"][2], torch.ones(4, dtype=torch.float64))  # no gradient: untouched


def quadratic(p):
    return 0.5 * (p[0] ** 2 + 10 * p[1] ** 2) + 0.3 * p[0] * p[1]


def test_paper_momentum_equals_torch_for_constant_lr():
    a = optim.trajectory(optim.PaperMomentum, quadratic, [1.0, 1.0], 150, lr=0.05, momentum=0.9, weight_decay=0.01)
    b = optim.trajectory(torch.optim.SGD, quadratic, [1.0, 1.0], 150, lr=0.05, momentum=0.9, weight_decay=0.01)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_paper_nesterov_lookahead_equals_torch_nesterov():
    # torch's parameters are the paper's look-ahead point p + μv
    mu, lr = 0.9, 0.05
    p = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = optim.PaperMomentum([p], lr=lr, momentum=mu, nesterov=True, weight_decay=0.02)
    ref = optim.trajectory(torch.optim.SGD, quadratic, [1.0, 1.0], 100, lr=lr, momentum=mu, nesterov=True,
                           weight_decay=0.02)

    def closure():
        opt.zero_grad()
        loss = quadratic(p)
        loss.backward()
        return loss

    for t in range(1, 101):
        opt.step(closure)
        lookahead = p.detach() + mu * opt.state[p]["velocity"]
        torch.testing.assert_close(lookahead, ref[t], rtol=0, atol=1e-12)


def test_paper_nesterov_needs_a_closure():
    p = torch.ones(2, requires_grad=True)
    quadratic(p).backward()
    with pytest.raises(ValueError, match="closure"):
        optim.PaperMomentum([p], lr=0.1, nesterov=True).step()


def test_momentum_forms_differ_when_lr_changes():
    finals = {}
    for name, cls in [("paper", optim.PaperMomentum), ("torch", optim.SGD)]:
        p = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
        opt = cls([p], lr=0.05, momentum=0.9)
        for t in range(60):
            if t == 30:
                opt.param_groups[0]["lr"] = 0.005
            opt.zero_grad()
            quadratic(p).backward()
            opt.step()
        finals[name] = p.detach().clone()
    assert (finals["paper"] - finals["torch"]).abs().max() > 1e-3


def test_momentum_effective_step_is_lr_over_one_minus_mu():
    # constant gradient 1: steps lr·(1 + μ + … + μ^(t−1)) → lr/(1 − μ), a geometric series
    lr, mu = 0.01, 0.9
    xs = optim.trajectory(optim.SGD, lambda p: p.sum(), [0.0], 300, lr=lr, momentum=mu)
    steps = -(xs[1:] - xs[:-1]).flatten()
    expected = lr * (1 - mu ** torch.arange(1, 301, dtype=torch.float64)) / (1 - mu)
    torch.testing.assert_close(steps, expected, rtol=1e-9, atol=1e-12)
    assert steps[-1].item() == pytest.approx(lr / (1 - mu), rel=1e-9)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_adam_first_step_is_lr_with_bias_correction(scale):
    lr, (b1, b2) = 1e-3, (0.9, 0.999)
    for cls in (optim.Adam, torch.optim.Adam):
        xs = optim.trajectory(cls, lambda p: scale * p.sum(), [0.0, 0.0], 1, lr=lr)
        assert -xs[1, 0].item() == pytest.approx(lr * scale / (scale + 1e-8), rel=1e-9)
    xs = optim.trajectory(optim.Adam, lambda p: scale * p.sum(), [0.0], 1, lr=lr, bias_correction=False)
    assert -xs[1, 0].item() == pytest.approx(lr * (1 - b1) * scale / (math.sqrt(1 - b2) * scale + 1e-8), rel=1e-9)


def test_adagrad_step_does_not_depend_on_gradient_scale():
    a = optim.trajectory(optim.Adagrad, lambda p: p.sum(), [0.0], 5, lr=0.1)
    b = optim.trajectory(optim.Adagrad, lambda p: 1e4 * p.sum(), [0.0], 5, lr=0.1)
    torch.testing.assert_close(a, b, rtol=1e-9, atol=0)
    # constant gradient: step t is lr/√t
    torch.testing.assert_close(-(a[1:] - a[:-1]).flatten(), 0.1 / torch.arange(1, 6, dtype=torch.float64).sqrt())


def test_adamw_decay_without_gradient_is_exponential():
    lr, wd = 0.01, 0.1
    xs = optim.trajectory(optim.AdamW, lambda p: 0 * p.sum(), [1.0], 100, lr=lr, weight_decay=wd)
    assert xs[-1].item() == pytest.approx((1 - lr * wd) ** 100, rel=1e-12)


@pytest.mark.parametrize("cls,kwargs,match", [
    (optim.SGD, dict(lr=-0.1), "lr"),
    (optim.SGD, dict(lr=float("nan")), "lr"),
    (optim.SGD, dict(momentum=-0.5), "momentum"),
    (optim.SGD, dict(momentum=1.0), "momentum"),
    (optim.SGD, dict(nesterov=True), "nesterov"),
    (optim.SGD, dict(weight_decay=-1e-4), "weight_decay"),
    (optim.PaperMomentum, dict(lr=-1.0), "lr"),
    (optim.Adagrad, dict(eps=-1e-10), "eps"),
    (optim.RMSprop, dict(alpha=1.0), "alpha"),
    (optim.RMSprop, dict(alpha=-0.1), "alpha"),
    (optim.Adam, dict(betas=(0.9, 1.0)), r"betas\[1\]"),
    (optim.Adam, dict(betas=(-0.1, 0.999)), r"betas\[0\]"),
    (optim.Adam, dict(betas=(0.9,)), "betas"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay"),
    (optim.Adam, dict(lr="0.1"), "lr"),
])
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls([torch.zeros(2, requires_grad=True)], **kwargs)


def test_trajectory_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        optim.trajectory(optim.SGD, lambda p: p.sum(), [0.0], -1)
