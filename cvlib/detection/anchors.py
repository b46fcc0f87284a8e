"""Anchors (锚框) of Faster R-CNN's region proposal network.

At every cell ``(i, j)`` of an ``H × W`` feature map with stride ``s`` (pixels per cell) there are
``k = len(scales) · len(ratios)`` anchors centred at ``((j + 0.5) · s, (i + 0.5) · s)``, the centre of
the cell's ``s × s`` patch of the image. For scale ``S`` and ratio ``r = h / w`` the anchor has area
``S²``::

    w = S / √r,   h = S · √r,   box = (cx − w/2, cy − h/2, cx + w/2, cy + h/2)

Order of the ``H · W · k`` rows: cell by cell in row-major order (``i`` then ``j``), and within a cell
ratio-major — anchor ``a = ratio_index · len(scales) + scale_index`` — as in the original
``generate_anchors`` and in torchvision. Differences from those: the original Faster R-CNN code starts
from a 16 × 16 base box centred at ``(7.5, 7.5)`` (inclusive pixels) and rounds the widths and heights
to integers; torchvision centres anchors at ``(j · s, i · s)`` and rounds the base anchors. Here nothing
is rounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from cvlib._validate import check_pair, check_real, check_real_sequence

__all__ = ["anchors"]


def anchors(feature_size: int | Sequence[int], stride: float, scales: Sequence[float] = (128, 256, 512),
            ratios: Sequence[float] = (0.5, 1, 2), dtype: torch.dtype = torch.float32) -> Tensor:
    """``Tensor[H · W · k, 4]`` of anchors ``(x1, y1, x2, y2)`` in image coordinates."""
    fh, fw = check_pair("feature_size", feature_size, 1)
    stride = check_real("stride", stride, 0.0, low_open=True)
    scales = check_real_sequence("scales", scales, 0.0, low_open=True, min_length=1)
    ratios = check_real_sequence("ratios", ratios, 0.0, low_open=True, min_length=1)
    half_w = torch.tensor([s / math.sqrt(r) / 2 for r in ratios for s in scales], dtype=dtype)
    half_h = torch.tensor([s * math.sqrt(r) / 2 for r in ratios for s in scales], dtype=dtype)
    base = torch.stack([-half_w, -half_h, half_w, half_h], dim=1)                  # [k, 4]
    cy, cx = torch.meshgrid((torch.arange(fh, dtype=dtype) + 0.5) * stride,
                            (torch.arange(fw, dtype=dtype) + 0.5) * stride, indexing="ij")
    centres = torch.stack([cx, cy, cx, cy], dim=-1).reshape(-1, 1, 4)              # [H·W, 1, 4]
    return (centres + base).reshape(-1, 4)
