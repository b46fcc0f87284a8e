"""IoU, NMS, batched NMS, box coding and the losses of cvlib.detection.

torchvision is not installed here, so NMS is compared with the greedy loop of
``tests/detection/reference.py`` and with hand-computed cases; smooth L1 with torch's own loss.
"""

import importlib
import math

import pytest
import torch
import torch.nn.functional as F

from cvlib.detection import batched_nms, box_iou, decode_boxes, encode_boxes, fast_rcnn_loss, nms
from cvlib.train.losses import smooth_l1_loss
from reference import naive_iou, naive_nms

nms_module = importlib.import_module("cvlib.detection.nms")  # the package's `nms` is the function


def smooth_l1(x, beta=1.0):
    """Element-wise smooth L1 of a residual."""
    return smooth_l1_loss(x, torch.zeros_like(x), beta, reduction="none")


def random_boxes(n, seed, size=100.0, max_wh=40.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=dtype) * size
    wh = torch.rand(n, 2, generator=g, dtype=dtype) * max_wh + 1
    return torch.cat([xy, xy + wh], dim=1)


# --- IoU -------------------------------------------------------------------------------------------

def test_iou_hand_cases():
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 1, 3, 3], [0, 0, 2, 2], [2, 0, 4, 2], [5, 5, 6, 6], [0, 0, 2, 1]])
    # overlap 1×1 of two 2×2 boxes: 1 / (4 + 4 − 1); identical; touching edge; disjoint; half
    expected = torch.tensor([[1 / 7, 1.0, 0.0, 0.0, 0.5]])
    assert torch.allclose(box_iou(a, b), expected)


@pytest.mark.parametrize("seed", range(5))
def test_iou_matches_naive(seed):
    b1, b2 = random_boxes(13, seed), random_boxes(7, seed + 100)
    expected = torch.tensor([[naive_iou(p, q) for q in b2.tolist()] for p in b1.tolist()], dtype=torch.float64)
    assert torch.allclose(box_iou(b1, b2), expected, atol=1e-12)


def test_iou_empty_shapes():
    assert box_iou(torch.zeros(0, 4), random_boxes(3, 0).float()).shape == (0, 3)


# --- NMS -------------------------------------------------------------------------------------------

def test_nms_hand_case():
    boxes = torch.tensor([[20.0, 20, 30, 30], [1, 1, 11, 11], [0, 0, 10, 10]])
    scores = torch.tensor([0.7, 0.8, 0.9])
    # IoU of the two overlapping boxes: 9·9 / (100 + 100 − 81) = 81/119 ≈ 0.68
    assert nms(boxes, scores, 0.5).tolist() == [2, 0]          # best first; box 1 suppressed
    assert nms(boxes, scores, 0.7).tolist() == [2, 1, 0]       # 0.68 <= 0.7: nothing suppressed
    assert nms(boxes, scores, 0.0).tolist() == [2, 0]          # any overlap suppresses


def test_nms_threshold_is_strict():
    boxes = torch.tensor([[0.0, 0, 2, 1], [0, 0, 1, 1]])       # IoU exactly 1/2
    scores = torch.tensor([0.9, 0.8])
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]          # torchvision drops only IoU > threshold
    assert nms(boxes, scores, 0.49).tolist() == [0]


def test_nms_empty_returns_int64():
    keep = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert keep.dtype == torch.int64 and keep.shape == (0,)


@pytest.mark.parametrize("seed", range(25))
def test_nms_matches_greedy_loop(seed):
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(0, 120, (1,), generator=g))
    boxes = random_boxes(n, seed, size=60.0)
    scores = torch.rand(n, generator=g, dtype=torch.float64)
    if seed % 3 == 0:
        scores = (scores * 4).floor()                            # many ties: input order decides
    thr = [0.0, 0.3, 0.5, 0.7, 1.0][seed % 5]
    assert torch.equal(nms(boxes, scores, thr), naive_nms(boxes, scores, thr))


def test_nms_loops_once_per_kept_box(monkeypatch):
    calls = []
    original = nms_module._iou_one
    monkeypatch.setattr(nms_module, "_iou_one", lambda b, o: calls.append(1) or original(b, o))
    keep = nms(random_boxes(300, 1, size=50.0), torch.rand(300, dtype=torch.float64), 0.3)
    assert len(calls) == len(keep) < 300


def test_batched_nms_matches_per_class_loop():
    for seed in range(10):
        g = torch.Generator().manual_seed(seed)
        boxes = random_boxes(80, seed, size=40.0) - 20.0           # negative coordinates too
        scores = torch.rand(80, generator=g, dtype=torch.float64)
        idxs = torch.randint(0, 4, (80,), generator=g)
        expected = []
        for c in idxs.unique():
            members = (idxs == c).nonzero().squeeze(1)
            expected += members[naive_nms(boxes[members], scores[members], 0.5)].tolist()
        expected.sort(key=lambda i: -float(scores[i]))
        assert batched_nms(boxes, scores, idxs, 0.5).tolist() == expected


def test_batched_nms_classes_do_not_suppress_each_other():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8])
    assert batched_nms(boxes, scores, torch.tensor([0, 1]), 0.5).tolist() == [0, 1]
    assert batched_nms(boxes, scores, torch.tensor([1, 1]), 0.5).tolist() == [0]


@pytest.mark.parametrize("call,match", [
    (lambda: nms(torch.zeros(3, 5), torch.zeros(3), 0.5), r"shape \[N, 4\]"),
    (lambda: nms(torch.tensor([[5.0, 0, 1, 1]]), torch.zeros(1), 0.5), "x2 < x1"),
    (lambda: nms(torch.tensor([[0.0, 5, 1, 1]]), torch.zeros(1), 0.5), "y2 < y1"),
    (lambda: nms(torch.zeros(3, 4), torch.zeros(2), 0.5), "same length"),
    (lambda: nms(torch.zeros(3, 4), torch.zeros(3), 1.5), r"iou_threshold must be a real number in \[0\.0, 1\.0\]"),
    (lambda: nms(torch.zeros(3, 4), torch.zeros(3), -0.1), "iou_threshold"),
    (lambda: nms(torch.zeros(3, 4, dtype=torch.long), torch.zeros(3), 0.5), "floating"),
    (lambda: batched_nms(torch.zeros(3, 4), torch.zeros(3), torch.zeros(2, dtype=torch.long), 0.5), "idxs"),
    (lambda: batched_nms(torch.zeros(3, 4), torch.zeros(3), torch.zeros(3), 0.5), "integer"),
])
def test_nms_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- box coding ------------------------------------------------------------------------------------

def test_encode_hand_case():
    proposal = torch.tensor([[0.0, 0, 10, 20]])   # centre (5, 10), 10 × 20
    gt = torch.tensor([[5.0, 0, 25, 20]])         # centre (15, 10), 20 × 20
    t = encode_boxes(proposal, gt)
    assert torch.allclose(t, torch.tensor([[1.0, 0.0, math.log(2), 0.0]]))
    assert torch.allclose(encode_boxes(proposal, gt, (10, 10, 5, 5)), torch.tensor([[10.0, 0, 5 * math.log(2), 0]]))


@pytest.mark.parametrize("weights", [(1, 1, 1, 1), (10, 10, 5, 5)])
def test_encode_decode_round_trip(weights):
    for seed in range(5):
        proposals, gt = random_boxes(50, seed), random_boxes(50, seed + 7)
        deltas = encode_boxes(proposals, gt, weights)
        assert torch.allclose(decode_boxes(proposals, deltas, weights), gt, rtol=0, atol=1e-10)


def test_decode_zero_deltas_and_clip():
    proposals = random_boxes(5, 3)
    assert torch.allclose(decode_boxes(proposals, torch.zeros(5, 4)), proposals)
    huge = torch.tensor([[0.0, 0.0, 100.0, 0.0]])
    box = decode_boxes(torch.tensor([[0.0, 0, 16, 16]]), huge)
    assert torch.isclose(box[0, 2] - box[0, 0], torch.tensor(1000.0))   # 16 · exp(log(1000/16))


@pytest.mark.parametrize("call,match", [
    (lambda: encode_boxes(torch.tensor([[0.0, 0, 0, 5]]), torch.tensor([[0.0, 0, 1, 1]])), "zero width"),
    (lambda: encode_boxes(torch.zeros(2, 4) + torch.tensor([0, 0, 1, 1]), torch.zeros(3, 4)), "one to one"),
    (lambda: encode_boxes(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([[0.0, 0, 1, 1]]), (1, 1, 0, 1)),
     r"weights\[2\] must be a real number > 0"),
    (lambda: decode_boxes(torch.tensor([[0.0, 0, 1, 1]]), torch.zeros(2, 4)), "shape of proposals"),
])
def test_coder_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- losses ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
def test_smooth_l1_matches_torch(beta):
    x = torch.cat([torch.linspace(-4, 4, 81, dtype=torch.float64), torch.tensor([beta, -beta], dtype=torch.float64)])
    expected = F.smooth_l1_loss(x, torch.zeros_like(x), reduction="none", beta=beta)
    assert torch.allclose(smooth_l1(x, beta), expected, atol=1e-15)


def test_smooth_l1_notes_form_and_gradient():
    x = torch.tensor([0.5, -2.0, 1.0], requires_grad=True)
    y = smooth_l1(x)                                    # the notes' β = 1
    assert torch.allclose(y, torch.tensor([0.125, 1.5, 0.5]))
    y.sum().backward()
    assert torch.allclose(x.grad, torch.tensor([0.5, -1.0, 1.0]))   # x inside, ±1 outside
    with pytest.raises(ValueError, match="beta"):
        smooth_l1(x, -1.0)


def test_fast_rcnn_loss():
    g = torch.Generator().manual_seed(0)
    logits, deltas = torch.randn(4, 3, generator=g), torch.randn(4, 12, generator=g)
    labels, targets = torch.tensor([0, 1, 2, 1]), torch.randn(4, 4, generator=g)
    expected = 0.0
    for r in range(4):
        u = int(labels[r])
        cls = -torch.log_softmax(logits[r], 0)[u]
        loc = F.smooth_l1_loss(deltas[r, 4 * u:4 * u + 4], targets[r], reduction="sum") if u >= 1 else 0.0
        expected += (cls + 2.0 * loc) / 4
    assert torch.isclose(fast_rcnn_loss(logits, deltas, labels, targets, lam=2.0), expected)
    with pytest.raises(ValueError, match="labels"):
        fast_rcnn_loss(logits, deltas, torch.tensor([0, 1, 3, 1]), targets)
    with pytest.raises(ValueError, match="box_deltas"):
        fast_rcnn_loss(logits, deltas[:, :8], labels, targets)
