"""A deterministic synthetic detection data set: filled shapes on cluttered backgrounds.

Every image is ``size × size`` RGB in ``[0, 1]`` and holds 1 … ``max_objects`` objects of
:data:`CLASSES` — a filled circle, an axis-aligned square or an upward triangle — whose bounding boxes
do not overlap. Pixel ``(row r, column c)`` covers ``[c, c + 1) × [r, r + 1)``; it belongs to a shape
when its centre ``(c + 0.5, r + 0.5)`` does, and a box is the continuous extent of its shape:

* circle of radius ``R`` centred at ``(x, y)``: ``(x − R, y − R, x + R, y + R)``;
* square of side ``S``: ``(x − S/2, y − S/2, x + S/2, y + S/2)``;
* triangle with base ``S`` (bottom edge) and height ``H``: ``(x − S/2, y − H/2, x + S/2, y + H/2)``,
  apex at ``(x, y − H/2)``.

The clutter that a detector must learn to ignore: a smooth two-colour gradient, pixel noise, thin line
segments and small dots in random colours (both much thinner or smaller than any object). Objects get
saturated colours on the greyish background.

Image ``i`` of a set is drawn from ``numpy.random.default_rng((seed, i))`` alone, so it does not
depend on how many images are generated: the same ``seed`` gives the same images and boxes, and the
first ``n`` images of a larger set equal a set of ``n``. Labels are ``1 … len(CLASSES)`` (0 is kept
for the background class of a detector).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from cvlib._validate import check_choice, check_int, check_positive_int, check_real, check_real_sequence

__all__ = ["CLASSES", "ShapesData", "make_shapes", "render_shape"]

CLASSES: tuple[str, ...] = ("circle", "square", "triangle")


@dataclass(frozen=True)
class ShapesData:
    """``images[N, 3, size, size]`` (float32 in [0, 1]), and per image ``boxes[i]`` (``Tensor[G_i, 4]``,
    ``x1, y1, x2, y2``) and ``labels[i]`` (``Tensor[G_i]``, int64 in ``1 … len(CLASSES)``)."""

    images: Tensor
    boxes: list[Tensor]
    labels: list[Tensor]

    def __len__(self) -> int:
        return self.images.shape[0]


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)``, each ``[size, size]`` (read-only)."""
    centres = np.arange(size) + 0.5
    x, y = np.meshgrid(centres, centres)
    x.flags.writeable = y.flags.writeable = False
    return x, y


def render_shape(kind: str, cx: float, cy: float, side: float, size: int,
                 height: float | None = None) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Boolean mask ``[size, size]`` and box ``(x1, y1, x2, y2)`` of one shape centred at ``(cx, cy)``.

    ``side`` is the diameter (circle), side (square) or base (triangle); ``height`` is the triangle's
    height (default ``side``)."""
    check_choice("kind", kind, CLASSES)
    side = check_real("side", side, 0.0, low_open=True)
    h = side if height is None else check_real("height", height, 0.0, low_open=True)
    cx, cy = check_real("cx", cx), check_real("cy", cy)
    size = check_positive_int("size", size)
    x, y = _grid(size)                                    # x: column centres, y: row centres
    half = side / 2
    if kind == "circle":
        mask = (x - cx) ** 2 + (y - cy) ** 2 <= half * half
        box = (cx - half, cy - half, cx + half, cy + half)
    elif kind == "square":
        mask = (np.abs(x - cx) <= half) & (np.abs(y - cy) <= half)
        box = (cx - half, cy - half, cx + half, cy + half)
    else:
        top, bottom = cy - h / 2, cy + h / 2
        # inside when below the apex line, above the base, and within the two slanted edges
        frac = (y - top) / h                              # 0 at the apex, 1 at the base
        mask = (y >= top) & (y <= bottom) & (np.abs(x - cx) <= half * frac)
        box = (cx - half, top, cx + half, bottom)
    return mask, box


def _colour(rng: np.random.Generator, saturation: tuple[float, float],
            value: tuple[float, float]) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*saturation), rng.uniform(*value)))


def _background(rng: np.random.Generator, size: int, n_lines: int, n_dots: int) -> np.ndarray:
    """``[size, size, 3]``: gradient + noise + thin lines + small dots."""
    a, b = _colour(rng, (0.0, 0.25), (0.25, 0.75)), _colour(rng, (0.0, 0.25), (0.25, 0.75))
    angle = rng.uniform(0, 2 * np.pi)
    x, y = _grid(size)
    t = ((x - size / 2) * np.cos(angle) + (y - size / 2) * np.sin(angle)) / size + 0.5
    img = a + np.clip(t, 0, 1)[..., None] * (b - a)
    for _ in range(n_lines):                              # 1-pixel line segments
        p, q = rng.uniform(0, size, 2), rng.uniform(0, size, 2)
        steps = int(np.ceil(np.abs(q - p).max())) + 1
        pts = np.linspace(p, q, steps).astype(int).clip(0, size - 1)
        img[pts[:, 1], pts[:, 0]] = _colour(rng, (0.5, 1.0), (0.5, 1.0))
    for _ in range(n_dots):                               # dots of radius 1 … 2 pixels
        c, r = rng.uniform(0, size, 2), rng.uniform(1.0, 2.0)
        img[(x - c[0]) ** 2 + (y - c[1]) ** 2 <= r * r] = _colour(rng, (0.5, 1.0), (0.5, 1.0))
    return img


def _overlaps(box: tuple[float, ...], others: list[tuple[float, ...]], gap: float) -> bool:
    return any(box[0] < o[2] + gap and o[0] < box[2] + gap and box[1] < o[3] + gap and o[1] < box[3] + gap
               for o in others)


def make_shapes(n: int, size: int = 64, seed: int = 0, max_objects: int = 3,
                side_range: tuple[float, float] = (12.0, 28.0), n_lines: int = 4, n_dots: int = 6,
                noise: float = 0.03) -> ShapesData:
    """``n`` images of :data:`CLASSES` on clutter; deterministic in ``seed`` (see the module docstring)."""
    n, size = check_int("n", n, 1), check_int("size", size, 16)
    max_objects, seed = check_int("max_objects", max_objects, 1), check_int("seed", seed, 0)
    lo, hi = check_real_sequence("side_range", side_range, length=2)
    if not 2 <= lo <= hi <= size / 2:
        raise ValueError(f"side_range must satisfy 2 <= low <= high <= size / 2 = {size / 2}, got {side_range!r}")
    n_lines, n_dots = check_int("n_lines", n_lines, 0), check_int("n_dots", n_dots, 0)
    noise = check_real("noise", noise, 0.0)
    images = np.empty((n, size, size, 3), dtype=np.float32)
    boxes: list[Tensor] = []
    labels: list[Tensor] = []
    for i in range(n):
        rng = np.random.default_rng((seed, i))
        img = _background(rng, size, n_lines, n_dots)
        placed: list[tuple[float, ...]] = []
        kinds: list[int] = []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            for _try in range(50):                        # rejection sampling of a free spot
                k = int(rng.integers(len(CLASSES)))
                side = rng.uniform(lo, hi)
                height = side * rng.uniform(0.8, 1.0) if CLASSES[k] == "triangle" else side
                cx = rng.uniform(side / 2, size - side / 2)
                cy = rng.uniform(height / 2, size - height / 2)
                mask, box = render_shape(CLASSES[k], cx, cy, side, size, height)
                if not _overlaps(box, placed, gap=2.0):
                    img[mask] = _colour(rng, (0.7, 1.0), (0.6, 1.0))
                    placed.append(box)
                    kinds.append(k + 1)
                    break
        img += rng.normal(0.0, noise, img.shape)
        images[i] = np.clip(img, 0, 1)
        boxes.append(torch.tensor(placed, dtype=torch.float32).reshape(-1, 4))
        labels.append(torch.tensor(kinds, dtype=torch.int64))
    return ShapesData(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), boxes, labels)
