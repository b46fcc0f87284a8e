"""Loss functions (损失函数) for classification and box regression, each with its gradient.

Classification, for a logit ``x`` and a target ``y`` (``p = σ(x)``, the sigmoid)::

    cross_entropy(z, y)   = −(1/N) Σ_n log softmax(z_n)_{y_n}          (re-exported from cvlib.nn.activations)
    bce_with_logits(x, y) = −[y·log p + (1 − y)·log(1 − p)]
                          = max(x, 0) − x·y + log(1 + e^(−|x|))           (stable form)        ∂/∂x = p − y
    focal_loss(x, y)      = −α_t·(1 − p_t)^γ·log p_t,   p_t = p·y + (1 − p)·(1 − y),
                                                        α_t = α·y + (1 − α)·(1 − y)
        ∂/∂x (y ∈ {0, 1}, s = 2y − 1) = α_t·s·(1 − p_t)^γ·(γ·p_t·log p_t + p_t − 1)   (Lin et al., Appendix C)

Regression, for a residual ``r = pred − target``::

    l1(r)        = |r|                                          ∂/∂r = sign(r)          (0 at r = 0)
    mse(r)       = r²                                           ∂/∂r = 2r
    smooth_l1(r) = 0.5·r²/β if |r| < β else |r| − 0.5·β         ∂/∂r = r/β if |r| < β else sign(r)
                   (Fast R-CNN uses β = 1; ``reduction="none"`` gives it element-wise)

The box losses (IoU, GIoU) live with the box geometry, in :mod:`cvlib.detection.losses`.

Every loss takes ``reduction``: ``"none"`` (element-wise; per box pair), ``"mean"`` or ``"sum"``. The
``*_grad`` functions return the derivative of the element-wise loss (``reduction="none"``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from cvlib._validate import check_choice, check_probability, check_real, check_tensor
from cvlib.nn.activations import cross_entropy, cross_entropy_grad, sigmoid

__all__ = [
    "cross_entropy", "cross_entropy_grad", "bce_with_logits", "bce_with_logits_grad", "focal_loss",
    "focal_loss_grad", "l1_loss", "l1_grad", "mse_loss", "mse_grad", "smooth_l1_loss",
    "smooth_l1_grad", "reduce_loss", "REDUCTIONS",
]

REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------------------------- checks

def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """``loss`` as it is (``"none"``), its mean or its sum."""
    reduction = check_choice("reduction", reduction, REDUCTIONS)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _same_shape(pred: object, target: object, pred_name: str = "pred",
                target_name: str = "target") -> tuple[Tensor, Tensor]:
    """Two floating-point tensors of one shape."""
    check_tensor(pred_name, pred, floating=True)
    check_tensor(target_name, target, floating=True)
    if pred.shape != target.shape:
        raise ValueError(f"{pred_name} and {target_name} must have the same shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    return pred, target


def _logits_and_soft_labels(logits: object, target: object) -> tuple[Tensor, Tensor]:
    """Logits and probability targets in ``[0, 1]`` of one shape."""
    logits, target = _same_shape(logits, target, "logits", "target")
    if target.numel() and not bool(((target >= 0) & (target <= 1)).all()):
        raise ValueError(f"target must hold probabilities in [0, 1], got values from "
                         f"{target.min().item()} to {target.max().item()}")
    return logits, target


def _require_binary(target: Tensor) -> None:
    if not bool(((target == 0) | (target == 1)).all()):
        raise ValueError("this gradient formula needs binary targets (every value 0 or 1)")


def _gamma_alpha(gamma: float, alpha: float | None) -> tuple[float, float | None]:
    """The focusing parameter ``γ >= 0`` and the class weight ``α`` in ``[0, 1]`` (or ``None``)."""
    g = check_real("gamma (the focusing parameter)", gamma, 0.0)
    a = None if alpha is None else check_probability("alpha (the weight of the positive class)", alpha)
    return g, a


# ---------------------------------------------------------------------------------- classification

def bce_with_logits(logits: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of ``p = σ(x)`` against ``y ∈ [0, 1]``, from the logit ``x``:
    ``−[y log p + (1 − y) log(1 − p)] = max(x, 0) − x·y + log(1 + e^(−|x|))``.

    The second form never overflows (``e^(−|x|) ≤ 1``) and never takes the log of 0, so logits of ±1000
    give the exact answer (``0`` or ``1000``) where ``−log σ(x)`` computed naively gives ``inf``.
    """
    x, y = _logits_and_soft_labels(logits, target)
    loss = x.clamp(min=0) - x * y + torch.log1p(torch.exp(-x.abs()))
    return reduce_loss(loss, reduction)


def bce_with_logits_grad(logits: Tensor, target: Tensor) -> Tensor:
    """``∂ bce / ∂x = σ(x) − y``, element-wise: the same ``p − y`` as softmax cross-entropy."""
    x, y = _logits_and_soft_labels(logits, target)
    return sigmoid(x) - y


def _p_t_parts(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """``(p_t, 1 − p_t)``, each computed directly from sigmoids so that neither loses digits."""
    p, q = sigmoid(x), sigmoid(-x)  # p = σ(x), q = 1 − p = σ(−x)
    return p * y + q * (1 - y), q * y + p * (1 - y)


def _alpha_t(y: Tensor, alpha: float | None) -> Tensor | float:
    return 1.0 if alpha is None else alpha * y + (1 - alpha) * (1 - y)


def focal_loss(logits: Tensor, target: Tensor, alpha: float | None = 0.25, gamma: float = 2.0,
               reduction: str = "mean") -> Tensor:
    """Sigmoid focal loss ``FL = −α_t (1 − p_t)^γ log p_t`` (Lin et al. 2017, Eq. 5).

    ``p_t = p·y + (1 − p)(1 − y)`` is the probability given to the true label, ``α_t = α·y + (1 − α)(1 − y)``
    weights the positives by ``α`` and the negatives by ``1 − α`` (``alpha=None``: no weighting), and
    ``(1 − p_t)^γ`` is the modulating factor that shrinks the loss of well-classified examples. ``γ = 0``
    gives α-balanced binary cross-entropy; the paper's best setting is ``γ = 2, α = 0.25`` (the defaults).
    ``−log p_t`` is :func:`bce_with_logits`, so the loss is stable for any logit.
    """
    x, y = _logits_and_soft_labels(logits, target)
    g, a = _gamma_alpha(gamma, alpha)
    _, one_minus_p_t = _p_t_parts(x, y)
    loss = _alpha_t(y, a) * one_minus_p_t ** g * bce_with_logits(x, y, reduction="none")
    return reduce_loss(loss, reduction)


def focal_loss_grad(logits: Tensor, target: Tensor, alpha: float | None = 0.25,
                    gamma: float = 2.0) -> Tensor:
    """``∂FL/∂x = α_t · s · (1 − p_t)^γ · (γ p_t log p_t + p_t − 1)``, ``s = 2y − 1 ∈ {−1, +1}``
    (Lin et al. 2017, Appendix C, with ``α_t`` added), for binary targets ``y ∈ {0, 1}``.
    ``γ = 0`` gives ``α_t·s·(p_t − 1) = α_t·(p − y)``, the cross-entropy gradient."""
    x, y = _logits_and_soft_labels(logits, target)
    _require_binary(y)
    g, a = _gamma_alpha(gamma, alpha)
    p_t, one_minus_p_t = _p_t_parts(x, y)
    log_p_t = -bce_with_logits(x, y, reduction="none")
    s = 2 * y - 1
    return _alpha_t(y, a) * s * one_minus_p_t ** g * (g * p_t * log_p_t - one_minus_p_t)


# ---------------------------------------------------------------------------------- regression

def l1_loss(pred: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``|pred − target|`` (L1, absolute error), as ``torch.nn.functional.l1_loss``."""
    pred, target = _same_shape(pred, target)
    return reduce_loss((pred - target).abs(), reduction)


def l1_grad(pred: Tensor, target: Tensor) -> Tensor:
    """``sign(pred − target)``: ±1 however small the error, and 0 exactly at 0 (as autograd)."""
    pred, target = _same_shape(pred, target)
    return torch.sign(pred - target)


def mse_loss(pred: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``(pred − target)²`` (L2, squared error), as ``torch.nn.functional.mse_loss``."""
    pred, target = _same_shape(pred, target)
    return reduce_loss((pred - target) ** 2, reduction)


def mse_grad(pred: Tensor, target: Tensor) -> Tensor:
    """``2·(pred − target)``: proportional to the error, so an outlier pulls as hard as it is far."""
    pred, target = _same_shape(pred, target)
    return 2 * (pred - target)


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0, reduction: str = "mean") -> Tensor:
    """``0.5·r²/β`` if ``|r| < β`` else ``|r| − 0.5·β``, ``r = pred − target``, reduced; equals
    ``torch.nn.functional.smooth_l1_loss`` (``β = 0`` is L1). PyTorch's ``huber_loss`` with ``delta = β``
    is ``β`` times it."""
    pred, target = _same_shape(pred, target)
    beta = check_real("beta", beta, 0.0)
    r = (pred - target).abs()
    loss = r if beta == 0 else torch.where(r < beta, 0.5 * r * r / beta, r - 0.5 * beta)
    return reduce_loss(loss, reduction)


def smooth_l1_grad(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """``r/β`` for ``|r| < β``, else ``sign(r)``, ``r = pred − target``: continuous, and never above 1."""
    pred, target = _same_shape(pred, target)
    beta = check_real("beta", beta, 0.0)
    r = pred - target
    if beta == 0:
        return torch.sign(r)
    return torch.where(r.abs() < beta, r / beta, torch.sign(r))
