"""Parameter initialisation (参数初始化), from scratch: fans, gains and the classic initialisers.

A weight tensor of shape ``(out, in, *kernel)`` (``nn.Linear``: ``(out, in)``; ``nn.Conv2d``:
``(out, in, k_h, k_w)``) feeds every output unit from ``fan_in = in · ∏kernel`` inputs and sends every
input unit to ``fan_out = out · ∏kernel`` outputs. For ``y = Σᵢ wᵢ xᵢ`` with ``n = fan_in`` independent
zero-mean weights, independent of the inputs::

    Var[y] = n · Var[w] · E[x²]

Choosing ``Var[w]`` so that this factor is 1 from layer to layer gives the initialisers below
(``g`` is the gain of the non-linearity, :func:`gain`):

=====================  ======================================  ============================================
initialiser            weights                                 reasoning
=====================  ======================================  ============================================
LeCun (1998)           N(0, 1/fan_in)                          keep Var[y] = Var[x] (linear units)
Xavier/Glorot uniform  U(−b, b), b = g·√(6/(fan_in+fan_out))   Var[w] = g²·2/(fan_in+fan_out): the
Xavier/Glorot normal   N(0, g²·2/(fan_in+fan_out))             compromise between forward and backward
He/Kaiming normal      N(0, g²/fan)                            ReLU halves E[x²]: g = √2 restores it
He/Kaiming uniform     U(−b, b), b = g·√(3/fan)                (fan = fan_in, or fan_out for the backward
                                                               pass)
=====================  ======================================  ============================================

A uniform ``U(−b, b)`` has variance ``b²/3``, hence the √3 (and √6 = √3·√2) in the bounds.

Every random initialiser takes an optional ``torch.Generator`` and draws with the same tensor call as
``torch.nn.init`` (``uniform_`` / ``normal_``), so with equally seeded generators the values are
bit-identical to torch's. :func:`layer_statistics` measures how the forward activations and the
backward gradients of a deep plain network grow or shrink, layer by layer, under a given initialiser.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cvlib._validate import check_choice, check_int, check_int_sequence, check_positive_int, check_real

__all__ = [
    "fan_in_fan_out",
    "gain",
    "uniform_bound",
    "xavier_std",
    "kaiming_std",
    "lecun_std",
    "constant",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "lecun_normal",
    "lecun_uniform",
    "INITIALISERS",
    "init_weights",
    "LayerStats",
    "layer_statistics",
]

Shape = Sequence[int] | torch.Size

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "sigmoid")


def _shape_of(shape_or_tensor: Shape | torch.Tensor) -> tuple[int, ...]:
    shape = shape_or_tensor.shape if isinstance(shape_or_tensor, torch.Tensor) else shape_or_tensor
    return check_int_sequence("shape", shape, 0)


def fan_in_fan_out(shape_or_tensor: Shape | torch.Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``.

    ``fan_in = in · ∏kernel`` (inputs of one output unit), ``fan_out = out · ∏kernel`` (outputs one input
    unit reaches). A 1-d tensor (a bias) has no fans: ``ValueError``.
    """
    shape = _shape_of(shape_or_tensor)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions (out, in, *kernel), "
                         f"got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(shape_or_tensor: Shape | torch.Tensor, mode: str) -> int:
    mode = check_choice("mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = fan_in_fan_out(shape_or_tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"{mode} is 0 for shape {_shape_of(shape_or_tensor)}: no variance can be chosen")
    return fan


def gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor ``g`` by which a non-linearity's weights are scaled up (``std = g · std_linear``).

    linear, convolutions and sigmoid: 1; tanh: 5/3; relu: √2 (ReLU keeps half of E[x²]);
    leaky_relu with negative slope ``a`` (default 0.01): √(2 / (1 + a²)); selu: 3/4 (torch's choice).
    """
    check_choice("nonlinearity", nonlinearity, _LINEAR + ("tanh", "relu", "leaky_relu", "selu"))
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else check_real("param (the negative slope of leaky_relu)", param)
        return math.sqrt(2.0 / (1.0 + a ** 2))
    return 3.0 / 4.0  # selu


def uniform_bound(std: float) -> float:
    """The bound ``b`` of the uniform ``U(−b, b)`` with standard deviation ``std``: ``b = √3 · std``."""
    return math.sqrt(3.0) * check_real("std", std, 0.0)


def xavier_std(shape_or_tensor: Shape | torch.Tensor, gain: float = 1.0) -> float:
    """Glorot and Bengio's standard deviation ``g · √(2 / (fan_in + fan_out))``."""
    gain = check_real("gain", gain, 0.0)
    fan_in, fan_out = fan_in_fan_out(shape_or_tensor)
    if fan_in + fan_out == 0:
        raise ValueError(f"fan_in + fan_out is 0 for shape {_shape_of(shape_or_tensor)}")
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def kaiming_std(shape_or_tensor: Shape | torch.Tensor, a: float = 0.0, mode: str = "fan_in",
                nonlinearity: str = "leaky_relu") -> float:
    """He et al.'s standard deviation ``g / √fan``; for ReLU ``√(2 / fan)``.

    ``mode='fan_in'`` keeps the forward variance, ``'fan_out'`` the backward one. As in
    ``torch.nn.init`` the default ``nonlinearity='leaky_relu'`` with slope ``a = 0`` is ReLU.
    """
    return gain(nonlinearity, a) / math.sqrt(_fan(shape_or_tensor, mode))


def lecun_std(shape_or_tensor: Shape | torch.Tensor) -> float:
    """LeCun's standard deviation ``1 / √fan_in`` (unit-variance outputs for linear units)."""
    return 1.0 / math.sqrt(_fan(shape_or_tensor, "fan_in"))


def _empty(shape: Shape | torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.empty(_shape_of(shape), dtype=dtype)


def constant(shape: Shape, value: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Every weight equal to ``value`` (0 by default). Units fed by such weights stay identical."""
    return _empty(shape, dtype).fill_(check_real("value", value))


def normal(shape: Shape, std: float = 0.01, generator: torch.Generator | None = None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``N(0, std²)`` with a fixed ``std`` whatever the layer's size (AlexNet: 0.01)."""
    return _empty(shape, dtype).normal_(0.0, check_real("std", std, 0.0), generator=generator)


def _uniform(shape: Shape, std: float, generator: torch.Generator | None, dtype: torch.dtype) -> torch.Tensor:
    b = uniform_bound(std)
    return _empty(shape, dtype).uniform_(-b, b, generator=generator)


def xavier_uniform(shape: Shape, gain: float = 1.0, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``U(−b, b)`` with ``b = g · √(6 / (fan_in + fan_out))`` (Glorot and Bengio 2010, eq. 16 for g = 1)."""
    return _uniform(shape, xavier_std(shape, gain), generator, dtype)


def xavier_normal(shape: Shape, gain: float = 1.0, generator: torch.Generator | None = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``N(0, g² · 2 / (fan_in + fan_out))``: Glorot's variance with a Gaussian instead of a uniform."""
    return _empty(shape, dtype).normal_(0.0, xavier_std(shape, gain), generator=generator)


def kaiming_uniform(shape: Shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``U(−b, b)`` with ``b = √3 · g / √fan``; ReLU: ``b = √(6 / fan)``."""
    return _uniform(shape, kaiming_std(shape, a, mode, nonlinearity), generator, dtype)


def kaiming_normal(shape: Shape, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                   generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``N(0, g² / fan)``; ReLU: ``std = √(2 / fan)`` (He et al. 2015, eq. 10 with fan_in, eq. 14 with fan_out)."""
    return _empty(shape, dtype).normal_(0.0, kaiming_std(shape, a, mode, nonlinearity), generator=generator)


def lecun_normal(shape: Shape, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``N(0, 1 / fan_in)`` (LeCun et al. 1998): ``kaiming_normal`` with ``nonlinearity='linear'``."""
    return _empty(shape, dtype).normal_(0.0, lecun_std(shape), generator=generator)


def lecun_uniform(shape: Shape, generator: torch.Generator | None = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``U(−b, b)`` with ``b = √(3 / fan_in)``, variance ``1 / fan_in``."""
    return _uniform(shape, lecun_std(shape), generator, dtype)


INITIALISERS: dict[str, Callable[..., torch.Tensor]] = {
    "zeros": lambda shape, generator=None, dtype=torch.float32: constant(shape, 0.0, dtype),
    "normal(0.01)": lambda shape, generator=None, dtype=torch.float32: normal(shape, 0.01, generator, dtype),
    "lecun_normal": lecun_normal,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_normal": lambda shape, generator=None, dtype=torch.float32: kaiming_normal(
        shape, nonlinearity="relu", generator=generator, dtype=dtype),
    "he_uniform": lambda shape, generator=None, dtype=torch.float32: kaiming_uniform(
        shape, nonlinearity="relu", generator=generator, dtype=dtype),
}
"""Named initialisers for :func:`init_weights` (He: ReLU gain, fan_in mode)."""


@torch.no_grad()
def init_weights(model: nn.Module, method: str | Callable[..., torch.Tensor],
                 generator: torch.Generator | None = None, bias: float = 0.0) -> nn.Module:
    """Re-initialise every ``nn.Linear`` and ``nn.Conv*d`` weight of ``model`` in place; biases to ``bias``.

    ``method`` is a name of :data:`INITIALISERS` or a function ``(shape, generator=..., dtype=...)``.
    Layers are visited in ``model.modules()`` order, all drawing from the one ``generator``.
    """
    if isinstance(method, str):
        method = INITIALISERS[check_choice("method", method, INITIALISERS)]
    bias = check_real("bias", bias)
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    if not layers:
        raise ValueError("the model has no nn.Linear or nn.Conv layer to initialise")
    for m in layers:
        m.weight.copy_(method(m.weight.shape, generator=generator, dtype=m.weight.dtype))
        if m.bias is not None:
            m.bias.fill_(bias)
    return model


@dataclass(frozen=True)
class LayerStats:
    """Per layer ``l = 1..L`` of a plain network: ``activation_var[l]`` is the variance of the layer's
    output ``f(W_l x_{l-1})``, ``grad_var[l]`` the variance of the loss gradient with respect to its
    pre-activation ``W_l x_{l-1}`` (the back-propagated signal)."""

    activation_var: list[float]
    grad_var: list[float]


_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu, "tanh": torch.tanh, "linear": lambda t: t}


def layer_statistics(init: str | Callable[..., torch.Tensor], activation: str, depth: int = 50, width: int = 256,
                     batch: int = 256, seed: int = 0, dtype: torch.dtype = torch.float64) -> LayerStats:
    """Forward activation variance and backward gradient variance, layer by layer, of a plain network of
    ``depth`` square bias-free layers ``x_l = f(W_l x_{l-1})`` at initialisation.

    The input is ``N(0, 1)``; the loss is ``Σ r ⊙ x_L`` with a fixed ``r ~ N(0, 1)``, so the gradient
    arriving at the top has unit variance. float64 keeps values as small as 1e-300 representable.
    """
    check_choice("activation", activation, _ACTIVATIONS)
    depth, width, batch = (check_positive_int("depth", depth), check_positive_int("width", width),
                           check_positive_int("batch", batch))
    seed = check_int("seed", seed)
    if isinstance(init, str):
        init = INITIALISERS[check_choice("init", init, INITIALISERS)]
    f = _ACTIVATIONS[activation]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=g, dtype=dtype)
    weights = [init((width, width), generator=g, dtype=dtype).requires_grad_() for _ in range(depth)]
    pre, acts = [], []
    for w in weights:
        z = x @ w.T
        z.retain_grad()
        x = f(z)
        pre.append(z)
        acts.append(x)
    r = torch.randn(batch, width, generator=g, dtype=dtype)
    (x * r).sum().backward()
    return LayerStats([a.detach().var().item() for a in acts], [z.grad.var().item() for z in pre])
