"""Local response normalisation (LRN, 局部响应归一化), across channels, as in AlexNet.

Krizhevsky et al. (2012), section 3.3, for the activity ``a`` of channel ``i`` at ``(x, y)`` among ``N``
channels:

    b_i = a_i / (k + α · Σ_{j = max(0, i − n/2)}^{min(N − 1, i + n/2)} a_j²)^β

with ``k = 2, n = 5, α = 1e-4, β = 0.75``: each channel is divided by the energy of the ``n`` channels
around it (itself included), ``n/2`` rounded down on each side. ``torch.nn.LocalResponseNorm`` divides
``α`` by ``n`` inside the sum, so the paper's ``α`` corresponds to torch's ``alpha = α · n``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cvlib._validate import check_positive_int, check_real, check_tensor

__all__ = ["local_response_norm", "LocalResponseNorm"]


def local_response_norm(a: torch.Tensor, n: int = 5, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 2.0) -> torch.Tensor:
    """The paper's formula on an ``(N, C, H, W)`` tensor (``alpha`` not divided by ``n``)."""
    check_tensor("a", a, "N C H W", floating=True)
    n = check_positive_int("n (the number of neighbouring channels)", n)
    alpha, beta, k = check_real("alpha", alpha), check_real("beta", beta), check_real("k", k)
    if k <= 0 and alpha <= 0:
        raise ValueError("k and alpha cannot both be <= 0: the denominator would vanish")
    sq = a.pow(2)
    # Sum of squares over the window [i - n//2, i + (n-1)//2] of channels, zero beyond the edges.
    padded = F.pad(sq, (0, 0, 0, 0, n // 2, (n - 1) // 2))
    window = padded.unfold(1, n, 1).sum(-1)
    return a / (k + alpha * window).pow(beta)


class LocalResponseNorm(nn.Module):
    """LRN with AlexNet's defaults ``n=5, α=1e-4, β=0.75, k=2`` (α as in the paper)."""

    def __init__(self, n: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> None:
        super().__init__()
        self.n = check_positive_int("n (the number of neighbouring channels)", n)
        self.alpha, self.beta, self.k = check_real("alpha", alpha), check_real("beta", beta), check_real("k", k)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return local_response_norm(a, self.n, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"n={self.n}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
