"""RoI Align (Mask R-CNN): average of bilinearly interpolated samples per bin, no rounding anywhere.

Sampling follows torchvision's ``roi_align`` kernel. For one RoI and one axis (rows shown)::

    offset = 0.5 if aligned else 0
    y1' = y1 · spatial_scale − offset,   roi_h = y2 · spatial_scale − offset − y1'
    roi_h = max(roi_h, 1) unless aligned      (a malformed RoI is forced to 1 pixel)
    bin_h = roi_h / pooled_h
    grid_h = sampling_ratio if sampling_ratio > 0 else min(ceil(roi_h / pooled_h), cap_h)
    cap_h = max(64, ceil(2 · H / pooled_h))          (the bound on the adaptive grid, see below)
    y(ph, iy) = y1' + ph · bin_h + (iy + 0.5) · bin_h / grid_h,   iy = 0 … grid_h − 1

and the output of bin ``(ph, pw)`` is the mean of ``bilinear(y, x)`` over the ``grid_h × grid_w``
points (divided by ``max(grid_h · grid_w, 1)``). ``bilinear`` follows the kernel's edge rules: a point
with ``y < −1`` or ``y > H`` (or the same for ``x``) contributes 0; otherwise ``y`` is clamped to
``≥ 0``, and from ``y_low = floor(y) ≥ H − 1`` on it reads row ``H − 1`` alone. ``aligned=True`` (the
Detectron2 fix) shifts by half a pixel so that pixel centres sit at integer + 0.5 coordinates.

**Bounded sampling.** torchvision's adaptive grid has no bound: a RoI ``10¹²`` pixels wide asks for
``10¹²/pooled_w`` samples per bin (about 4 TB here). This implementation caps the adaptive count per
bin and axis at ``cap = max(64, ceil(2 · size / pooled))`` (``size`` = ``H`` or ``W`` of the feature
map), so it equals torchvision for every RoI up to twice the feature map (and up to ``64 · pooled``
pixels), and samples larger ones on the coarser capped grid. An explicit ``sampling_ratio`` may be at
most :data:`MAX_SAMPLING_RATIO` (1024). Memory is therefore at most proportional to
``K · pooled · max(cap, sampling_ratio)`` per axis. Coordinates must be finite (NaN and ±inf raise
``ValueError``, as everywhere boxes are checked).

Implementation: bilinear weights factor into a row part and a column part, and so does their average
over a regular grid. Each RoI therefore becomes two small matrices, ``A_y`` (``pooled_h × H``: how much
each bin's samples weigh each row) and ``A_x`` (``pooled_w × W``), and the output is
``A_y · F · A_xᵀ`` for every channel ``F`` — one matrix product for the rows of all RoIs of an image and
one batched product for the columns, with no loop over bins or sample points (one loop over the images
of the batch). The dense ``A_y`` spends more multiply-adds than sampling only where needed, but large
matrix products are efficient: a gather of only the touched pixels measured no faster on a 256×50×50
map with 512 RoIs. The gradient with respect to ``input`` is the
same linear map transposed, which is what torchvision's backward kernel accumulates.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from cvlib._validate import check_bool, check_int, check_real
from cvlib.detection.rois import as_rois, check_features, check_output_size

__all__ = ["roi_align", "MAX_SAMPLING_RATIO", "adaptive_sampling_cap"]

MAX_SAMPLING_RATIO = 1024
"""The largest explicit ``sampling_ratio`` (samples per bin and axis) :func:`roi_align` accepts."""

_MIN_CAP = 64


def adaptive_sampling_cap(size: int, n_bins: int) -> int:
    """The most samples per bin along an axis of ``size`` pixels split into ``n_bins`` bins that the
    adaptive grid uses: ``max(64, ceil(2 · size / n_bins))``."""
    return max(_MIN_CAP, -(-2 * size // n_bins))


def _axis_weights(start: Tensor, length: Tensor, n_bins: int, size: int,
                  sampling_ratio: int) -> tuple[Tensor, Tensor]:
    """``A[K, n_bins, size]``: the summed bilinear weights of each bin's samples on each pixel of one
    axis, and the number of samples ``grid[K]`` along that axis."""
    dtype = start.dtype
    bin_size = length / n_bins
    if sampling_ratio > 0:
        grid = torch.full_like(start, sampling_ratio, dtype=torch.long)
    else:  # torchvision's ceil(length / n_bins), capped (module docstring)
        grid = torch.ceil(length / n_bins).clamp(max=adaptive_sampling_cap(size, n_bins)).long()
    g_max = max(int(grid.max()), 1)
    p = torch.arange(n_bins, dtype=dtype, device=start.device)[None, :, None]
    g = torch.arange(g_max, device=start.device)[None, None, :]
    b = bin_size[:, None, None]
    pos = (start[:, None, None] + p * b) + (g.to(dtype) + 0.5) * b / grid[:, None, None].to(dtype)
    valid = (g < grid[:, None, None]) & (pos >= -1.0) & (pos <= size)        # [K, n_bins, g_max]
    pos = torch.where(valid, pos.clamp(min=0), torch.zeros_like(pos))
    low = pos.floor().long()
    edge = low >= size - 1
    low = torch.where(edge, size - 1, low)
    high = torch.where(edge, size - 1, low + 1)
    frac = torch.where(edge, torch.zeros_like(pos), pos - low.to(dtype))
    zero = torch.zeros_like(pos)
    a = torch.zeros(start.shape[0], n_bins, size, dtype=dtype, device=start.device)
    a.scatter_add_(2, low, torch.where(valid, 1.0 - frac, zero))
    a.scatter_add_(2, high, torch.where(valid, frac, zero))
    return a, grid


def _pool_image(f: Tensor, a_y: Tensor, a_x: Tensor) -> Tensor:
    """``A_y · F · A_xᵀ`` for every channel of one image ``f`` (``[C, H, W]``) and ``m`` RoIs:
    ``[m, C, ph, pw]``."""
    (c, h, w), (m, ph, _), pw = f.shape, a_y.shape, a_x.shape[1]
    rows = a_y.reshape(m * ph, h) @ f.transpose(0, 1).reshape(h, c * w)          # [m·ph, C·W]
    cols = torch.bmm(rows.view(m, ph * c, w), a_x.transpose(1, 2))               # [m, ph·C, pw]
    return cols.view(m, ph, c, pw).transpose(1, 2).contiguous()


def roi_align(input: Tensor, boxes: Tensor | Sequence[Tensor], output_size: int | Sequence[int],
              spatial_scale: float = 1.0, sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """RoI Align of each RoI of ``boxes`` on ``input`` (``[N, C, H, W]``) to ``Tensor[K, C, ph, pw]``.

    ``sampling_ratio`` is the number of samples per bin and axis (an integer ``<= 1024``), or ``<= 0``
    for the adaptive grid ``ceil(roi / pooled)``, capped at :func:`adaptive_sampling_cap` so that a huge
    RoI cannot allocate without bound (module docstring)."""
    n, c, h, w = check_features(input)
    ph, pw = check_output_size(output_size)
    spatial_scale = check_real("spatial_scale", spatial_scale, 0.0, low_open=True)
    sampling_ratio = check_int("sampling_ratio (<= 0 for adaptive)", sampling_ratio, maximum=MAX_SAMPLING_RATIO)
    aligned = check_bool("aligned", aligned)
    rois = as_rois(boxes, input).detach()
    k = rois.shape[0]
    if k == 0:
        return input.new_zeros(0, c, ph, pw)
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (rois[:, i] * spatial_scale - offset for i in range(1, 5))
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    a_y, grid_h = _axis_weights(y1, roi_h, ph, h, sampling_ratio)
    a_x, grid_w = _axis_weights(x1, roi_w, pw, w, sampling_ratio)
    a_y = a_y / (grid_h * grid_w).clamp(min=1).to(input.dtype)[:, None, None]
    batch_index = rois[:, 0].long()
    pieces = []
    for b in batch_index.unique().tolist():
        sel = (batch_index == b).nonzero().squeeze(1)
        pieces.append((sel, _pool_image(input[b], a_y[sel], a_x[sel])))
    if len(pieces) == 1:
        return pieces[0][1]
    out = input.new_zeros(k, c, ph, pw)
    for sel, pooled in pieces:
        out[sel] = pooled
    return out
