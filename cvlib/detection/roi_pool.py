"""RoI pooling (RoI池化, Fast R-CNN): max-pool every region of interest to a fixed ``H × W`` grid.

It is a one-level SPP applied to each RoI. With the default ``mode="caffe"`` the bins are exactly those
of the original Caffe kernel, which torchvision's ``roi_pool`` kept. For one axis (rows shown)::

    y1' = round(y1 · spatial_scale),  y2' = round(y2 · spatial_scale)     (round half away from 0)
    roi_h = max(y2' − y1' + 1, 1)            (inclusive pixel count; a malformed RoI becomes 1 pixel)
    bin_h = roi_h / pooled_h                 (a float)
    rows of bin ph: [y1' + floor(ph · bin_h), y1' + ceil((ph + 1) · bin_h)), clipped to [0, H]

so neighbouring bins may share a row when ``roi_h`` is not a multiple of ``pooled_h``. The notes' two
other ways to handle the remainder are options, with ``step = roi_h // pooled_h``:

* ``mode="drop"``: bin ``ph`` is ``[ph · step, (ph + 1) · step)``, the leftover rows are discarded;
* ``mode="last"``: the same, but the last bin runs to the end of the RoI and takes the leftover.

(In both, a RoI smaller than the grid gives ``step = 0`` and empty bins.) An empty bin — also one that
lies outside the feature map — outputs 0. The max is taken per channel; its gradient goes to the
arg-max pixel (the first one in row-major order on ties), and a pixel that is the arg-max of several
bins or overlapping RoIs receives the sum of their gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

from cvlib._validate import check_choice, check_real
from cvlib.detection.rois import as_rois, check_features, check_output_size

__all__ = ["roi_pool", "round_half_away"]

_MODES = ("caffe", "drop", "last")
_BUDGET = 1 << 24  # gathered elements per chunk of RoIs
_FAR = float(1 << 52)  # beyond this a corner is "far outside" any feature map; int64 casts stay exact


def round_half_away(t: Tensor) -> Tensor:
    """C's ``round``: halves go away from zero (``torch.round`` sends them to the even neighbour)."""
    trunc = torch.trunc(t)
    half = (t - trunc).abs() == 0.5
    return torch.where(half, trunc + torch.sign(t), torch.round(t))


def _bin_edges(start: Tensor, end: Tensor, n: int, size: int, mode: str,
               dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """First and one-past-last pixel ``[K, n]`` of each bin along one axis, clipped to ``[0, size]``."""
    length = (end - start + 1).clamp(min=1)
    p = torch.arange(n, device=start.device)
    if mode == "caffe":
        bin_size = length.to(dtype)[:, None] / n
        lo = torch.floor(p.to(dtype) * bin_size).long()
        hi = torch.ceil((p + 1).to(dtype) * bin_size).long()
    else:
        step = (length // n)[:, None]
        lo = p * step
        hi = torch.where(p == n - 1, length[:, None], lo + step) if mode == "last" else lo + step
    return (lo + start[:, None]).clamp(0, size), (hi + start[:, None]).clamp(0, size)


def _window(lo: Tensor, hi: Tensor, extent: int, size: int) -> tuple[Tensor, Tensor]:
    """Pixel indices ``[K, n, extent]`` of each bin, padded to ``extent``, and which of them are real."""
    offsets = torch.arange(extent, device=lo.device)
    idx = lo[..., None] + offsets
    return idx.clamp(max=size - 1), offsets < (hi - lo)[..., None]


def roi_pool(input: Tensor, boxes: Tensor | Sequence[Tensor], output_size: int | Sequence[int],
             spatial_scale: float = 1.0, mode: Literal["caffe", "drop", "last"] = "caffe") -> Tensor:
    """Max-pool each RoI of ``boxes`` on ``input`` (``[N, C, H, W]``) to ``Tensor[K, C, ph, pw]``."""
    n, c, h, w = check_features(input)
    ph, pw = check_output_size(output_size)
    mode = check_choice("mode", mode, _MODES)
    spatial_scale = check_real("spatial_scale", spatial_scale, 0.0, low_open=True)
    rois = as_rois(boxes, input)
    k = rois.shape[0]
    out = input.new_zeros(k, c, ph, pw)
    with torch.no_grad():
        # Corners far outside the map (beyond ±2^52 pixels) are clamped before the cast to int64.
        scaled = (rois[:, 1:] * spatial_scale).clamp(-_FAR, _FAR)
        corners = round_half_away(scaled).long()
        h_lo, h_hi = _bin_edges(corners[:, 1], corners[:, 3], ph, h, mode, input.dtype)
        w_lo, w_hi = _bin_edges(corners[:, 0], corners[:, 2], pw, w, mode, input.dtype)
    if k == 0 or c == 0:
        return out  # nothing to pool (no RoI, or no channel: like roi_align, an empty [K, 0, ph, pw])
    kh, kw = int((h_hi - h_lo).max()), int((w_hi - w_lo).max())
    if kh == 0 or kw == 0:
        return out  # every bin is empty
    # Channels-last rows, plus one row of -inf that every padded window position points at.
    pixels = input.permute(0, 2, 3, 1).reshape(n * h * w, c)
    pixels = torch.cat([pixels, pixels.new_full((1, c), float("-inf"))])
    sentinel = n * h * w
    chunk = max(1, _BUDGET // (c * ph * pw * kh * kw))
    for s in range(0, k, chunk):
        sl = slice(s, s + chunk)
        with torch.no_grad():
            rows, row_ok = _window(h_lo[sl], h_hi[sl], kh, h)          # [k, ph, kh]
            cols, col_ok = _window(w_lo[sl], w_hi[sl], kw, w)          # [k, pw, kw]
            image = rois[sl, 0].long()[:, None, None, None, None]
            # pixel[k, ph, pw, kh, kw] read by each window position, row-major inside a bin
            pixel = (image * h + rows[:, :, None, :, None]) * w + cols[:, None, :, None, :]
            ok = row_ok[:, :, None, :, None] & col_ok[:, None, :, None, :]
            pixel = torch.where(ok, pixel, sentinel).flatten(-2)      # [k, ph, pw, kh·kw]
            values = pixels[pixel]                                     # [k, ph, pw, kh·kw, C]
            arg = values.argmax(dim=3)                                 # first maximum, [k, ph, pw, C]
            best = pixel.gather(3, arg)                                # its pixel, per channel
        chosen = pixels.gather(0, best.reshape(-1, c)).view(best.shape)  # differentiable read
        out[sl] = chosen.permute(0, 3, 1, 2)
    empty = (h_hi <= h_lo)[:, None, :, None] | (w_hi <= w_lo)[:, None, None, :]
    return torch.where(empty, 0.0, out)
