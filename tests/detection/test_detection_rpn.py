"""The region proposal network of cvlib.detection.proposals.rpn: head, anchor labels, mini-batch, loss, proposals.

The rules come from Ren et al. (2015), §3.1.2–3.1.3 and §3.3. torchvision is not installed, so the
labelling is compared with a loop written straight from the paper's sentences, and the loss with
torch's own cross entropy and smooth L1.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from cvlib.analysis.counts import conv2d_params
from cvlib.detection import anchors, box_iou, decode_boxes, nms
from cvlib.detection.proposals.rpn import (PROPOSAL_SETTINGS, RPNHead, clip_boxes, generate_proposals, inside_image,
                                 label_anchors, rpn_loss, rpn_regression_targets, sample_anchors)


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)


# --- head ------------------------------------------------------------------------------------------

def test_head_shapes_and_layout():
    torch.manual_seed(0)
    head = RPNHead(8, 16, num_anchors=9)
    x = torch.randn(2, 8, 5, 7)
    logits, deltas = head(x)
    assert logits.shape == (2, 5 * 7 * 9, 2) and deltas.shape == (2, 5 * 7 * 9, 4)
    raw_cls = head.cls_logits(head.relu(head.conv(x)))            # [N, 2k, H, W]
    raw_reg = head.bbox_pred(head.relu(head.conv(x)))
    # row (i·W + j)·k + a of the flat output is anchor a at cell (i, j), in the order of anchors()
    n, i, j, a = 1, 3, 4, 6
    row = (i * 7 + j) * 9 + a
    assert torch.allclose(logits[n, row], raw_cls[n, 2 * a:2 * a + 2, i, j])
    assert torch.allclose(deltas[n, row], raw_reg[n, 4 * a:4 * a + 4, i, j])
    assert anchors((5, 7), 16).shape[0] == logits.shape[1]


def test_head_parameters_match_the_paper():
    # Ren et al., §3.1.1 and footnote 6: output layer 512 × (4 + 2) × 9 = 2.8e4 weights; with the
    # 3×3 projection 3·3·512·512 + 512·6·9 = 2.4e6 (the paper counts weights, not biases).
    head = RPNHead(512, 512, 9)
    weights = sum(p.numel() for name, p in head.named_parameters() if name.endswith("weight"))
    assert weights == 3 * 3 * 512 * 512 + 512 * 6 * 9
    assert round(512 * 6 * 9, -3) == 28_000 and round(weights, -5) == 2_400_000
    total = sum(p.numel() for p in head.parameters())
    assert total == conv2d_params(512, 512, 3) + conv2d_params(512, 18, 1) + conv2d_params(512, 36, 1)
    zf = RPNHead(256, 256, 9)
    assert sum(p.numel() for p in zf.parameters()) == conv2d_params(256, 256, 3) + conv2d_params(256, 54, 1)


def test_head_init_and_bad_input():
    torch.manual_seed(0)
    head = RPNHead(64, 512, 9)
    assert abs(float(head.conv.weight.detach().std()) - 0.01) < 0.001 and float(head.conv.bias.detach().abs().max()) == 0
    for kwargs in ({"in_channels": 0}, {"mid_channels": -1}, {"num_anchors": 1.5}):
        args = {"in_channels": 4, "mid_channels": 4, "num_anchors": 9} | kwargs
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            RPNHead(**args)


# --- inside / clip ---------------------------------------------------------------------------------

def test_inside_image_and_clip():
    a = t([[0, 0, 20, 10], [-1, 0, 10, 10], [0, 0, 20.5, 10], [5, 5, 6, 6]])
    assert inside_image(a, (10, 20)).tolist() == [True, False, False, True]
    assert inside_image(a, (10, 20), allowed_border=1).tolist() == [True, True, True, True]
    assert torch.equal(clip_boxes(t([[-5, -2, 30, 8], [3, 4, 5, 60]]), (10, 20)), t([[0, 0, 20, 8], [3, 4, 5, 10]]))
    with pytest.raises(ValueError, match="image_size"):
        inside_image(a, (0, 20))


# --- labels ----------------------------------------------------------------------------------------

def test_labels_by_hand():
    gt = t([[0, 0, 10, 10]])
    a = t([[0, 0, 10, 12],      # IoU 100/120 = 0.83 > 0.7: positive
           [0, 0, 10, 10],      # IoU 1: positive (and the best)
           [5, 0, 15, 10],      # IoU 50/150 = 0.33: neither, ignored
           [0, 0, 7, 10],       # IoU exactly 0.7: not *higher* than 0.7, ignored
           [8, 0, 18, 10],      # IoU 20/180 = 0.11 < 0.3: negative
           [30, 30, 40, 40]])   # IoU 0: negative
    lab = label_anchors(a, gt)
    assert lab.labels.tolist() == [1, 1, -1, -1, 0, 0]
    assert lab.matched.tolist() == [0] * 6
    assert torch.allclose(lab.max_iou, t([100 / 120, 1, 1 / 3, 0.7, 20 / 180, 0]))


def test_best_anchor_is_positive_even_below_the_thresholds():
    # no anchor reaches 0.7, or even 0.3: the highest-IoU anchor(s) of the box are positive (rule i)
    gt = t([[0, 0, 10, 10]])
    a = t([[0, 0, 40, 40],      # IoU 100/1600 = 0.0625, the best: positive
           [50, 50, 60, 60],    # IoU 0: negative
           [0, 0, 40, 40]])     # a tie with the best: positive too ("the anchor/anchors")
    assert label_anchors(a, gt).labels.tolist() == [1, 0, 1]


def test_each_ground_truth_gets_its_best_anchor():
    gt = t([[0, 0, 10, 10], [100, 100, 110, 110]])
    a = t([[0, 0, 14, 14],         # IoU 100/196 = 0.51 with box 0: its best
           [0, 0, 20, 20],         # 0.25 with box 0: negative
           [100, 100, 116, 116],   # 100/256 = 0.39 with box 1: its best
           [95, 95, 120, 120]])    # 100/625 = 0.16: negative
    lab = label_anchors(a, gt)
    assert lab.labels.tolist() == [1, 0, 1, 0]
    assert lab.matched.tolist() == [0, 0, 1, 1]


def test_cross_boundary_anchors_are_ignored_and_never_the_best():
    gt = t([[0, 0, 10, 10]])
    a = t([[-1, 0, 10, 10],    # IoU 10/11 with the box, but crosses the border: ignored
           [0, 0, 12, 12],     # the best *inside* anchor (IoU 100/144 = 0.69): positive by rule (i)
           [10, 10, 20, 20]])  # negative
    assert label_anchors(a, gt, image_size=(20, 20)).labels.tolist() == [-1, 1, 0]
    assert label_anchors(a, gt).labels.tolist() == [1, -1, 0]                # no image: all count
    assert label_anchors(a, gt, (20, 20), allowed_border=1).labels.tolist() == [1, -1, 0]
    assert label_anchors(a, gt, (20, 20)).matched.tolist() == [-1, 0, 0]


def test_untouched_box_forces_nothing_and_no_boxes_means_all_negative():
    a = t([[0, 0, 10, 10], [10, 0, 20, 10]])
    assert label_anchors(a, t([[50, 50, 60, 60]])).labels.tolist() == [0, 0]
    empty = label_anchors(a, torch.zeros(0, 4, dtype=torch.float64), image_size=(10, 15))
    assert empty.labels.tolist() == [0, -1] and empty.matched.tolist() == [-1, -1]


def paper_labels(a, gt, image_size, pos=0.7, neg=0.3):
    """Ren et al. §3.1.2 and §3.3, one sentence at a time, with loops."""
    h, w = image_size
    inside = [bool(x1 >= 0 and y1 >= 0 and x2 <= w and y2 <= h) for x1, y1, x2, y2 in a.tolist()]
    iou = box_iou(a, gt)
    labels = []
    best_for_gt = [max(float(iou[i, g]) for i in range(len(a)) if inside[i]) for g in range(len(gt))]
    for i in range(len(a)):
        if not inside[i]:
            labels.append(-1)                         # cross-boundary: no contribution to the loss
            continue
        # "(i) the anchor/anchors with the highest IoU overlap with a ground-truth box"
        rule_i = any(float(iou[i, g]) == best_for_gt[g] and best_for_gt[g] > 0 for g in range(len(gt)))
        # "(ii) an anchor that has an IoU overlap higher than 0.7 with any ground-truth box"
        rule_ii = any(float(iou[i, g]) > pos for g in range(len(gt)))
        if rule_i or rule_ii:
            labels.append(1)
        elif all(float(iou[i, g]) < neg for g in range(len(gt))):   # "lower than 0.3 for all"
            labels.append(0)
        else:
            labels.append(-1)
    return labels


@pytest.mark.parametrize("seed", range(6))
def test_labels_match_the_papers_sentences(seed):
    g = torch.Generator().manual_seed(seed)
    a = anchors((6, 8), 8, scales=(12, 24, 40), dtype=torch.float64)
    xy = torch.rand(4, 2, generator=g, dtype=torch.float64) * 40
    wh = torch.rand(4, 2, generator=g, dtype=torch.float64) * 20 + 6
    gt = torch.cat([xy, xy + wh], dim=1)
    lab = label_anchors(a, gt, image_size=(48, 64))
    assert lab.labels.tolist() == paper_labels(a, gt, (48, 64))
    assert int((lab.labels == 1).sum()) >= 1


def test_labels_bad_input():
    a, gt = t([[0, 0, 1, 1]]), t([[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="negative_iou must be <= positive_iou"):
        label_anchors(a, gt, positive_iou=0.3, negative_iou=0.7)
    with pytest.raises(ValueError, match="positive_iou"):
        label_anchors(a, gt, positive_iou=1.5)
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        label_anchors(a, torch.zeros(3))


# --- mini-batch ------------------------------------------------------------------------------------

def labels_with(n_pos, n_neg, n_ignored=50):
    lab = torch.tensor([1] * n_pos + [0] * n_neg + [-1] * n_ignored)
    return lab[torch.randperm(len(lab), generator=torch.Generator().manual_seed(1))]


@pytest.mark.parametrize("n_pos, n_neg, want_pos, want_neg", [
    (300, 5000, 128, 128),     # many positives: 1:1
    (10, 5000, 10, 246),       # "fewer than 128 positive samples ... pad the mini-batch with negative ones"
    (10, 100, 10, 100),        # not enough anchors at all: take everything
    (0, 1000, 0, 256),
])
def test_sampling_counts(n_pos, n_neg, want_pos, want_neg):
    lab = labels_with(n_pos, n_neg)
    s = sample_anchors(lab, 256, 0.5, torch.Generator().manual_seed(0))
    assert int((s == 1).sum()) == want_pos and int((s == 0).sum()) == want_neg
    assert bool((lab[s == 1] == 1).all()) and bool((lab[s == 0] == 0).all())   # labels never change


def test_sampling_is_seeded_and_random():
    lab = labels_with(300, 5000)
    s1 = sample_anchors(lab, generator=torch.Generator().manual_seed(3))
    s2 = sample_anchors(lab, generator=torch.Generator().manual_seed(3))
    s3 = sample_anchors(lab, generator=torch.Generator().manual_seed(4))
    assert torch.equal(s1, s2) and not torch.equal(s1, s3)


def test_sampling_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        sample_anchors(torch.tensor([1, 0]), batch_size=0)
    with pytest.raises(ValueError, match="positive_fraction"):
        sample_anchors(torch.tensor([1, 0]), positive_fraction=1.5)
    with pytest.raises(ValueError, match="labels"):
        sample_anchors(torch.tensor([2, 0]))


# --- loss ------------------------------------------------------------------------------------------

def test_regression_targets_only_for_positives():
    a = t([[0, 0, 10, 10], [0, 0, 20, 20], [5, 5, 15, 15]])
    gt = t([[0, 0, 10, 20], [5, 5, 15, 15]])
    labels = torch.tensor([1, 0, 1])
    targets = rpn_regression_targets(a, gt, torch.tensor([0, 0, 1]), labels)
    # anchor 0 → box 0: centre moves 5 down on a height of 10 → t_y = 0.5, t_h = log 2
    assert torch.allclose(targets, t([[0, 0.5, 0, math.log(2)], [0, 0, 0, 0], [0, 0, 0, 0]]))


def test_rpn_loss_is_equation_1():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 2, generator=g, dtype=torch.float64)
    deltas = torch.randn(6, 4, generator=g, dtype=torch.float64)
    targets = torch.randn(6, 4, generator=g, dtype=torch.float64)
    labels = torch.tensor([1, 0, -1, 1, 0, 0])
    cls, reg = rpn_loss(logits, deltas, labels, targets, n_reg=2400, lam=10, n_cls=256)
    used = labels >= 0
    want_cls = F.cross_entropy(logits[used], labels[used], reduction="sum") / 256
    pos = labels == 1
    want_reg = 10 / 2400 * F.smooth_l1_loss(deltas[pos], targets[pos], reduction="sum", beta=1.0)
    assert torch.allclose(cls, want_cls) and torch.allclose(reg, want_reg)
    # by default N_cls is the number of sampled anchors (5 here), and ignored anchors change nothing
    cls5, _ = rpn_loss(logits, deltas, labels, targets, n_reg=2400)
    assert torch.allclose(cls5, F.cross_entropy(logits[used], labels[used]))
    other = deltas.clone()
    other[2] += 100
    other[1] += 100                                    # a negative: p* = 0, no box term
    assert torch.allclose(rpn_loss(logits, other, labels, targets, 2400)[1], rpn_loss(logits, deltas, labels, targets, 2400)[1])


def test_rpn_loss_bad_input():
    z2, z4, lab = torch.zeros(3, 2), torch.zeros(3, 4), torch.tensor([1, 0, -1])
    with pytest.raises(ValueError, match="expected logits"):
        rpn_loss(z2, torch.zeros(3, 5), lab, z4, n_reg=1)
    with pytest.raises(ValueError, match="n_reg"):
        rpn_loss(z2, z4, lab, z4, n_reg=0)


# --- proposals -------------------------------------------------------------------------------------

def test_proposals_by_hand():
    a = t([[0, 0, 10, 10],        # score 0.9
           [1, 0, 11, 10],        # IoU 90/110 = 0.82 with the first: suppressed by NMS at 0.7
           [-10, 20, 10, 40],     # crosses the border: clipped to (0, 20, 10, 30)
           [40, 20, 41, 21],      # 1×1: smaller than min_size, dropped before NMS
           [20, 0, 30, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95, 0.1], dtype=torch.float64)
    deltas = torch.zeros(5, 4, dtype=torch.float64)
    boxes, s = generate_proposals(a, scores, deltas, (30, 50), 100, 100, 0.7, min_size=2)
    assert torch.equal(boxes, t([[0, 0, 10, 10], [0, 20, 10, 30], [20, 0, 30, 10]]))
    assert s.tolist() == [0.9, 0.7, 0.1]
    top1, _ = generate_proposals(a, scores, deltas, (30, 50), 100, 1, 0.7, min_size=2)   # post-NMS top-N
    assert torch.equal(top1, t([[0, 0, 10, 10]]))
    pre1, _ = generate_proposals(a, scores, deltas, (30, 50), 1, 100, 0.7, min_size=0)   # pre-NMS top-N
    assert torch.equal(pre1, t([[40, 20, 41, 21]]))


def test_proposals_decode_and_agree_with_the_pipeline_written_out():
    g = torch.Generator().manual_seed(1)
    a = anchors((4, 5), 16, scales=(16, 32), dtype=torch.float64)
    scores = torch.rand(a.shape[0], generator=g, dtype=torch.float64)
    deltas = 0.3 * torch.randn(a.shape[0], 4, generator=g, dtype=torch.float64)
    boxes, s = generate_proposals(a, scores, deltas, (64, 80), 25, 10, 0.7, min_size=8)
    d = clip_boxes(decode_boxes(a, deltas), (64, 80))
    big = ((d[:, 2] - d[:, 0]) >= 8) & ((d[:, 3] - d[:, 1]) >= 8)
    d, sc = d[big], scores[big]
    top = sc.argsort(descending=True)[:25]
    keep = nms(d[top], sc[top], 0.7)[:10]
    assert torch.equal(boxes, d[top][keep]) and torch.equal(s, sc[top][keep])
    assert bool((boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 80).all() and (boxes[:, 3] <= 64).all())
    assert bool((box_iou(boxes, boxes).fill_diagonal_(0) <= 0.7).all())


def test_proposals_are_detached_and_checked():
    a = t([[0, 0, 10, 10]])
    scores = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    deltas = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    boxes, s = generate_proposals(a, scores, deltas, 20)
    assert not boxes.requires_grad and not s.requires_grad
    with pytest.raises(ValueError, match="scores must be"):
        generate_proposals(a, torch.zeros(2), deltas, 20)
    with pytest.raises(ValueError, match="post_nms_top_n"):
        generate_proposals(a, scores, deltas, 20, post_nms_top_n=0)


def test_proposal_settings_are_the_released_codes():
    # paper §3.3: 2000 proposals to train Fast R-CNN, 300 at test time, NMS at IoU 0.7
    assert PROPOSAL_SETTINGS["train"]["post_nms_top_n"] == 2000
    assert PROPOSAL_SETTINGS["test"]["post_nms_top_n"] == 300
    assert PROPOSAL_SETTINGS["train"]["nms_threshold"] == PROPOSAL_SETTINGS["test"]["nms_threshold"] == 0.7
