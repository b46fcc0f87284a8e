"""Average precision (AP, 平均精度), PASCAL VOC style.

Rank the detections of one class by score; a detection is a true positive when its best-overlapping
ground-truth box (IoU ``>= iou_threshold``, 0.5 in VOC) is not matched yet, else a false positive
(a second hit on the same object counts as a false positive). After the first ``r`` detections::

    recall_r = TP_r / n_positives,   precision_r = TP_r / r

Ground truths flagged *difficult* are not counted in ``n_positives``, and detections matched to them
count as neither (they are dropped from the ranking). Two ways to turn the curve into one number:

* VOC 2007, 11 points: ``AP = (1/11) Σ_{t ∈ 0, 0.1, …, 1} max{precision_r : recall_r >= t}`` (0 when
  no recall reaches ``t``). The thresholds are ``t = k/10``: ``np.arange(0, 1.1, 0.1)`` would give
  0.30000000000000004 and miss a recall of exactly 0.3.
* VOC 2010+, all points: the area under the precision envelope ``p_interp(r) = max{precision_r' :
  recall_r' >= r}``, i.e. ``Σ (r_{i+1} − r_i) · p_interp(r_{i+1})`` over the recall steps.

IoU here is the continuous one of :func:`~cvlib.detection.boxes.box_iou`; the VOC development kit
counts pixels inclusively (``x2 − x1 + 1``), which changes IoUs of small boxes slightly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from cvlib._validate import check_choice, check_positive_int, check_tensor
from cvlib.detection.boxes import box_iou, check_boxes, check_threshold

__all__ = ["average_precision", "evaluate_detections", "DetectionEval", "mean_average_precision"]


_AP_METHODS = ("all_points", "11_point")


def _as_curve(values: Sequence[float] | Tensor, name: str) -> Tensor:
    t = torch.as_tensor(values, dtype=torch.float64).flatten()
    if bool(((t < 0) | (t > 1) | t.isnan()).any()):
        raise ValueError(f"{name} values must lie in [0, 1], got {t.tolist()}")
    return t


def average_precision(recall: Sequence[float] | Tensor, precision: Sequence[float] | Tensor,
                      method: Literal["all_points", "11_point"] = "all_points") -> float:
    """AP of a precision/recall curve given point by point in ranking order (recall non-decreasing)."""
    method = check_choice("method", method, _AP_METHODS)
    rec, prec = _as_curve(recall, "recall"), _as_curve(precision, "precision")
    if rec.shape != prec.shape:
        raise ValueError(f"recall and precision must have the same length, got {rec.numel()} and {prec.numel()}")
    if bool((rec.diff() < 0).any()):
        raise ValueError("recall must be non-decreasing (points in ranking order)")
    if method == "11_point":
        total = 0.0
        for k in range(11):
            reached = prec[rec >= k / 10]
            total += float(reached.max()) if reached.numel() else 0.0
        return total / 11
    mrec = torch.cat([rec.new_zeros(1), rec, rec.new_ones(1)])  # all points
    mpre = torch.cat([prec.new_zeros(1), prec, prec.new_zeros(1)])
    envelope = mpre.flip(0).cummax(0).values.flip(0)
    return float((mrec.diff() * envelope[1:]).sum())


@dataclass(frozen=True)
class DetectionEval:
    """Result of :func:`evaluate_detections` for one class (ranked detections, difficult ones dropped)."""

    precision: Tensor
    recall: Tensor
    ap: float
    tp: Tensor          # bool per ranked detection
    scores: Tensor      # the ranked scores
    n_positives: int


def evaluate_detections(dets: Sequence[tuple[Tensor, Tensor]], gts: Sequence[Tensor],
                        iou_threshold: float = 0.5, difficult: Sequence[Tensor] | None = None,
                        method: Literal["all_points", "11_point"] = "all_points") -> DetectionEval:
    """VOC evaluation of one class: ``dets[i] = (boxes[D_i, 4], scores[D_i])`` and ``gts[i] = boxes[G_i, 4]``
    for image ``i``; ``difficult[i]`` optionally flags ground truths to ignore. Equal scores keep
    input order (images in order, then detections). Scores must be finite: a NaN would rank first and
    could make a false positive look like the best detection."""
    thr = check_threshold(iou_threshold)
    method = check_choice("method", method, _AP_METHODS)
    if len(dets) != len(gts):
        raise ValueError(f"dets and gts must list the same images, got {len(dets)} and {len(gts)}")
    if difficult is None:
        difficult = [torch.zeros(g.shape[0], dtype=torch.bool) for g in gts]
    if len(difficult) != len(gts) or any(not isinstance(d, Tensor) or d.shape != (g.shape[0],)
                                         for d, g in zip(difficult, gts)):
        raise ValueError("difficult must hold one bool flag per ground-truth box of every image")
    image, boxes, scores = [], [], []
    for i, ((b, s), g) in enumerate(zip(dets, gts)):
        check_boxes(b, f"dets[{i}] boxes")
        check_boxes(g, f"gts[{i}]")
        check_tensor(f"dets[{i}] scores", s, "D", finite=True)
        if s.shape != (b.shape[0],):
            raise ValueError(f"dets[{i}]: {b.shape[0]} boxes but scores of shape {tuple(s.shape)}")
        image += [i] * b.shape[0]
        boxes.append(b.double())
        scores.append(s.double())
    n_pos = int(sum(int((~d.bool()).sum()) for d in difficult))
    if n_pos == 0:
        raise ValueError("there is no (non-difficult) ground-truth box: recall is undefined")
    all_scores = torch.cat(scores) if scores else torch.zeros(0, dtype=torch.float64)
    order = torch.sort(all_scores, descending=True, stable=True).indices.tolist()
    ious = [box_iou(b, g.double()) for b, g in zip(boxes, gts)]
    first = [0]
    for b in boxes:
        first.append(first[-1] + b.shape[0])
    matched = [torch.zeros(g.shape[0], dtype=torch.bool) for g in gts]
    flags, kept = [], []
    for d in order:
        i = image[d]
        row = ious[i][d - first[i]]                  # IoU with this image's ground truths
        j = int(row.argmax()) if row.numel() else -1   # the best one (the first on ties)
        if j >= 0 and row[j] > 0 and row[j] >= thr:    # VOC: overlap >= threshold, and some overlap
            if bool(difficult[i][j]):
                continue                         # "don't care"
            hit = not bool(matched[i][j])
            matched[i][j] = True
        else:
            hit = False
        flags.append(hit)
        kept.append(d)
    tp = torch.tensor(flags, dtype=torch.bool)
    tp_cum = tp.double().cumsum(0)
    ranks = torch.arange(1, len(flags) + 1, dtype=torch.float64)
    recall, precision = tp_cum / n_pos, tp_cum / ranks
    return DetectionEval(precision, recall, average_precision(recall, precision, method), tp,
                         all_scores[kept] if kept else all_scores[:0], n_pos)


def mean_average_precision(detections: Sequence[Any], gt_boxes: Sequence[Tensor],
                           gt_labels: Sequence[Tensor], num_classes: int,
                           iou_threshold: float = 0.5) -> tuple[float, list[float]]:
    """VOC mAP: :func:`evaluate_detections` per class ``1 … num_classes`` (all-points AP), then the mean.

    Each element of ``detections`` has ``boxes`` ``[K, 4]``, ``scores`` ``[K]`` and ``labels`` ``[K]``
    (as :class:`cvlib.detection.faster_rcnn.Detections`). Returns ``(mAP, [AP per class])``."""
    num_classes = check_positive_int("num_classes", num_classes)
    if len(detections) != len(gt_boxes) or len(gt_boxes) != len(gt_labels):
        raise ValueError("detections, gt_boxes and gt_labels must list the same images")
    aps = []
    for c in range(1, num_classes + 1):
        dets = [(d.boxes[d.labels == c].double(), d.scores[d.labels == c].double()) for d in detections]
        gts = [b[l == c].double() for b, l in zip(gt_boxes, gt_labels)]
        aps.append(evaluate_detections(dets, gts, iou_threshold).ap)
    return sum(aps) / len(aps), aps
