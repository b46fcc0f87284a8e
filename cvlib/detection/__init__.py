"""Object detection (目标检测), from R-CNN to Faster R-CNN: box geometry, the operations detectors share,
region proposals and the detectors themselves.

- :mod:`.boxes` — IoU of ``(x1, y1, x2, y2)`` boxes; :mod:`.losses` — Fast R-CNN's multi-task loss and
  the IoU / GIoU losses;
- :mod:`.nms` — greedy non-maximum suppression, per class with :func:`batched_nms`;
- :mod:`.coder` — bounding-box regression targets ``(t_x, t_y, t_w, t_h)``;
- :mod:`.rois`, :mod:`.roi_pool`, :mod:`.roi_align` — RoI max pooling and RoI Align;
- :mod:`.spp` — spatial pyramid pooling; :mod:`.anchors` — the RPN's anchors; :mod:`.warp` — R-CNN's
  region warping;
- :mod:`.ap` — PASCAL VOC average precision and mAP;
- :mod:`.proposals` — selective search and the region proposal network;
- :mod:`.faster_rcnn` — a small Faster R-CNN and its training step.

What belongs here: code that knows what a box is. It may use every package before it
(:mod:`cvlib.analysis`, :mod:`cvlib.nn`, :mod:`cvlib.train`, :mod:`cvlib.data`, :mod:`cvlib.models`).
Signatures follow ``torchvision.ops`` where torchvision has the function.
"""

from cvlib.detection.anchors import anchors
from cvlib.detection.ap import DetectionEval, average_precision, evaluate_detections, mean_average_precision
from cvlib.detection.boxes import box_area, box_iou
from cvlib.detection.coder import decode_boxes, encode_boxes
from cvlib.detection.faster_rcnn import FasterRCNN, FasterRCNNConfig, train_faster_rcnn
from cvlib.detection.losses import fast_rcnn_loss, giou, giou_loss, iou_loss
from cvlib.detection.nms import batched_nms, nms
from cvlib.detection.proposals import (RPNHead, generate_proposals, label_anchors, rpn_loss, sample_anchors,
                                       selective_search)
from cvlib.detection.roi_align import roi_align
from cvlib.detection.roi_pool import roi_pool
from cvlib.detection.spp import spp, spp_length, spp_window

__all__ = [
    "anchors", "average_precision", "batched_nms", "box_area", "box_iou", "decode_boxes", "DetectionEval",
    "encode_boxes", "evaluate_detections", "fast_rcnn_loss", "FasterRCNN", "FasterRCNNConfig", "generate_proposals",
    "giou", "giou_loss", "iou_loss", "label_anchors", "mean_average_precision", "nms", "roi_align", "roi_pool",
    "rpn_loss", "RPNHead", "sample_anchors", "selective_search", "spp", "spp_length", "spp_window",
    "train_faster_rcnn",
]
