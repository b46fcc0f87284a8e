"""Object detection building blocks (目标检测), from R-CNN to Faster R-CNN.

- :mod:`.boxes` — IoU of ``(x1, y1, x2, y2)`` boxes;
- :mod:`.nms` — greedy non-maximum suppression, per class with :func:`batched_nms`;
- :mod:`.coder` — bounding-box regression targets ``(t_x, t_y, t_w, t_h)``;
- :mod:`.losses` — smooth L1 and Fast R-CNN's multi-task loss;
- :mod:`.rois` — the two RoI formats of :func:`roi_pool` and :func:`roi_align`;
- :mod:`.roi_pool` — RoI max pooling (Caffe bins, or the notes' two remainder rules);
- :mod:`.roi_align` — RoI Align with bilinear sampling;
- :mod:`.spp` — spatial pyramid pooling;
- :mod:`.anchors` — the RPN's anchors;
- :mod:`.ap` — PASCAL VOC average precision;
- :mod:`.reference` — slow loop versions, for tests and benchmarks.

Signatures follow ``torchvision.ops`` where torchvision has the function.
"""

from .anchors import anchors
from .ap import DetectionEval, average_precision, evaluate_detections
from .boxes import box_area, box_iou
from .coder import decode_boxes, encode_boxes
from .losses import fast_rcnn_loss, smooth_l1
from .nms import batched_nms, nms
from .roi_align import roi_align
from .roi_pool import roi_pool
from .spp import spp, spp_length, spp_window

__all__ = [
    "anchors",
    "average_precision",
    "batched_nms",
    "box_area",
    "box_iou",
    "decode_boxes",
    "DetectionEval",
    "encode_boxes",
    "evaluate_detections",
    "fast_rcnn_loss",
    "nms",
    "roi_align",
    "roi_pool",
    "smooth_l1",
    "spp",
    "spp_length",
    "spp_window",
]
from .selective_search import selective_search  # noqa: E402
__all__ += ["selective_search"]
from .rpn import RPNHead, generate_proposals, label_anchors, rpn_loss, sample_anchors  # noqa: E402
from .faster_rcnn import FasterRCNN, FasterRCNNConfig, mean_average_precision, train_faster_rcnn  # noqa: E402
from .synthetic import make_shapes  # noqa: E402
__all__ += ["RPNHead", "generate_proposals", "label_anchors", "rpn_loss", "sample_anchors", "FasterRCNN",
            "FasterRCNNConfig", "mean_average_precision", "train_faster_rcnn", "make_shapes"]
