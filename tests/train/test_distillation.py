import math

import pytest
import torch
import torch.nn.functional as F

from cvlib.train.distillation import (check_alpha, check_temperature, high_temperature_grad, kd_loss, kd_loss_grad,
                                soft_kl, soft_kl_grad, soft_targets)

TS = [0.5, 1.0, 2.0, 4.0, 20.0]


def logits(n=16, c=10, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, dtype=torch.float64) * scale


def torch_soft(s, t, T):
    """The usual PyTorch formulation of the soft term."""
    return F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean") * T ** 2


@pytest.mark.parametrize("T", TS)
def test_soft_kl_equals_torch_kl_div(T):
    s, t = logits(seed=1), logits(seed=2)
    torch.testing.assert_close(soft_kl(s, t, T), torch_soft(s, t, T))
    torch.testing.assert_close(soft_kl(s, t, T, scale=False), torch_soft(s, t, T) / T ** 2)


@pytest.mark.parametrize("T", TS)
@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.9, 1.0])
def test_kd_loss_equals_torch_formulation(T, alpha):
    s, t = logits(seed=3), logits(seed=4)
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(5))
    ref = alpha * torch_soft(s, t, T) + (1 - alpha) * F.cross_entropy(s, y)
    torch.testing.assert_close(kd_loss(s, t, y, T, alpha), ref)


@pytest.mark.parametrize("T", TS)
@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.9, 1.0])
def test_kd_gradient_equals_autograd_of_torch_loss(T, alpha):
    s = logits(seed=6).requires_grad_()
    t = logits(seed=7)
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(8))
    (alpha * torch_soft(s, t, T) + (1 - alpha) * F.cross_entropy(s, y)).backward()
    torch.testing.assert_close(kd_loss_grad(s.detach(), t, y, T, alpha), s.grad)


@pytest.mark.parametrize("T", TS)
def test_soft_gradient_is_q_minus_p_over_T(T):
    # the paper's eq. 2, per example, for the unscaled soft term; autograd on torch's kl_div
    s = logits(n=1, seed=9).requires_grad_()
    t = logits(n=1, seed=10)
    (torch_soft(s, t, T) / T ** 2).backward()
    q, p = torch.softmax(s.detach() / T, 1), torch.softmax(t / T, 1)
    torch.testing.assert_close(s.grad, (q - p) / T)
    torch.testing.assert_close(soft_kl_grad(s.detach(), t, T, scale=False), (q - p) / T)
    torch.testing.assert_close(soft_kl_grad(s.detach(), t, T), T * (q - p))


def test_soft_targets_are_torch_softmax_of_scaled_logits():
    t = logits(seed=11)
    for T in TS:
        torch.testing.assert_close(soft_targets(t, T), torch.softmax(t / T, dim=-1))


def test_teacher_gets_no_gradient():
    s, t = logits(seed=12).requires_grad_(), logits(seed=13).requires_grad_()
    kd_loss(s, t, torch.zeros(16, dtype=torch.long), 4.0, 0.9).backward()
    assert t.grad is None and s.grad is not None


def test_loss_is_zero_when_student_matches_teacher_and_alpha_is_one():
    t = logits(seed=14)
    assert soft_kl(t.clone(), t, 3.0).item() == pytest.approx(0.0, abs=1e-12)
    # and shifting a row of logits changes nothing: softmax is shift invariant
    assert soft_kl(t + 5.0, t, 3.0).item() == pytest.approx(0.0, abs=1e-12)


def test_underflowing_teacher_probabilities_give_finite_loss():
    t = torch.tensor([[1000.0, 0.0, -1000.0]], dtype=torch.float64)
    s = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    value = soft_kl(s, t, 0.5)
    assert math.isfinite(value.item())
    torch.testing.assert_close(value, torch_soft(s, t, 0.5))


def test_high_temperature_limit_for_zero_mean_logits():
    # eq. 4 of the paper: (q - p)/T ≈ (z - v)/(C T²) when T ≫ |logits| and rows are zero-mean; the
    # relative error of the first-order expansion falls like 1/T
    s, t = logits(seed=15, scale=1.0), logits(seed=16, scale=1.0)
    s, t = s - s.mean(1, keepdim=True), t - t.mean(1, keepdim=True)
    errors = []
    for T in (10.0, 20.0, 40.0, 80.0):
        exact = soft_kl_grad(s, t, T, scale=False)
        approx = high_temperature_grad(s, t, T)
        errors.append(((exact - approx).norm() / exact.norm()).item())
    assert errors[-1] < 0.01
    for a, b in zip(errors, errors[1:]):
        assert 0.4 < b / a < 0.6  # halving with every doubling of T


def test_high_temperature_limit_needs_zero_mean_logits():
    s, t = logits(seed=17, scale=1.0), logits(seed=18, scale=1.0)
    s, t = s - s.mean(1, keepdim=True), t - t.mean(1, keepdim=True) + 3.0  # teacher rows shifted by 3
    exact = soft_kl_grad(s, t, 80.0, scale=False)
    approx = high_temperature_grad(s, t, 80.0)
    assert ((exact - approx).norm() / exact.norm()).item() > 0.5


def test_scaled_soft_gradient_is_roughly_constant_at_high_temperature():
    # unscaled: the gradient shrinks like 1/T²; scaled by T²: it approaches (z - v)/(C N)
    s, t = logits(seed=19, scale=1.0), logits(seed=20, scale=1.0)
    g10, g20 = soft_kl_grad(s, t, 10.0, scale=False).norm(), soft_kl_grad(s, t, 20.0, scale=False).norm()
    assert (g10 / g20).item() == pytest.approx(4.0, rel=0.05)
    h10, h20 = soft_kl_grad(s, t, 10.0).norm(), soft_kl_grad(s, t, 20.0).norm()
    assert (h10 / h20).item() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: soft_kl(logits(), logits(), 0.0), "temperature"),
    (lambda: soft_kl(logits(), logits(), -2.0), "temperature"),
    (lambda: soft_kl(logits(), logits(), float("inf")), "temperature"),
    (lambda: soft_kl_grad(logits(), logits(), True), "temperature"),
    (lambda: soft_targets(logits(), 0), "temperature"),
    (lambda: kd_loss(logits(), logits(), torch.zeros(16, dtype=torch.long), 4.0, 1.5), "alpha"),
    (lambda: kd_loss(logits(), logits(), torch.zeros(16, dtype=torch.long), 4.0, -0.1), "alpha"),
    (lambda: kd_loss_grad(logits(), logits(), torch.zeros(16, dtype=torch.long), 4.0, float("nan")), "alpha"),
    (lambda: kd_loss(logits(), logits(), torch.zeros(16, dtype=torch.long), 0.0, 0.5), "temperature"),
    (lambda: soft_kl(logits(c=10), logits(c=9), 2.0), "same shape"),
    (lambda: soft_kl(logits(n=4), logits(n=5), 2.0), "same shape"),
    (lambda: kd_loss_grad(logits(c=10), logits(c=5), torch.zeros(16, dtype=torch.long), 2.0, 0.5), "same shape"),
    (lambda: soft_kl(torch.ones(10, dtype=torch.float64), torch.ones(10, dtype=torch.float64), 2.0), r"\(N, C\)"),
    (lambda: soft_kl(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3), 2.0), "floating-point"),
    (lambda: high_temperature_grad([[1.0]], torch.ones(1, 1), 2.0), "student_logits must be a tensor"),
    (lambda: kd_loss(logits(), logits(), torch.full((16,), 10), 4.0, 0.5), "class indices"),
    (lambda: check_temperature("4"), "temperature"),
    (lambda: check_alpha(None), "alpha"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
