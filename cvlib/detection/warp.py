"""Turning a proposal box into a fixed-size CNN input (R-CNN's region warping, 区域变形).

R-CNN needs 227×227 inputs and evaluates three transformations (Girshick et al. 2014, Appendix A),
each with a context padding ``p`` measured in the *output* frame:

* ``"warp"`` (the one R-CNN uses, with ``p = 16``): dilate the box about its centre so that, once it is
  scaled to ``size × size``, exactly ``p`` output pixels of context surround the original box; then
  scale x and y independently (anisotropically). The box is dilated by the factor
  ``size / (size − 2p)`` on each axis (227 / 195 for ``p = 16``), so the context is ``p · w / (size − 2p)``
  *image* pixels on the left and right and ``p · h / (size − 2p)`` on the top and bottom.
* ``"square"`` ("tightest square with context"): the tightest square centred on the box (its shorter
  side is extended equally on both sides to the longer one), dilated the same way, scaled isotropically;
  the image around the box inside the square is kept.
* ``"square_no_context"`` ("tightest square without context"): the same square, but everything outside
  the original box is replaced by the fill value.

Wherever the source rectangle leaves the image, the pixels are the image mean (per channel), which
becomes 0 once the mean is subtracted before the CNN. Sampling is bilinear at output pixel centres:
output pixel ``u`` reads the source at ``x = X1 + (u + ½) · (X2 − X1) / size`` (continuous coordinates,
image pixel ``j`` covering ``[j, j + 1)``), without anti-aliasing, as in the R-CNN code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from cvlib._validate import check_bool, check_choice, check_positive_int, check_real, check_real_sequence

__all__ = ["context_box", "warp_region", "WARP_MODES"]

WARP_MODES = ("warp", "square", "square_no_context")


def _box_corners(box: Sequence[float]) -> tuple[float, float, float, float]:
    """``(x1, y1, x2, y2)``: four finite numbers with ``x2 > x1`` and ``y2 > y1``."""
    x1, y1, x2, y2 = check_real_sequence("box", box, length=4)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box {[x1, y1, x2, y2]} must have x2 > x1 and y2 > y1")
    return x1, y1, x2, y2


def _size_padding(size: int, padding: float) -> tuple[int, float]:
    """``size >= 1`` and ``0 <= padding < size / 2``."""
    size = check_positive_int("size", size)
    padding = check_real("padding", padding, 0.0)
    if 2 * padding >= size:
        raise ValueError(f"padding must satisfy 0 <= padding < size / 2 = {size / 2}, got {padding}")
    return size, padding


def context_box(box: Sequence[float], size: int = 227, padding: float = 16,
                square: bool = False) -> tuple[float, float, float, float]:
    """The source rectangle ``(X1, Y1, X2, Y2)`` that maps onto the ``size × size`` input: the box (or
    its tightest centred square) scaled about its centre by ``size / (size − 2 · padding)``."""
    x1, y1, x2, y2 = _box_corners(box)
    size, padding = _size_padding(size, padding)
    square = check_bool("square", square)
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    if square:
        w = h = max(w, h)
    scale = size / (size - 2 * padding)
    return cx - w / 2 * scale, cy - h / 2 * scale, cx + w / 2 * scale, cy + h / 2 * scale


def warp_region(image: np.ndarray, box: Sequence[float], size: int = 227, padding: float = 16,
                mode: Literal["warp", "square", "square_no_context"] = "warp",
                fill: Sequence[float] | None = None) -> np.ndarray:
    """The ``size × size × C`` float64 input R-CNN would compute from ``box`` of ``image`` (``H×W×C``).

    ``fill`` (one value per channel) replaces pixels outside the image, and outside the box for
    ``"square_no_context"``; it defaults to the image's per-channel mean.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or min(image.shape) < 1:
        got = getattr(image, "shape", type(image))
        raise ValueError(f"image must be a numpy array of shape H×W×C, got {got}")
    mode = check_choice("mode", mode, WARP_MODES)
    x1, y1, x2, y2 = _box_corners(box)
    size, padding = _size_padding(size, padding)
    h_img, w_img, channels = image.shape
    fill_values = (np.array([image[..., c].mean(dtype=np.float64) for c in range(channels)]) if fill is None
                   else np.asarray(fill, dtype=np.float64))
    if fill_values.shape != (channels,):
        raise ValueError(f"fill must hold one value per channel ({channels}), got {fill!r}")
    X1, Y1, X2, Y2 = context_box((x1, y1, x2, y2), size, padding, square=mode != "warp")
    centres = (np.arange(size) + 0.5) / size
    xs = X1 + centres * (X2 - X1)                      # continuous source coordinates of output columns
    ys = Y1 + centres * (Y2 - Y1)
    x0, x1_, wx = _linear_taps(xs, w_img)
    y0, y1_, wy = _linear_taps(ys, h_img)
    # The grid is separable, so bilinear sampling is linear along x on two rows, then along y.
    def taps(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return image[np.ix_(rows, cols)].astype(np.float64)

    wx3, wy3 = wx[None, :, None], wy[:, None, None]
    top = taps(y0, x0) * (1 - wx3) + taps(y0, x1_) * wx3
    bottom = taps(y1_, x0) * (1 - wx3) + taps(y1_, x1_) * wx3
    out = top * (1 - wy3) + bottom * wy3
    col_in, row_in = (xs >= 0) & (xs < w_img), (ys >= 0) & (ys < h_img)
    if mode == "square_no_context":
        col_in &= (xs >= x1) & (xs < x2)
        row_in &= (ys >= y1) & (ys < y2)
    out[~(row_in[:, None] & col_in[None, :])] = fill_values
    return out


def _linear_taps(coords: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For continuous coordinates, the two pixel indices around each one and the weight of the second.

    Pixel ``j``'s centre is at ``j + ½``; coordinates beyond the first or last centre take the edge
    pixel (as ``scipy.ndimage.map_coordinates(mode="nearest")``)."""
    f = np.clip(coords - 0.5, 0, n - 1)
    lo = np.floor(f).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, f - lo
