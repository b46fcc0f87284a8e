"""Boxes, their areas and their overlap (IoU, 交并比).

A box is ``(x1, y1, x2, y2)``: the top-left and bottom-right corners, in continuous coordinates, so its
width is ``x2 − x1`` and its height ``y2 − y1`` (torchvision's convention; the original R-CNN/Caffe code
counts pixels inclusively, ``x2 − x1 + 1``). For two boxes ``A`` and ``B``::

    inter = max(0, min(A.x2, B.x2) − max(A.x1, B.x1)) · max(0, min(A.y2, B.y2) − max(A.y1, B.y1))
    IoU   = inter / (area(A) + area(B) − inter)

Two zero-area boxes give ``0 / 0 = nan``, as in torchvision.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_boxes", "check_threshold", "box_area", "box_iou"]


def check_boxes(boxes: Tensor, name: str = "boxes", allow_empty: bool = True) -> Tensor:
    """Return ``boxes`` if it is a floating ``Tensor[N, 4]`` of ``(x1, y1, x2, y2)`` with
    ``x2 >= x1`` and ``y2 >= y1``; otherwise raise ``ValueError`` saying what is wrong."""
    if not isinstance(boxes, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape [N, 4] (x1, y1, x2, y2), got {tuple(boxes.shape)}")
    if not boxes.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {boxes.dtype}")
    if not allow_empty and boxes.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least one box is needed here")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"{name}[{i}] = {boxes[i].tolist()} has x2 < x1 or y2 < y1; boxes must be "
                         "(x1, y1, x2, y2) with x2 >= x1 and y2 >= y1")
    return boxes


def check_threshold(value: float, name: str = "iou_threshold") -> float:
    """Return ``value`` as a float if it lies in ``[0, 1]``; otherwise raise ``ValueError``."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def box_area(boxes: Tensor) -> Tensor:
    """``(x2 − x1) · (y2 − y1)`` for each box of a ``Tensor[N, 4]``."""
    check_boxes(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise IoU, ``Tensor[N, M]``, of ``boxes1`` (``[N, 4]``) and ``boxes2`` (``[M, 4]``)."""
    area1, area2 = box_area(check_boxes(boxes1, "boxes1")), box_area(check_boxes(boxes2, "boxes2"))
    top_left = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2[None, :] - inter)
