"""RoI pooling and RoI Align of cvlib.detection.

torchvision is not installed here: both are compared with the per-bin loops of
``tests/detection/reference.py`` (written from the Caffe / torchvision kernels' formulas) on many random
cases, and with small cases worked out by hand.
"""

import pytest
import torch

from cvlib.detection import roi_align, roi_pool
from reference import naive_roi_align, naive_roi_pool


def random_case(seed, n=2, c=3, h=9, w=11, k=7, scale=0.5, dtype=torch.float64):
    """Features and RoIs (image coordinates, some partly or wholly outside the map)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g, dtype=dtype)
    span = torch.tensor([w, h], dtype=dtype) / scale
    p = torch.rand(k, 2, generator=g, dtype=dtype) * span * 1.3 - 0.15 * span
    q = torch.rand(k, 2, generator=g, dtype=dtype) * span * 1.3 - 0.15 * span
    boxes = torch.cat([torch.minimum(p, q), torch.maximum(p, q)], dim=1)
    boxes[0] = torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=dtype)               # a degenerate RoI
    index = torch.randint(0, n, (k, 1), generator=g).to(dtype)
    return x, torch.cat([index, boxes], dim=1)


# --- RoI pooling -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["caffe", "drop", "last"])
@pytest.mark.parametrize("seed", range(12))
def test_roi_pool_matches_loop(seed, mode):
    size = [(2, 2), (3, 4), (7, 7), (1, 5)][seed % 4]
    scale = [1.0, 0.5, 0.25, 1 / 3][seed % 4]
    x, rois = random_case(seed, scale=scale)
    expected, _ = naive_roi_pool(x, rois, size, scale, mode)
    assert torch.equal(roi_pool(x, rois, size, scale, mode=mode), expected)


def test_roi_pool_float32_and_list_format():
    x, rois = random_case(3, dtype=torch.float32)
    as_list = [rois[rois[:, 0] == i, 1:] for i in range(2)]
    order = torch.cat([(rois[:, 0] == i).nonzero().squeeze(1) for i in range(2)])
    expected, _ = naive_roi_pool(x, rois, (3, 3), 0.5)
    assert torch.equal(roi_pool(x, rois, 3, 0.5), expected)
    assert torch.equal(roi_pool(x, as_list, 3, 0.5), expected[order])


def test_roi_pool_whole_map_by_hand():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    out = roi_pool(x, torch.tensor([[0.0, 0, 0, 3, 3]]), 2)     # 4×4 pixels inclusive -> 2×2 bins
    assert out.view(2, 2).tolist() == [[5.0, 7.0], [13.0, 15.0]]


def test_roi_pool_remainder_strategies_by_hand():
    # A 1×5 RoI into 1×2 bins: 5 / 2 does not divide.
    x = torch.tensor([1.0, 0.0, 5.0, 2.0, 7.0]).view(1, 1, 1, 5)
    box = torch.tensor([[0.0, 0, 0, 4, 0]])
    assert roi_pool(x, box, (1, 2)).flatten().tolist() == [5.0, 7.0]               # cols {0,1,2}, {2,3,4}
    assert roi_pool(x, box, (1, 2), mode="drop").flatten().tolist() == [1.0, 5.0]  # {0,1}, {2,3}; 4 dropped
    assert roi_pool(x, box, (1, 2), mode="last").flatten().tolist() == [1.0, 7.0]  # {0,1}, {2,3,4}


def test_roi_pool_rounds_half_away_from_zero():
    x = torch.tensor([9.0, 8.0, 7.0, 6.0, 5.0]).view(1, 1, 1, 5)
    # C's round(2.5) = 3, so the RoI covers columns 3..4 (torch.round would give 2 and read the 7).
    assert roi_pool(x, torch.tensor([[0.0, 2.5, 0, 4, 0]]), 1).item() == 6.0


def test_roi_pool_outside_map_is_zero():
    x = torch.ones(1, 2, 4, 4)
    assert torch.equal(roi_pool(x, torch.tensor([[0.0, 10, 10, 20, 20]]), 2), torch.zeros(1, 2, 2, 2))


def test_roi_pool_gradient_goes_to_argmax_and_adds():
    x = torch.arange(16.0).view(1, 1, 4, 4).requires_grad_()
    rois = torch.tensor([[0.0, 0, 0, 3, 3], [0.0, 2, 2, 3, 3]])    # both RoIs' maximum is pixel 15
    roi_pool(x, rois, 1).sum().backward()
    expected = torch.zeros(16)
    expected[15] = 2.0
    assert torch.equal(x.grad.flatten(), expected)


@pytest.mark.parametrize("seed", range(6))
def test_roi_pool_gradient_matches_argmax_scatter(seed):
    x, rois = random_case(seed, k=10)
    x.requires_grad_()
    grad_out = torch.randn(10, 3, 3, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    (roi_pool(x, rois, 3, 0.5) * grad_out).sum().backward()
    _, arg = naive_roi_pool(x, rois, (3, 3), 0.5)
    expected = torch.zeros(2, 3, 9 * 11, dtype=torch.float64)
    hits = 0
    for k, b in enumerate(rois[:, 0].long().tolist()):
        for c in range(3):
            for i in range(3):
                for j in range(3):
                    if arg[k, c, i, j] >= 0:
                        expected[b, c, arg[k, c, i, j]] += grad_out[k, c, i, j]
                        hits += 1
    assert hits > 0
    assert torch.allclose(x.grad.view(2, 3, -1), expected, atol=1e-12)


# --- RoI Align -------------------------------------------------------------------------------------

@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_roi_align_matches_loop(seed, aligned):
    size = [(2, 2), (3, 4), (7, 7), (1, 5)][seed % 4]
    scale = [1.0, 0.5, 0.25, 1 / 3][seed % 4]
    ratio = [-1, 0, 1, 2, 3, -1][seed % 6]
    x, rois = random_case(seed, scale=scale)
    expected = naive_roi_align(x, rois, size, scale, ratio, aligned)
    assert torch.allclose(roi_align(x, rois, size, scale, ratio, aligned), expected, rtol=0, atol=1e-12)


def test_roi_align_float32_list_format():
    x, rois = random_case(5, dtype=torch.float32)
    as_list = [rois[rois[:, 0] == i, 1:] for i in range(2)]
    order = torch.cat([(rois[:, 0] == i).nonzero().squeeze(1) for i in range(2)])
    expected = naive_roi_align(x, rois, (2, 3), 0.5, 2, True)
    assert torch.allclose(roi_align(x, as_list, (2, 3), 0.5, 2, True), expected[order], atol=1e-5)


def test_roi_align_linear_ramp_by_hand():
    # f(h, w) = w is linear, so bilinear sampling is exact and a bin averages its sample columns.
    x = torch.arange(8.0).repeat(8, 1).view(1, 1, 8, 8)
    box = torch.tensor([[0.0, 1, 1, 5, 5]])
    # bin width 2, two samples per bin: x = 1.5, 2.5 -> 2 and 3.5, 4.5 -> 4
    assert roi_align(x, box, 2, sampling_ratio=2).view(2, 2).tolist() == [[2.0, 4.0], [2.0, 4.0]]
    # aligned=True shifts every sample by half a pixel
    assert roi_align(x, box, 2, sampling_ratio=2, aligned=True).view(2, 2).tolist() == [[1.5, 3.5], [1.5, 3.5]]


def test_roi_align_edge_rules_by_hand():
    x = torch.ones(1, 1, 2, 2)
    # 4×4 RoI on a 2×2 map, one bin, 2×2 samples at 1 and 3 on each axis: 3 > W = 2 gives 0, so only
    # the sample (1, 1) counts (it reads the last row and column alone): mean = 1/4.
    assert roi_align(x, torch.tensor([[0.0, 0, 0, 4, 4]]), 1, sampling_ratio=2).item() == 0.25
    # A zero-size RoI with aligned=True has no samples: output 0.
    assert roi_align(x, torch.tensor([[0.0, 1, 1, 1, 1]]), 1, aligned=True).item() == 0.0


def test_roi_align_adaptive_grid():
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    box = torch.tensor([[0.0, 0, 0, 5, 5]])                      # 5 / 2 bins -> ceil(2.5) = 3 samples
    adaptive = roi_align(x, box, 2, sampling_ratio=-1)
    assert torch.allclose(adaptive, roi_align(x, box, 2, sampling_ratio=3))
    assert not torch.allclose(adaptive, roi_align(x, box, 2, sampling_ratio=2))


def test_roi_align_gradient_is_the_adjoint():
    # RoI Align is linear in the input, out = J x, so the gradient of <out, G> is Jᵀ G and
    # <Jᵀ G, v> = <G, J v> for every direction v — J v computed by the reference loop.
    x, rois = random_case(1, k=5)
    x.requires_grad_()
    g = torch.Generator().manual_seed(1)
    weights = torch.randn(5, 3, 2, 3, generator=g, dtype=torch.float64)
    (roi_align(x, rois, (2, 3), 0.5, -1, True) * weights).sum().backward()
    for _ in range(3):
        v = torch.randn(x.shape, generator=g, dtype=torch.float64)
        expected = (naive_roi_align(v, rois, (2, 3), 0.5, -1, True) * weights).sum()
        assert torch.isclose((x.grad * v).sum(), expected, rtol=1e-10)


# --- bad input -------------------------------------------------------------------------------------

X = torch.zeros(2, 3, 8, 8)


@pytest.mark.parametrize("fn", [roi_pool, roi_align])
@pytest.mark.parametrize("args,match", [
    ((X, torch.zeros(3, 4), 2), r"Tensor\[K, 5\]"),
    ((X, torch.tensor([[2.0, 0, 0, 1, 1]]), 2), "batch indices"),
    ((X, torch.tensor([[0.5, 0, 0, 1, 1]]), 2), "batch indices"),
    ((X, torch.tensor([[0.0, 3, 0, 1, 1]]), 2), "x2 < x1"),
    ((X, [torch.zeros(1, 4)] * 3, 2), "3 images"),
    ((X, [torch.zeros(1, 5)], 2), r"\[N, 4\]"),
    ((X, torch.zeros(1, 5), 0), "output_size"),
    ((X, torch.zeros(1, 5), (2, 2, 2)), "output_size"),
    ((X[0], torch.zeros(1, 5), 2), r"input must be a tensor of shape \(N, C, H, W\)"),
])
def test_roi_bad_input(fn, args, match):
    with pytest.raises(ValueError, match=match):
        fn(*args)


def test_roi_bad_options():
    with pytest.raises(ValueError, match="mode"):
        roi_pool(X, torch.zeros(1, 5), 2, mode="floor")
    with pytest.raises(ValueError, match="spatial_scale"):
        roi_pool(X, torch.zeros(1, 5), 2, spatial_scale=0)
    with pytest.raises(ValueError, match="spatial_scale"):
        roi_align(X, torch.zeros(1, 5), 2, spatial_scale=-1)
    with pytest.raises(ValueError, match="sampling_ratio"):
        roi_align(X, torch.zeros(1, 5), 2, sampling_ratio=1.5)


def test_roi_empty_rois():
    assert roi_pool(X, torch.zeros(0, 5), (2, 3)).shape == (0, 3, 2, 3)
    assert roi_align(X, [torch.zeros(0, 4)], (2, 3)).shape == (0, 3, 2, 3)
