"""Knowledge distillation (模型蒸馏, Hinton, Vinyals & Dean 2015), from scratch.

A small *student* with logits ``z`` learns from a trained *teacher* with logits ``v`` (both ``(N, C)``:
``N`` examples, ``C`` classes). At a temperature ``T > 0`` both are softened with the same softmax::

    p = softmax(v / T)          the teacher's soft targets
    q = softmax(z / T)          the student's soft predictions

and the student minimises, for hard labels ``y`` and a weight ``α ∈ [0, 1]``::

    kd_loss = α · T² · KL(p ‖ q)  +  (1 − α) · CE(z, y)
    KL(p ‖ q) = (1/N) Σ_n Σ_i p_ni · (log p_ni − log q_ni)          (mean over the batch, "batchmean")

``KL(p ‖ q)`` differs from the paper's soft cross-entropy ``−Σ p log q`` by the teacher's entropy, a
constant for the student: the two have the same gradient. Per example that gradient is::

    ∂ KL / ∂ z_i = (q_i − p_i) / T                                   (the paper's eq. 2)

so a soft term *without* the factor ``T²`` has gradients that shrink like ``1/T²`` once ``T`` is large
against the logits; multiplying by ``T²`` keeps their size roughly independent of ``T``, so that changing
``T`` does not silently re-weight soft against hard targets. For ``T`` large against the logits and
logits that are zero-mean per example (``Σ_i z_i = Σ_i v_i = 0``)::

    (q_i − p_i) / T  ≈  (z_i − v_i) / (C · T²)                       (the paper's eq. 4)

the gradient of ``(z − v)² / (2 C T²)``: at high temperature, distillation matches logits. (The paper
writes ``N`` for the number of classes; here ``N`` counts examples and ``C`` classes.)

Every loss here is a mean over the batch; every ``*_grad`` is the gradient of that mean with respect
to the student's logits. The teacher is fixed: its logits are detached.
"""

from __future__ import annotations

import torch

from cvlib._validate import check_bool, check_probability, check_real, check_tensor

from cvlib.nn.activations import cross_entropy, cross_entropy_grad, log_softmax, softmax

__all__ = [
    "check_temperature",
    "check_alpha",
    "soft_targets",
    "soft_kl",
    "soft_kl_grad",
    "kd_loss",
    "kd_loss_grad",
    "high_temperature_grad",
]


def check_temperature(temperature: float) -> float:
    """Return ``T`` as a float if it is a finite number ``> 0``; ``ValueError`` otherwise."""
    return check_real("temperature", temperature, 0.0, low_open=True)


def check_alpha(alpha: float) -> float:
    """Return ``α`` as a float if it is a weight in ``[0, 1]``; ``ValueError`` otherwise."""
    return check_probability("alpha (the weight of the soft term)", alpha)


def _logit_pair(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Student and teacher logits, both ``(N, C)`` with ``N, C >= 1``; the teacher's detached."""
    for name, x in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        check_tensor(name, x, "N C", floating=True)
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{name} must be an (N, C) tensor with N >= 1 examples and C >= 1 classes, "
                             f"got shape {tuple(x.shape)}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student and teacher logits must have the same shape (N, C), got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    return student_logits, teacher_logits.detach().to(student_logits.dtype)


def soft_targets(teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """The teacher's soft targets ``p = softmax(v / T)`` along the last dimension."""
    return softmax(teacher_logits, dim=-1, temperature=check_temperature(temperature))


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float,
            scale: bool = True) -> torch.Tensor:
    """``T² · KL(softmax(v/T) ‖ softmax(z/T))``, mean over the batch (without ``T²`` if ``scale=False``).

    ``KL = (1/N) Σ_n Σ_i p_ni (log p_ni − log q_ni)``; both logarithms come from a log-softmax, so a
    teacher probability that underflows to 0 contributes ``0 · (finite) = 0``, not ``nan``.
    """
    z, v = _logit_pair(student_logits, teacher_logits)
    t = check_temperature(temperature)
    log_p = log_softmax(v / t, dim=1)
    log_q = log_softmax(z / t, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum() / z.shape[0]
    return kl * t * t if check_bool("scale", scale) else kl


def soft_kl_grad(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float,
                 scale: bool = True) -> torch.Tensor:
    """``∂ soft_kl / ∂ z = (q − p) / (T · N)``, times ``T²`` if ``scale`` (i.e. ``T · (q − p) / N``)."""
    z, v = _logit_pair(student_logits, teacher_logits)
    t = check_temperature(temperature)
    grad = (softmax(z, dim=1, temperature=t) - softmax(v, dim=1, temperature=t)) / (t * z.shape[0])
    return grad * t * t if check_bool("scale", scale) else grad


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
            temperature: float, alpha: float) -> torch.Tensor:
    """Hinton et al.'s loss ``α · T² · KL(softmax(v/T) ‖ softmax(z/T)) + (1 − α) · CE(z, y)``.

    ``target`` holds class indices ``(N,)``; the cross-entropy uses ``T = 1``. ``α = 1`` is pure
    distillation, ``α = 0`` ordinary training on the labels.
    """
    a = check_alpha(alpha)
    soft = soft_kl(student_logits, teacher_logits, temperature)
    return a * soft + (1.0 - a) * cross_entropy(student_logits, target)


def kd_loss_grad(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
                 temperature: float, alpha: float) -> torch.Tensor:
    """``∂ kd_loss / ∂ z = α · T · (q − p) / N + (1 − α) · (softmax(z) − y) / N``."""
    a = check_alpha(alpha)
    soft = soft_kl_grad(student_logits, teacher_logits, temperature)
    return a * soft + (1.0 - a) * cross_entropy_grad(student_logits, target)


def high_temperature_grad(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                          temperature: float) -> torch.Tensor:
    """The paper's high-temperature limit of ``∂ soft_kl / ∂ z`` without ``T²``: ``(z − v) / (C T² N)``.

    It approximates :func:`soft_kl_grad` (``scale=False``) only when ``T`` is large against the logits
    and both rows of logits are zero-mean; the logits are used as given, not centred, so that the
    condition can be seen to matter.
    """
    z, v = _logit_pair(student_logits, teacher_logits)
    t = check_temperature(temperature)
    n, c = z.shape
    return (z - v) / (c * t * t * n)
