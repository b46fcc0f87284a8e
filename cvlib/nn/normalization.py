"""Normalisation layers (归一化), from scratch, on ``(N, C, H, W)`` tensors.

Every layer standardises a set of activations with its own mean and variance and then applies a learned
per-channel scale γ and shift β::

    x̂ = (x − μ) / √(σ² + ε),        y = γ · x̂ + β

They differ only in the set S over which μ and σ² are taken (σ² is the *biased* variance, divided by |S|):

==============  =========================================  ==============================================
layer           statistics over                            one (μ, σ²) per
==============  =========================================  ==============================================
BatchNorm       N, H, W      (the batch and the map)       channel
LayerNorm       C, H, W      (one whole sample)            sample
InstanceNorm    H, W         (one map)                     sample and channel
GroupNorm       C/G, H, W    (a group of C/G channels)     sample and group
==============  =========================================  ==============================================

GroupNorm with ``G = 1`` is LayerNorm's normalisation and with ``G = C`` is InstanceNorm's
(Wu and He, 2018); they differ from ``torch.nn.LayerNorm`` only in the affine part, which LayerNorm
applies per element of ``(C, H, W)`` and GroupNorm per channel.

BatchNorm alone behaves differently in training and inference. Training normalises with the batch
statistics and updates running estimates with the PyTorch convention (``m = momentum = 0.1``)::

    running_mean ← (1 − m) · running_mean + m · μ_B
    running_var  ← (1 − m) · running_var  + m · σ²_B · n / (n − 1)      (n = N·H·W: the *unbiased* variance)

Ioffe and Szegedy (2015), TensorFlow and Keras write the same average with the decay ``1 − m``
(Keras ``momentum=0.99`` is PyTorch ``momentum=0.01``). Inference normalises with the running
estimates, so it is an affine map per channel and can be folded into the preceding convolution
(:func:`fold_batchnorm`).
"""

from __future__ import annotations

import torch
from torch import nn

from cvlib._validate import check_bool, check_positive_int, check_real, check_tensor

__all__ = [
    "REDUCED_AXES",
    "normalize",
    "batch_norm",
    "update_running",
    "torch_momentum_from_decay",
    "layer_norm",
    "instance_norm",
    "group_norm",
    "fold_batchnorm",
]

#: Axes of an ``(N, C, H, W)`` tensor over which each layer takes its statistics (GroupNorm: within a group).
REDUCED_AXES = {
    "BatchNorm": ("N", "H", "W"),
    "LayerNorm": ("C", "H", "W"),
    "InstanceNorm": ("H", "W"),
    "GroupNorm": ("C/G", "H", "W"),
}


# ---------------------------------------------------------------------------------------------- checks


def _expect_shape(name: str, p: torch.Tensor | None, shape: tuple[int, ...]) -> None:
    """``p`` is ``None`` or a tensor of ``shape``."""
    if p is not None and tuple(check_tensor(name, p).shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(p.shape)}")


def _affine_per_channel(x_hat: torch.Tensor, gamma: torch.Tensor | None,
                        beta: torch.Tensor | None) -> torch.Tensor:
    c = x_hat.shape[1]
    _expect_shape("gamma", gamma, (c,))
    _expect_shape("beta", beta, (c,))
    y = x_hat
    if gamma is not None:
        y = y * gamma.view(1, c, 1, 1)
    if beta is not None:
        y = y + beta.view(1, c, 1, 1)
    return y


# ------------------------------------------------------------------------------------------- the layers


def normalize(x: torch.Tensor, dims: tuple[int, ...], eps: float = 1e-5) -> torch.Tensor:
    """``(x − μ) / √(σ² + ε)`` with μ and the biased σ² taken over ``dims`` (kept for broadcasting)."""
    eps = check_real("eps", eps, 0.0, low_open=True)
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def update_running(running: torch.Tensor, batch: torch.Tensor, momentum: float = 0.1) -> torch.Tensor:
    """PyTorch's exponential moving average: ``running ← (1 − m)·running + m·batch``, in place; returns it."""
    momentum = check_real("momentum", momentum, 0.0, 1.0)
    running.mul_(1 - momentum).add_(momentum * batch)
    return running


def torch_momentum_from_decay(decay: float) -> float:
    """PyTorch's ``momentum`` for a TF/Keras ``decay`` (Keras' ``momentum``): ``m = 1 − decay``."""
    return 1 - check_real("decay", decay, 0.0, 1.0)


def batch_norm(x: torch.Tensor, gamma: torch.Tensor | None = None, beta: torch.Tensor | None = None, *,
               running_mean: torch.Tensor | None = None, running_var: torch.Tensor | None = None,
               training: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> torch.Tensor:
    """BatchNorm over ``(N, H, W)``, one μ and σ² per channel.

    Training (``training=True``)::

        μ_c = mean of x[:, c],  σ²_c = biased variance of x[:, c]       (n = N·H·W values)
        y = γ_c · (x − μ_c) / √(σ²_c + ε) + β_c
        running_mean ← (1 − m)·running_mean + m·μ_c
        running_var  ← (1 − m)·running_var  + m·σ²_c·n/(n − 1)          (unbiased; updated in place)

    Inference (``training=False``) uses ``running_mean`` and ``running_var`` in place of μ and σ².
    The running buffers are optional in training (then nothing is updated) and required in inference.
    """
    check_tensor("x", x, "N C H W")
    eps = check_real("eps", eps, 0.0, low_open=True)
    momentum = check_real("momentum", momentum, 0.0, 1.0)
    training = check_bool("training", training)
    n, c, h, w = x.shape
    _expect_shape("running_mean", running_mean, (c,))
    _expect_shape("running_var", running_var, (c,))
    if training:
        count = n * h * w
        if count < 2:
            raise ValueError(f"BatchNorm in training needs more than one value per channel (N·H·W ≥ 2), "
                             f"got shape {tuple(x.shape)}")
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        with torch.no_grad():
            if running_mean is not None:
                update_running(running_mean, mean.detach(), momentum)
            if running_var is not None:
                update_running(running_var, var.detach() * count / (count - 1), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("BatchNorm in inference (training=False) needs running_mean and running_var")
        mean, var = running_mean, running_var
    x_hat = (x - mean.view(1, c, 1, 1)) / torch.sqrt(var.view(1, c, 1, 1) + eps)
    return _affine_per_channel(x_hat, gamma, beta)


def layer_norm(x: torch.Tensor, gamma: torch.Tensor | None = None, beta: torch.Tensor | None = None,
               eps: float = 1e-5) -> torch.Tensor:
    """LayerNorm over ``(C, H, W)``, one μ and σ² per sample; γ and β are per element, shape ``(C, H, W)``.

    ``y = γ ⊙ (x − μ_n) / √(σ²_n + ε) + β`` — as ``torch.nn.LayerNorm([C, H, W])``. The same in training
    and inference: nothing depends on the other samples of the batch.
    """
    check_tensor("x", x, "N C H W")
    shape = tuple(x.shape[1:])
    _expect_shape("gamma", gamma, shape)
    _expect_shape("beta", beta, shape)
    y = normalize(x, (1, 2, 3), eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def instance_norm(x: torch.Tensor, gamma: torch.Tensor | None = None, beta: torch.Tensor | None = None,
                  eps: float = 1e-5) -> torch.Tensor:
    """InstanceNorm over ``(H, W)``, one μ and σ² per sample and channel; γ, β per channel.

    ``y = γ_c · (x[n, c] − μ_nc) / √(σ²_nc + ε) + β_c`` — as ``torch.nn.InstanceNorm2d`` (which by
    default has no γ, β and no running statistics).
    """
    check_tensor("x", x, "N C H W")
    if x.shape[2] * x.shape[3] < 2:
        raise ValueError(f"InstanceNorm needs more than one spatial value (H·W ≥ 2), got {tuple(x.shape)}")
    return _affine_per_channel(normalize(x, (2, 3), eps), gamma, beta)


def group_norm(x: torch.Tensor, groups: int, gamma: torch.Tensor | None = None,
               beta: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """GroupNorm: the C channels split into ``groups`` groups of C/G; statistics over ``(C/G, H, W)``.

    ``y = γ_c · (x − μ_ng) / √(σ²_ng + ε) + β_c`` for channel c in group g — as ``torch.nn.GroupNorm``.
    ``groups = 1`` normalises like LayerNorm, ``groups = C`` like InstanceNorm; Wu and He use G = 32.
    """
    check_tensor("x", x, "N C H W")
    n, c, h, w = x.shape
    groups = check_positive_int("groups", groups)
    if c % groups:
        raise ValueError(f"groups must divide the number of channels: {c} channels, {groups} groups")
    x_hat = normalize(x.reshape(n, groups, c // groups, h, w), (2, 3, 4), eps).reshape(n, c, h, w)
    return _affine_per_channel(x_hat, gamma, beta)


# ----------------------------------------------------------------------------------------------- folding


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """One convolution equal to ``bn(conv(x))`` with ``bn`` in inference mode.

    With s = γ / √(σ² + ε) per output channel (running σ², μ)::

        W' = s · W,        b' = s · (b − μ) + β        (b = 0 if the convolution has no bias)

    The result always has a bias. ``conv`` and ``bn`` are not modified.
    """
    if not isinstance(conv, nn.Conv2d):
        raise ValueError(f"conv must be an nn.Conv2d, got {type(conv).__name__}")
    if not isinstance(bn, nn.BatchNorm2d):
        raise ValueError(f"bn must be an nn.BatchNorm2d, got {type(bn).__name__}")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"bn.num_features ({bn.num_features}) must equal conv.out_channels "
                         f"({conv.out_channels})")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn must track running statistics (track_running_stats=True) to be folded")
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                       padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                       padding_mode=conv.padding_mode, device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        gamma = bn.weight if bn.affine else torch.ones_like(bn.running_var)
        beta = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
        scale = gamma / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        folded.bias.copy_(scale * (bias - bn.running_mean) + beta)
    return folded

