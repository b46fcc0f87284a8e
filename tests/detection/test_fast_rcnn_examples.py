"""Fast R-CNN's pieces as the notebook uses them: the multi-task loss, its indicator and λ, the
backward pass of RoI max pooling through overlapping RoIs (the paper's Eq. 4) and the box targets.

The loss is compared with torch's own ``cross_entropy`` and ``smooth_l1_loss``; the RoI-pooling
gradients with sums worked out by hand.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from cvlib.detection import decode_boxes, encode_boxes, fast_rcnn_loss, roi_pool
from cvlib.train.losses import smooth_l1_loss


def smooth_l1(x, beta=1.0):
    """Element-wise smooth L1 of a residual."""
    return smooth_l1_loss(x, torch.zeros_like(x), beta, reduction="none")


def case(seed=0, r=6, k=3):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(r, k + 1, generator=g, dtype=torch.float64)
    deltas = 2 * torch.randn(r, 4 * (k + 1), generator=g, dtype=torch.float64)
    labels = torch.randint(0, k + 1, (r,), generator=g)
    labels[0], labels[1] = 0, 1                      # at least one background and one object
    targets = torch.randn(r, 4, generator=g, dtype=torch.float64)
    return logits, deltas, labels, targets


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("lam", [1.0, 0.5, 3.0])
def test_loss_matches_torch(seed, lam):
    logits, deltas, labels, targets = case(seed)
    cls = F.cross_entropy(logits, labels, reduction="none")
    loc = torch.zeros_like(cls)
    for i, u in enumerate(labels.tolist()):
        if u >= 1:
            t_u = deltas[i, 4 * u:4 * u + 4]
            loc[i] = F.smooth_l1_loss(t_u, targets[i], reduction="sum", beta=1.0)
    expected = (cls + lam * loc).mean()
    assert torch.allclose(fast_rcnn_loss(logits, deltas, labels, targets, lam=lam), expected)


def test_loss_by_hand_one_roi():
    # p = softmax(0, log 3) = (1/4, 3/4); u = 1; t^1 − v = (0.5, −2, 0, 0) → 0.125 + 1.5
    logits = torch.tensor([[0.0, math.log(3.0)]])
    deltas = torch.tensor([[9.0, 9.0, 9.0, 9.0, 0.5, -2.0, 0.0, 0.0]])
    loss = fast_rcnn_loss(logits, deltas, torch.tensor([1]), torch.zeros(1, 4))
    assert math.isclose(float(loss), -math.log(0.75) + 0.125 + 1.5, rel_tol=1e-6)


def test_background_and_other_classes_get_no_box_gradient():
    logits, deltas, labels, targets = case(1)
    deltas.requires_grad_(True)
    fast_rcnn_loss(logits, deltas, labels, targets).backward()
    g = deltas.grad.view(len(labels), -1, 4)
    for i, u in enumerate(labels.tolist()):
        others = [c for c in range(g.shape[1]) if c != u or u == 0]
        assert torch.all(g[i, others] == 0)
        if u >= 1:   # smooth L1's gradient: the error inside (−1, 1), its sign outside; / R for the mean
            err = deltas[i, 4 * u:4 * u + 4].detach() - targets[i]
            assert torch.allclose(g[i, u] * len(labels), err.clamp(-1, 1))


def test_smooth_l1_formula_of_the_notes():
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.999, 1.0, 2.5])
    expected = torch.tensor([2.5, 0.5, 0.125, 0.0, 0.5 * 0.999 ** 2, 0.5, 2.0])
    assert torch.allclose(smooth_l1(x), expected)


def test_roi_pool_backward_sums_over_overlapping_rois():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 2] = 5.0                               # the maximum of both RoIs below
    x[0, 0, 3, 0] = 1.0
    x.requires_grad_(True)
    rois = torch.tensor([[0, 0, 0, 2, 2], [0, 1, 1, 3, 3], [0, 0, 2, 1, 3]], dtype=torch.float32)
    y = roi_pool(x, rois, 1)                          # one bin per RoI
    (y.flatten() * torch.tensor([2.0, 3.0, 7.0])).sum().backward()
    expected = torch.zeros(4, 4)
    expected[1, 2] = 2.0 + 3.0                        # chosen by RoIs 0 and 1
    expected[3, 0] = 7.0                              # chosen by RoI 2 only
    assert torch.equal(x.grad[0, 0], expected)


def test_roi_pool_backward_sums_over_overlapping_bins():
    # 4 pixels into 3 Caffe bins: [0, 2), [1, 3), [2, 4); pixel 1 (and 2) sit in two bins
    x = torch.tensor([[[[0.0, 9.0, 1.0, 2.0]]]], requires_grad=True)
    y = roi_pool(x, torch.tensor([[0.0, 0.0, 0.0, 3.0, 0.0]]), (1, 3))
    assert y.flatten().tolist() == [9.0, 9.0, 2.0]
    (y.flatten() * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.flatten().tolist() == [0.0, 11.0, 0.0, 100.0]


def test_targets_are_the_rcnn_formulas_and_invert():
    p = torch.tensor([[10.0, 20.0, 50.0, 100.0]])     # centre (30, 60), 40 × 80
    g = torch.tensor([[20.0, 10.0, 100.0, 90.0]])     # centre (60, 50), 80 × 80
    v = encode_boxes(p, g)
    assert torch.allclose(v, torch.tensor([[30 / 40, -10 / 80, math.log(2.0), 0.0]]))
    assert torch.allclose(decode_boxes(p, v), g)


@pytest.mark.parametrize("change, match", [
    ("deltas", "expected class_logits"),
    ("labels_shape", "expected class_logits"),
    ("label_high", "labels must lie"),
    ("label_negative", "labels must lie"),
])
def test_loss_bad_input(change, match):
    logits, deltas, labels, targets = case(2)
    if change == "deltas":
        deltas = deltas[:, :-4]
    elif change == "labels_shape":
        labels = labels[:-1]
    elif change == "label_high":
        labels[2] = logits.shape[1]
    else:
        labels[2] = -1
    with pytest.raises(ValueError, match=match):
        fast_rcnn_loss(logits, deltas, labels, targets)


def test_smooth_l1_bad_beta():
    with pytest.raises(ValueError, match="beta"):
        smooth_l1(torch.zeros(3), beta=-1.0)
