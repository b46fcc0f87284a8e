"""Detection losses: Fast R-CNN's multi-task loss (多任务损失) and the IoU-family box losses.

Fast R-CNN's box term is smooth L1 (:func:`cvlib.train.losses.smooth_l1_loss`, ``β = 1`` in the
paper and the notes): ``0.5 x²`` inside ``(−1, 1)``, ``|x| − 0.5`` outside, quadratic near 0 and linear
far away, so outliers do not blow up the loss.

Fast R-CNN's loss for one RoI with class scores ``p`` (over ``K + 1`` classes, 0 = background), true
class ``u``, predicted offsets ``t^u`` of class ``u`` and targets ``v``::

    L = −log p_u + λ · [u ≥ 1] · Σ_{i ∈ x,y,w,h} smooth_L1(t^u_i − v_i)

Boxes ``A`` and ``B`` as ``(x1, y1, x2, y2)``, paired row by row, ``C`` the smallest box enclosing both::

    IoU      = |A ∩ B| / |A ∪ B|                                 (:func:`cvlib.detection.boxes.box_iou`)
    GIoU     = IoU − |C \\ (A ∪ B)| / |C|  =  IoU − (|C| − |A ∪ B|) / |C|,      −1 < GIoU ≤ 1
    iou_loss = 1 − IoU,   giou_loss = 1 − GIoU                  (Rezatofighi et al. 2019)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cvlib._validate import check_real
from cvlib.detection.boxes import box_area, box_iou, check_boxes
from cvlib.train.losses import reduce_loss, smooth_l1_loss

__all__ = ["fast_rcnn_loss", "enclosing_box", "paired_iou", "giou", "iou_loss", "giou_loss"]


def fast_rcnn_loss(class_logits: Tensor, box_deltas: Tensor, labels: Tensor, targets: Tensor,
                   lam: float = 1.0, beta: float = 1.0) -> Tensor:
    """Mean over RoIs of Fast R-CNN's multi-task loss.

    ``class_logits`` is ``[R, K + 1]``, ``box_deltas`` ``[R, 4 · (K + 1)]`` (four offsets per class),
    ``labels`` ``[R]`` (0 = background) and ``targets`` ``[R, 4]``. Only the offsets of the true class
    enter the box term, and background RoIs have none (the ``[u ≥ 1]`` indicator).
    """
    lam = check_real("lam", lam, 0.0)
    r, k1 = class_logits.shape
    if box_deltas.shape != (r, 4 * k1) or labels.shape != (r,) or targets.shape != (r, 4):
        raise ValueError(f"expected class_logits [R, K+1], box_deltas [R, 4(K+1)], labels [R], targets "
                         f"[R, 4]; got {tuple(class_logits.shape)}, {tuple(box_deltas.shape)}, "
                         f"{tuple(labels.shape)}, {tuple(targets.shape)}")
    if r and (int(labels.min()) < 0 or int(labels.max()) >= k1):
        raise ValueError(f"labels must lie in [0, {k1 - 1}] (0 = background), got "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    cls = F.cross_entropy(class_logits, labels, reduction="none")
    own = box_deltas.view(r, k1, 4)[torch.arange(r), labels]
    loc = smooth_l1_loss(own, targets, beta, reduction="none").sum(dim=1) * (labels >= 1)
    return (cls + lam * loc).mean()


def _check_paired_boxes(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    check_boxes(boxes1, "boxes1")
    check_boxes(boxes2, "boxes2")
    if boxes1.shape[0] != boxes2.shape[0]:
        raise ValueError(f"boxes1 and boxes2 are paired row by row and must hold as many boxes, got "
                         f"{boxes1.shape[0]} and {boxes2.shape[0]}")
    return boxes1, boxes2


def enclosing_box(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """The smallest box ``C`` enclosing ``boxes1[i]`` and ``boxes2[i]``:
    ``(min x1, min y1, max x2, max y2)``, ``Tensor[N, 4]``."""
    b1, b2 = _check_paired_boxes(boxes1, boxes2)
    return torch.cat([torch.minimum(b1[:, :2], b2[:, :2]), torch.maximum(b1[:, 2:], b2[:, 2:])], dim=1)


def paired_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """IoU of ``boxes1[i]`` with ``boxes2[i]``, ``Tensor[N]``: the diagonal of
    :func:`cvlib.detection.boxes.box_iou` (which builds the ``N × N`` matrix: fine for a loss's boxes)."""
    b1, b2 = _check_paired_boxes(boxes1, boxes2)
    return box_iou(b1, b2).diagonal()


def giou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Generalized IoU, ``Tensor[N]``: ``GIoU = IoU − (|C| − |A ∪ B|) / |C|``, ``C`` = :func:`enclosing_box`.

    The union comes from the IoU: ``IoU = I / U`` and ``U = |A| + |B| − I`` give ``U = (|A| + |B|) / (1 + IoU)``.
    ``GIoU`` is 1 for identical boxes, at most the IoU, and tends to −1 as ``|A ∪ B| / |C| → 0``
    (small boxes far apart). Boxes must have ``x2 ≥ x1`` and ``y2 ≥ y1`` (the paper's Algorithm 2 instead
    sorts a prediction's coordinates); two zero-area boxes give ``nan``, as ``box_iou``.
    """
    b1, b2 = _check_paired_boxes(boxes1, boxes2)
    iou = paired_iou(b1, b2)
    union = (box_area(b1) + box_area(b2)) / (1 + iou)
    hull = box_area(enclosing_box(b1, b2))
    return iou - (hull - union) / hull


def iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "mean") -> Tensor:
    """``1 − IoU`` per box pair (the GIoU paper's ``L_IoU``; UnitBox uses ``−ln IoU``). It is 1, with zero
    gradient, for every pair that does not overlap."""
    return reduce_loss(1 - paired_iou(boxes1, boxes2), reduction)


def giou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "mean") -> Tensor:
    """``1 − GIoU`` per box pair, in ``[0, 2)``: it keeps decreasing as non-overlapping boxes approach."""
    return reduce_loss(1 - giou(boxes1, boxes2), reduction)
