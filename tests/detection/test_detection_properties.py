"""Property tests of the box operations (hypothesis): NMS, batched NMS, IoU and the box coder.

Boxes mix small integer coordinates (ties, touching edges, IoUs exactly at the threshold, zero-area
boxes) with arbitrary floats; scores mix ties with arbitrary values.
"""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cvlib.detection import batched_nms, box_iou, decode_boxes, encode_boxes, nms
from reference import naive_iou, naive_nms

SETTINGS = settings(max_examples=80, deadline=None, database=None)

COORD = st.one_of(st.integers(-8, 8).map(float), st.floats(-50.0, 50.0, allow_nan=False))
SIDE = st.one_of(st.integers(0, 6).map(float), st.floats(0.0, 30.0, allow_nan=False))
SCORE = st.one_of(st.integers(0, 3).map(float), st.floats(0.0, 1.0, allow_nan=False))
THRESHOLD = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.7, 1.0]), st.floats(0.0, 1.0, allow_nan=False))
CATEGORY = st.sampled_from([0, 1, 2, 7, 10**7, 10**7 + 1, 2**40, -3])


@st.composite
def boxes(draw, max_boxes=14, dtype=torch.float64):
    rows = draw(st.lists(st.tuples(COORD, COORD, SIDE, SIDE), max_size=max_boxes))
    return torch.tensor([[x, y, x + w, y + h] for x, y, w, h in rows], dtype=dtype).reshape(-1, 4)


@st.composite
def scored_boxes(draw, dtype=torch.float64):
    b = draw(boxes(dtype=dtype))
    s = torch.tensor(draw(st.lists(SCORE, min_size=len(b), max_size=len(b))), dtype=dtype)
    return b, s


@SETTINGS
@given(scored_boxes(), THRESHOLD)
def test_nms_properties(data, threshold):
    b, s = data
    keep = nms(b, s, threshold)
    assert keep.dtype == torch.int64
    assert torch.equal(keep, naive_nms(b, s, threshold))                   # the loop reference
    k = keep.tolist()
    assert len(set(k)) == len(k) and all(0 <= i < len(b) for i in k)      # unique, in range
    ranked = [(-s[i].item(), i) for i in k]
    assert ranked == sorted(ranked)                                         # score order, ties by index
    iou = box_iou(b[keep], b[keep]).fill_diagonal_(0)
    assert not bool((iou > threshold).any())                                # kept boxes do not overlap
    for i in set(range(len(b))) - set(k):                                   # every dropped box has a reason
        before = [j for j in k if (-s[j].item(), j) < (-s[i].item(), i)]
        assert any(naive_iou(b[j].tolist(), b[i].tolist()) > threshold for j in before)


def per_class_nms(b, s, idxs, threshold):
    keep = []
    for c in idxs.unique():
        members = (idxs == c).nonzero().squeeze(1)
        keep += members[nms(b[members], s[members], threshold)].tolist()
    return sorted(keep, key=lambda i: (-s[i].item(), i))


@SETTINGS
@given(st.sampled_from([torch.float32, torch.float64]), st.data(), THRESHOLD)
def test_batched_nms_is_nms_per_class(dtype, data, threshold):
    b, s = data.draw(scored_boxes(dtype=dtype))
    idxs = torch.tensor(data.draw(st.lists(CATEGORY, min_size=len(b), max_size=len(b))), dtype=torch.int64)
    assert batched_nms(b, s, idxs, threshold).tolist() == per_class_nms(b, s, idxs, threshold)


@SETTINGS
@given(boxes(), boxes())
def test_box_iou_properties(b1, b2):
    iou = box_iou(b1, b2)
    assert iou.shape == (len(b1), len(b2))
    assert torch.equal(iou.isnan(), box_iou(b2, b1).T.isnan())
    assert torch.equal(iou.nan_to_num(-1), box_iou(b2, b1).T.nan_to_num(-1))    # symmetric, exactly
    defined = iou[~iou.isnan()]
    assert bool(((defined >= 0) & (defined <= 1)).all())                      # within [0, 1]
    expected = torch.tensor([[naive_iou(p, q) for q in b2.tolist()] for p in b1.tolist()],
                            dtype=torch.float64).reshape(len(b1), len(b2))
    assert torch.allclose(iou, expected, rtol=1e-12, atol=1e-12, equal_nan=True)
    nan = iou.isnan()                                                          # only for two empty boxes
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    assert torch.equal(nan, (area1[:, None] == 0) & (area2[None, :] == 0) & nan)
    positive = area1 > 0
    assert bool((box_iou(b1[positive], b1[positive]).diagonal() == 1).all())


POSITIVE_SIDE = st.floats(1.0, 50.0, allow_nan=False)   # sizes within 50×: below decode's clip of 62.5×
WEIGHT = st.floats(0.1, 20.0, allow_nan=False)


@SETTINGS
@given(st.lists(st.tuples(COORD, COORD, POSITIVE_SIDE, POSITIVE_SIDE, COORD, COORD, POSITIVE_SIDE,
                          POSITIVE_SIDE), max_size=10),
       st.tuples(WEIGHT, WEIGHT, WEIGHT, WEIGHT))
def test_encode_then_decode_is_the_identity(rows, weights):
    proposals = torch.tensor([[x, y, x + w, y + h] for x, y, w, h, *_ in rows], dtype=torch.float64).reshape(-1, 4)
    gt = torch.tensor([[x, y, x + w, y + h] for *_, x, y, w, h in rows], dtype=torch.float64).reshape(-1, 4)
    deltas = encode_boxes(proposals, gt, weights)
    assert deltas.shape == gt.shape and bool(torch.isfinite(deltas).all())
    torch.testing.assert_close(decode_boxes(proposals, deltas, weights), gt, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(encode_boxes(proposals, proposals, weights), torch.zeros_like(proposals))
