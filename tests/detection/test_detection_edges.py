"""The detection ops at the edges of issue 21: NaN and inf, bools and strings, huge boxes, large class ids,
zero channels, NumPy scalars; every rejection names its argument."""

import math
import time

import numpy as np
import pytest
import torch

from cvlib.detection import (anchors, average_precision, batched_nms, box_area, box_iou, decode_boxes,
                             encode_boxes, evaluate_detections, fast_rcnn_loss, giou, label_anchors,
                             mean_average_precision, nms, roi_align, roi_pool, sample_anchors, spp, spp_length,
                             spp_window)
from cvlib.detection.boxes import check_boxes, check_threshold
from cvlib.detection.proposals.rpn import RPNHead, clip_boxes, generate_proposals, inside_image, rpn_loss
from cvlib.detection.proposals.selective_search import initial_regions, rank_proposals, strategies
from cvlib.detection.roi_align import MAX_SAMPLING_RATIO, adaptive_sampling_cap
from cvlib.detection.warp import context_box, warp_region
from reference import naive_roi_align

NAN, INF = math.nan, math.inf
BOX = torch.tensor([[0.0, 0, 10, 10], [4, 0, 14, 10]])      # IoU 60 / 140 = 0.43
SCORES = torch.tensor([0.9, 0.8])


# --- NaN and inf coordinates -----------------------------------------------------------------------

@pytest.mark.parametrize("bad", [NAN, INF, -INF])
@pytest.mark.parametrize("column", range(4))
def test_non_finite_coordinates_are_rejected(bad, column):
    b = BOX.clone()
    b[1, column] = bad
    for call in (lambda: check_boxes(b), lambda: box_area(b), lambda: box_iou(BOX, b), lambda: nms(b, SCORES, 0.5),
                 lambda: batched_nms(b, SCORES, torch.tensor([0, 1]), 0.5), lambda: giou(b, BOX),
                 lambda: encode_boxes(b, BOX), lambda: decode_boxes(b, torch.zeros(2, 4))):
        with pytest.raises(ValueError, match=r"\[1\] = .* is not finite; box coordinates must be finite"):
            call()


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_non_finite_rois_are_rejected(bad):
    x = torch.zeros(1, 2, 8, 8)
    for fn in (roi_align, roi_pool):
        with pytest.raises(ValueError, match="is not finite"):
            fn(x, torch.tensor([[0.0, 0, 0, bad, 4]]), 2)
        with pytest.raises(ValueError, match=r"boxes\[0\]\[0\] = .* is not finite"):
            fn(x, [torch.tensor([[bad, 0, 4, 4]])], 2)
    with pytest.raises(ValueError, match="batch indices"):
        roi_align(x, torch.tensor([[NAN, 0, 0, 4, 4]]), 2)


def test_coordinates_too_large_for_the_dtype_are_rejected_after_the_cast():
    with pytest.raises(ValueError, match="is not finite"):
        roi_align(torch.zeros(1, 1, 4, 4), torch.tensor([[0.0, 0, 0, 1e300, 1]], dtype=torch.float64), 2)


# --- NaN scores ------------------------------------------------------------------------------------

def test_nan_score_is_rejected_not_ranked_first():
    for bad in (NAN, INF, -INF):
        scores = torch.tensor([0.9, bad])
        with pytest.raises(ValueError, match=r"scores must hold finite values \(no NaN or inf\)"):
            nms(BOX, scores, 0.3)
        with pytest.raises(ValueError, match="scores must hold finite values"):
            batched_nms(BOX, scores, torch.tensor([0, 0]), 0.3)
    with pytest.raises(ValueError, match="scores must be a real-valued tensor"):
        nms(BOX, torch.tensor([True, False]), 0.3)
    with pytest.raises(ValueError, match=r"scores must be a tensor of shape \(N\)"):
        nms(BOX, [0.9, 0.8], 0.3)


def test_evaluate_detections_rejects_a_nan_score():
    gts = [torch.tensor([[0.0, 0, 10, 10]])]
    wrong = torch.tensor([[20.0, 20, 30, 30]])
    # a false positive with a NaN score used to rank first and leave AP = 1.0 for the true positive
    dets = [(torch.cat([BOX[:1], wrong]), torch.tensor([0.5, NAN]))]
    with pytest.raises(ValueError, match=r"dets\[0\] scores must hold finite values"):
        evaluate_detections(dets, gts)
    ok = evaluate_detections([(torch.cat([BOX[:1], wrong]), torch.tensor([0.5, 0.9]))], gts)
    assert ok.ap == pytest.approx(0.5)


# --- batched NMS with large category ids -----------------------------------------------------------

@pytest.mark.parametrize("ids", [(10**7, 10**7), (2**40, 2**40), (-(10**9), -(10**9)), (0, 0)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batched_nms_keeps_iou_043_boxes_whatever_the_id(ids, dtype):
    assert box_iou(BOX, BOX)[0, 1].item() == pytest.approx(60 / 140)
    kept = batched_nms(BOX.to(dtype), SCORES.to(dtype), torch.tensor(ids), 0.5)
    assert kept.tolist() == [0, 1] == nms(BOX.to(dtype), SCORES.to(dtype), 0.5).tolist()


def test_batched_nms_with_many_large_ids_equals_per_class_nms():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=g) * 50
    b = torch.cat([xy, xy + 1 + torch.rand(200, 2, generator=g) * 20], dim=1)
    s = torch.rand(200, generator=g)
    idxs = 10**7 + torch.randint(0, 5, (200,), generator=g) * 10**6
    expected = []
    for c in idxs.unique():
        members = (idxs == c).nonzero().squeeze(1)
        expected += members[nms(b[members], s[members], 0.5)].tolist()
    expected.sort(key=lambda i: (-s[i].item(), i))
    assert batched_nms(b, s, idxs, 0.5).tolist() == expected
    with pytest.raises(ValueError, match="idxs must be an integer tensor"):
        batched_nms(b[:2], s[:2], torch.tensor([True, False]), 0.5)


# --- thresholds: strings, bools and NumPy scalars --------------------------------------------------

@pytest.mark.parametrize("bad", ["0.5", True, None, NAN, 1.5, -0.1, torch.tensor(0.5)])
def test_thresholds_must_be_real_numbers_in_0_1(bad):
    with pytest.raises(ValueError, match="^iou_threshold must be a real number in"):
        nms(BOX, SCORES, bad)
    with pytest.raises(ValueError, match="^iou_threshold must be a real number in"):
        batched_nms(BOX, SCORES, torch.tensor([0, 0]), bad)
    with pytest.raises(ValueError, match="^iou_threshold must be a real number in"):
        evaluate_detections([(BOX, SCORES)], [BOX[:1]], bad)
    with pytest.raises(ValueError, match="^positive_iou must be a real number in"):
        label_anchors(BOX, BOX[:1], positive_iou=bad)
    with pytest.raises(ValueError, match="^negative_iou must be a real number in"):
        label_anchors(BOX, BOX[:1], negative_iou=bad)
    with pytest.raises(ValueError, match="^nms_threshold must be a real number in"):
        generate_proposals(BOX, SCORES, torch.zeros(2, 4), 20, nms_threshold=bad)


def test_numpy_scalars_are_accepted():
    assert check_threshold(np.float32(0.5)) == 0.5
    assert nms(BOX, SCORES, np.float64(0.4)).tolist() == [0]
    assert batched_nms(BOX, SCORES, torch.tensor([3, 3]), np.float32(0.5)).tolist() == [0, 1]
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    rois = torch.tensor([[0.0, 0, 0, 4, 4]])
    torch.testing.assert_close(roi_align(x, rois, np.int64(2), np.float32(1.0), np.int64(2), np.bool_(False)),
                               roi_align(x, rois, 2, 1.0, 2, False))
    torch.testing.assert_close(roi_pool(x, rois, (np.int64(2), 2), np.float64(1.0)), roi_pool(x, rois, 2))
    assert spp_length(np.int64(256), np.array([4, 2, 1])) == 256 * 21
    assert spp_window(np.int64(13), np.int64(3)) == (5, 4)
    assert anchors(np.int64(2), np.float64(16.0), np.array([32.0]), (np.float32(1.0),)).shape == (4, 4)
    assert encode_boxes(BOX, BOX, np.ones(4)).abs().max() == 0


# --- RoI Align: a bounded sampling grid; RoI pooling: zero channels --------------------------------

def test_adaptive_sampling_cap():
    assert adaptive_sampling_cap(50, 7) == 64
    assert adaptive_sampling_cap(1000, 7) == 286
    assert adaptive_sampling_cap(8, 2) == 64


def test_huge_roi_is_sampled_on_a_bounded_grid():
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)
    rois = torch.tensor([[0.0, 0, 0, 1e12, 1e12], [0, 2, 3, 9, 12]], dtype=torch.float64)
    start = time.perf_counter()
    out = roi_align(x, rois, (7, 7))
    assert time.perf_counter() - start < 5 and out.shape == (2, 3, 7, 7) and bool(torch.isfinite(out).all())
    # the ordinary RoI is sampled as torchvision would, the huge one with the capped grid
    torch.testing.assert_close(out[1:], naive_roi_align(x, rois[1:], (7, 7)), rtol=1e-10, atol=1e-10)
    # a RoI beyond the cap equals the reference with the capped grid as an explicit sampling ratio
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64)
    big = torch.tensor([[0.0, -300, -200, 700, 500]], dtype=torch.float64)
    cap = adaptive_sampling_cap(6, 2)
    torch.testing.assert_close(roi_align(x, big, 2), naive_roi_align(x, big, (2, 2), sampling_ratio=cap),
                               rtol=1e-10, atol=1e-10)
    # a RoI within twice the map is sampled exactly as the uncapped reference
    fits = torch.tensor([[0.0, -3, -2, 9, 11]], dtype=torch.float64)
    torch.testing.assert_close(roi_align(x, fits, 1), naive_roi_align(x, fits, (1, 1)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("bad,match", [
    (MAX_SAMPLING_RATIO + 1, r"sampling_ratio \(<= 0 for adaptive\) must be an integer <= 1024, got 1025"),
    (1.5, "sampling_ratio"), (True, "sampling_ratio"), ("2", "sampling_ratio")])
def test_sampling_ratio_is_bounded(bad, match):
    with pytest.raises(ValueError, match=match):
        roi_align(torch.zeros(1, 1, 4, 4), torch.tensor([[0.0, 0, 0, 2, 2]]), 2, sampling_ratio=bad)


@pytest.mark.parametrize("call,match", [
    (lambda: roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), 2, spatial_scale=NAN), "spatial_scale"),
    (lambda: roi_align(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), 2, aligned="no"), "aligned must be True or False"),
    (lambda: roi_pool(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), 2, spatial_scale="1"), "spatial_scale"),
    (lambda: roi_pool(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), 2.0), "output_size must be an integer or a pair"),
    (lambda: roi_pool(torch.zeros(1, 1, 4, 4), torch.zeros(1, 5), (2, True)), r"output_size\[1\]"),
    (lambda: roi_pool(torch.zeros(1, 1, 4, 4, dtype=torch.long), torch.zeros(1, 5), 2),
     "input must be a floating-point tensor"),
])
def test_roi_options(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_roi_pool_with_zero_channels_works_like_roi_align():
    x = torch.zeros(2, 0, 8, 8)
    rois = torch.tensor([[0.0, 0, 0, 4, 4], [1, 2, 2, 7, 7]])
    assert roi_pool(x, rois, (2, 3)).shape == roi_align(x, rois, (2, 3)).shape == (2, 0, 2, 3)


def test_roi_pool_far_outside_coordinates():
    x = torch.arange(16.0, dtype=torch.float64).reshape(1, 1, 4, 4)
    out = roi_pool(x, torch.tensor([[0.0, 0, 0, 1e30, 1e30], [0, -1e30, -1e30, -1e29, -1e29]],
                                   dtype=torch.float64), 2)
    assert out[0, 0, 0, 0] == 15 and out[0, 0].flatten().tolist()[1:] == [0, 0, 0]
    assert out[1].abs().sum() == 0                           # entirely outside the map: empty bins


# --- SPP, anchors, the coder -----------------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: spp_length(-1), "channels must be an integer >= 1, got -1"),
    (lambda: spp_length(0), "channels must be an integer >= 1, got 0"),
    (lambda: spp_length(2.5), "channels must be an integer"),
    (lambda: spp_length(256, (4, -1)), r"levels\[1\] must be an integer >= 1, got -1"),
    (lambda: spp_length(256, ()), "levels must be a non-empty sequence"),
    (lambda: spp_length(256, 4), "levels must be a sequence of integers"),
    (lambda: spp(torch.zeros(1, 1, 8, 8), (2.0,)), r"levels\[0\] must be an integer"),
    (lambda: spp_window(7.0, 4), r"a \(the map size\) must be an integer"),
    (lambda: anchors(2.5, 16), "feature_size must be an integer or a pair"),
    (lambda: anchors((2, 0), 16), r"feature_size\[1\] must be an integer >= 1"),
    (lambda: anchors(2, INF), r"stride must be a real number > 0.0"),
    (lambda: anchors(2, "16"), "stride must be a real number"),
    (lambda: anchors(2, 16, scales=(128, NAN)), r"scales\[1\] must be a real number > 0.0"),
    (lambda: anchors(2, 16, scales=()), "scales must be a non-empty sequence"),
    (lambda: anchors(2, 16, ratios=(0.5, INF)), r"ratios\[1\] must be a real number"),
    (lambda: anchors(2, 16, ratios=(0,)), r"ratios\[0\] must be a real number > 0.0"),
    (lambda: decode_boxes(BOX, torch.tensor([[0.0, 0, NAN, 0], [0, 0, 0, 0]])),
     r"deltas must hold finite values \(no NaN or inf\)"),
    (lambda: decode_boxes(BOX, torch.tensor([[0.0, 0, INF, 0], [0, 0, 0, 0]])), "deltas must hold finite values"),
    (lambda: decode_boxes(BOX, torch.zeros(2, 4, dtype=torch.long)), "deltas must be a floating-point tensor"),
    (lambda: decode_boxes(BOX, torch.zeros(2, 4), clip="4"), "clip must be a real number"),
    (lambda: decode_boxes(BOX, torch.zeros(2, 4), (1, 1, 1)), "weights must be a sequence of 4 real numbers"),
    (lambda: encode_boxes(BOX, BOX, (1, 1, 1, NAN)), r"weights\[3\] must be a real number > 0.0"),
    (lambda: encode_boxes(BOX, BOX, (1, 1, True, 1)), r"weights\[2\]"),
    (lambda: check_boxes(BOX, allow_empty="no"), "allow_empty must be True or False"),
    (lambda: fast_rcnn_loss(torch.zeros(1, 2), torch.zeros(1, 8), torch.zeros(1, dtype=torch.long),
                            torch.zeros(1, 4), lam=-1.0), r"lam must be a real number >= 0.0"),
])
def test_spp_anchors_coder_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_decode_with_an_infinite_clip_is_allowed():
    assert torch.isfinite(decode_boxes(BOX, torch.zeros(2, 4), clip=INF)).all()


# --- AP, warping, RPN, selective search ------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: average_precision([0.5], [1.0], "voc"), "method must be one of 'all_points', '11_point', got 'voc'"),
    (lambda: evaluate_detections([(BOX, SCORES)], [BOX[:1]], method=None), "method must be one of"),
    (lambda: evaluate_detections([(BOX, SCORES)], [BOX[:1]], difficult=[[False]]), "difficult"),
    (lambda: mean_average_precision([], [], [], 0), "num_classes must be an integer >= 1, got 0"),
    (lambda: mean_average_precision([], [], [], 2.0), "num_classes must be an integer"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, NAN, 5, 5)), r"box\[1\] must be a real number"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5, 5), size=32.0), "size must be an integer >= 1"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5, 5), padding=NAN), "padding must be a real number"),
    (lambda: warp_region(np.zeros((10, 10, 3)), (0, 0, 5, 5), padding=-1), "padding must be a real number >= 0"),
    (lambda: context_box((0, 0, 5, 5), square="no"), "square must be True or False"),
    (lambda: RPNHead(2.0), "in_channels must be an integer >= 1"),
    (lambda: RPNHead(8, num_anchors=0), "num_anchors must be an integer >= 1"),
    (lambda: sample_anchors(torch.zeros(4, dtype=torch.long), 1.5), "batch_size must be an integer >= 1"),
    (lambda: sample_anchors(torch.zeros(4, dtype=torch.long), 4, NAN), "positive_fraction must be a real number"),
    (lambda: rpn_loss(torch.zeros(1, 2), torch.zeros(1, 4), torch.zeros(1, dtype=torch.long), torch.zeros(1, 4),
                      n_reg=0), r"n_reg must be a real number > 0.0"),
    (lambda: rpn_loss(torch.zeros(1, 2), torch.zeros(1, 4), torch.zeros(1, dtype=torch.long), torch.zeros(1, 4),
                      n_reg=1, lam="10"), "lam must be a real number"),
    (lambda: rpn_loss(torch.zeros(1, 2), torch.zeros(1, 4), torch.zeros(1, dtype=torch.long), torch.zeros(1, 4),
                      n_reg=1, n_cls=NAN), "n_cls must be a real number"),
    (lambda: generate_proposals(BOX, SCORES, torch.zeros(2, 4), 20, pre_nms_top_n=True), "pre_nms_top_n"),
    (lambda: generate_proposals(BOX, SCORES, torch.zeros(2, 4), 20, post_nms_top_n=0), "post_nms_top_n"),
    (lambda: generate_proposals(BOX, SCORES, torch.zeros(2, 4), 20, min_size=NAN), "min_size must be a real"),
    (lambda: generate_proposals(BOX, SCORES, torch.zeros(2, 4), "20"), "image_size must be a sequence"),
    (lambda: inside_image(BOX, (10, -1)), r"image_size\[1\] must be a real number > 0.0"),
    (lambda: inside_image(BOX, 0), "image_size must be a real number > 0.0"),
    (lambda: inside_image(BOX, 10, allowed_border=NAN), "allowed_border must be a real number"),
    (lambda: clip_boxes(torch.tensor([[0.0, 0, NAN, 1]]), 10), "is not finite"),
    (lambda: initial_regions(np.zeros((4, 4, 3)), NAN), "k must be a real number > 0.0"),
    (lambda: initial_regions(np.zeros((4, 4, 3)), 100, sigma=-1), "sigma must be a real number >= 0.0"),
    (lambda: initial_regions(np.zeros((4, 4, 3)), 100, min_size=1.5), "min_size must be an integer >= 0"),
    (lambda: strategies(ks=(100, "200")), r"ks\[1\] must be a real number"),
    (lambda: rank_proposals([object()], seed=-1), "seed must be an integer >= 0"),
    (lambda: rank_proposals([object()], min_side=NAN), "min_side must be a real number"),
])
def test_ap_warp_rpn_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_inside_image_allows_an_infinite_border_and_numpy_sizes():
    assert inside_image(BOX, (np.int64(5), np.float32(5.0)), allowed_border=INF).all()
    assert inside_image(BOX, np.int64(20)).tolist() == [True, True]
