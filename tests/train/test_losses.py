import math

import pytest
import torch
import torch.nn.functional as F

from cvlib.detection import losses as DL
from cvlib.train import losses as L
from cvlib.nn.activations import cross_entropy as activations_cross_entropy


def _rand(*shape, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale


# ---------------------------------------------------------------------------------- reuse

def test_reexports_are_the_existing_functions():
    assert L.cross_entropy is activations_cross_entropy


def test_cross_entropy_matches_torch():
    z = _rand(6, 4, seed=1)
    y = torch.tensor([0, 3, 1, 1, 2, 0])
    torch.testing.assert_close(L.cross_entropy(z, y), F.cross_entropy(z, y))


# ---------------------------------------------------------------------------------- BCE

@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_matches_torch(reduction):
    x = _rand(200, seed=2)
    y = torch.rand(200, generator=torch.Generator().manual_seed(3), dtype=torch.float64)  # soft targets too
    torch.testing.assert_close(L.bce_with_logits(x, y, reduction),
                               F.binary_cross_entropy_with_logits(x, y, reduction=reduction))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bce_extreme_logits(dtype):
    x = torch.tensor([-1000.0, -1000.0, 1000.0, 1000.0, 0.0], dtype=dtype)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0], dtype=dtype)
    ours = L.bce_with_logits(x, y, "none")
    torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(x, y, reduction="none"))
    # independent values: −log σ(−1000) = 0, −log σ(1000)... = 1000 for the wrong label, log 2 at 0
    torch.testing.assert_close(ours, torch.tensor([0.0, 1000.0, 1000.0, 0.0, math.log(2)], dtype=dtype))
    assert torch.isfinite(ours).all()
    naive = -(y * torch.log(torch.sigmoid(x)) + (1 - y) * torch.log(1 - torch.sigmoid(x)))
    assert not torch.isfinite(naive).all()  # what the stable form avoids


def test_bce_grad_matches_autograd():
    x = _rand(50, seed=4).requires_grad_()
    y = (torch.rand(50, generator=torch.Generator().manual_seed(5)) > 0.5).double()
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    torch.testing.assert_close(L.bce_with_logits_grad(x.detach(), y), x.grad)


# ---------------------------------------------------------------------------------- focal loss

def _focal_reference(x, y, alpha, gamma):
    """Eq. (5) of Lin et al. written with probabilities, for moderate logits only."""
    p = torch.sigmoid(x)
    p_t = torch.where(y == 1, p, 1 - p)
    a_t = torch.where(y == 1, torch.full_like(x, alpha), torch.full_like(x, 1 - alpha))
    return -a_t * (1 - p_t) ** gamma * torch.log(p_t)


@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (0.5, 0.5), (0.75, 1.0), (0.25, 5.0)])
def test_focal_matches_definition(alpha, gamma):
    x = _rand(300, seed=6)
    y = (torch.rand(300, generator=torch.Generator().manual_seed(7)) > 0.7).double()
    torch.testing.assert_close(L.focal_loss(x, y, alpha, gamma, "none"), _focal_reference(x, y, alpha, gamma))


@pytest.mark.parametrize("alpha", [0.25, 0.75, None])
def test_focal_gamma_zero_is_alpha_weighted_bce(alpha):
    x = _rand(300, seed=8)
    y = (torch.rand(300, generator=torch.Generator().manual_seed(9)) > 0.5).double()
    weight = torch.ones_like(y) if alpha is None else alpha * y + (1 - alpha) * (1 - y)
    ref = F.binary_cross_entropy_with_logits(x, y, weight=weight, reduction="mean")
    torch.testing.assert_close(L.focal_loss(x, y, alpha, 0.0), ref)


def test_focal_extreme_logits_are_finite():
    x = torch.tensor([-1000.0, 1000.0, -1000.0, 1000.0])
    y = torch.tensor([0.0, 1.0, 1.0, 0.0])
    loss = L.focal_loss(x, y, 0.25, 2.0, "none")
    torch.testing.assert_close(loss, torch.tensor([0.0, 0.0, 0.25 * 1000.0, 0.75 * 1000.0]))


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 5.0])
def test_focal_grad_matches_autograd(gamma):
    x = _rand(100, seed=10).requires_grad_()
    y = (torch.rand(100, generator=torch.Generator().manual_seed(11)) > 0.5).double()
    _focal_reference(x, y, 0.25, gamma).sum().backward()
    torch.testing.assert_close(L.focal_loss_grad(x.detach(), y, 0.25, gamma), x.grad)


def test_focal_paper_ratios():
    # Lin et al.: with γ = 2, p_t = 0.9 gives a 100× lower loss than CE, p_t ≈ 0.968 about 1000×.
    for p_t, ratio in [(0.9, 100.0), (0.968, 1000.0)]:
        x = torch.tensor([math.log(p_t / (1 - p_t))], dtype=torch.float64)  # σ(x) = p_t, label 1
        y = torch.ones(1, dtype=torch.float64)
        ce = F.binary_cross_entropy_with_logits(x, y)
        fl = L.focal_loss(x, y, alpha=None, gamma=2.0)
        assert math.isclose((ce / fl).item(), ratio, rel_tol=0.03)


# ---------------------------------------------------------------------------------- regression losses

@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_regression_losses_match_torch(reduction):
    pred, target = _rand(40, 4, seed=12), _rand(40, 4, seed=13)
    torch.testing.assert_close(L.l1_loss(pred, target, reduction), F.l1_loss(pred, target, reduction=reduction))
    torch.testing.assert_close(L.mse_loss(pred, target, reduction), F.mse_loss(pred, target, reduction=reduction))
    for beta in (0.0, 0.5, 1.0, 2.0):
        ours = L.smooth_l1_loss(pred, target, beta, reduction)
        torch.testing.assert_close(ours, F.smooth_l1_loss(pred, target, reduction=reduction, beta=beta))
        if beta > 0:  # Huber with δ = β is β · smooth L1
            torch.testing.assert_close(beta * ours, F.huber_loss(pred, target, reduction=reduction, delta=beta))


@pytest.mark.parametrize("name,beta", [("l1", None), ("mse", None), ("smooth_l1", 1.0), ("smooth_l1", 0.5)])
def test_regression_grads_match_autograd(name, beta):
    pred = torch.cat([_rand(60, seed=14), torch.tensor([0.0, 0.5, -0.5, 1.0, -1.0], dtype=torch.float64)])
    target = torch.zeros_like(pred)
    p = pred.clone().requires_grad_()
    if name == "l1":
        F.l1_loss(p, target, reduction="sum").backward()
        ours = L.l1_grad(pred, target)
    elif name == "mse":
        F.mse_loss(p, target, reduction="sum").backward()
        ours = L.mse_grad(pred, target)
    else:
        F.smooth_l1_loss(p, target, reduction="sum", beta=beta).backward()
        ours = L.smooth_l1_grad(pred, target, beta)
    torch.testing.assert_close(ours, p.grad)


def test_smooth_l1_is_fast_rcnn_eq3():
    r = torch.linspace(-4, 4, 801, dtype=torch.float64)
    eq3 = torch.where(r.abs() < 1, 0.5 * r * r, r.abs() - 0.5)  # Girshick (2015), Eq. (3)
    torch.testing.assert_close(L.smooth_l1_loss(r, torch.zeros_like(r), reduction="none"), eq3)
    assert L.smooth_l1_grad(r, torch.zeros_like(r)).abs().max() <= 1


# ---------------------------------------------------------------------------------- boxes

def _boxes(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_enclosing_box():
    c = DL.enclosing_box(_boxes([0, 0, 2, 2], [1, 1, 2, 5]), _boxes([3, 1, 4, 4], [0, 0, 1, 1]))
    torch.testing.assert_close(c, _boxes([0, 0, 4, 4], [0, 0, 2, 5]))


def test_giou_hand_worked_example():
    # A = (0,0,2,2), B = (1,1,3,3): I = 1, U = 4 + 4 − 1 = 7, C = (0,0,3,3) of area 9.
    # IoU = 1/7, GIoU = 1/7 − (9 − 7)/9 = 1/7 − 2/9 = −5/63.
    a, b = _boxes([0, 0, 2, 2]), _boxes([1, 1, 3, 3])
    torch.testing.assert_close(DL.paired_iou(a, b), torch.tensor([1 / 7], dtype=torch.float64))
    torch.testing.assert_close(DL.giou(a, b), torch.tensor([-5 / 63], dtype=torch.float64))
    # Disjoint: A = (0,0,1,1), B = (2,0,3,1): IoU = 0, U = 2, C = (0,0,3,1) of area 3, GIoU = −1/3.
    torch.testing.assert_close(DL.giou(_boxes([0, 0, 1, 1]), _boxes([2, 0, 3, 1])),
                               torch.tensor([-1 / 3], dtype=torch.float64))


def test_giou_identical_and_far():
    a = _boxes([0, 0, 2, 3], [5, 5, 6, 9])
    torch.testing.assert_close(DL.giou(a, a), torch.ones(2, dtype=torch.float64))
    far = DL.giou(_boxes([0, 0, 1, 1]), _boxes([1000, 1000, 1001, 1001]))
    assert -1 < far.item() < -0.999  # |A ∪ B| / |C| = 2 / 1001² → 0


def test_giou_bounds_and_lower_bound_on_random_pairs():
    g = torch.Generator().manual_seed(15)
    xy = torch.rand(2, 2000, 2, generator=g, dtype=torch.float64) * 10
    wh = torch.rand(2, 2000, 2, generator=g, dtype=torch.float64) * 5 + 0.01
    a, b = torch.cat([xy[0], xy[0] + wh[0]], 1), torch.cat([xy[1], xy[1] + wh[1]], 1)
    gi, iou = DL.giou(a, b), DL.paired_iou(a, b)
    assert bool((gi > -1).all()) and bool((gi <= 1).all())
    assert bool((gi <= iou + 1e-12).all())
    torch.testing.assert_close(gi, DL.giou(b, a))  # symmetric
    torch.testing.assert_close(gi, DL.giou(7 * a, 7 * b))  # scale invariant


def test_iou_loss_has_no_gradient_without_overlap_but_giou_has():
    target = _boxes([0, 0, 1, 1])
    pred = _boxes([2, 0, 3, 1]).requires_grad_()
    DL.iou_loss(pred, target).backward()
    assert bool((pred.grad == 0).all())
    pred.grad = None
    DL.giou_loss(pred, target).backward()
    assert pred.grad[0, 0] > 0  # moving the box left (towards the target) lowers the loss


def test_box_losses_values():
    a = _boxes([0, 0, 2, 2], [0, 0, 1, 1])
    b = _boxes([1, 1, 3, 3], [0, 0, 1, 1])
    torch.testing.assert_close(DL.iou_loss(a, b, "none"), torch.tensor([6 / 7, 0.0], dtype=torch.float64))
    torch.testing.assert_close(DL.giou_loss(a, b, "none"), torch.tensor([1 + 5 / 63, 0.0], dtype=torch.float64))


# ---------------------------------------------------------------------------------- bad inputs

def test_bad_inputs():
    x = torch.zeros(3)
    with pytest.raises(ValueError, match="gamma"):
        L.focal_loss(x, x, gamma=-1.0)
    for alpha in (-0.1, 1.5):
        with pytest.raises(ValueError, match="alpha"):
            L.focal_loss(x, x, alpha=alpha)
    with pytest.raises(ValueError, match="same shape"):
        L.bce_with_logits(x, torch.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        L.bce_with_logits(x, torch.tensor([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="floating-point"):
        L.mse_loss(torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="reduction"):
        L.l1_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="binary"):
        L.focal_loss_grad(x, torch.full((3,), 0.5))
    with pytest.raises(ValueError, match="beta"):
        L.smooth_l1_grad(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="x2 < x1"):
        DL.giou(_boxes([2, 0, 1, 1]), _boxes([0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        DL.giou_loss(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="as many boxes"):
        DL.iou_loss(_boxes([0, 0, 1, 1]), _boxes([0, 0, 1, 1], [0, 0, 2, 2]))
    with pytest.raises(ValueError, match="as many boxes"):
        DL.enclosing_box(_boxes([0, 0, 1, 1]), _boxes([0, 0, 1, 1], [0, 0, 2, 2]))
