"""Optimisers (优化器), from scratch: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam and AdamW.

Every class is a ``torch.optim.Optimizer`` whose ``step()`` writes the update rule in a few lines under
``torch.no_grad()``, in the formulation **of torch.optim** (so that it can be checked step for step against
it). ``g`` is the gradient of the loss, ``p`` the parameter, ``t = 1, 2, …`` the step, ``λ`` the weight
decay; "L2" weight decay adds ``λ·p`` to the gradient before anything else (``g ← g + λp``).

=========  ================================================================================================
SGD        ``p ← p − lr·g``
momentum   ``b ← μ·b + g``,  ``p ← p − lr·b``                          (b₀ = 0)
Nesterov   ``b ← μ·b + g``,  ``p ← p − lr·(g + μ·b)``
AdaGrad    ``s ← s + g²``,  ``p ← p − lr·g / (√s + ε)``
RMSProp    ``s ← α·s + (1 − α)·g²``,  ``p ← p − lr·g / (√s + ε)``
Adam       ``m ← β₁m + (1 − β₁)g``,  ``v ← β₂v + (1 − β₂)g²``,  ``m̂ = m/(1 − β₁ᵗ)``,  ``v̂ = v/(1 − β₂ᵗ)``,
           ``p ← p − lr·m̂ / (√v̂ + ε)``
AdamW      ``p ← p·(1 − lr·λ)`` (decoupled decay, no ``λp`` in ``g``), then the Adam step
=========  ================================================================================================

Where these differ from the papers, :class:`PaperMomentum` gives the momentum of Polyak (1964) and
Sutskever et al. (2013), ``v ← μv − lr·g``, ``p ← p + v``, and its Nesterov form, which evaluates the
gradient at the look-ahead point ``p + μv``. Options of torch.optim that are not implemented here
(dampening, ``lr_decay``, centred RMSProp, AMSGrad, ``maximize``) keep their defaults in torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer

from cvlib._validate import check_bool, check_int, check_real, check_real_sequence

__all__ = ["SGD", "PaperMomentum", "Adagrad", "RMSprop", "Adam", "AdamW", "trajectory"]

Closure = Callable[[], torch.Tensor] | None


def _rate(name: str, value: float) -> float:
    """A decay rate (momentum, β, α) in [0, 1): at 1 the running average never forgets."""
    return check_real(name, value, 0.0, 1.0, high_open=True)


def _grads(group: dict) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, gradient) pairs of a group, skipping parameters that received no gradient."""
    return ((p, p.grad) for p in group["params"] if p.grad is not None)


def _loss(closure: Closure) -> torch.Tensor | None:
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()



def _momentum_defaults(lr: float, momentum: float, weight_decay: float, nesterov: bool) -> dict:
    """The checked hyper-parameters shared by :class:`SGD` and :class:`PaperMomentum`."""
    return dict(lr=check_real("lr", lr, 0.0), momentum=_rate("momentum", momentum),
                weight_decay=check_real("weight_decay", weight_decay, 0.0),
                nesterov=check_bool("nesterov", nesterov))


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 weight decay::

        g ← g + λ·p                                   (weight_decay λ)
        p ← p − lr·g                                  (momentum μ = 0)
        b ← μ·b + g,  p ← p − lr·b                    (momentum, torch's form; b₀ = 0)
        b ← μ·b + g,  p ← p − lr·(g + μ·b)            (nesterov=True)

    The velocity ``b`` holds gradients, not steps: the learning rate multiplies it when it is used, so a
    change of ``lr`` rescales the whole accumulated velocity at once (see :class:`PaperMomentum`).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        defaults = _momentum_defaults(lr, momentum, weight_decay, nesterov)
        if nesterov and defaults["momentum"] == 0:
            raise ValueError("nesterov=True needs a momentum > 0")
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:
        loss = _loss(closure)
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p, g in _grads(group):
                g = g.add(p, alpha=wd) if wd else g  # g + λ·p
                if mu:
                    b = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                    b.mul_(mu).add_(g)
                    g = g.add(b, alpha=mu) if group["nesterov"] else b  # g + μ·b or b
                p.add_(g, alpha=-lr)
        return loss


class PaperMomentum(Optimizer):
    """Momentum as Polyak (1964) and Sutskever et al. (2013) write it: the velocity is a step::

        v ← μ·v − lr·∇f(p),           p ← p + v        (classical momentum)
        v ← μ·v − lr·∇f(p + μ·v),     p ← p + v        (nesterov=True: gradient at the look-ahead point)

    With L2 weight decay, ``∇f(p)`` includes ``λ·p``. For a constant ``lr`` the classical form equals
    torch's (``v = −lr·b``); the Nesterov form equals torch's for the look-ahead point ``p + μ·v``. The
    Nesterov form needs a ``closure`` that recomputes the loss and its gradient (it is called at
    ``p + μv``); the classical form uses the gradient already in ``p.grad``.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.9, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, _momentum_defaults(lr, momentum, weight_decay, nesterov))

    def _velocities(self, group: dict) -> list[torch.Tensor]:
        return [self.state[p].setdefault("velocity", torch.zeros_like(p)) for p in group["params"]]

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:
        nesterov = any(group["nesterov"] for group in self.param_groups)
        if nesterov:
            if closure is None:
                raise ValueError("the paper's Nesterov momentum needs a closure (the gradient at p + μv)")
            for group in self.param_groups:  # move to the look-ahead point p + μv ...
                for p, v in zip(group["params"], self._velocities(group)):
                    p.add_(group["momentum"] * v)
        loss = _loss(closure)
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p, v in zip(group["params"], self._velocities(group)):
                if group["nesterov"]:
                    p.sub_(mu * v)  # ... and back, with the look-ahead gradient in p.grad
                if p.grad is None:
                    continue
                at = p + mu * v if group["nesterov"] else p  # where the gradient was taken
                g = p.grad.add(at, alpha=wd) if wd else p.grad
                v.mul_(mu).add_(g, alpha=-lr)
                p.add_(v)
        return loss


class Adagrad(Optimizer):
    """AdaGrad (Duchi et al., 2011), torch's form: every coordinate gets its own step size::

        g ← g + λ·p,    s ← s + g²,    p ← p − lr·g / (√s + ε)       (s₀ = 0)

    ``√s`` is the norm of all the gradients a coordinate has seen, so the step size ``lr/(√s + ε)`` only
    shrinks. The paper's diagonal update adds δ to ``√s`` as ε is added here.
    """

    def __init__(self, params, lr: float = 1e-2, weight_decay: float = 0.0, eps: float = 1e-10) -> None:
        lr = check_real("lr", lr, 0.0)
        weight_decay = check_real("weight_decay", weight_decay, 0.0)
        eps = check_real("eps", eps, 0.0)
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, eps=eps))

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:
        loss = _loss(closure)
        for group in self.param_groups:
            lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
            for p, g in _grads(group):
                g = g.add(p, alpha=wd) if wd else g  # g + λ·p
                s = self.state[p].setdefault("sum", torch.zeros_like(p))
                s.addcmul_(g, g)  # s + g·g
                p.addcdiv_(g, s.sqrt() + eps, value=-lr)  # p − lr·g/(√s + ε)
        return loss


class RMSprop(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012), torch's form: divide by a running RMS of the gradient::

        g ← g + λ·p,    s ← α·s + (1 − α)·g²,    p ← p − lr·g / (√s + ε)       (s₀ = 0)

    ε is added *outside* the square root, as in torch; the lecture has no ε and decays with α = 0.9,
    torch's default is α = 0.99.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        lr = check_real("lr", lr, 0.0)
        alpha = _rate("alpha", alpha)
        eps = check_real("eps", eps, 0.0)
        weight_decay = check_real("weight_decay", weight_decay, 0.0)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:
        loss = _loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            for p, g in _grads(group):
                g = g.add(p, alpha=wd) if wd else g  # g + λ·p
                s = self.state[p].setdefault("square_avg", torch.zeros_like(p))
                s.mul_(alpha).addcmul_(g, g, value=1 - alpha)  # α·s + (1 − α)·g·g
                p.addcdiv_(g, s.sqrt() + eps, value=-lr)  # p − lr·g/(√s + ε)
        return loss


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with L2 weight decay folded into the gradient as in ``torch.optim.Adam``::

        g ← g + λ·p
        m ← β₁·m + (1 − β₁)·g,          v ← β₂·v + (1 − β₂)·g²                (m₀ = v₀ = 0)
        m̂ = m / (1 − β₁ᵗ),              v̂ = v / (1 − β₂ᵗ)                      (bias correction)
        p ← p − lr·m̂ / (√v̂ + ε)

    ``bias_correction=False`` uses ``m`` and ``v`` as they are (for the demonstration of why the
    correction is there; torch always corrects).
    """

    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, bias_correction: bool = True) -> None:
        lr = check_real("lr", lr, 0.0)
        betas = check_real_sequence("betas", betas, 0.0, 1.0, high_open=True, length=2)
        eps = check_real("eps", eps, 0.0)
        weight_decay = check_real("weight_decay", weight_decay, 0.0)
        bias_correction = check_bool("bias_correction", bias_correction)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      bias_correction=bias_correction))

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:
        loss = _loss(closure)
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p, g in _grads(group):
                state = self.state[p]
                if not state:
                    state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                state["step"] += 1
                t, m, v = state["step"], state["m"], state["v"]
                if self.decoupled:
                    p.mul_(1 - lr * wd)  # AdamW: shrink the weights, keep λp out of m and v
                elif wd:
                    g = g.add(p, alpha=wd)  # Adam: L2 penalty g + λ·p, which goes through m and v
                m.lerp_(g, 1 - b1)  # m + (1 − β1)·(g − m) = β1·m + (1 − β1)·g
                v.mul_(b2).addcmul_(g, g, value=1 - b2)  # β2·v + (1 − β2)·g·g
                c1, c2 = (1 - b1 ** t, 1 - b2 ** t) if group["bias_correction"] else (1.0, 1.0)
                v_hat_sqrt = v.sqrt() / math.sqrt(c2)  # √v̂
                p.addcdiv_(m, v_hat_sqrt + eps, value=-lr / c1)  # p − lr·m̂/(√v̂ + ε), m̂ = m/c1
        return loss


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019) as in ``torch.optim.AdamW``: decoupled weight decay::

        p ← p·(1 − lr·λ),   then the Adam step of :class:`Adam` with the raw gradient g

    The paper multiplies λ by the schedule multiplier η_t only (``p ← p − η_t·(α·m̂/(√v̂ + ε) + λ·p)``);
    torch multiplies it by the whole learning rate lr = η_t·α, so torch's λ is the paper's λ divided by α.
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, bias_correction: bool = True) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, bias_correction)


def trajectory(optimizer: type[Optimizer], f: Callable[[torch.Tensor], torch.Tensor], x0: Iterable[float],
               steps: int, dtype: torch.dtype = torch.float64, **hyper) -> torch.Tensor:
    """The points ``x_0, x_1, …, x_steps`` that ``optimizer(**hyper)`` visits while minimising ``f`` from
    ``x0``, as a ``(steps + 1, n)`` tensor. Works with these classes and with ``torch.optim``'s alike."""
    steps = check_int("steps", steps, 0)
    x = torch.tensor(list(x0), dtype=dtype, requires_grad=True)
    opt = optimizer([x], **hyper)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    points = [x.detach().clone()]
    for _ in range(steps):
        opt.step(closure)
        points.append(x.detach().clone())
    return torch.stack(points)
