"""Region proposals: selective search (R-CNN, SPP-net, Fast R-CNN) and the region proposal network
(Faster R-CNN). The function :func:`selective_search` shadows its module here; import the module as
``cvlib.detection.proposals.selective_search`` by its full path in an ``import ... from`` statement.
"""

from cvlib.detection.proposals.rpn import RPNHead, generate_proposals, label_anchors, rpn_loss, sample_anchors
from cvlib.detection.proposals.selective_search import selective_search

__all__ = ["selective_search", "RPNHead", "generate_proposals", "label_anchors", "rpn_loss", "sample_anchors"]
