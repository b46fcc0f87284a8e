"""Losses, optimisers and distillation reject impossible arguments with a ValueError naming them (issue 21)."""

import math

import numpy as np
import pytest
import torch

from cvlib.train import distillation as D
from cvlib.train import losses as L
from cvlib.train import optim

LOGITS = torch.tensor([[-1.0, 2.0], [0.5, 0.0]])
TARGET = torch.tensor([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("call,match", [
    (lambda: L.focal_loss(LOGITS, TARGET, gamma="2"), r"gamma \(the focusing parameter\) must be a real number >= 0.0"),
    (lambda: L.focal_loss(LOGITS, TARGET, gamma=math.inf), "gamma"),
    (lambda: L.focal_loss(LOGITS, TARGET, gamma=-1.0), "gamma"),
    (lambda: L.focal_loss(LOGITS, TARGET, alpha=math.nan), r"alpha \(the weight of the positive class\)"),
    (lambda: L.focal_loss(LOGITS, TARGET, alpha=True), "alpha"),
    (lambda: L.focal_loss_grad(LOGITS, TARGET, alpha="0.25"), "alpha"),
    (lambda: L.smooth_l1_loss(LOGITS, TARGET, beta="1"), r"beta must be a real number >= 0.0, got '1'"),
    (lambda: L.smooth_l1_loss(LOGITS, TARGET, beta=math.nan), "beta"),
    (lambda: L.smooth_l1_grad(LOGITS, TARGET, beta=-0.5), "beta"),
    (lambda: L.l1_loss(LOGITS, TARGET, reduction="avg"), "reduction must be one of 'none', 'mean', 'sum'"),
    (lambda: L.reduce_loss(LOGITS, None), "reduction must be one of"),
    (lambda: L.mse_loss([1.0], TARGET), "pred must be a tensor"),
    (lambda: L.mse_grad(LOGITS, TARGET.long()), "target must be a floating-point tensor"),
    (lambda: L.bce_with_logits(LOGITS, torch.full((2, 2), math.nan)), r"target must hold probabilities in \[0, 1\]"),
])
def test_loss_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_losses_accept_numpy_scalars():
    ref = L.focal_loss(LOGITS, TARGET, alpha=0.25, gamma=2.0)
    torch.testing.assert_close(L.focal_loss(LOGITS, TARGET, alpha=np.float32(0.25), gamma=np.int64(2)), ref)
    torch.testing.assert_close(L.smooth_l1_loss(LOGITS, TARGET, beta=np.float64(1.0)),
                               torch.nn.functional.smooth_l1_loss(LOGITS, TARGET))


P = [torch.zeros(2, requires_grad=True)]


@pytest.mark.parametrize("cls,kwargs,match", [
    (optim.SGD, dict(lr=math.nan), "lr must be a real number >= 0.0"),
    (optim.SGD, dict(lr=True), "lr must be a real number"),
    (optim.SGD, dict(lr=math.inf), "lr"),
    (optim.SGD, dict(momentum=0.9, nesterov="no"), "nesterov must be True or False, got 'no'"),
    (optim.SGD, dict(momentum="0.9"), r"momentum must be a real number in \[0.0, 1.0\)"),
    (optim.PaperMomentum, dict(nesterov=1), "nesterov must be True or False"),
    (optim.Adagrad, dict(weight_decay=math.nan), "weight_decay"),
    (optim.RMSprop, dict(eps="1e-8"), "eps"),
    (optim.Adam, dict(bias_correction="yes"), "bias_correction must be True or False"),
    (optim.Adam, dict(betas=0.9), r"betas must be a sequence of real numbers in \[0.0, 1.0\), got 0.9"),
    (optim.Adam, dict(betas=(0.9, 0.999, 0.9)), "betas must be a sequence of 2 real numbers"),
    (optim.Adam, dict(betas=(0.9, math.nan)), r"betas\[1\] must be a real number"),
    (optim.AdamW, dict(bias_correction=0), "bias_correction"),
])
def test_optimiser_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(P, **kwargs)


def test_optimisers_accept_numpy_scalars_and_trajectory_checks_steps():
    opt = optim.Adam(P, lr=np.float32(0.1), betas=np.array([0.9, 0.99]), eps=np.float64(1e-8))
    assert opt.param_groups[0]["betas"] == (0.9, 0.99) and type(opt.param_groups[0]["lr"]) is float
    points = optim.trajectory(optim.SGD, lambda p: (p ** 2).sum(), [1.0], np.int64(2), lr=0.25)
    assert points[:, 0].tolist() == [1.0, 0.5, 0.25]
    for bad in (1.5, True, "2", -1):
        with pytest.raises(ValueError, match="steps must be an integer >= 0"):
            optim.trajectory(optim.SGD, lambda p: p.sum(), [0.0], bad)


Z = torch.randn(4, 3)


@pytest.mark.parametrize("call,match", [
    (lambda: D.soft_kl(Z, Z, 2.0, scale="no"), "scale must be True or False, got 'no'"),
    (lambda: D.soft_kl_grad(Z, Z, 2.0, scale=1), "scale must be True or False"),
    (lambda: D.check_temperature(math.nan), r"temperature must be a real number > 0.0"),
    (lambda: D.check_alpha("0.5"), r"alpha \(the weight of the soft term\) must be a real number in \[0.0, 1.0\]"),
    (lambda: D.kd_loss(Z, Z, torch.zeros(4, dtype=torch.long), 2.0, True), "alpha"),
    (lambda: D.soft_kl(Z, Z.long(), 2.0), "teacher_logits must be a floating-point tensor"),
    (lambda: D.soft_kl(Z[0], Z, 2.0), r"student_logits must be a tensor of shape \(N, C\)"),
])
def test_distillation_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_distillation_scale_and_numpy_scalars():
    v = torch.randn(4, 3)
    t = np.float32(3.0)
    torch.testing.assert_close(D.soft_kl(Z, v, t), D.soft_kl(Z, v, 3.0, scale=False) * 9)
    assert D.check_alpha(np.float64(0.5)) == 0.5 and D.check_temperature(np.int64(2)) == 2.0
