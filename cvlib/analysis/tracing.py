"""One ``torch.fx`` tracer for every graph reading in cvlib, and the depth of a network read from it.

A :class:`LeafTracer` keeps every module without children as one graph node (a layer), and optionally
whole modules of the given types (a DenseNet layer, an Inception block) as one node. The profiler, the
DenseNet connection count and :func:`layer_depth` all read graphs traced this way.

Depth as papers count it: the most layers with parameters on any path from the input to the output::

    depth(node) = max over inputs i of depth(i) + [node is a layer with parameters]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.fx
from torch import nn

from cvlib._validate import check_bool

__all__ = ["LeafTracer", "trace", "layer_depth"]

_POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


class LeafTracer(torch.fx.Tracer):
    """Treat every module without children, and every module of a type in ``leaves``, as one node."""

    def __init__(self, leaves: Sequence[type[nn.Module]] = ()) -> None:
        super().__init__()
        self.leaves = tuple(leaves)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return isinstance(m, self.leaves) or len(list(m.children())) == 0


def trace(model: nn.Module, leaves: Sequence[type[nn.Module]] = ()) -> torch.fx.Graph:
    """The ``torch.fx`` graph of ``model`` traced by :class:`LeafTracer` (``leaves`` as there)."""
    return LeafTracer(leaves).trace(model)


def layer_depth(model: nn.Module, with_pooling: bool = False) -> int:
    """Depth of a network as papers count it: the most layers with parameters on any path from the
    input to the output, counting pooling layers too if ``with_pooling``.

    The graph is traced in eval mode, so branches (Inception's four paths) are followed and
    training-only heads are left out. Activations, normalisation without parameters and dropout do
    not count.
    """
    with_pooling = check_bool("with_pooling", with_pooling)
    was_training = model.training
    model.eval()
    try:
        graph = trace(model)
    finally:
        model.train(was_training)
    depth: dict[str, int] = {}
    result = 0
    for node in graph.nodes:
        d = max((depth[a.name] for a in node.all_input_nodes), default=0)
        if node.op == "call_module":
            module = model.get_submodule(node.target)
            has_params = any(True for _ in module.parameters(recurse=False))
            d += int(has_params or (with_pooling and isinstance(module, _POOLING)))
        depth[node.name] = d
        if node.op == "output":
            result = d
    return result
