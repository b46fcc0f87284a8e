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

from cvlib._validate import check_bool, check_probability

__all__ = ["check_boxes", "check_threshold", "box_area", "box_iou"]


def check_boxes(boxes: Tensor, name: str = "boxes", allow_empty: bool = True) -> Tensor:
    """Return ``boxes`` if it is a floating ``Tensor[N, 4]`` of finite ``(x1, y1, x2, y2)`` with
    ``x2 >= x1`` and ``y2 >= y1``; otherwise raise ``ValueError`` saying what is wrong.

    NaN and ±inf are rejected explicitly: every comparison with NaN is false, so ``x2 < x1`` alone
    would let a NaN box through."""
    allow_empty = check_bool("allow_empty", allow_empty)
    if not isinstance(boxes, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape [N, 4], got {type(boxes).__name__}")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape [N, 4] (x1, y1, x2, y2), got {tuple(boxes.shape)}")
    if not boxes.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {boxes.dtype}")
    if not allow_empty and boxes.shape[0] == 0:
        raise ValueError(f"{name} is empty; at least one box is needed here")
    finite = torch.isfinite(boxes).all(dim=1)
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0, 0])
        raise ValueError(f"{name}[{i}] = {boxes[i].tolist()} is not finite; box coordinates must be finite "
                         "numbers (no NaN or inf)")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"{name}[{i}] = {boxes[i].tolist()} has x2 < x1 or y2 < y1; boxes must be "
                         "(x1, y1, x2, y2) with x2 >= x1 and y2 >= y1")
    return boxes


def check_threshold(value: float, name: str = "iou_threshold") -> float:
    """Return ``value`` as a float if it is a real number (Python or NumPy, not ``bool`` or a string) in
    ``[0, 1]``; otherwise raise ``ValueError`` naming ``name``."""
    return check_probability(name, value)


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
