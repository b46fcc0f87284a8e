"""PASCAL VOC average precision of cvlib.detection, on hand-computed cases."""

import pytest
import torch

from cvlib.detection import average_precision, evaluate_detections


def test_ap_hand_case():
    # Two objects; the ranked detections are TP, FP, TP.
    recall, precision = [0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]
    # all points: envelope 1 on (0, 0.5], 2/3 on (0.5, 1] -> 0.5 + 1/3
    assert average_precision(recall, precision) == pytest.approx(5 / 6)
    # 11 points: t = 0 … 0.5 see precision 1 (6 points), t = 0.6 … 1 see 2/3 (5 points)
    assert average_precision(recall, precision, "11_point") == pytest.approx((6 + 5 * 2 / 3) / 11)


def test_eleven_point_threshold_is_exact():
    # recall exactly 0.3 reaches t = 0.3 (np.arange(0, 1.1, 0.1) would give 0.30000000000000004 and 3/11)
    assert average_precision([0.3], [1.0], "11_point") == pytest.approx(4 / 11)


def test_perfect_and_empty_curves():
    assert average_precision([0.25, 0.5, 0.75, 1.0], [1.0] * 4) == pytest.approx(1.0)
    assert average_precision([0.25, 0.5, 0.75, 1.0], [1.0] * 4, "11_point") == pytest.approx(1.0)
    assert average_precision([], []) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_all_points_is_the_area_under_the_envelope(seed):
    g = torch.Generator().manual_seed(seed)
    hits = torch.rand(40, generator=g) < 0.5
    hits[0] = True
    tp = hits.double().cumsum(0)
    recall, precision = tp / (tp[-1] + 3), tp / torch.arange(1, 41)      # 3 objects never found
    # p_interp(r) = max precision at recall >= r, integrated on a fine grid (midpoint rule)
    r = (torch.arange(40000, dtype=torch.float64) + 0.5) / 40000
    reach = recall[None, :] >= r[:, None]
    envelope = torch.where(reach, precision[None, :], torch.zeros(())).amax(dim=1)
    assert average_precision(recall, precision) == pytest.approx(float(envelope.mean()), abs=1e-3)


def test_evaluate_detections_hand_case():
    gts = [torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]), torch.tensor([[0.0, 0, 10, 10]])]
    difficult = [torch.tensor([False, False]), torch.tensor([True])]
    dets = [
        (torch.tensor([[0.0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]]),
         torch.tensor([0.9, 0.8, 0.7, 0.6])),
        (torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([0.85])),          # hits a difficult object
    ]
    res = evaluate_detections(dets, gts, difficult=difficult)
    # ranked: 0.9 TP, (0.85 ignored), 0.8 duplicate FP, 0.7 FP, 0.6 TP; two positives
    assert res.n_positives == 2
    assert res.tp.tolist() == [True, False, False, True]
    assert torch.allclose(res.precision, torch.tensor([1.0, 0.5, 1 / 3, 0.5], dtype=torch.float64))
    assert torch.allclose(res.recall, torch.tensor([0.5, 0.5, 0.5, 1.0], dtype=torch.float64))
    assert res.ap == pytest.approx(0.5 * 1 + 0.5 * 0.5)
    eleven = evaluate_detections(dets, gts, difficult=difficult, method="11_point").ap
    assert eleven == pytest.approx((6 + 5 * 0.5) / 11)
    # without the difficult flag the third object counts: 3 positives, the 0.85 detection is a TP
    assert evaluate_detections(dets, gts).n_positives == 3


def test_evaluate_detections_iou_threshold_is_inclusive():
    gts = [torch.tensor([[0.0, 0, 10, 10]])]
    dets = [(torch.tensor([[0.0, 0, 10, 5]]), torch.tensor([1.0]))]          # IoU exactly 0.5
    assert evaluate_detections(dets, gts, 0.5).tp.tolist() == [True]        # VOC: ov >= 0.5
    assert evaluate_detections(dets, gts, 0.6).tp.tolist() == [False]


@pytest.mark.parametrize("call,match", [
    (lambda: average_precision([0.5, 0.4], [1.0, 1.0]), "non-decreasing"),
    (lambda: average_precision([0.5], [1.0, 1.0]), "same length"),
    (lambda: average_precision([0.5], [1.5]), r"\[0, 1\]"),
    (lambda: average_precision([0.5], [1.0], "voc"), "method"),
    (lambda: evaluate_detections([], [torch.zeros(0, 4)]), "same images"),
    (lambda: evaluate_detections([(torch.zeros(0, 4), torch.zeros(0))], [torch.zeros(0, 4)]), r"no \(non-difficult\)"),
    (lambda: evaluate_detections([(torch.zeros(1, 4), torch.zeros(2))], [torch.ones(1, 4)]), "scores"),
    (lambda: evaluate_detections([(torch.zeros(1, 4), torch.zeros(1))], [torch.ones(1, 4)], 2.0),
     r"iou_threshold must be a real number in \[0\.0, 1\.0\], got 2\.0"),
    (lambda: evaluate_detections([(torch.zeros(1, 4), torch.zeros(1))], [torch.ones(1, 4)],
                                 difficult=[torch.zeros(2, dtype=torch.bool)]), "difficult"),
])
def test_ap_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
