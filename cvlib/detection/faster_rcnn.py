"""A small Faster R-CNN (Ren et al., 2015): backbone → RPN → RoI Align → Fast R-CNN head, trained jointly.

The pieces are the ones of :mod:`cvlib.detection`: :func:`~.anchors.anchors`, the RPN of :mod:`.rpn`,
:func:`~.roi_align.roi_align`, :func:`~.losses.fast_rcnn_loss`, :func:`~.coder.encode_boxes` /
:func:`~.coder.decode_boxes`, :func:`~.nms.batched_nms` and :func:`~.ap.evaluate_detections`. What is
scaled down from the paper, so that it trains on a CPU in about a minute (:class:`FasterRCNNConfig`
holds every number):

* backbone: four 3×3 convolutions (16, 32, 64, 64 channels, with BatchNorm) and three 2×2 poolings,
  stride 8 (not VGG-16's 16), trained from scratch;
* anchors: scales 16, 24, 32 (not 128, 256, 512) × ratios 1:2, 1:1, 2:1, so ``k = 9`` as in the paper;
* RPN: a 64-channel 3×3 convolution; 64 sampled anchors per image (not 256), up to half positive;
  ``N_reg`` = the number of anchor locations as in the paper, with ``λ = N_reg / N_cls`` so both terms
  keep the paper's equal weight (the paper's ``λ = 10 ≈ 2400 / 256``);
* proposals: the best 100 anchors, NMS 0.7, 48 kept in training; 200 and 50 at test time (the paper's
  code: 12000 → 2000 and 6000 → 300), min size 4 pixels;
* Fast R-CNN head: RoI Align (Mask R-CNN's, not the paper's RoI pooling) to 4×4, two FC-128 layers,
  ``K + 1`` scores and ``4(K + 1)`` class-specific offsets; 32 RoIs per image, up to half with IoU
  ≥ 0.5 (foreground; Fast R-CNN: a quarter of 64), the rest IoU < 0.5 (background; Fast R-CNN:
  [0.1, 0.5)); the ground-truth boxes are added to the proposals, as in the released code; offsets are
  scaled by ``(10, 10, 5, 5)`` (``py-faster-rcnn``'s target normalisation, torchvision's default);
* test: class scores > 0.05, NMS 0.3 per class (Fast R-CNN's), at most 20 detections per image.

Training is *approximate joint training* (paper §3.2 (ii)): one network, the four losses summed, the
proposals treated as constants (no gradient through their coordinates).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cvlib.detection.anchors import anchors as make_anchors
from cvlib.detection.boxes import box_iou
from cvlib.detection.coder import decode_boxes, encode_boxes
from cvlib.detection.losses import fast_rcnn_loss
from cvlib.detection.nms import batched_nms
from cvlib.detection.roi_align import roi_align
from cvlib.detection.proposals.rpn import (RPNHead, clip_boxes, generate_proposals, label_anchors, rpn_loss, rpn_regression_targets,
                  sample_anchors)

__all__ = ["FasterRCNNConfig", "FasterRCNN", "Detections", "small_backbone", "train_faster_rcnn"]


@dataclass(frozen=True)
class FasterRCNNConfig:
    """Every number of the small Faster R-CNN (the paper's value in the comment where it differs)."""

    image_size: int = 64
    backbone_channels: tuple[int, int, int, int] = (16, 32, 64, 64)
    batch_norm: bool = True                      # VGG-16 and ZF have none
    rpn_channels: int = 64                       # paper: 256 (ZF) / 512 (VGG-16)
    anchor_scales: tuple[float, ...] = (16, 24, 32)   # paper: 128, 256, 512
    anchor_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    rpn_batch: int = 64                          # paper: 256
    rpn_positive_fraction: float = 0.5
    rpn_positive_iou: float = 0.7
    rpn_negative_iou: float = 0.3
    allowed_border: float = 0.0
    rpn_lambda: float | None = None              # None: N_reg / N_cls (paper: λ = 10 ≈ 2400 / 256)
    train_proposals: tuple[int, int] = (100, 48)     # (pre-NMS, post-NMS); paper code: 12000, 2000
    test_proposals: tuple[int, int] = (200, 50)      # paper code: 6000, 300
    proposal_nms: float = 0.7
    proposal_min_size: float = 4.0               # py-faster-rcnn: 16 at input scale
    roi_batch: int = 32                          # Fast R-CNN: 64 per image
    roi_fg_fraction: float = 0.5                 # Fast R-CNN: 0.25
    roi_fg_iou: float = 0.5
    roi_size: int = 4                            # paper (VGG-16): 7
    fc_width: int = 128                          # paper: 4096
    box_weights: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    score_threshold: float = 0.05
    detection_nms: float = 0.3
    max_detections: int = 20


@dataclass(frozen=True)
class Detections:
    """Detections of one image: ``boxes[D, 4]``, ``scores[D]``, ``labels[D]`` (1 … K), best first."""

    boxes: Tensor
    scores: Tensor
    labels: Tensor


def small_backbone(channels: Sequence[int] = (16, 32, 64, 64), batch_norm: bool = True) -> nn.Sequential:
    """``conv1 → pool1 → conv2 → pool2 → conv3 → pool3 → conv4``: 3×3 convolutions (padding 1), each
    followed by BatchNorm (if ``batch_norm``; then the convolution has no bias) and ReLU; 2×2/2 max
    pooling; total stride 8. Attributes ``out_channels`` and ``stride``."""
    if len(channels) != 4 or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels):
        raise ValueError(f"channels must be four positive integers, got {channels!r}")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = 3
    for i, c in enumerate(channels, start=1):
        layers[f"conv{i}"] = nn.Conv2d(c_in, c, kernel_size=3, padding=1, bias=not batch_norm)
        if batch_norm:
            layers[f"bn{i}"] = nn.BatchNorm2d(c)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
        if i < 4:
            layers[f"pool{i}"] = nn.MaxPool2d(2, 2)
        c_in = c
    net = nn.Sequential(layers)
    net.out_channels = c_in
    net.stride = 8
    return net


class FasterRCNN(nn.Module):
    """Backbone + :class:`~.rpn.RPNHead` + RoI Align + Fast R-CNN head for ``num_classes`` object classes.

    ``loss(images, boxes, labels)`` returns the four losses of approximate joint training;
    ``detect(images)`` (and ``forward`` in eval mode) returns one :class:`Detections` per image.
    """

    def __init__(self, num_classes: int, config: FasterRCNNConfig = FasterRCNNConfig()) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes, self.config = num_classes, config
        self.input_size, self.in_channels = config.image_size, 3
        self.backbone = small_backbone(config.backbone_channels, config.batch_norm)
        k = len(config.anchor_scales) * len(config.anchor_ratios)
        self.rpn = RPNHead(self.backbone.out_channels, config.rpn_channels, k)
        c, r = self.backbone.out_channels, config.roi_size
        self.head = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc6", nn.Linear(c * r * r, config.fc_width)), ("relu6", nn.ReLU(inplace=True)),
            ("fc7", nn.Linear(config.fc_width, config.fc_width)), ("relu7", nn.ReLU(inplace=True)),
        ]))
        self.cls_score = nn.Linear(config.fc_width, num_classes + 1)
        self.bbox_pred = nn.Linear(config.fc_width, 4 * (num_classes + 1))
        nn.init.normal_(self.cls_score.weight, std=0.01)
        nn.init.normal_(self.bbox_pred.weight, std=0.001)
        nn.init.zeros_(self.cls_score.bias)
        nn.init.zeros_(self.bbox_pred.bias)

    # ----------------------------------------------------------------------------------- pieces

    def anchors_for(self, feature_hw: tuple[int, int]) -> Tensor:
        return make_anchors(feature_hw, self.backbone.stride, self.config.anchor_scales, self.config.anchor_ratios)

    def _check_images(self, images: Tensor) -> None:
        if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be a Tensor[N, 3, H, W], got {tuple(getattr(images, 'shape', ()))}")

    def _proposals(self, anchors: Tensor, logits: Tensor, deltas: Tensor, image_hw: tuple[int, int],
                   settings: tuple[int, int]) -> list[Tensor]:
        cfg = self.config
        out = []
        for lg, dl in zip(logits, deltas):
            boxes, _ = generate_proposals(anchors, lg.softmax(dim=1)[:, 1], dl, image_hw, settings[0], settings[1],
                                          cfg.proposal_nms, cfg.proposal_min_size)
            out.append(boxes)
        return out

    def _head(self, features: Tensor, rois: list[Tensor]) -> tuple[Tensor, Tensor]:
        pooled = roi_align(features, rois, self.config.roi_size, spatial_scale=1.0 / self.backbone.stride,
                           sampling_ratio=2, aligned=True)
        h = self.head(pooled)
        return self.cls_score(h), self.bbox_pred(h)

    def _sample_rois(self, proposals: Tensor, gt_boxes: Tensor, gt_labels: Tensor,
                     generator: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
        """Fast R-CNN's RoI mini-batch of one image: ``(rois[R, 4], labels[R], targets[R, 4])``."""
        cfg = self.config
        rois = torch.cat([proposals, gt_boxes.to(proposals.dtype)])
        if gt_boxes.shape[0] == 0:
            best = rois.new_zeros(rois.shape[0])
            arg = torch.zeros(rois.shape[0], dtype=torch.int64)
        else:
            best, arg = box_iou(rois, gt_boxes.to(rois.dtype)).max(dim=1)
        fg = (best >= cfg.roi_fg_iou).nonzero().squeeze(1)
        bg = (best < cfg.roi_fg_iou).nonzero().squeeze(1)
        n_fg = min(fg.numel(), int(cfg.roi_batch * cfg.roi_fg_fraction))
        n_bg = min(bg.numel(), cfg.roi_batch - n_fg)
        fg = fg[torch.randperm(fg.numel(), generator=generator)[:n_fg]]
        bg = bg[torch.randperm(bg.numel(), generator=generator)[:n_bg]]
        keep = torch.cat([fg, bg])
        labels = torch.zeros(keep.numel(), dtype=torch.int64)
        targets = rois.new_zeros(keep.numel(), 4)
        if n_fg:
            labels[:n_fg] = gt_labels[arg[fg]]
            targets[:n_fg] = encode_boxes(rois[fg], gt_boxes[arg[fg]].to(rois.dtype), cfg.box_weights)
        return rois[keep], labels, targets

    # ------------------------------------------------------------------------------ training

    def loss(self, images: Tensor, gt_boxes: Sequence[Tensor], gt_labels: Sequence[Tensor],
             generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """``rpn_cls``, ``rpn_reg`` (Eq. 1 of the paper, averaged over the images), ``det_cls`` and
        ``det_reg`` (Fast R-CNN's multi-task loss, averaged over the RoIs) and their sum ``total``."""
        self._check_images(images)
        if len(gt_boxes) != images.shape[0] or len(gt_labels) != images.shape[0]:
            raise ValueError(f"need boxes and labels for each of the {images.shape[0]} images, got "
                             f"{len(gt_boxes)} and {len(gt_labels)}")
        cfg = self.config
        image_hw = tuple(images.shape[-2:])
        features = self.backbone(images)
        logits, deltas = self.rpn(features)
        fh, fw = features.shape[-2:]
        anchors = self.anchors_for((fh, fw))
        n_reg = fh * fw                                   # anchor locations (paper: ~2400)
        lam = cfg.rpn_lambda if cfg.rpn_lambda is not None else n_reg / cfg.rpn_batch
        sampled, targets = [], []
        with torch.no_grad():                             # the labels are data, not part of the graph
            for boxes in gt_boxes:
                lab = label_anchors(anchors, boxes, image_hw, cfg.rpn_positive_iou, cfg.rpn_negative_iou,
                                    cfg.allowed_border)
                s = sample_anchors(lab.labels, cfg.rpn_batch, cfg.rpn_positive_fraction, generator)
                sampled.append(s)
                targets.append(rpn_regression_targets(anchors, boxes, lab.matched, s))
        # Eq. (1) for every image, averaged over the N images: one call on the whole batch with
        # N_cls = N · rpn_batch and N_reg = N · (anchor locations) gives exactly that mean
        n = images.shape[0]
        rpn_cls, rpn_reg = rpn_loss(logits.reshape(-1, 2), deltas.reshape(-1, 4), torch.cat(sampled),
                                    torch.cat(targets), n_reg=n * n_reg, lam=lam, n_cls=n * cfg.rpn_batch)
        proposals = self._proposals(anchors, logits, deltas, image_hw, cfg.train_proposals)
        rois, labels, targets = zip(*(self._sample_rois(p, b, l, generator)
                                      for p, b, l in zip(proposals, gt_boxes, gt_labels)))
        class_logits, box_deltas = self._head(features, list(rois))
        labels, targets = torch.cat(labels), torch.cat(targets)
        det_total = fast_rcnn_loss(class_logits, box_deltas, labels, targets)
        det_cls = F.cross_entropy(class_logits, labels)
        losses = {"rpn_cls": rpn_cls, "rpn_reg": rpn_reg,
                  "det_cls": det_cls, "det_reg": det_total - det_cls}
        losses["total"] = losses["rpn_cls"] + losses["rpn_reg"] + det_total
        return losses

    # ----------------------------------------------------------------------------- inference

    @torch.no_grad()
    def detect(self, images: Tensor) -> list[Detections]:
        """Detections per image: proposals → head → class-specific boxes → score filter → NMS per class."""
        self._check_images(images)
        cfg = self.config
        image_hw = tuple(images.shape[-2:])
        features = self.backbone(images)
        logits, deltas = self.rpn(features)
        anchors = self.anchors_for(tuple(features.shape[-2:]))
        proposals = self._proposals(anchors, logits, deltas, image_hw, cfg.test_proposals)
        class_logits, box_deltas = self._head(features, proposals)
        probs = class_logits.softmax(dim=1)
        out, start = [], 0
        k1 = self.num_classes + 1
        for props in proposals:
            r = props.shape[0]
            p, d = probs[start:start + r, 1:], box_deltas[start:start + r].view(r, k1, 4)[:, 1:]
            start += r
            boxes = decode_boxes(props.repeat_interleave(self.num_classes, dim=0), d.reshape(-1, 4), cfg.box_weights)
            boxes = clip_boxes(boxes, image_hw)
            scores = p.reshape(-1)
            labels = torch.arange(1, k1).repeat(r)
            keep = (scores > cfg.score_threshold) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
            kept = batched_nms(boxes, scores, labels, cfg.detection_nms)[:cfg.max_detections]
            out.append(Detections(boxes[kept], scores[kept], labels[kept]))
        return out

    def forward(self, images: Tensor, gt_boxes: Sequence[Tensor] | None = None,
                gt_labels: Sequence[Tensor] | None = None) -> dict[str, Tensor] | list[Detections]:
        if self.training:
            if gt_boxes is None or gt_labels is None:
                raise ValueError("in training mode, forward needs gt_boxes and gt_labels (or call detect)")
            return self.loss(images, gt_boxes, gt_labels)
        return self.detect(images)


# ---------------------------------------------------------------------------------- train / evaluate


def train_faster_rcnn(model: FasterRCNN, images: Tensor, boxes: Sequence[Tensor], labels: Sequence[Tensor],
                      steps: int = 600, batch_size: int = 8, lr: float = 2e-3, seed: int = 0,
                      lr_drop_at: float = 0.75) -> list[dict[str, float]]:
    """Approximate joint training with Adam: ``steps`` mini-batches of ``batch_size`` images drawn by
    epochs of a seeded permutation; the learning rate is divided by 10 after ``lr_drop_at · steps``
    (the paper: 0.001 for 60k mini-batches, then 0.0001 for 20k, with SGD). Returns one dict of floats
    (the losses) per step."""
    if steps < 1 or batch_size < 1 or not lr > 0 or not 0 < lr_drop_at <= 1:
        raise ValueError(f"need steps >= 1, batch_size >= 1, lr > 0 and 0 < lr_drop_at <= 1; got "
                         f"{steps}, {batch_size}, {lr}, {lr_drop_at}")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [math.ceil(lr_drop_at * steps)], gamma=0.1)
    model.train()
    history: list[dict[str, float]] = []
    order = torch.randperm(len(images), generator=g)
    pos = 0
    for _ in range(steps):
        if pos + batch_size > len(order):
            order, pos = torch.randperm(len(images), generator=g), 0
        idx = order[pos:pos + batch_size].tolist()
        pos += batch_size
        losses = model.loss(images[idx], [boxes[i] for i in idx], [labels[i] for i in idx], generator=g)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()
        sched.step()
        history.append({k: float(v.detach()) for k, v in losses.items()})
    model.eval()
    return history
