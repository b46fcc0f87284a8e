"""Selective search (选择性搜索): class-independent region proposals by hierarchical grouping.

Uijlings et al. (2013), Algorithm 1. Start from an over-segmentation ``R = {r_1, …, r_n}`` (Felzenszwalb
and Huttenlocher's graph-based segmentation, threshold ``k``, here ``skimage.segmentation.felzenszwalb``).
Put the similarity of every pair of neighbouring regions in a set ``S``. Then repeat until ``S`` is
empty: take the most similar pair ``(r_i, r_j)``, merge it into ``r_t = r_i ∪ r_j``, remove every
similarity that involves ``r_i`` or ``r_j`` from ``S``, add the similarities of ``r_t`` with its
neighbours, and record ``r_t``. The proposals are the boxes of all ``2n − 1`` regions.

Similarities, all in ``[0, 1]`` and added up (``a_i ∈ {0, 1}`` selects them: the letters ``C T S F``)::

    s_colour  = Σ_k min(c_i^k, c_j^k)       25-bin histogram per colour channel, L1-normalised
    s_texture = Σ_k min(t_i^k, t_j^k)       10-bin histograms of Gaussian derivatives (σ = 1) in
                                            8 orientations per channel, L1-normalised
    s_size    = 1 − (size(r_i) + size(r_j)) / size(im)
    s_fill    = 1 − (size(BB_ij) − size(r_i) − size(r_j)) / size(im)

A merged region's histograms are the size-weighted mean of its parts', ``C_t = (size_i C_i + size_j
C_j) / (size_i + size_j)``, so no pixel is read again after the start. The derivative in orientation
``θ`` is ``cos θ · ∂I/∂x + sin θ · ∂I/∂y``, half-wave rectified so that ``θ`` and ``θ + 180°`` are
different measurements (the paper does not say how it bins the responses; here each channel's
responses are scaled by their maximum over the image).

Diversification: several colour spaces (``rgb``, ``hsv``, ``lab``, ``grey``; the segmentation and the
grouping both run in that space), several ``k`` and several similarity combinations; every combination
is one *strategy* and gives one hierarchy. The paper's "fast" mode, the one R-CNN uses, is HSV and Lab
× ``k ∈ {50, 100}`` × ``{CTSF, TSF}``: 8 strategies.

Ranking (the paper's §3.3): in each hierarchy the region at position ``i`` gets ``v = RND × i``, where
``i = 1`` is the top (the region covering the whole image, the last merge), ``i = 2`` the merge before
it, and so on down to the initial regions; ``RND`` is uniform in ``[0, 1]``. All regions of all
strategies are sorted by ``v``, smallest first, and only then are lower-ranked duplicate boxes dropped,
so a box that several strategies propose gets the best of several random draws (``ranking="paper"``).
``ranking="notes"`` is the reading in which duplicates' values are *added* and larger totals rank
first.

A box is ``(x1, y1, x2, y2)`` in continuous pixel coordinates: a region covering columns ``a … b``
has ``x1 = a`` and ``x2 = b + 1``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch
from scipy import ndimage
from skimage import color
from skimage.segmentation import felzenszwalb
from torch import Tensor

from cvlib._validate import check_choice, check_int, check_real

__all__ = [
    "COLOUR_SPACES",
    "FAST_MODE",
    "QUALITY_MODE",
    "Hierarchy",
    "Strategy",
    "check_image",
    "colour_histograms",
    "hierarchical_grouping",
    "initial_regions",
    "neighbour_pairs",
    "rank_proposals",
    "selective_search",
    "selective_search_hierarchies",
    "strategies",
    "texture_histograms",
    "to_colour_space",
]

COLOUR_SPACES = ("rgb", "hsv", "lab", "grey")
COLOUR_BINS = 25
TEXTURE_BINS = 10
ORIENTATIONS = 8

# The paper's two settings (Uijlings et al. 2013, §5.2): colour spaces × k × similarity combinations.
# The quality mode's colour spaces are HSV, Lab, rgI, H and I; rgI and H are not implemented here.
FAST_MODE = {"colour_spaces": ("hsv", "lab"), "ks": (50, 100), "measures": ("CTSF", "TSF")}
QUALITY_MODE = {"colour_spaces": ("hsv", "lab", "rgI", "H", "I"), "ks": (50, 100, 150, 300),
                "measures": ("CTSF", "TSF", "F", "S")}


class Strategy(NamedTuple):
    """One grouping strategy: colour space, Felzenszwalb threshold ``k`` and similarity letters."""

    colour_space: str
    k: float
    measures: str


@dataclass(frozen=True)
class Hierarchy:
    """The regions one strategy creates, in order: the ``n`` initial regions, then one per merge."""

    strategy: Strategy
    boxes: np.ndarray         # [2n − 1, 4] int64 (x1, y1, x2, y2)
    n_initial: int
    merges: np.ndarray        # [n − 1, 2] the two regions merged at each step (indices into boxes)
    similarity: np.ndarray    # [n − 1] the similarity of each merged pair

    @property
    def positions(self) -> np.ndarray:
        """Position ``i`` of every region in the hierarchy: 1 for the last region (the whole image),
        2 for the one before, …; the initial regions come last."""
        return np.arange(len(self.boxes), 0, -1)


# ------------------------------------------------------------------------------------ input and colour

def check_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as float64 ``H×W×3`` in ``[0, 1]`` (uint8 is divided by 255); otherwise raise
    ``ValueError`` saying what is wrong."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array of shape H×W×3, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape H×W×3 (an RGB image), got {image.shape}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"image must be at least 2×2 pixels, got {image.shape[0]}×{image.shape[1]}")
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"image must be uint8 (0…255) or floating point (0…1), got dtype {image.dtype}")
    out = image.astype(np.float64)
    if not np.isfinite(out).all() or out.min() < 0 or out.max() > 1:
        raise ValueError("a floating-point image must have finite values in [0, 1]")
    return out


def to_colour_space(rgb: np.ndarray, space: str) -> np.ndarray:
    """``H×W×C`` float image in ``[0, 1]`` per channel: ``rgb``, ``hsv``, ``lab`` (L/100, (a+128)/255,
    (b+128)/255) or ``grey`` (one channel, ITU-R 709 luma)."""
    check_choice("space", space, COLOUR_SPACES)
    if space == "rgb":
        return rgb
    if space == "hsv":
        return color.rgb2hsv(rgb)
    if space == "lab":
        lab = color.rgb2lab(rgb)
        return np.clip(np.stack([lab[..., 0] / 100.0, (lab[..., 1] + 128) / 255.0,
                                 (lab[..., 2] + 128) / 255.0], axis=-1), 0.0, 1.0)
    return color.rgb2gray(rgb)[..., None]  # grey


# -------------------------------------------------------------------------------------------- regions

def initial_regions(image: np.ndarray, k: float, sigma: float = 0.8, min_size: int | None = None) -> np.ndarray:
    """Felzenszwalb–Huttenlocher labels ``H×W`` (``0 … n − 1``) of an ``H×W×C`` image in ``[0, 1]``.

    ``k`` is the paper's threshold (``scale`` in scikit-image, which rescales it for ``[0, 1]`` images so
    that it means the same as for 0…255); ``min_size`` defaults to ``k``, as in the selective search
    code. A larger ``k`` gives fewer, larger regions.
    """
    k = check_real("k", k, 0.0, low_open=True)
    sigma = check_real("sigma", sigma, 0.0)
    min_size = int(k) if min_size is None else check_int("min_size", min_size, 0)
    if image.shape[2] == 1:
        labels = felzenszwalb(image[..., 0], scale=k, sigma=sigma, min_size=min_size, channel_axis=None)
    else:
        labels = felzenszwalb(image, scale=k, sigma=sigma, min_size=min_size, channel_axis=-1)
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def neighbour_pairs(labels: np.ndarray) -> np.ndarray:
    """``[P, 2]`` pairs ``(a, b)``, ``a < b``, of labels that touch horizontally or vertically."""
    n = int(labels.max()) + 1
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1, :].ravel()])
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:, :].ravel()])
    differ = a != b
    lo, hi = np.minimum(a[differ], b[differ]), np.maximum(a[differ], b[differ])
    code = np.unique(lo.astype(np.int64) * n + hi)
    return np.stack([code // n, code % n], axis=1)


def _histograms(bins: np.ndarray, labels: np.ndarray, n: int, n_bins: int) -> np.ndarray:
    """Per-region histograms of ``bins`` (``H×W×F`` integers in ``[0, n_bins)``, one histogram per
    feature ``f``), concatenated and L1-normalised: ``[n, F · n_bins]``. One ``bincount`` does all."""
    features = bins.shape[2]
    index = (labels[..., None].astype(np.int64) * features + np.arange(features)) * n_bins + bins
    hist = np.bincount(index.ravel(), minlength=n * features * n_bins).reshape(n, features * n_bins)
    total = hist.sum(axis=1, keepdims=True)
    return np.divide(hist, total, out=np.zeros(hist.shape), where=total > 0)  # an empty label stays 0


def colour_histograms(image: np.ndarray, labels: np.ndarray, n_bins: int = COLOUR_BINS) -> np.ndarray:
    """``[n, C · 25]``: a 25-bin histogram per channel of every region, L1-normalised."""
    bins = np.minimum((image * n_bins).astype(np.int64), n_bins - 1)
    return _histograms(bins, labels, int(labels.max()) + 1, n_bins)


def orientation_responses(image: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """``H×W×(C·8)``: half-wave rectified Gaussian derivatives in 8 orientations per channel, each
    channel scaled by its largest response (so values lie in ``[0, 1]``)."""
    angles = np.arange(ORIENTATIONS) * (2 * np.pi / ORIENTATIONS)
    out = []
    for c in range(image.shape[2]):
        dx = ndimage.gaussian_filter(image[..., c], sigma, order=(0, 1))
        dy = ndimage.gaussian_filter(image[..., c], sigma, order=(1, 0))
        r = np.maximum(np.cos(angles) * dx[..., None] + np.sin(angles) * dy[..., None], 0.0)
        peak = r.max()
        out.append(r / peak if peak > 0 else r)
    return np.concatenate(out, axis=-1)


def texture_histograms(image: np.ndarray, labels: np.ndarray, n_bins: int = TEXTURE_BINS) -> np.ndarray:
    """``[n, C · 8 · 10]``: 10-bin histograms of the 8 orientation responses of every channel."""
    bins = np.minimum((orientation_responses(image) * n_bins).astype(np.int64), n_bins - 1)
    return _histograms(bins, labels, int(labels.max()) + 1, n_bins)


def _check_measures(measures: str) -> str:
    if not isinstance(measures, str) or not measures or set(measures) - set("CTSF") or \
            len(set(measures)) != len(measures):
        raise ValueError(f"measures must be a non-empty string of distinct letters from 'CTSF' (colour, "
                         f"texture, size, fill), got {measures!r}")
    return measures


# ------------------------------------------------------------------------------------------- grouping

def hierarchical_grouping(labels: np.ndarray, colour: np.ndarray | None = None,
                          texture: np.ndarray | None = None, measures: str = "CTSF",
                          strategy: Strategy | None = None) -> Hierarchy:
    """Algorithm 1 of Uijlings et al. on an over-segmentation ``labels`` (``0 … n − 1``), with the
    regions' ``colour`` and ``texture`` histograms (needed only if ``measures`` has C or T)."""
    measures = _check_measures(measures)
    n = int(labels.max()) + 1
    if "C" in measures and (colour is None or colour.shape[0] != n):
        raise ValueError("measure C needs colour histograms, one row per region")
    if "T" in measures and (texture is None or texture.shape[0] != n):
        raise ValueError("measure T needs texture histograms, one row per region")
    total = 2 * n - 1
    im_size = float(labels.size)
    size = np.zeros(total)
    size[:n] = np.bincount(labels.ravel(), minlength=n)
    boxes = np.zeros((total, 4), dtype=np.int64)
    for r, (rows, cols) in enumerate(ndimage.find_objects(labels + 1)):
        boxes[r] = (cols.start, rows.start, cols.stop, rows.stop)
    col = tex = None
    if "C" in measures:
        col = np.zeros((total, colour.shape[1]))
        col[:n] = colour
    if "T" in measures:
        tex = np.zeros((total, texture.shape[1]))
        tex[:n] = texture

    def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        s = np.zeros(len(b))
        if col is not None:
            s += np.minimum(col[a], col[b]).sum(axis=1)
        if tex is not None:
            s += np.minimum(tex[a], tex[b]).sum(axis=1)
        if "S" in measures:
            s += 1.0 - (size[a] + size[b]) / im_size
        if "F" in measures:
            lo = np.minimum(boxes[a, :2], boxes[b, :2])
            hi = np.maximum(boxes[a, 2:], boxes[b, 2:])
            bb = np.prod(hi - lo, axis=-1)
            s += 1.0 - (bb - size[a] - size[b]) / im_size
        return s

    # Lines 2–5: S holds the similarity of every neighbouring pair; the heap finds max(S) quickly.
    pairs = neighbour_pairs(labels)
    S: dict[tuple[int, int], float] = {}
    neighbours: list[set[int]] = [set() for _ in range(total)]
    for (a, b), s in zip(pairs.tolist(), similarity(pairs[:, 0], pairs[:, 1]).tolist()):
        S[(a, b)] = s
        neighbours[a].add(b)
        neighbours[b].add(a)
    heap = [(-s, a, b) for (a, b), s in S.items()]
    heapq.heapify(heap)

    merges = np.zeros((n - 1, 2), dtype=np.int64)
    merged_similarity = np.zeros(n - 1)
    t = n
    while S:                                                        # line 6
        neg, a, b = heapq.heappop(heap)
        if (a, b) not in S:                                         # removed earlier: stale entry
            continue
        merges[t - n], merged_similarity[t - n] = (a, b), -neg      # line 7: s(r_i, r_j) = max(S)
        size[t] = size[a] + size[b]                                 # line 8: r_t = r_i ∪ r_j
        boxes[t, :2] = np.minimum(boxes[a, :2], boxes[b, :2])
        boxes[t, 2:] = np.maximum(boxes[a, 2:], boxes[b, 2:])
        if col is not None:
            col[t] = (size[a] * col[a] + size[b] * col[b]) / size[t]
        if tex is not None:
            tex[t] = (size[a] * tex[a] + size[b] * tex[b]) / size[t]
        for r in (a, b):                                            # lines 9–10: S = S \ s(r_i, r_*) …
            for other in neighbours[r]:
                S.pop((min(r, other), max(r, other)), None)
                neighbours[other].discard(r)
        around = sorted((neighbours[a] | neighbours[b]) - {a, b})
        neighbours[a] = neighbours[b] = set()
        if around:                                                  # lines 11–12: S = S ∪ S_t
            others = np.array(around)
            for other, s in zip(around, similarity(np.full(len(others), t), others).tolist()):
                S[(other, t)] = s
                heapq.heappush(heap, (-s, other, t))
                neighbours[other].add(t)
            neighbours[t] = set(around)
        t += 1                                                      # line 13: R = R ∪ r_t
    if t != total:
        raise ValueError(f"the region graph is not connected: {total - t} merges missing")
    return Hierarchy(strategy or Strategy("", 0.0, measures), boxes, n, merges, merged_similarity)


# ------------------------------------------------------------------------------------- diversification

def strategies(colour_spaces: Sequence[str] = FAST_MODE["colour_spaces"],
               ks: Sequence[float] = FAST_MODE["ks"],
               measures: Sequence[str] = FAST_MODE["measures"]) -> list[Strategy]:
    """Every combination colour space × k × similarity measures (k outermost, as in the paper's code)."""
    if not colour_spaces or not ks or not measures:
        raise ValueError("colour_spaces, ks and measures must each name at least one choice")
    for i, space in enumerate(colour_spaces):
        check_choice(f"colour_spaces[{i}]", space, COLOUR_SPACES)
    for m in measures:
        _check_measures(m)
    ks = [check_real(f"ks[{i}]", k, 0.0, low_open=True) for i, k in enumerate(ks)]
    return [Strategy(space, float(k), m) for k in ks for space in colour_spaces for m in measures]


def selective_search_hierarchies(image: np.ndarray, colour_spaces: Sequence[str] = FAST_MODE["colour_spaces"],
                                 ks: Sequence[float] = FAST_MODE["ks"],
                                 measures: Sequence[str] = FAST_MODE["measures"],
                                 sigma: float = 0.8) -> list[Hierarchy]:
    """One :class:`Hierarchy` per strategy. The segmentation and the histograms are computed once per
    (colour space, k) and shared by the similarity combinations."""
    rgb = check_image(image)
    plan = strategies(colour_spaces, ks, measures)
    converted = {space: to_colour_space(rgb, space) for space in dict.fromkeys(s.colour_space for s in plan)}
    cache: dict[tuple[str, float], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    textures = {}
    out = []
    for strategy in plan:
        key = (strategy.colour_space, strategy.k)
        if key not in cache:
            img = converted[strategy.colour_space]
            labels = initial_regions(img, strategy.k, sigma)
            if strategy.colour_space not in textures:
                textures[strategy.colour_space] = np.minimum(
                    (orientation_responses(img) * TEXTURE_BINS).astype(np.int64), TEXTURE_BINS - 1)
            n = int(labels.max()) + 1
            cache[key] = (labels, colour_histograms(img, labels),
                          _histograms(textures[strategy.colour_space], labels, n, TEXTURE_BINS))
        labels, colour, texture = cache[key]
        out.append(hierarchical_grouping(labels, colour, texture, strategy.measures, strategy))
    return out


# -------------------------------------------------------------------------------------------- ranking

def rank_proposals(hierarchies: Sequence[Hierarchy], seed: int = 0,
                   ranking: Literal["paper", "notes"] = "paper",
                   min_side: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unique boxes ``[N, 4]`` of all hierarchies, best first, and their ranking values.

    ``v = RND × i`` per region (``RND ~ U[0, 1]`` from ``numpy.random.default_rng(seed)``, ``i`` the
    position in its hierarchy). ``"paper"``: sort by ``v`` ascending, then drop lower-ranked duplicates.
    ``"notes"``: add up the ``v`` of identical boxes and sort the totals descending. Boxes with a side
    shorter than ``min_side`` pixels are dropped first (the selective search code uses 20).
    """
    if not hierarchies:
        raise ValueError("need at least one hierarchy")
    ranking = check_choice("ranking", ranking, ("paper", "notes"))
    min_side = check_real("min_side", min_side, 0.0)
    seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    boxes = np.concatenate([h.boxes for h in hierarchies])
    v = rng.random(len(boxes)) * np.concatenate([h.positions for h in hierarchies])
    big = ((boxes[:, 2] - boxes[:, 0]) >= min_side) & ((boxes[:, 3] - boxes[:, 1]) >= min_side)
    boxes, v = boxes[big], v[big]
    if ranking == "paper":
        order = np.argsort(v, kind="stable")
        boxes, v = boxes[order], v[order]
        first = np.sort(np.unique(boxes, axis=0, return_index=True)[1])  # best-ranked copy of each box
        return boxes[first], v[first]
    unique, inverse = np.unique(boxes, axis=0, return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=v, minlength=len(unique))
    order = np.argsort(-total, kind="stable")
    return unique[order], total[order]


def selective_search(image: np.ndarray, colour_spaces: Sequence[str] = FAST_MODE["colour_spaces"],
                     ks: Sequence[float] = FAST_MODE["ks"], measures: Sequence[str] = FAST_MODE["measures"],
                     sigma: float = 0.8, seed: int = 0, ranking: Literal["paper", "notes"] = "paper",
                     min_side: int = 0) -> Tensor:
    """Ranked proposals ``Tensor[N, 4]`` (float32, ``x1, y1, x2, y2``) of an ``H×W×3`` image (uint8, or
    float in ``[0, 1]``). Defaults: the paper's fast mode (8 strategies) and its ranking."""
    hierarchies = selective_search_hierarchies(image, colour_spaces, ks, measures, sigma)
    boxes, _ = rank_proposals(hierarchies, seed, ranking, min_side)
    return torch.from_numpy(boxes.astype(np.float32))
