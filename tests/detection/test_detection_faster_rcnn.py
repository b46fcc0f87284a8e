"""The synthetic shapes data set and the small Faster R-CNN of cvlib.detection."""

import math

import numpy as np
import pytest
import torch

from cvlib.detection import box_iou
from cvlib.detection.faster_rcnn import (Detections, FasterRCNN, FasterRCNNConfig, small_backbone, train_faster_rcnn)
from cvlib.detection.ap import mean_average_precision
from cvlib.data.synthetic import CLASSES, make_shapes, render_shape

# --- the data set ----------------------------------------------------------------------------------


def test_same_seed_same_images_and_boxes():
    a, b = make_shapes(6, seed=3), make_shapes(6, seed=3)
    assert torch.equal(a.images, b.images)
    assert all(torch.equal(x, y) for x, y in zip(a.boxes, b.boxes))
    assert all(torch.equal(x, y) for x, y in zip(a.labels, b.labels))
    c = make_shapes(6, seed=4)
    assert not torch.equal(a.images, c.images)


def test_image_i_does_not_depend_on_the_set_size():
    small, large = make_shapes(3, seed=7), make_shapes(8, seed=7)
    assert torch.equal(small.images, large.images[:3])
    assert all(torch.equal(x, y) for x, y in zip(small.boxes, large.boxes[:3]))


def test_images_boxes_and_labels_are_valid():
    d = make_shapes(40, size=64, seed=0, max_objects=3)
    assert d.images.shape == (40, 3, 64, 64) and d.images.dtype == torch.float32 and len(d) == 40
    assert float(d.images.min()) >= 0 and float(d.images.max()) <= 1
    seen = set()
    for boxes, labels in zip(d.boxes, d.labels):
        assert 1 <= len(boxes) <= 3 and boxes.shape == (len(labels), 4)
        assert bool((boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 64).all())
        side = boxes[:, 2:] - boxes[:, :2]
        assert bool((side >= 12 * 0.8 - 1e-4).all() and (side <= 28 + 1e-4).all())
        iou = box_iou(boxes, boxes).fill_diagonal_(0)
        assert float(iou.max()) == 0                              # objects never overlap
        seen |= set(labels.tolist())
    assert seen == {1, 2, 3}


@pytest.mark.parametrize("kind", CLASSES)
def test_shape_masks_fill_their_boxes(kind):
    mask, box = render_shape(kind, 20.3, 17.6, 14.0, 40, height=12.0)
    rows, cols = np.nonzero(mask)
    # the covered pixel centres lie inside the box and reach to within a pixel of each side
    assert cols.min() + 0.5 >= box[0] and cols.max() + 0.5 <= box[2]
    assert rows.min() + 0.5 >= box[1] and rows.max() + 0.5 <= box[3]
    assert cols.min() + 0.5 - box[0] < 1 and box[2] - cols.max() - 0.5 < 1
    area = {"circle": math.pi * 7 ** 2, "square": 14 * 14, "triangle": 14 * 12 / 2}[kind]
    assert abs(mask.sum() - area) / area < 0.1                   # pixel count ≈ continuous area


def test_data_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        make_shapes(0)
    with pytest.raises(ValueError, match="side_range"):
        make_shapes(2, size=32, side_range=(10, 20))
    with pytest.raises(ValueError, match="kind"):
        render_shape("star", 5, 5, 4, 10)


# --- the model -------------------------------------------------------------------------------------

def test_backbone_stride_and_shapes():
    net = small_backbone((4, 8, 8, 16))
    out = net(torch.zeros(2, 3, 64, 48))
    assert out.shape == (2, 16, 8, 6) and net.stride == 8 and net.out_channels == 16
    with pytest.raises(ValueError, match="channels"):
        small_backbone((4, 8))


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    data = make_shapes(4, seed=11)
    cfg = FasterRCNNConfig(backbone_channels=(4, 8, 8, 8), rpn_channels=8, fc_width=16)
    return FasterRCNN(len(CLASSES), cfg), data


def test_losses_are_finite_and_reach_every_part(tiny):
    model, data = tiny
    model.train()
    losses = model.loss(data.images, data.boxes, data.labels, generator=torch.Generator().manual_seed(0))
    assert set(losses) == {"rpn_cls", "rpn_reg", "det_cls", "det_reg", "total"}
    assert all(bool(torch.isfinite(v)) and v.item() >= 0 for v in losses.values())
    # an untrained two-way softmax starts at log 2, the (K + 1)-way one at log(K + 1)
    assert abs(losses["rpn_cls"].item() - math.log(2)) < 0.05
    assert abs(losses["det_cls"].item() - math.log(len(CLASSES) + 1)) < 0.1
    total = sum(losses[k] for k in ("rpn_cls", "rpn_reg", "det_cls", "det_reg"))
    assert torch.allclose(losses["total"], total)
    model.zero_grad()
    losses["total"].backward()
    for part in (model.backbone.conv1, model.rpn.conv, model.rpn.cls_logits, model.rpn.bbox_pred,
                 model.head.fc6, model.cls_score, model.bbox_pred):
        assert part.weight.grad is not None and float(part.weight.grad.abs().sum()) > 0


def test_detect_shapes(tiny):
    model, data = tiny
    model.eval()
    dets = model(data.images)
    assert len(dets) == 4 and all(isinstance(d, Detections) for d in dets)
    for d in dets:
        assert d.boxes.shape == (len(d.scores), 4) and d.labels.shape == d.scores.shape
        assert len(d.scores) <= model.config.max_detections
        assert bool((d.boxes[:, :2] >= 0).all() and (d.boxes[:, 2:] <= 64).all())
        assert bool(((d.labels >= 1) & (d.labels <= len(CLASSES))).all())
        assert bool((d.scores[:-1] >= d.scores[1:]).all() if len(d.scores) > 1 else True)


def test_roi_minibatch_follows_fast_rcnn(tiny):
    model, data = tiny
    proposals = torch.tensor([[0.0, 0, 64, 64], [1, 1, 5, 5]] * 20)
    rois, labels, targets = model._sample_rois(proposals, data.boxes[0], data.labels[0],
                                               torch.Generator().manual_seed(0))
    fg = labels > 0
    assert len(rois) <= model.config.roi_batch
    assert 1 <= int(fg.sum()) <= model.config.roi_batch * model.config.roi_fg_fraction
    assert bool((box_iou(rois[fg], data.boxes[0]).max(1).values >= 0.5).all())
    assert bool((targets[~fg] == 0).all())


@pytest.fixture
def one_thread():
    """Small ops run faster (and reproducibly) on one thread; restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_training_lowers_the_loss_on_a_small_set(one_thread):
    torch.manual_seed(0)
    data = make_shapes(4, seed=5)
    cfg = FasterRCNNConfig(backbone_channels=(8, 8, 16, 16), rpn_channels=16, fc_width=32)
    model = FasterRCNN(len(CLASSES), cfg)
    hist = train_faster_rcnn(model, data.images, data.boxes, data.labels, steps=20, batch_size=4, lr=5e-3)
    first = sum(h["total"] for h in hist[:4]) / 4
    last = sum(h["total"] for h in hist[-4:]) / 4
    assert last < 0.7 * first and not model.training


def test_map_of_perfect_and_of_no_detections():
    data = make_shapes(5, seed=2)
    perfect = [Detections(b, torch.ones(len(b)), l) for b, l in zip(data.boxes, data.labels)]
    m, aps = mean_average_precision(perfect, data.boxes, data.labels, len(CLASSES))
    assert m == 1.0 and aps == [1.0] * len(CLASSES)
    wrong = [Detections(b, torch.ones(len(b)), l % 3 + 1) for b, l in zip(data.boxes, data.labels)]
    assert mean_average_precision(wrong, data.boxes, data.labels, len(CLASSES))[0] == 0.0


def test_model_bad_input(tiny):
    model, data = tiny
    with pytest.raises(ValueError, match="num_classes"):
        FasterRCNN(0)
    with pytest.raises(ValueError, match="images"):
        model.detect(torch.zeros(3, 64, 64))
    with pytest.raises(ValueError, match="boxes and labels"):
        model.loss(data.images, data.boxes[:2], data.labels)
    model.train()
    with pytest.raises(ValueError, match="gt_boxes"):
        model(data.images)
    with pytest.raises(ValueError, match="steps"):
        train_faster_rcnn(model, data.images, data.boxes, data.labels, steps=0)
