"""Regions of interest (RoIs) for :func:`roi_pool` and :func:`roi_align`, in torchvision's two formats.

* a ``Tensor[K, 5]`` of rows ``(batch_index, x1, y1, x2, y2)``;
* a list with one ``Tensor[L_i, 4]`` of ``(x1, y1, x2, y2)`` per image ``i`` of the batch.

Coordinates are in the input image; ``spatial_scale`` (e.g. 1/16 for VGG-16's conv5) maps them onto
the feature map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from cvlib._validate import check_pair, check_tensor
from cvlib.detection.boxes import check_boxes

__all__ = ["as_rois", "check_output_size", "check_features"]


def check_features(input: Tensor) -> tuple[int, int, int, int]:
    """``(N, C, H, W)`` of a floating ``Tensor[N, C, H, W]`` with ``H, W >= 1``, else ``ValueError``."""
    check_tensor("input", input, "N C H W", floating=True)
    n, c, h, w = input.shape
    if h == 0 or w == 0:
        raise ValueError(f"input has an empty spatial size {h}×{w}")
    return n, c, h, w


def check_output_size(output_size: int | Sequence[int]) -> tuple[int, int]:
    """``(pooled_h, pooled_w)`` from an integer or a pair of integers ``>= 1``, else ``ValueError``."""
    return check_pair("output_size", output_size, 1)


def as_rois(boxes: Tensor | Sequence[Tensor], input: Tensor) -> Tensor:
    """``Tensor[K, 5]`` of ``(batch_index, x1, y1, x2, y2)`` in ``input``'s dtype, checked: finite
    coordinates with ``x2 >= x1`` and ``y2 >= y1``, integer batch indices of ``input``'s images."""
    batch = input.shape[0]
    if isinstance(boxes, Tensor):
        if boxes.dim() != 2 or boxes.shape[1] != 5:
            raise ValueError(f"boxes must be a Tensor[K, 5] of (batch_index, x1, y1, x2, y2) or a list of "
                             f"Tensor[L, 4], got a tensor of shape {tuple(boxes.shape)}")
        rois = boxes.to(input.dtype)
    elif isinstance(boxes, (list, tuple)):
        if len(boxes) > batch:
            raise ValueError(f"got boxes for {len(boxes)} images but the input holds {batch}")
        parts = []
        for i, b in enumerate(boxes):
            check_boxes(b, f"boxes[{i}]")
            parts.append(torch.cat([b.new_full((b.shape[0], 1), i), b], dim=1))
        rois = torch.cat(parts).to(input.dtype) if parts else input.new_zeros(0, 5)
    else:
        raise ValueError(f"boxes must be a Tensor[K, 5] or a list of Tensor[L, 4], got {type(boxes).__name__}")
    check_boxes(rois[:, 1:], "boxes (x1, y1, x2, y2)")
    index = rois[:, 0]
    if bool(((index != index.round()) | (index < 0) | (index >= batch)).any()):
        raise ValueError(f"batch indices must be integers in [0, {batch - 1}], got {index.unique().tolist()}")
    return rois
