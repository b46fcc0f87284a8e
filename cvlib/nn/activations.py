"""Activation functions (激活函数) and softmax, from scratch, each with its derivative.

Element-wise activations ``f`` and their derivatives ``f'`` (at a kink the derivative takes the value
PyTorch's autograd uses, given in brackets)::

    relu(x)        = max(0, x)                       relu'(x)       = 1 if x > 0 else 0        [0 at x = 0]
    relu6(x)       = min(max(0, x), 6)               relu6'(x)      = 1 if 0 < x < 6 else 0    [0 at 0 and 6]
    leaky_relu(x)  = x if x > 0 else a·x             leaky_relu'(x) = 1 if x > 0 else a        [a at x = 0]
    sigmoid(x)     = σ(x) = 1 / (1 + e^(−x))         σ'(x)          = σ(x)·(1 − σ(x))          (at most 1/4)
    tanh(x)        = (e^x − e^(−x)) / (e^x + e^(−x)) tanh'(x)       = 1 − tanh(x)²             (at most 1)
    gelu(x)        = x·Φ(x) = x·½·(1 + erf(x/√2))    gelu'(x)       = Φ(x) + x·φ(x)
    gelu_tanh(x)   = ½·x·(1 + tanh(u)),  u = √(2/π)·(x + 0.044715·x³)     (Hendrycks & Gimpel's approximation)
                     gelu_tanh'(x) = ½·(1 + tanh u) + ½·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)

with Φ and φ the standard normal distribution function and density. Along a dimension of size ``C``::

    softmax(z)_i      = e^(z_i) / Σ_j e^(z_j)  =  e^(z_i − m) / Σ_j e^(z_j − m),   m = max_j z_j
    log_softmax(z)_i  = z_i − m − log Σ_j e^(z_j − m)                               (log-sum-exp)
    ∂softmax_i/∂z_k   = p_i·(δ_ik − p_k)            (Jacobian diag(p) − p pᵀ)

Subtracting the maximum changes nothing mathematically (softmax is invariant to adding a constant to every
logit) but keeps every exponent ≤ 0, so nothing overflows. For logits ``z`` of ``N`` examples and one-hot
(or probability) targets ``y``::

    cross_entropy(z, y) = −(1/N) Σ_n Σ_i y_ni · log_softmax(z_n)_i,      ∂/∂z_n = (p_n − y_n) / N

Every function takes a floating-point ``torch.Tensor``; :class:`Activation` wraps an activation as a
layer whose backward pass is the derivative written here (not autograd's).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from cvlib._validate import check_choice, check_int, check_real, check_tensor

__all__ = [
    "relu", "relu_grad", "relu6", "relu6_grad", "leaky_relu", "leaky_relu_grad", "sigmoid", "sigmoid_grad",
    "tanh", "tanh_grad", "gelu", "gelu_grad", "softplus", "naive_softmax", "softmax", "log_softmax",
    "softmax_backward", "softmax_jacobian", "cross_entropy", "cross_entropy_grad", "ACTIVATIONS", "Activation",
]

GELU_TANH_COEFF = 0.044715  # Hendrycks & Gimpel (2016), the cubic term of the tanh approximation
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


# ---------------------------------------------------------------------------------------------- checks

_APPROXIMATIONS = ("none", "tanh")


def _softmax_dim(z: torch.Tensor, dim: int, name: str = "z") -> int:
    """``dim`` as an ``int`` if ``z`` has entries along it (a softmax needs at least one class)."""
    if z.dim() == 0:
        raise ValueError(f"{name} must have at least one dimension to normalise over, got a 0-d tensor")
    dim = check_int("dim", dim, -z.dim(), z.dim() - 1)
    if z.shape[dim] == 0:
        raise ValueError(f"{name} has no entries along dim={dim} (shape {tuple(z.shape)}): "
                         "a softmax needs at least one class")
    return dim


# ---------------------------------------------------------------------------------- the rectifiers

def relu(x: torch.Tensor) -> torch.Tensor:
    """``max(0, x)``, element-wise."""
    x = check_tensor("x", x, floating=True)
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """``d relu / dx = 1`` for ``x > 0`` and ``0`` otherwise (``0`` at ``x = 0``, as autograd)."""
    x = check_tensor("x", x, floating=True)
    return (x > 0).to(x.dtype)


def relu6(x: torch.Tensor) -> torch.Tensor:
    """``min(max(0, x), 6)``: ReLU capped at 6 (MobileNet's activation)."""
    x = check_tensor("x", x, floating=True)
    return torch.where(x > 6, torch.full_like(x, 6.0), relu(x))


def relu6_grad(x: torch.Tensor) -> torch.Tensor:
    """``1`` for ``0 < x < 6`` and ``0`` otherwise (``0`` at both kinks, as autograd)."""
    x = check_tensor("x", x, floating=True)
    return ((x > 0) & (x < 6)).to(x.dtype)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """``x`` for ``x > 0`` and ``a·x`` otherwise, ``a = negative_slope`` (Maas et al. use 0.01)."""
    x = check_tensor("x", x, floating=True)
    a = check_real("negative_slope", negative_slope)
    return torch.where(x > 0, x, a * x)


def leaky_relu_grad(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """``1`` for ``x > 0`` and ``a`` otherwise (``a`` at ``x = 0``, as autograd)."""
    x = check_tensor("x", x, floating=True)
    a = check_real("negative_slope", negative_slope)
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, a))


# ---------------------------------------------------------------------------------- the saturating ones

def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``σ(x) = 1 / (1 + e^(−x))``, computed without overflow as ``1 / (1 + e^(−|x|))`` for ``x ≥ 0``
    and ``e^(−|x|) / (1 + e^(−|x|))`` for ``x < 0``."""
    x = check_tensor("x", x, floating=True)
    e = torch.exp(-x.abs())  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """``σ'(x) = σ(x)·(1 − σ(x))``; its largest value is ``σ'(0) = 1/4``."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """``tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)) = 2σ(2x) − 1``, computed as
    ``sign(x)·(−m) / (2 + m)`` with ``m = expm1(−2|x|)``: no overflow, and exact near 0."""
    x = check_tensor("x", x, floating=True)
    m = torch.expm1(-2.0 * x.abs())
    return torch.sign(x) * (-m) / (2.0 + m)


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """``tanh'(x) = 1 − tanh(x)²``; its largest value is ``tanh'(0) = 1``."""
    t = tanh(x)
    return 1.0 - t * t


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + e^x) = max(x, 0) + log1p(e^(−|x|))``, the smooth ReLU (its derivative is ``σ(x)``)."""
    x = check_tensor("x", x, floating=True)
    return relu(x) + torch.log1p(torch.exp(-x.abs()))


# ---------------------------------------------------------------------------------------------- GELU

def _normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _normal_pdf(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """GELU. ``approximate="none"``: ``x·Φ(x) = x·½·(1 + erf(x/√2))``, exact;
    ``approximate="tanh"``: ``½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))``."""
    x = check_tensor("x", x, floating=True)
    if check_choice("approximate", approximate, _APPROXIMATIONS) == "none":
        return x * _normal_cdf(x)
    u = _SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * x ** 3)
    return 0.5 * x * (1.0 + tanh(u))


def gelu_grad(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """Exact: ``Φ(x) + x·φ(x)``. Tanh form: ``½(1 + t) + ½·x·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²)``,
    ``t = tanh(√(2/π)·(x + 0.044715·x³))``."""
    x = check_tensor("x", x, floating=True)
    if check_choice("approximate", approximate, _APPROXIMATIONS) == "none":
        return _normal_cdf(x) + x * _normal_pdf(x)
    t = tanh(_SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * x ** 3))
    du = _SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_COEFF * x * x)
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du


# ---------------------------------------------------------------------------------------------- softmax

def naive_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``e^(z_i) / Σ_j e^(z_j)`` exactly as written: overflows (``inf / inf = nan``) once a logit
    exceeds about 88 in float32 or 709 in float64. For demonstration; use :func:`softmax`."""
    z = check_tensor("z", z, floating=True)
    dim = _softmax_dim(z, dim)
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def softmax(z: torch.Tensor, dim: int = -1, temperature: float = 1.0) -> torch.Tensor:
    """``softmax(z/T)_i = e^(z_i/T − m) / Σ_j e^(z_j/T − m)`` with ``m = max_j z_j/T`` (stable form).

    ``T = temperature > 0``: ``T > 1`` flattens the distribution, ``T < 1`` sharpens it, ``T → 0``
    approaches the one-hot arg max.
    """
    z = check_tensor("z", z, floating=True)
    dim = _softmax_dim(z, dim)
    z = z / check_real("temperature", temperature, 0.0, low_open=True)
    e = torch.exp(z - z.amax(dim=dim, keepdim=True))  # every exponent <= 0
    return e / e.sum(dim=dim, keepdim=True)  # the sum is >= 1: no division by zero


def log_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log softmax(z)_i = z_i − m − log Σ_j e^(z_j − m)``, ``m = max_j z_j`` (log-sum-exp)."""
    z = check_tensor("z", z, floating=True)
    dim = _softmax_dim(z, dim)
    shifted = z - z.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def softmax_backward(z: torch.Tensor, grad_output: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """The gradient with respect to ``z`` of a loss whose gradient with respect to ``p = softmax(z)``
    is ``g = grad_output``: ``Jᵀg = p ⊙ (g − Σ_k g_k p_k)`` along ``dim``."""
    p = softmax(z, dim)
    g = check_tensor("grad_output", grad_output, floating=True)
    if g.shape != z.shape:
        raise ValueError(f"grad_output must have the shape of z {tuple(z.shape)}, got {tuple(g.shape)}")
    return p * (g - (g * p).sum(dim=dim, keepdim=True))


def softmax_jacobian(z: torch.Tensor) -> torch.Tensor:
    """``J_ik = ∂p_i/∂z_k = p_i·(δ_ik − p_k)``, i.e. ``diag(p) − p pᵀ``, for a 1-D vector of logits."""
    z = check_tensor("z", z, floating=True)
    if z.dim() != 1:
        raise ValueError(f"softmax_jacobian takes a 1-D vector of logits, got shape {tuple(z.shape)}")
    p = softmax(z)
    return torch.diag(p) - torch.outer(p, p)


# ---------------------------------------------------------------------------------- cross-entropy

def _target_distribution(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``y`` of shape ``(N, C)``: one-hot rows from class indices ``(N,)``, or the given probabilities."""
    logits = check_tensor("logits", logits, floating=True)
    if logits.dim() != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"logits must be an (N, C) tensor with N >= 1 examples and C >= 1 classes, "
                         f"got shape {tuple(logits.shape)}")
    if not isinstance(target, torch.Tensor):
        raise ValueError(f"target must be a torch.Tensor, got {type(target).__name__}")
    n, c = logits.shape
    if target.is_floating_point():
        if target.shape != logits.shape:
            raise ValueError(f"probability targets must have the shape of the logits {(n, c)}, "
                             f"got {tuple(target.shape)}")
        return target.to(logits.dtype)
    if target.dtype == torch.bool or target.is_complex() or target.shape != (n,):
        raise ValueError(f"class-index targets must be an integer tensor of shape ({n},), "
                         f"got {target.dtype} of shape {tuple(target.shape)}")
    if int(target.min()) < 0 or int(target.max()) >= c:
        raise ValueError(f"class indices must lie in [0, {c - 1}], got values from {int(target.min())} "
                         f"to {int(target.max())}")
    return torch.nn.functional.one_hot(target.long(), c).to(logits.dtype)


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy ``−(1/N) Σ_n Σ_i y_ni · log_softmax(z_n)_i``.

    ``logits`` is ``(N, C)``; ``target`` holds class indices ``(N,)`` (integers in ``[0, C)``) or
    probabilities ``(N, C)`` (floats), as ``torch.nn.functional.cross_entropy`` accepts.
    """
    y = _target_distribution(logits, target)
    return -(y * log_softmax(logits, dim=1)).sum() / logits.shape[0]


def cross_entropy_grad(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``∂ cross_entropy / ∂ logits = (softmax(logits) − y) / N``: the famous ``p − y`` (per example)."""
    y = _target_distribution(logits, target)
    return (softmax(logits, dim=1) - y) / logits.shape[0]


# ---------------------------------------------------------------------------------- as layers

#: name -> (function, derivative); each takes ``x`` and the keyword arguments of the name's family.
ACTIVATIONS: dict[str, tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]] = {
    "relu": (relu, relu_grad),
    "relu6": (relu6, relu6_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "gelu": (gelu, gelu_grad),
}


class _Elementwise(torch.autograd.Function):
    """Forward ``f(x)``; backward ``grad_output · f'(x)`` with the hand-written derivative."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, name: str, kwargs: dict) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.name, ctx.kwargs = name, kwargs
        return ACTIVATIONS[name][0](x, **kwargs)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad_output * ACTIVATIONS[ctx.name][1](x, **ctx.kwargs), None, None


class Activation(nn.Module):
    """An activation of :data:`ACTIVATIONS` as a layer; its backward pass uses the derivative above.

    ``Activation("leaky_relu", negative_slope=0.1)``, ``Activation("gelu", approximate="tanh")``.
    """

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__()
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
        allowed = {"leaky_relu": {"negative_slope"}, "gelu": {"approximate"}}.get(name, set())
        if set(kwargs) - allowed:
            raise ValueError(f"{name} takes {sorted(allowed) or 'no'} keyword arguments, got {sorted(kwargs)}")
        if "negative_slope" in kwargs:
            check_real("negative_slope", kwargs["negative_slope"])
        if "approximate" in kwargs:
            check_choice("approximate", kwargs["approximate"], _APPROXIMATIONS)
        self.name, self.kwargs = name, dict(kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Elementwise.apply(check_tensor("x", x, floating=True), self.name, self.kwargs)

    def extra_repr(self) -> str:
        return ", ".join([repr(self.name)] + [f"{k}={v!r}" for k, v in self.kwargs.items()])
