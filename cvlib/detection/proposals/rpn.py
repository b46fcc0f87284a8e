"""The region proposal network (RPN, 区域建议网络) of Faster R-CNN (Ren et al., 2015).

**Head.** On the last shared feature map, an ``n × n`` convolution (``n = 3``; 512 channels for VGG-16,
256 for ZF) with ReLU, then two sibling ``1 × 1`` convolutions: ``cls`` with ``2k`` outputs (object /
not-object scores of the ``k`` anchors of a position) and ``reg`` with ``4k`` (their offsets
``t_x, t_y, t_w, t_h``). :class:`RPNHead` returns them flattened in the order of
:func:`~cvlib.detection.anchors.anchors` — position by position (row-major), then anchor by anchor —
with channel ``2a + c`` holding score ``c`` (0 = not object, 1 = object) of anchor ``a`` and channel
``4a + j`` offset ``j``. (Caffe's prototxt puts all ``k`` background scores before the ``k`` object
scores instead; the layout is a convention, not a difference in the model.)

**Labels** (:func:`label_anchors`), paper §3.1.2. An anchor is *positive* if (i) it is the anchor, or one
of the tied anchors, with the highest IoU for some ground-truth box, or (ii) its IoU with some
ground-truth box is higher than ``0.7``; it is *negative* if it is not positive and its IoU is lower
than ``0.3`` for every ground-truth box; anything else is ignored. During training, anchors that cross
the image boundary are ignored too (paper §3.3), and rule (i) looks only at anchors inside the image.
Two details the paper leaves open, decided here as noted: a ground truth that no inside anchor
touches (best IoU 0) forces no positive, and "higher than" is strict (``py-faster-rcnn`` uses
``IoU >= 0.7``).

**Mini-batch** (:func:`sample_anchors`), paper §3.1.3: 256 anchors of one image, "the sampled positive
and negative anchors have a ratio of up to 1:1. If there are fewer than 128 positive samples in an
image, we pad the mini-batch with negative ones."

**Loss** (:func:`rpn_loss`), paper Eq. (1)::

    L({p_i}, {t_i}) = (1 / N_cls) Σ_i L_cls(p_i, p_i*) + λ (1 / N_reg) Σ_i p_i* · L_reg(t_i, t_i*)

with ``L_cls`` the two-class log loss over the sampled anchors, ``L_reg`` smooth L1 summed over the four
offsets, ``p_i* = 1`` for positives and 0 for negatives. The paper normalises by ``N_cls = 256`` (the
mini-batch) and ``N_reg ≈ 2400`` (the number of anchor *locations*, the ``W × H`` of the feature map),
with ``λ = 10``. The released ``py-faster-rcnn`` code instead weights every box term by
``1 / 256`` with ``λ = 1`` and a smooth L1 with ``σ = 3`` (``β = 1/9``).

**Proposals** (:func:`generate_proposals`), paper §3.3: decode the offsets at every anchor, clip the
boxes to the image, drop boxes smaller than ``min_size`` (``py-faster-rcnn``: 16 pixels at the input
scale), keep the ``pre_nms_top_n`` best by object score, NMS at IoU ``0.7``, keep the
``post_nms_top_n`` best (2000 to train Fast R-CNN, 300 at test time in the paper; the released code
keeps 12000 / 6000 before NMS). Proposals are detached: in approximate joint training no gradient
flows through the box coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cvlib._validate import check_positive_int, check_probability, check_real, check_real_sequence
from cvlib.detection.boxes import box_iou, check_boxes, check_threshold
from cvlib.detection.coder import decode_boxes, encode_boxes
from cvlib.train.losses import smooth_l1_loss
from cvlib.detection.nms import nms

__all__ = [
    "RPNHead",
    "PROPOSAL_SETTINGS",
    "inside_image",
    "clip_boxes",
    "label_anchors",
    "AnchorLabels",
    "sample_anchors",
    "rpn_regression_targets",
    "rpn_loss",
    "generate_proposals",
]

# py-faster-rcnn's lib/fast_rcnn/config.py; the paper quotes the post-NMS numbers (2000 train, 300 test).
PROPOSAL_SETTINGS: dict[str, dict[str, float]] = {
    "train": {"pre_nms_top_n": 12000, "post_nms_top_n": 2000, "nms_threshold": 0.7, "min_size": 16},
    "test": {"pre_nms_top_n": 6000, "post_nms_top_n": 300, "nms_threshold": 0.7, "min_size": 16},
}


def _image_hw(image_size: int | Sequence[int]) -> tuple[float, float]:
    if isinstance(image_size, (str, bytes)) or hasattr(image_size, "__len__"):
        h, w = check_real_sequence("image_size", image_size, 0.0, low_open=True, length=2)
        return h, w
    side = check_real("image_size", image_size, 0.0, low_open=True)
    return side, side


class RPNHead(nn.Module):
    """``conv`` (3×3, ``mid_channels``) + ReLU, then ``cls_logits`` (1×1, ``2k``) and ``bbox_pred`` (1×1, ``4k``).

    ``forward(x)`` on ``[N, C, H, W]`` returns ``(logits[N, H·W·k, 2], deltas[N, H·W·k, 4])``. Weights are
    drawn from a zero-mean Gaussian with standard deviation 0.01, biases 0 (paper §3.1.3).
    """

    def __init__(self, in_channels: int, mid_channels: int = 512, num_anchors: int = 9) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        mid_channels = check_positive_int("mid_channels", mid_channels)
        num_anchors = check_positive_int("num_anchors", num_anchors)
        self.num_anchors = num_anchors
        self.conv = nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.cls_logits = nn.Conv2d(mid_channels, 2 * num_anchors, kernel_size=1)
        self.bbox_pred = nn.Conv2d(mid_channels, 4 * num_anchors, kernel_size=1)
        for conv in (self.conv, self.cls_logits, self.bbox_pred):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.relu(self.conv(x))
        n = x.shape[0]
        logits = self.cls_logits(h).permute(0, 2, 3, 1).reshape(n, -1, 2)
        deltas = self.bbox_pred(h).permute(0, 2, 3, 1).reshape(n, -1, 4)
        return logits, deltas


def inside_image(anchors: Tensor, image_size: int | Sequence[int], allowed_border: float = 0.0) -> Tensor:
    """``Bool[A]``: the anchor lies inside the ``(height, width)`` image, up to ``allowed_border`` pixels."""
    check_boxes(anchors, "anchors")
    h, w = _image_hw(image_size)
    b = check_real("allowed_border", allowed_border, allow_inf=True)
    return (anchors[:, 0] >= -b) & (anchors[:, 1] >= -b) & (anchors[:, 2] <= w + b) & (anchors[:, 3] <= h + b)


def clip_boxes(boxes: Tensor, image_size: int | Sequence[int]) -> Tensor:
    """Boxes clamped to the image: ``x`` to ``[0, width]``, ``y`` to ``[0, height]``."""
    check_boxes(boxes)
    h, w = _image_hw(image_size)
    x = boxes[:, 0::2].clamp(0, w)
    y = boxes[:, 1::2].clamp(0, h)
    return torch.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], dim=1)


@dataclass(frozen=True)
class AnchorLabels:
    """``labels[A]``: 1 positive, 0 negative, −1 ignored; ``matched[A]``: index of the ground truth with the
    highest IoU (−1 for anchors outside the image or when there is no ground truth); ``max_iou[A]``."""

    labels: Tensor
    matched: Tensor
    max_iou: Tensor


def label_anchors(anchors: Tensor, gt_boxes: Tensor, image_size: int | Sequence[int] | None = None,
                  positive_iou: float = 0.7, negative_iou: float = 0.3,
                  allowed_border: float = 0.0) -> AnchorLabels:
    """The paper's anchor labels (module docstring). With ``image_size`` given, anchors crossing the
    image border by more than ``allowed_border`` pixels are ignored (label −1)."""
    check_boxes(anchors, "anchors")
    check_boxes(gt_boxes, "gt_boxes")
    pos_t, neg_t = check_threshold(positive_iou, "positive_iou"), check_threshold(negative_iou, "negative_iou")
    if neg_t > pos_t:
        raise ValueError(f"negative_iou must be <= positive_iou, got {neg_t} > {pos_t}")
    a = anchors.shape[0]
    inside = (inside_image(anchors, image_size, allowed_border) if image_size is not None
              else torch.ones(a, dtype=torch.bool, device=anchors.device))
    labels = torch.full((a,), -1, dtype=torch.int64, device=anchors.device)
    matched = torch.full((a,), -1, dtype=torch.int64, device=anchors.device)
    max_iou = torch.zeros(a, dtype=anchors.dtype, device=anchors.device)
    idx = inside.nonzero().squeeze(1)
    if gt_boxes.shape[0] == 0 or idx.numel() == 0:
        labels[idx] = 0
        return AnchorLabels(labels, matched, max_iou)
    iou = box_iou(anchors[idx], gt_boxes.to(anchors.dtype))       # [A_inside, G]
    best, arg = iou.max(dim=1)
    lab = torch.full_like(idx, -1)
    lab[best < neg_t] = 0                                         # negative: below 0.3 for every box
    best_per_gt = iou.max(dim=0).values                           # [G]
    forced = ((iou == best_per_gt[None, :]) & (best_per_gt[None, :] > 0)).any(dim=1)
    lab[forced] = 1                                               # (i) the best anchor(s) of each box
    lab[best > pos_t] = 1                                         # (ii) IoU higher than 0.7
    labels[idx], matched[idx], max_iou[idx] = lab, arg, best
    return AnchorLabels(labels, matched, max_iou)


def sample_anchors(labels: Tensor, batch_size: int = 256, positive_fraction: float = 0.5,
                   generator: torch.Generator | None = None) -> Tensor:
    """A copy of ``labels`` in which only a random mini-batch keeps its label (the rest become −1).

    At most ``⌊batch_size · positive_fraction⌋`` positives are drawn; negatives fill the batch up to
    ``batch_size`` (fewer if the image has too few).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    positive_fraction = check_probability("positive_fraction", positive_fraction)
    if labels.dim() != 1 or bool(((labels < -1) | (labels > 1)).any()):
        raise ValueError("labels must be a 1-D tensor of -1 (ignore), 0 (negative) and 1 (positive)")
    out = torch.full_like(labels, -1)
    pos = (labels == 1).nonzero().squeeze(1)
    neg = (labels == 0).nonzero().squeeze(1)
    n_pos = min(pos.numel(), int(batch_size * positive_fraction))
    n_neg = min(neg.numel(), batch_size - n_pos)
    pos = pos[torch.randperm(pos.numel(), generator=generator)[:n_pos].to(pos.device)]
    neg = neg[torch.randperm(neg.numel(), generator=generator)[:n_neg].to(neg.device)]
    out[pos], out[neg] = 1, 0
    return out


def rpn_regression_targets(anchors: Tensor, gt_boxes: Tensor, matched: Tensor, labels: Tensor) -> Tensor:
    """``t*[A, 4]``: :func:`~cvlib.detection.coder.encode_boxes` of each positive anchor's matched box
    (weights 1, as in the paper), zeros elsewhere."""
    targets = anchors.new_zeros(anchors.shape[0], 4)
    pos = (labels == 1).nonzero().squeeze(1)
    if pos.numel():
        targets[pos] = encode_boxes(anchors[pos], gt_boxes[matched[pos]].to(anchors.dtype))
    return targets


def rpn_loss(logits: Tensor, deltas: Tensor, labels: Tensor, targets: Tensor, n_reg: float,
             lam: float = 10.0, n_cls: float | None = None, beta: float = 1.0) -> tuple[Tensor, Tensor]:
    """The two terms of Eq. (1): ``((1/N_cls) Σ L_cls, (λ/N_reg) Σ p*·L_reg)`` for one image.

    ``logits[A, 2]`` and ``labels[A]`` (−1 ignored); ``deltas`` and ``targets`` ``[A, 4]``. ``N_cls``
    defaults to the number of sampled anchors (256 in the paper); ``N_reg`` is the number of anchor
    locations. ``beta`` is smooth L1's transition point (1 in the paper).
    """
    a = logits.shape[0]
    if logits.shape != (a, 2) or deltas.shape != (a, 4) or labels.shape != (a,) or targets.shape != (a, 4):
        raise ValueError(f"expected logits [A, 2], deltas [A, 4], labels [A], targets [A, 4]; got "
                         f"{tuple(logits.shape)}, {tuple(deltas.shape)}, {tuple(labels.shape)}, {tuple(targets.shape)}")
    n_reg = check_real("n_reg", n_reg, 0.0, low_open=True)
    lam = check_real("lam", lam, 0.0)
    if n_cls is not None:
        n_cls = check_real("n_cls", n_cls, 0.0, low_open=True)
    sampled = labels >= 0
    n_cls = float(sampled.sum().clamp(min=1)) if n_cls is None else float(n_cls)
    cls = F.cross_entropy(logits[sampled], labels[sampled], reduction="sum") / n_cls
    pos = labels == 1
    reg = smooth_l1_loss(deltas[pos], targets[pos], beta, reduction="sum") * (lam / n_reg)
    return cls, reg


def generate_proposals(anchors: Tensor, scores: Tensor, deltas: Tensor, image_size: int | Sequence[int],
                       pre_nms_top_n: int = 6000, post_nms_top_n: int = 300, nms_threshold: float = 0.7,
                       min_size: float = 16.0) -> tuple[Tensor, Tensor]:
    """Proposals ``(boxes[P, 4], scores[P])`` of one image, best first (module docstring for the steps).

    ``scores[A]`` rank the anchors (the object probability or logit), ``deltas[A, 4]`` are the predicted
    ``(t_x, t_y, t_w, t_h)``. Everything is detached.
    """
    check_boxes(anchors, "anchors")
    if scores.shape != (anchors.shape[0],) or deltas.shape != anchors.shape:
        raise ValueError(f"scores must be [A] and deltas [A, 4] for A = {anchors.shape[0]} anchors, got "
                         f"{tuple(scores.shape)} and {tuple(deltas.shape)}")
    pre_nms_top_n = check_positive_int("pre_nms_top_n", pre_nms_top_n)
    post_nms_top_n = check_positive_int("post_nms_top_n", post_nms_top_n)
    min_size = check_real("min_size", min_size, 0.0)
    check_threshold(nms_threshold, "nms_threshold")
    boxes = clip_boxes(decode_boxes(anchors, deltas.detach().to(anchors.dtype)), image_size)
    scores = scores.detach()
    keep = ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
    boxes, scores = boxes[keep], scores[keep]
    order = torch.sort(scores, descending=True, stable=True).indices[:pre_nms_top_n]
    boxes, scores = boxes[order], scores[order]
    kept = nms(boxes, scores, nms_threshold)[:post_nms_top_n]
    return boxes[kept], scores[kept]
