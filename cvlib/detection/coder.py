"""Bounding-box regression targets (边框回归): encode a box relative to a proposal or anchor, and back.

With the proposal (anchor) ``a`` and the box ``g`` as centres and sizes,
``x = (x1 + x2) / 2``, ``w = x2 − x1`` (and likewise ``y``, ``h``)::

    t_x = w_x · (x − x_a) / w_a        t_w = w_w · log(w / w_a)
    t_y = w_y · (y − y_a) / h_a        t_h = w_h · log(h / h_a)

``(w_x, w_y, w_w, w_h)`` are the ``weights`` (all 1 in the R-CNN papers; torchvision's Faster R-CNN
uses ``(10, 10, 5, 5)``). Widths are ``x2 − x1`` as in torchvision; the original R-CNN/Fast/Faster
R-CNN code used the inclusive pixel count ``x2 − x1 + 1``. Decoding inverts the formulas::

    x = t_x / w_x · w_a + x_a          w = exp(t_w / w_w) · w_a

with ``t_w / w_w`` and ``t_h / w_h`` clamped at ``clip = log(1000 / 16)`` (torchvision's guard against
``exp`` overflow), then returns corners ``x ± w / 2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from cvlib._validate import check_real, check_real_sequence, check_tensor
from cvlib.detection.boxes import check_boxes

__all__ = ["encode_boxes", "decode_boxes", "BBOX_XFORM_CLIP"]

BBOX_XFORM_CLIP = math.log(1000.0 / 16)


def _centres(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + 0.5 * w, boxes[:, 1] + 0.5 * h, w, h


def _weights(weights: Sequence[float]) -> tuple[float, float, float, float]:
    """``(w_x, w_y, w_w, w_h)``: four finite numbers > 0."""
    return check_real_sequence("weights", weights, 0.0, low_open=True, length=4)  # type: ignore[return-value]


def _require_positive_size(boxes: Tensor, name: str) -> None:
    flat = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
    if bool(flat.any()):
        i = int(flat.nonzero()[0, 0])
        raise ValueError(f"{name}[{i}] = {boxes[i].tolist()} has zero width or height; the log-size "
                         "targets need x2 > x1 and y2 > y1")


def encode_boxes(proposals: Tensor, gt: Tensor, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Regression targets ``Tensor[N, 4]`` = ``(t_x, t_y, t_w, t_h)`` of ``gt`` relative to ``proposals``."""
    check_boxes(proposals, "proposals")
    check_boxes(gt, "gt")
    if proposals.shape != gt.shape:
        raise ValueError(f"proposals and gt must pair up one to one, got {proposals.shape[0]} proposals "
                         f"and {gt.shape[0]} gt boxes")
    _require_positive_size(proposals, "proposals")
    _require_positive_size(gt, "gt")
    wx, wy, ww, wh = _weights(weights)
    xa, ya, wa, ha = _centres(proposals)
    x, y, w, h = _centres(gt)
    return torch.stack([wx * (x - xa) / wa, wy * (y - ya) / ha,
                        ww * torch.log(w / wa), wh * torch.log(h / ha)], dim=1)


def decode_boxes(proposals: Tensor, deltas: Tensor, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
                 clip: float = BBOX_XFORM_CLIP) -> Tensor:
    """Boxes ``Tensor[N, 4]`` (``x1, y1, x2, y2``) from ``proposals`` and ``deltas`` ``(t_x, t_y, t_w, t_h)``."""
    check_boxes(proposals, "proposals")
    check_tensor("deltas", deltas, "N 4", floating=True, finite=True)
    if deltas.shape != proposals.shape:
        raise ValueError(f"deltas must have the shape of proposals {tuple(proposals.shape)}, got "
                         f"{tuple(deltas.shape)}")
    wx, wy, ww, wh = _weights(weights)
    clip = check_real("clip", clip, allow_inf=True)
    xa, ya, wa, ha = _centres(proposals)
    x = deltas[:, 0] / wx * wa + xa
    y = deltas[:, 1] / wy * ha + ya
    w = torch.exp((deltas[:, 2] / ww).clamp(max=clip)) * wa
    h = torch.exp((deltas[:, 3] / wh).clamp(max=clip)) * ha
    return torch.stack([x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h], dim=1)
