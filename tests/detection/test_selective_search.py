"""Selective search and R-CNN's region warping (cvlib.detection.proposals.selective_search, cvlib.detection.warp).

There is no library selective search to compare with, so the grouping is checked against facts that hold
independently of the code: the exact boxes of flat-colour rectangles, histograms recomputed from the
pixels of merged regions, the structure of a hierarchy (n initial regions, n − 1 merges, the whole image
at the top), and the ranking rules of Uijlings et al. (2013), §3.3. The warp is compared with
scikit-image's resize and with the geometry of Girshick et al. (2014), Appendix A.
"""

import numpy as np
import pytest
import torch
from skimage import data, transform

from cvlib.detection import selective_search
from cvlib.detection.proposals.selective_search import (FAST_MODE, QUALITY_MODE, Hierarchy, Strategy,
                                              colour_histograms, hierarchical_grouping, initial_regions,
                                              neighbour_pairs, rank_proposals, selective_search_hierarchies,
                                              strategies, texture_histograms, to_colour_space)
from cvlib.detection.warp import context_box, warp_region


def two_rectangles() -> np.ndarray:
    img = np.full((64, 96, 3), 0.5)
    img[10:30, 5:40] = (0.9, 0.1, 0.1)    # box (5, 10, 40, 30)
    img[35:60, 50:90] = (0.1, 0.2, 0.9)   # box (50, 35, 90, 60)
    return img


# --- selective search ------------------------------------------------------------------------------

def test_flat_rectangles_are_proposed_exactly():
    boxes = selective_search(two_rectangles())
    assert boxes.dtype == torch.float32 and boxes.shape[1] == 4
    rows = {tuple(b) for b in boxes.tolist()}
    assert (5.0, 10.0, 40.0, 30.0) in rows
    assert (50.0, 35.0, 90.0, 60.0) in rows
    assert (0.0, 0.0, 96.0, 64.0) in rows                      # the top of every hierarchy
    assert len(rows) == len(boxes)                              # duplicates removed


def test_uint8_and_float_inputs_agree():
    img = two_rectangles()
    as_uint8 = np.round(img * 255).astype(np.uint8)
    assert torch.equal(selective_search(as_uint8), selective_search(as_uint8.astype(np.float64) / 255))


def test_deterministic_with_a_seed():
    img = transform.resize(data.astronaut(), (64, 64), anti_aliasing=True)
    a, b = selective_search(img, seed=3), selective_search(img, seed=3)
    assert torch.equal(a, b)
    c = selective_search(img, seed=4)
    assert not torch.equal(a, c)                                 # another order …
    assert sorted(map(tuple, a.tolist())) == sorted(map(tuple, c.tolist()))   # … of the same boxes


def test_hierarchy_structure():
    img = transform.resize(data.astronaut(), (48, 48), anti_aliasing=True)
    for h in selective_search_hierarchies(img, colour_spaces=("rgb", "grey"), ks=(50,), measures=("CTSF", "S")):
        n = h.n_initial
        assert h.boxes.shape == (2 * n - 1, 4) and h.merges.shape == (n - 1, 2)
        assert h.boxes[-1].tolist() == [0, 0, 48, 48]            # the last merge covers the image
        assert h.positions[-1] == 1 and h.positions[-2] == 2 and h.positions[0] == 2 * n - 1
        merged = h.merges.ravel()
        assert len(set(merged.tolist())) == len(merged) == 2 * n - 2   # every region merged once, top excepted
        for step, (a, b) in enumerate(h.merges):
            assert a < n + step and b < n + step                 # parts exist before the merge
            t = n + step                                         # the union's box is the boxes' hull
            assert h.boxes[t].tolist() == [min(h.boxes[a][0], h.boxes[b][0]), min(h.boxes[a][1], h.boxes[b][1]),
                                           max(h.boxes[a][2], h.boxes[b][2]), max(h.boxes[a][3], h.boxes[b][3])]


def test_merged_histograms_equal_the_pixels_of_the_union():
    # Propagating C_t = (|r_i| C_i + |r_j| C_j) / (|r_i| + |r_j|) must give the histogram of the union's
    # own pixels: relabel the image after each merge and recompute from scratch.
    img = to_colour_space(transform.resize(data.coffee(), (40, 60), anti_aliasing=True), "hsv")
    labels = initial_regions(img, 100)
    colour, texture = colour_histograms(img, labels), texture_histograms(img, labels)
    h = hierarchical_grouping(labels, colour, texture, "CTSF")
    n = h.n_initial
    owner = np.arange(2 * n - 1)
    col = [*colour]
    tex = [*texture]
    sizes = [*np.bincount(labels.ravel())]
    for step, (a, b) in enumerate(h.merges):
        t = n + step
        col.append((sizes[a] * col[a] + sizes[b] * col[b]) / (sizes[a] + sizes[b]))
        tex.append((sizes[a] * tex[a] + sizes[b] * tex[b]) / (sizes[a] + sizes[b]))
        sizes.append(sizes[a] + sizes[b])
        owner[owner == a] = t
        owner[owner == b] = t
        if step in (0, n // 2, n - 2):
            current = owner[labels]
            region = (current == t).astype(np.int64)              # label 1 = the merged region
            assert np.allclose(colour_histograms(img, region)[1], col[t])
            assert np.allclose(texture_histograms(img, region)[1], tex[t])
            ys, xs = np.nonzero(region)
            assert h.boxes[t].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_always_merges_the_most_similar_pair():
    # Size-only similarity can be recomputed by hand: s = 1 − (|r_i| + |r_j|) / |im|, largest for the
    # smallest pair of neighbours. Replay the merges and check each against all current pairs.
    img = to_colour_space(transform.resize(data.astronaut(), (40, 40), anti_aliasing=True), "rgb")
    labels = initial_regions(img, 50)
    h = hierarchical_grouping(labels, measures="S")
    n = h.n_initial
    sizes = dict(enumerate(np.bincount(labels.ravel()).tolist()))
    pairs = {tuple(p) for p in neighbour_pairs(labels).tolist()}
    for step, (a, b) in enumerate(h.merges.tolist()):
        best = max(1 - (sizes[i] + sizes[j]) / labels.size for i, j in pairs)
        assert np.isclose(h.similarity[step], best) and (min(a, b), max(a, b)) in pairs
        t = n + step
        new = set()
        for i, j in pairs:
            if {i, j} & {a, b}:
                other = j if i in (a, b) else i
                if other not in (a, b):
                    new.add((other, t))
            else:
                new.add((i, j))
        pairs = new
        sizes[t] = sizes.pop(a) + sizes.pop(b)
    assert not pairs


def test_larger_k_gives_fewer_regions():
    img = to_colour_space(transform.resize(data.astronaut(), (96, 96), anti_aliasing=True), "rgb")
    counts = [int(initial_regions(img, k).max()) + 1 for k in (50, 100, 150, 300)]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]


def test_histogram_sizes_match_the_paper():
    # Uijlings et al. §3.2: 25 colour bins per channel (75 for three channels); 8 orientations × 10 bins
    # per channel (240 for three channels). Every histogram is L1-normalised.
    img = to_colour_space(transform.resize(data.coffee(), (30, 40), anti_aliasing=True), "lab")
    labels = initial_regions(img, 50)
    c, t = colour_histograms(img, labels), texture_histograms(img, labels)
    assert c.shape[1] == 75 and t.shape[1] == 240
    assert np.allclose(c.sum(1), 1) and np.allclose(t.sum(1), 1)
    grey = to_colour_space(transform.resize(data.coffee(), (30, 40)), "grey")
    assert colour_histograms(grey, initial_regions(grey, 50)).shape[1] == 25


def test_strategy_counts_of_the_paper():
    # Fast mode: 2 colour spaces × 2 k × 2 similarity sets = 8; quality mode: 5 × 4 × 4 = 80 (§5.2).
    assert len(strategies(**FAST_MODE)) == 8
    assert np.prod([len(v) for v in QUALITY_MODE.values()]) == 80


def fake_hierarchies() -> list[Hierarchy]:
    # Two hand-made hierarchies over the same three initial boxes: positions 5, 4, 3, 2, 1.
    boxes = np.array([[0, 0, 1, 1], [1, 0, 2, 1], [0, 1, 2, 2], [0, 0, 2, 1], [0, 0, 2, 2]])
    merges, sim = np.array([[0, 1], [3, 2]]), np.zeros(2)
    return [Hierarchy(Strategy("rgb", 50.0, "S"), boxes, 3, merges, sim),
            Hierarchy(Strategy("hsv", 50.0, "S"), boxes.copy(), 3, merges, sim)]


def test_paper_ranking_keeps_the_best_ranked_duplicate():
    hs = fake_hierarchies()
    boxes, v = rank_proposals(hs, seed=0, ranking="paper")
    rnd = np.random.default_rng(0).random(10) * np.r_[5, 4, 3, 2, 1, 5, 4, 3, 2, 1]
    best = np.minimum(rnd[:5], rnd[5:])                        # each box appears once per hierarchy
    assert np.allclose(v, np.sort(best)) and len(boxes) == 5
    assert np.all(np.diff(v) >= 0)


def test_notes_ranking_adds_duplicates():
    hs = fake_hierarchies()
    boxes, total = rank_proposals(hs, seed=0, ranking="notes")
    rnd = np.random.default_rng(0).random(10) * np.r_[5, 4, 3, 2, 1, 5, 4, 3, 2, 1]
    summed = rnd[:5] + rnd[5:]
    assert np.allclose(total, np.sort(summed)[::-1])
    assert np.all(np.diff(total) <= 0)


def test_min_side_filters_small_boxes():
    boxes, _ = rank_proposals(fake_hierarchies(), min_side=2)
    assert boxes.tolist() == [[0, 0, 2, 2]]


@pytest.mark.parametrize("bad,match", [
    (np.zeros((32, 32)), "H×W×3"),
    (np.zeros((32, 32, 4)), "H×W×3"),
    (np.zeros((1, 32, 3)), "at least 2×2"),
    (np.full((8, 8, 3), 2.0), r"\[0, 1\]"),
    (np.zeros((8, 8, 3), dtype=np.int32), "dtype"),
    ([[0, 0, 0]], "numpy array"),
    (torch.zeros(8, 8, 3), "numpy array"),
])
def test_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        selective_search(bad)


@pytest.mark.parametrize("kwargs,match", [
    ({"colour_spaces": ("xyz",)}, r"colour_spaces\[0\] must be one of"),
    ({"ks": (0,)}, r"ks\[0\] must be a real number > 0"),
    ({"measures": ("CX",)}, "measures"),
    ({"measures": ("CC",)}, "measures"),
    ({"measures": ()}, "at least one"),
    ({"ranking": "best"}, "ranking"),
    ({"min_side": -1}, "min_side"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        selective_search(two_rectangles(), **kwargs)


# --- warping ---------------------------------------------------------------------------------------

def test_warp_without_padding_is_a_bilinear_resize():
    img = np.random.default_rng(0).random((40, 60, 3))
    for size in (17, 32, 90):
        expected = transform.resize(img, (size, size), order=1, anti_aliasing=False, mode="edge")
        assert np.allclose(warp_region(img, (0, 0, 60, 40), size=size, padding=0), expected)
    crop = transform.resize(img[5:35, 10:50], (20, 20), order=1, anti_aliasing=False, mode="edge")
    assert np.allclose(warp_region(img, (10, 5, 50, 35), size=20, padding=0), crop)


def test_warp_leaves_exactly_p_pixels_of_context():
    # Girshick et al. Appendix A: p = 16 pixels of context around the box in the 227 × 227 input, so the
    # box itself spans 227 − 2·16 = 195 pixels on both axes, whatever its aspect ratio.
    mask = np.zeros((120, 200, 1))
    mask[30:70, 50:150] = 1.0                                   # a 100 × 40 box
    out = warp_region(mask, (50, 30, 150, 70), size=227, padding=16, fill=[0.0])
    assert (out[113, :, 0] > 0.5).sum() == 195 and (out[:, 113, 0] > 0.5).sum() == 195
    assert np.array_equal(np.nonzero(out[113, :, 0] > 0.5)[0], np.arange(16, 211))


def test_context_box_geometry():
    X1, Y1, X2, Y2 = context_box((50, 30, 150, 70), 227, 16)
    assert np.isclose(X2 - X1, 100 * 227 / 195) and np.isclose(Y2 - Y1, 40 * 227 / 195)
    assert np.isclose((X1 + X2) / 2, 100) and np.isclose((Y1 + Y2) / 2, 50)
    S = context_box((50, 30, 150, 70), 227, 0, square=True)     # tightest square: short side extended
    assert S == (50.0, 0.0, 150.0, 100.0)                       # equally on both sides


def test_outside_the_image_is_the_mean():
    img = np.random.default_rng(1).random((30, 30, 3))
    out = warp_region(img, (-100, -100, -50, -50), size=8, padding=0)
    assert np.allclose(out, img.reshape(-1, 3).mean(0))
    part = warp_region(img, (-15, 0, 15, 30), size=30, padding=0)   # left half outside
    assert np.allclose(part[:, :15], img.reshape(-1, 3).mean(0))


def test_square_modes():
    img = np.random.default_rng(2).random((100, 100, 3))
    box = (40, 45, 60, 55)                                      # 20 × 10
    with_ctx = warp_region(img, box, size=40, padding=0, mode="square")
    without = warp_region(img, box, size=40, padding=0, mode="square_no_context")
    mean = img.reshape(-1, 3).mean(0)
    # the square is 20 × 20 around the box: rows 0..9 and 30..39 of the output lie outside the box
    assert np.allclose(without[:10], mean) and np.allclose(without[30:], mean)
    assert np.allclose(with_ctx[10:30], without[10:30])
    assert not np.allclose(with_ctx[:10], mean)


@pytest.mark.parametrize("call,match", [
    (lambda: warp_region(np.zeros((10, 10)), (0, 0, 5, 5)), "H×W×C"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (5, 0, 5, 5)), "x2 > x1"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5)), "box must be a sequence of 4 real numbers"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5, 5), size=32, padding=16), "padding"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5, 5), size=0), "size"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5, 5), mode="crop"), "mode"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5, 5), fill=[0.0]), "fill"),
])
def test_warp_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
