"""Slow reference implementations, for tests and benchmarks only.

Each is written straight from the formula with plain Python loops — over boxes, bins, pixels and
sample points (the channels of one pixel are read as one NumPy vector) — so that the vectorised
versions in this package can be compared with something obviously right. Do not use them for work.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["naive_iou", "naive_nms", "naive_roi_pool", "naive_roi_align"]


def naive_iou(a: list[float], b: list[float]) -> float:
    """IoU of two ``(x1, y1, x2, y2)`` boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else float("nan")


def naive_nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy NMS: visit boxes by decreasing score (ties in input order); keep a box unless a kept
    box overlaps it with IoU ``> iou_threshold``."""
    b, s = boxes.tolist(), scores.tolist()
    order = sorted(range(len(b)), key=lambda i: -s[i])
    keep: list[int] = []
    for i in order:
        if all(not naive_iou(b[k], b[i]) > iou_threshold for k in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def _c_round(x: float) -> int:
    """Round half away from zero, as C's ``round``."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def naive_roi_pool(input: Tensor, rois: Tensor, output_size: tuple[int, int], spatial_scale: float = 1.0,
                   mode: str = "caffe") -> tuple[Tensor, Tensor]:
    """RoI max pooling by loops over RoIs, bins and pixels, as the Caffe kernel; ``rois`` is ``[K, 5]``.

    Returns the output ``[K, C, ph, pw]`` and the arg-max ``h · W + w`` of each output (−1 for an
    empty bin)."""
    x = input.detach().numpy()
    _, c, height, width = x.shape
    ph_n, pw_n = output_size
    out = np.zeros((len(rois), c, ph_n, pw_n), dtype=x.dtype)
    arg = np.full((len(rois), c, ph_n, pw_n), -1, dtype=np.int64)

    def edges(p: int, n: int, start: int, length: int) -> tuple[int, int]:
        if mode == "caffe":
            size = length / n
            return start + math.floor(p * size), start + math.ceil((p + 1) * size)
        step = length // n
        end = length if (mode == "last" and p == n - 1) else (p + 1) * step
        return start + p * step, start + end

    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        xs, ys = _c_round(x1 * spatial_scale), _c_round(y1 * spatial_scale)
        xe, ye = _c_round(x2 * spatial_scale), _c_round(y2 * spatial_scale)
        roi_w, roi_h = max(xe - xs + 1, 1), max(ye - ys + 1, 1)
        for ph in range(ph_n):
            h0, h1 = edges(ph, ph_n, ys, roi_h)
            h0, h1 = min(max(h0, 0), height), min(max(h1, 0), height)
            for pw in range(pw_n):
                w0, w1 = edges(pw, pw_n, xs, roi_w)
                w0, w1 = min(max(w0, 0), width), min(max(w1, 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue  # empty bin: 0, no arg-max
                best = np.full(c, -np.inf)
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        v = x[int(b), :, h, w]
                        better = v > best
                        best = np.where(better, v, best)
                        arg[k, :, ph, pw] = np.where(better, h * width + w, arg[k, :, ph, pw])
                out[k, :, ph, pw] = best
    return torch.from_numpy(out), torch.from_numpy(arg)


def _bilinear(f: np.ndarray, y: float, x: float) -> np.ndarray:
    """All channels of ``f`` (``[C, H, W]``) at ``(y, x)``, with the RoI Align kernel's edge rules."""
    _, height, width = f.shape
    if not (-1.0 <= y <= height and -1.0 <= x <= width):
        return np.zeros(f.shape[0], dtype=f.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    hy, hx = 1.0 - ly, 1.0 - lx
    return hy * hx * f[:, y0, x0] + hy * lx * f[:, y0, x1] + ly * hx * f[:, y1, x0] + ly * lx * f[:, y1, x1]


def naive_roi_align(input: Tensor, rois: Tensor, output_size: tuple[int, int], spatial_scale: float = 1.0,
                    sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """RoI Align by loops over RoIs, bins and sample points; ``rois`` is ``[K, 5]``."""
    x = input.detach().numpy()
    c = x.shape[1]
    ph_n, pw_n = output_size
    out = np.zeros((len(rois), c, ph_n, pw_n), dtype=x.dtype)
    offset = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        f = x[int(b)]
        xs, ys = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w, roi_h = x2 * spatial_scale - offset - xs, y2 * spatial_scale - offset - ys
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_h, bin_w = roi_h / ph_n, roi_w / pw_n
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph_n)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw_n)
        count = max(grid_h * grid_w, 1)
        for ph in range(ph_n):
            for pw in range(pw_n):
                total = np.zeros(c, dtype=np.float64)
                for iy in range(grid_h):
                    y = ys + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        xx = xs + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                        total += _bilinear(f, y, xx)
                out[k, :, ph, pw] = total / count
    return torch.from_numpy(out)
