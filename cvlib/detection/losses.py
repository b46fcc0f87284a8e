"""Smooth L1 loss and Fast R-CNN's multi-task loss (多任务损失).

``smooth_L1(x) = 0.5 · x² / β`` if ``|x| < β``, else ``|x| − 0.5 · β``; the notes (and Fast R-CNN)
use ``β = 1``: ``0.5 x²`` inside ``(−1, 1)``, ``|x| − 0.5`` outside. It is quadratic near 0 (a gentle
gradient ``x / β``) and linear far away (gradient ``±1``), so outliers do not blow up the loss. ``β = 0``
is plain L1, as in ``torch.nn.functional.smooth_l1_loss``.

Fast R-CNN's loss for one RoI with class scores ``p`` (over ``K + 1`` classes, 0 = background), true
class ``u``, predicted offsets ``t^u`` of class ``u`` and targets ``v``::

    L = −log p_u + λ · [u ≥ 1] · Σ_{i ∈ x,y,w,h} smooth_L1(t^u_i − v_i)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["smooth_l1", "fast_rcnn_loss"]


def smooth_l1(x: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise smooth L1 of ``x`` (no reduction)."""
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    ax = x.abs()
    if beta == 0:
        return ax
    return torch.where(ax < beta, 0.5 * x * x / beta, ax - 0.5 * beta)


def fast_rcnn_loss(class_logits: Tensor, box_deltas: Tensor, labels: Tensor, targets: Tensor,
                   lam: float = 1.0, beta: float = 1.0) -> Tensor:
    """Mean over RoIs of Fast R-CNN's multi-task loss.

    ``class_logits`` is ``[R, K + 1]``, ``box_deltas`` ``[R, 4 · (K + 1)]`` (four offsets per class),
    ``labels`` ``[R]`` (0 = background) and ``targets`` ``[R, 4]``. Only the offsets of the true class
    enter the box term, and background RoIs have none (the ``[u ≥ 1]`` indicator).
    """
    r, k1 = class_logits.shape
    if box_deltas.shape != (r, 4 * k1) or labels.shape != (r,) or targets.shape != (r, 4):
        raise ValueError(f"expected class_logits [R, K+1], box_deltas [R, 4(K+1)], labels [R], targets "
                         f"[R, 4]; got {tuple(class_logits.shape)}, {tuple(box_deltas.shape)}, "
                         f"{tuple(labels.shape)}, {tuple(targets.shape)}")
    if r and (int(labels.min()) < 0 or int(labels.max()) >= k1):
        raise ValueError(f"labels must lie in [0, {k1 - 1}] (0 = background), got "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    cls = F.cross_entropy(class_logits, labels, reduction="none")
    own = box_deltas.view(r, k1, 4)[torch.arange(r), labels]
    loc = smooth_l1(own - targets, beta).sum(dim=1) * (labels >= 1)
    return (cls + lam * loc).mean()
