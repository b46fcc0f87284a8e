"""Non-maximum suppression (NMS, 非极大值抑制).

Greedy NMS: sort the boxes by score, highest first; keep the best box, drop every remaining box whose
IoU with it is ``> iou_threshold``, and repeat with the best of what is left. The loop runs once per
kept box; each pass compares one box with all remaining ones at once (in NumPy, whose per-call
overhead is far below torch's for these small steps). Equal scores keep their input
order (a stable sort). As in torchvision, a NaN IoU (two zero-area boxes) suppresses nothing.

Scores must be finite: a NaN score has no place in the ranking (``sort`` would put it first, and it
would suppress real boxes), so it raises ``ValueError`` like a NaN coordinate does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from cvlib._validate import check_tensor
from cvlib.detection.boxes import check_boxes, check_threshold

__all__ = ["nms", "batched_nms"]


def _scores_for(boxes: Tensor, scores: Tensor) -> Tensor:
    """``scores`` if it is a finite real ``Tensor[N]`` with one score per box."""
    check_tensor("scores", scores, "N", finite=True)
    if scores.dtype == torch.bool or scores.is_complex():
        raise ValueError(f"scores must be a real-valued tensor, got dtype {scores.dtype}")
    if scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"boxes and scores must have the same length, got {boxes.shape[0]} boxes and "
                         f"{scores.shape[0]} scores")
    return scores


def _iou_one(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with each row of ``others`` (the inner step of NMS)."""
    w = np.maximum(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0)
    h = np.maximum(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return inter / (area + areas - inter)


def _greedy(boxes: Tensor, scores: Tensor, threshold: float, groups: Tensor | None = None) -> Tensor:
    """The greedy loop, once per kept box; with ``groups``, a box suppresses only boxes of its group."""
    order = torch.sort(scores, descending=True, stable=True).indices
    work = torch.float64 if boxes.dtype == torch.float64 else torch.float32
    ranked = boxes[order].detach().to("cpu", work).numpy()  # NumPy: less overhead per small step
    group = None if groups is None else groups[order].detach().to("cpu", torch.int64).numpy()
    keep: list[int] = []
    remaining = np.arange(len(ranked))
    while remaining.size > 0:
        best, rest = remaining[0], remaining[1:]
        keep.append(int(best))
        if group is None:
            remaining = rest[~(_iou_one(ranked[best], ranked[rest]) > threshold)]
            continue
        same = group[rest] == group[best]
        drop = np.zeros(rest.shape, dtype=bool)
        drop[same] = _iou_one(ranked[best], ranked[rest[same]]) > threshold
        remaining = rest[~drop]
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Indices (``int64``) of the boxes that greedy NMS keeps, highest score first.

    ``boxes`` is ``Tensor[N, 4]`` of finite ``(x1, y1, x2, y2)``, ``scores`` is a finite ``Tensor[N]``;
    a box is dropped when its IoU with a kept, higher-scoring box is ``> iou_threshold`` (a real number
    in ``[0, 1]``). An empty input gives an empty ``int64`` tensor, as in ``torchvision.ops.nms``.
    """
    check_boxes(boxes)
    _scores_for(boxes, scores)
    return _greedy(boxes, scores, check_threshold(iou_threshold))


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS within each category: boxes with different ``idxs`` never suppress each other.

    Returns the kept indices, highest score first (ties in input order): exactly the union of
    :func:`nms` run on each category alone, for any integer category ids. One greedy pass over all boxes
    compares the kept box only with the remaining boxes of its own category.

    torchvision instead shifts the boxes of category ``c`` by ``c · (max + 1)`` and runs one plain NMS.
    That offset costs precision: for boxes within 15 pixels and the id ``10⁷`` the offset is ``1.5·10⁸``,
    where neighbouring float32 numbers are 16 apart, so ``(0, 0, 10, 10)`` and ``(4, 0, 14, 10)`` (IoU
    0.43) become the same box and one suppresses the other at threshold 0.5. Grouping by the id does no
    arithmetic on the coordinates, so nothing is lost.
    """
    check_boxes(boxes)
    _scores_for(boxes, scores)
    if not isinstance(idxs, Tensor) or idxs.dim() != 1 or idxs.shape[0] != boxes.shape[0]:
        raise ValueError(f"idxs must be a 1-D tensor with one category per box ({boxes.shape[0]}), got "
                         f"{getattr(idxs, 'shape', type(idxs))}")
    if idxs.is_floating_point() or idxs.is_complex() or idxs.dtype == torch.bool:
        raise ValueError(f"idxs must be an integer tensor of categories, got dtype {idxs.dtype}")
    return _greedy(boxes, scores, check_threshold(iou_threshold), idxs)
