"""Non-maximum suppression (NMS, 非极大值抑制).

Greedy NMS: sort the boxes by score, highest first; keep the best box, drop every remaining box whose
IoU with it is ``> iou_threshold``, and repeat with the best of what is left. The loop runs once per
kept box; each pass compares one box with all remaining ones at once (in NumPy, whose per-call
overhead is far below torch's for these small steps). Equal scores keep their input
order (a stable sort). As in torchvision, a NaN IoU (two zero-area boxes) suppresses nothing.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from cvlib.detection.boxes import check_boxes, check_threshold

__all__ = ["nms", "batched_nms"]


def _check_scores(boxes: Tensor, scores: Tensor) -> None:
    if not isinstance(scores, Tensor) or scores.dim() != 1:
        raise ValueError(f"scores must be a 1-D tensor, got {getattr(scores, 'shape', type(scores))}")
    if scores.shape[0] != boxes.shape[0]:
        raise ValueError(f"boxes and scores must have the same length, got {boxes.shape[0]} boxes and "
                         f"{scores.shape[0]} scores")


def _iou_one(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with each row of ``others`` (the inner step of NMS)."""
    w = np.maximum(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0)
    h = np.maximum(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / (area + areas - inter)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Indices (``int64``) of the boxes that greedy NMS keeps, highest score first.

    ``boxes`` is ``Tensor[N, 4]`` of ``(x1, y1, x2, y2)``, ``scores`` is ``Tensor[N]``; a box is dropped
    when its IoU with a kept, higher-scoring box is ``> iou_threshold`` (in ``[0, 1]``). An empty input
    gives an empty ``int64`` tensor, as in ``torchvision.ops.nms``.
    """
    check_boxes(boxes)
    _check_scores(boxes, scores)
    threshold = check_threshold(iou_threshold)
    order = torch.sort(scores, descending=True, stable=True).indices
    work = torch.float64 if boxes.dtype == torch.float64 else torch.float32
    ranked = boxes[order].detach().to("cpu", work).numpy()  # NumPy: less overhead per small step
    keep: list[int] = []
    remaining = np.arange(len(ranked))
    while remaining.size > 0:
        best, rest = remaining[0], remaining[1:]
        keep.append(int(best))
        remaining = rest[~(_iou_one(ranked[best], ranked[rest]) > threshold)]
    return order[torch.tensor(keep, dtype=torch.int64, device=boxes.device)]


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS within each category: boxes with different ``idxs`` never suppress each other.

    The coordinate-offset trick runs one NMS for all categories: every box of category ``c`` is shifted
    by ``c · (max − min + 1)`` on both axes, where ``max`` and ``min`` are the extreme coordinates of
    all boxes, so boxes of different categories can no longer overlap. (torchvision shifts by
    ``max + 1``, which assumes non-negative coordinates.) Returns kept indices, highest score first.
    With many categories and float32 the shifted coordinates lose precision; use float64 if IoUs sit
    exactly at the threshold.
    """
    check_boxes(boxes)
    _check_scores(boxes, scores)
    if not isinstance(idxs, Tensor) or idxs.dim() != 1 or idxs.shape[0] != boxes.shape[0]:
        raise ValueError(f"idxs must be a 1-D tensor with one category per box ({boxes.shape[0]}), got "
                         f"{getattr(idxs, 'shape', type(idxs))}")
    if idxs.is_floating_point() or idxs.is_complex():
        raise ValueError(f"idxs must be an integer tensor of categories, got dtype {idxs.dtype}")
    check_threshold(iou_threshold)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    span = boxes.max() - boxes.min() + 1
    shifted = boxes + (idxs.to(boxes.dtype) * span)[:, None]
    return nms(shifted, scores, iou_threshold)
