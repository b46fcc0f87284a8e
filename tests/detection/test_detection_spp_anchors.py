"""Spatial pyramid pooling and RPN anchors of cvlib.detection."""

import math

import pytest
import torch
import torch.nn.functional as F

from cvlib.detection import anchors, spp, spp_length, spp_window

# --- SPP -------------------------------------------------------------------------------------------


def test_spp_window_paper_example():
    # He et al. (2015), Fig. 4: conv5 of 13×13 with a {3×3, 2×2, 1×1} pyramid uses
    # sizeX=5 stride=4, sizeX=7 stride=6 and sizeX=13 stride=13.
    assert [spp_window(13, n) for n in (3, 2, 1)] == [(5, 4), (7, 6), (13, 13)]


def test_spp_rule_fails_exactly_where_max_pool_gives_the_wrong_count():
    # Which map sizes a does window=ceil(a/n), stride=floor(a/n) tile into n bins? Ask torch's pooling.
    for n in (1, 2, 3, 4, 6):
        for a in range(n, 40):
            window, stride = math.ceil(a / n), a // n
            bins = F.max_pool2d(torch.zeros(1, 1, a, a), window, stride).shape[-1]
            if bins == n:
                assert spp_window(a, n) == (window, stride)
            else:
                with pytest.raises(ValueError, match=f"gives {bins} bins, not {n}"):
                    spp_window(a, n)
    for a in (6, 7, 11):                      # n = 4: 5, 6 and 5 bins
        with pytest.raises(ValueError, match="mode='adaptive'"):
            spp(torch.zeros(1, 1, a, a))
    with pytest.raises(ValueError, match="smaller than 4 bins"):
        spp(torch.zeros(1, 1, 3, 3))


def naive_spp(x, levels):
    """Max over each bin [i·stride, i·stride + window) by loops."""
    n_img, c, h, w = x.shape
    out = []
    for n in levels:
        (wh, sh), (ww, sw) = spp_window(h, n), spp_window(w, n)
        level = torch.empty(n_img, c, n, n, dtype=x.dtype)
        for i in range(n):
            for j in range(n):
                level[:, :, i, j] = x[:, :, i * sh:i * sh + wh, j * sw:j * sw + ww].amax(dim=(2, 3))
        out.append(level.flatten(1))
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("size", [(13, 13), (10, 10), (9, 13), (5, 5), (16, 8)])
def test_spp_fixed_length_and_values(size):
    x = torch.randn(2, 4, *size, generator=torch.Generator().manual_seed(sum(size)))
    out = spp(x)
    assert out.shape == (2, 4 * 21) and spp_length(4) == 4 * 21
    assert torch.equal(out, naive_spp(x, (4, 2, 1)))


def test_spp_adaptive_always_tiles():
    for size in [(3, 3), (6, 6), (7, 7), (11, 5), (50, 37)]:
        assert spp(torch.randn(1, 256, *size), mode="adaptive").shape == (1, 256 * 21)
    x = torch.randn(1, 2, 8, 8)                       # 8 / 4 divides: both modes pool the same bins
    assert torch.equal(spp(x), spp(x, mode="adaptive"))


def test_spp_gradient_reaches_features():
    x = torch.randn(1, 2, 13, 13, requires_grad=True)
    spp(x, (3, 2, 1)).sum().backward()
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("call,match", [
    (lambda: spp(torch.zeros(1, 13, 13)), r"features must be a tensor of shape \(N, C, H, W\)"),
    (lambda: spp(torch.zeros(1, 1, 13, 13), levels=()), "levels"),
    (lambda: spp(torch.zeros(1, 1, 13, 13), levels=(4, 0)), "levels"),
    (lambda: spp(torch.zeros(1, 1, 13, 13), mode="avg"), "mode"),
])
def test_spp_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- anchors ---------------------------------------------------------------------------------------

def test_anchor_count_faster_rcnn():
    # Ren et al. (2015), section 3.3: 3 scales × 3 ratios = k = 9 anchors per position, and "roughly
    # 20000 (≈ 60 × 40 × 9)" for a 1000 × 600 image.
    assert anchors((40, 60), 16).shape == (40 * 60 * 9, 4) == (21600, 4)


def test_anchor_geometry_and_order():
    scales, ratios, stride = (128, 256, 512), (0.5, 1, 2), 16
    a = anchors((3, 5), stride, scales, ratios, dtype=torch.float64).view(3, 5, 3, 3, 4)
    for i in range(3):
        for j in range(5):
            for r, ratio in enumerate(ratios):
                for s, scale in enumerate(scales):
                    x1, y1, x2, y2 = a[i, j, r, s].tolist()
                    w, h = x2 - x1, y2 - y1
                    assert math.isclose(w * h, scale ** 2) and math.isclose(h / w, ratio)
                    assert math.isclose((x1 + x2) / 2, (j + 0.5) * stride)
                    assert math.isclose((y1 + y2) / 2, (i + 0.5) * stride)


def test_first_anchor_by_hand():
    # cell (0, 0), stride 16 -> centre (8, 8); ratio 0.5, scale 128 -> w = 128·√2, h = 128/√2
    w, h = 128 * math.sqrt(2), 128 / math.sqrt(2)
    expected = torch.tensor([8 - w / 2, 8 - h / 2, 8 + w / 2, 8 + h / 2], dtype=torch.float64)
    assert torch.allclose(anchors(1, 16, dtype=torch.float64)[0], expected)


@pytest.mark.parametrize("call,match", [
    (lambda: anchors(0, 16), "feature_size"),
    (lambda: anchors(4, 0), "stride"),
    (lambda: anchors(4, 16, scales=()), "scales"),
    (lambda: anchors(4, 16, ratios=(1, -2)), "ratios"),
])
def test_anchors_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
