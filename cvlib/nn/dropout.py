"""Dropout (随机失活), from scratch: the paper's "vanilla" form and the "inverted" form of the libraries.

Throughout, ``p`` is the probability of **dropping** a unit (as in the notes and ``torch.nn.Dropout``);
Srivastava et al. (2014) write ``p`` for the probability of **keeping** it, which is ``1 − p`` here.
For the activations ``y`` of a layer, during training::

    r_j ~ Bernoulli(1 − p)          (independently for every unit and every example; 1 = keep)
    ỹ = r ⊙ y                       vanilla: no scaling while training
    ỹ = r ⊙ y / (1 − p)             inverted: the kept units are scaled up while training

and at test time, with every unit kept::

    ỹ = (1 − p) · y                 vanilla: scale by the keep probability (equivalently W_test = (1 − p)·W
                                    for the weights that read y, the paper's W_test = p_keep·W)
    ỹ = y                           inverted: the identity

Both forms keep the expected activation: ``E[r ⊙ y] = (1 − p)·y`` is what the vanilla test rule
outputs, and ``E[r ⊙ y / (1 − p)] = y`` is what the inverted one does. ``torch.nn.Dropout`` is the
inverted form.

Every random function takes an explicit ``torch.Generator`` (or a ready mask), so a result can be
reproduced without touching the global random state.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cvlib._validate import check_bool, check_int_sequence, check_positive_int, check_probability

__all__ = [
    "check_drop_probability",
    "bernoulli_mask",
    "vanilla_dropout",
    "inverted_dropout",
    "inference_scale",
    "Dropout",
    "scale_weights_for_test",
    "mc_dropout_probs",
]


def check_drop_probability(p: float) -> float:
    """Return ``p`` as a float if it is a drop probability in ``[0, 1)``; ``ValueError`` otherwise.

    ``p = 1`` is excluded: every unit would be dropped, and the inverted form would divide by zero.
    """
    return check_probability("p (the drop probability)", p, allow_one=False)


def bernoulli_mask(shape: Sequence[int] | torch.Size, p: float, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
    """A keep-mask ``r`` of ``shape`` with ``r_j ~ Bernoulli(1 − p)`` independently: 1 keeps, 0 drops."""
    p = check_drop_probability(p)
    shape = check_int_sequence("shape", shape, 0)
    return torch.empty(shape, dtype=dtype, device=device).bernoulli_(1.0 - p, generator=generator)


def _mask_for(y: torch.Tensor, p: float, generator: torch.Generator | None,
              mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return bernoulli_mask(y.shape, p, generator, dtype=y.dtype, device=y.device)
    if generator is not None:
        raise ValueError("give either a generator (to draw a mask) or a mask, not both")
    if tuple(mask.shape) != tuple(y.shape):
        raise ValueError(f"mask must have the shape of the input {tuple(y.shape)}, got {tuple(mask.shape)}")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must contain only 0 (drop) and 1 (keep)")
    return mask.to(dtype=y.dtype, device=y.device)


def vanilla_dropout(y: torch.Tensor, p: float, training: bool = True, generator: torch.Generator | None = None,
                    mask: torch.Tensor | None = None) -> torch.Tensor:
    """The paper's dropout. Training: ``ỹ = r ⊙ y`` with ``r ~ Bernoulli(1 − p)``, no scaling.
    Test (``training=False``): ``ỹ = (1 − p)·y``, the expected value of the training output.

    ``mask`` (0/1, the shape of ``y``) replaces the random draw; ``generator`` seeds the draw otherwise.
    """
    p = check_drop_probability(p)
    if not check_bool("training", training):
        return y * (1.0 - p)
    return y * _mask_for(y, p, generator, mask)


def inverted_dropout(y: torch.Tensor, p: float, training: bool = True, generator: torch.Generator | None = None,
                     mask: torch.Tensor | None = None) -> torch.Tensor:
    """Inverted dropout (``torch.nn.Dropout``). Training: ``ỹ = r ⊙ y / (1 − p)`` with
    ``r ~ Bernoulli(1 − p)``. Test (``training=False``): ``ỹ = y``, the identity.

    ``mask`` (0/1, the shape of ``y``) replaces the random draw; ``generator`` seeds the draw otherwise.
    """
    p = check_drop_probability(p)
    if not check_bool("training", training):
        return y
    return y * _mask_for(y, p, generator, mask) / (1.0 - p)


def inference_scale(p: float, inverted: bool) -> float:
    """The factor applied to the activations (or, equivalently, to the weights that read them) at test
    time: the keep probability ``1 − p`` for the vanilla form, 1 for the inverted form."""
    p = check_drop_probability(p)
    return 1.0 if check_bool("inverted", inverted) else 1.0 - p


class Dropout(nn.Module):
    """Dropout as a layer: :func:`inverted_dropout` (default) or :func:`vanilla_dropout`.

    In ``train()`` mode a fresh mask is drawn on every call, from ``generator`` if one is given (else from
    torch's global generator); in ``eval()`` mode the layer applies the test-time rule.
    """

    def __init__(self, p: float = 0.5, inverted: bool = True, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p = check_drop_probability(p)
        self.inverted = check_bool("inverted", inverted)
        self.generator = generator

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        fn = inverted_dropout if self.inverted else vanilla_dropout
        return fn(y, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, {'inverted' if self.inverted else 'vanilla'}"


def scale_weights_for_test(linear: nn.Linear, p: float) -> nn.Linear:
    """A copy of ``linear`` whose weights are scaled by the keep probability: ``W_test = (1 − p)·W``.

    Applied to the layer that *reads* the output of a vanilla dropout layer, it computes
    ``W·((1 − p)·y) + b``, the vanilla test rule, without a separate scaling step (Srivastava et al.,
    2014, Figure 2, with their ``p`` = our ``1 − p``). The bias is not scaled: it never sees the mask.
    """
    if not isinstance(linear, nn.Linear):
        raise ValueError(f"expected an nn.Linear, got {type(linear).__name__}")
    p = check_drop_probability(p)
    out = nn.Linear(linear.in_features, linear.out_features, bias=linear.bias is not None,
                    device=linear.weight.device, dtype=linear.weight.dtype)
    with torch.no_grad():
        out.weight.copy_(linear.weight * (1.0 - p))
        if linear.bias is not None:
            out.bias.copy_(linear.bias)
    return out


@torch.no_grad()
def mc_dropout_probs(model: nn.Module, x: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Softmax outputs of ``n_samples`` thinned networks, shape ``(n_samples, N, classes)``.

    Every dropout layer (:class:`Dropout` or ``torch.nn.Dropout``) is put in training mode, so each pass
    draws a new mask (a new sub-network); every other layer is in eval mode. Averaging over the first
    axis is the Monte Carlo model average. The model is left in eval mode.
    """
    n_samples = check_positive_int("n_samples", n_samples)
    model.eval()
    drops = [m for m in model.modules() if isinstance(m, (Dropout, nn.Dropout))]
    if not drops:
        raise ValueError("the model has no dropout layer: every pass would give the same output")
    for m in drops:
        m.train()
    try:
        return torch.stack([model(x).softmax(dim=-1) for _ in range(n_samples)])
    finally:
        model.eval()
