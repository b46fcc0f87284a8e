"""Deconvolution (反卷积), from scratch: undoing a known blur, unpooling with switches, and the deconvnet.

**Image deconvolution.** An observed image is a sharp image ``x`` blurred by a known point-spread
function (PSF) ``k`` plus noise: ``y = k ∗ x + n``. With periodic boundaries the blur is a circulant
matrix, diagonalised by the discrete Fourier transform, so that ``Y = K · X + N`` frequency by frequency
(capitals are 2-D DFTs, ``K`` the *transfer function* of the PSF):

* inverse filter: ``X̂ = Y / K`` — exact without noise, but it divides the noise by ``K``, which is
  tiny at the high frequencies a blur removes;
* Wiener filter: ``X̂ = conj(K) · Y / (|K|² + λ)`` with ``λ`` the noise-to-signal power ratio; ``λ = 0`` is
  the inverse filter, and ``conj(K) · Y`` alone is the transposed convolution (the adjoint of the blur);
* Richardson–Lucy: ``x ← x · (k̃ ∗ (y / (k ∗ x)))`` with ``k̃`` the mirrored PSF; it keeps ``x ≥ 0`` and,
  for a PSF that sums to 1 with periodic boundaries, keeps ``Σ x = Σ y``.

PSFs have odd sides and are centred on their middle pixel (index ``size // 2``), the convention of
``skimage.restoration``.

**Deconvnet (Zeiler & Fergus, 2014).** A layer conv → ReLU → max-pool is projected back to pixels by
unpooling with the *switches* (the argmax positions recorded by the pooling), rectifying, and filtering
with the transposed filters (a transposed convolution). **Deconvolutional networks (Zeiler et al., 2010)**
instead infer sparse feature maps ``z_k`` whose convolutions with filters ``f_k`` add up to the image,
minimising ``λ/2 · ‖Σ_k f_k ∗ z_k − y‖² + Σ_k |z_k|₁``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from cvlib._validate import check_bool, check_choice, check_int, check_pair, check_positive_int, check_real
from cvlib.nn.conv.transposed import conv_transpose2d

__all__ = [
    "psf_to_otf",
    "blur",
    "gaussian_psf",
    "motion_psf",
    "inverse_filter",
    "wiener_deconvolution",
    "richardson_lucy",
    "max_pool2d_switches",
    "max_unpool2d",
    "ConvReluPool",
    "conv_relu_pool",
    "project_down",
    "conv_sparse_coding",
]

Boundary = Literal["periodic", "zero"]


# --------------------------------------------------------------------------------------------- blurs
def _check_psf(psf: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    psf = np.asarray(psf, dtype=float)
    if psf.ndim != 2:
        raise ValueError(f"psf must be a 2-D array, got {psf.ndim} dimensions")
    if psf.shape[0] % 2 == 0 or psf.shape[1] % 2 == 0:
        raise ValueError(f"psf sides must be odd so that it has a centre pixel, got shape {psf.shape}")
    if shape is not None and (psf.shape[0] > shape[0] or psf.shape[1] > shape[1]):
        raise ValueError(f"psf {psf.shape} is larger than the image {tuple(shape)}")
    return psf


def _check_image(y: np.ndarray, name: str = "image") -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (grey) array, got {y.ndim} dimensions")
    return y


_BOUNDARIES = ("periodic", "zero")


def psf_to_otf(psf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Transfer function ``K`` (the DFT of the PSF) for images of ``shape``.

    The PSF is zero-padded to ``shape`` and rolled so that its centre pixel sits at index ``(0, 0)``;
    then ``fft2(k ∗ x) = K · fft2(x)`` for the periodic convolution. Same as ``skimage``'s ``ir2tf``.
    """
    psf = _check_psf(psf, shape)
    padded = np.zeros(shape)
    padded[: psf.shape[0], : psf.shape[1]] = psf
    padded = np.roll(padded, (-(psf.shape[0] // 2), -(psf.shape[1] // 2)), axis=(0, 1))
    return np.fft.fft2(padded)


def blur(x: np.ndarray, psf: np.ndarray, boundary: Boundary = "periodic") -> np.ndarray:
    """The convolution ``k ∗ x`` at the size of ``x`` (a true convolution: the PSF is not flipped twice).

    ``boundary="periodic"``: circular, ``ifft2(K · fft2(x))``. ``boundary="zero"``: ``x`` is surrounded by
    zeros, like ``scipy.signal.convolve(x, psf, mode="same")``.
    """
    x = _check_image(x)
    check_choice("boundary", boundary, _BOUNDARIES)
    if boundary == "periodic":
        return np.real(np.fft.ifft2(psf_to_otf(psf, x.shape) * np.fft.fft2(x)))
    psf = _check_psf(psf)
    full = (x.shape[0] + psf.shape[0] - 1, x.shape[1] + psf.shape[1] - 1)
    out = np.real(np.fft.ifft2(np.fft.fft2(x, full) * np.fft.fft2(psf, full)))
    r, c = psf.shape[0] // 2, psf.shape[1] // 2
    return out[r: r + x.shape[0], c: c + x.shape[1]]


def gaussian_psf(sigma: float, radius: int | None = None) -> np.ndarray:
    """Normalised Gaussian PSF ``exp(−(u² + v²)/(2σ²))`` on a ``(2r + 1)²`` grid (``r = ⌈3σ⌉`` by default)."""
    sigma = check_real("sigma", sigma, 0.0, low_open=True)
    r = int(np.ceil(3 * sigma)) if radius is None else check_int("radius", radius, 0)
    u = np.arange(-r, r + 1)
    g = np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def motion_psf(length: int) -> np.ndarray:
    """Horizontal motion blur: a ``1 × length`` box (``length`` odd), normalised to sum 1."""
    length = check_positive_int("length", length)
    if length % 2 == 0:
        raise ValueError(f"length must be a positive odd integer, got {length!r}")
    return np.full((1, length), 1.0 / length)


# -------------------------------------------------------------------------------- three restorations
def inverse_filter(y: np.ndarray, psf: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Naive inverse filter ``X̂ = Y / K`` (periodic model).

    Frequencies with ``|K| ≤ threshold`` are set to zero (a pseudo-inverse); with the default 0 every
    frequency is divided, and a transfer function with an exact zero raises ``ValueError``.
    """
    y = _check_image(y)
    threshold = check_real("threshold", threshold, 0.0)
    K = psf_to_otf(psf, y.shape)
    keep = np.abs(K) > threshold
    if threshold == 0 and not keep.all():
        raise ValueError("the PSF's transfer function has exact zeros; Y / K is undefined there — "
                         "pass threshold > 0 or use wiener_deconvolution")
    X = np.zeros_like(K)
    X[keep] = np.fft.fft2(y)[keep] / K[keep]
    return np.real(np.fft.ifft2(X))


def wiener_deconvolution(y: np.ndarray, psf: np.ndarray, balance: float | np.ndarray) -> np.ndarray:
    """Wiener deconvolution ``X̂ = conj(K) · Y / (|K|² + λ)`` (periodic model).

    ``λ = balance`` is the noise-to-signal power ratio ``S_n(ω) / S_x(ω)``: a number ``>= 0`` (the same
    ratio at every frequency), or an array of the image's shape with one ratio per DFT frequency (in
    ``numpy.fft.fft2`` order). ``λ = 0`` gives the inverse filter; for ``λ ≫ |K|²`` the filter tends to
    ``conj(K) · Y / λ``, a scaled transposed convolution. With a number, this equals
    ``skimage.restoration.wiener(y, psf, λ, reg=[[1]], clip=False)`` (an identity regulariser instead of
    skimage's default Laplacian).
    """
    y = _check_image(y)
    lam = np.asarray(balance, dtype=float)
    if lam.shape not in ((), y.shape) or (lam < 0).any() or np.isnan(lam).any():
        got = repr(balance) if lam.ndim == 0 else f"an array of shape {lam.shape}"
        raise ValueError(f"balance λ must be a number >= 0 or a non-negative array of shape {y.shape}, got {got}")
    K = psf_to_otf(psf, y.shape)
    denom = np.abs(K) ** 2 + lam
    if (denom == 0).any():
        raise ValueError("|K|² + λ is zero at some frequency; use balance > 0")
    return np.real(np.fft.ifft2(np.conj(K) * np.fft.fft2(y) / denom))


def richardson_lucy(y: np.ndarray, psf: np.ndarray, num_iter: int = 30, boundary: Boundary = "periodic",
                    init: float | np.ndarray | None = None, eps: float = 1e-12) -> np.ndarray:
    """Richardson–Lucy iterations ``x ← x · (k̃ ∗ (y / (k ∗ x + ε)))``, ``k̃`` the mirrored PSF.

    ``init`` is the starting image (a number for a flat image); by default the flat image with the mean
    of ``y``. ``eps`` avoids ``0/0``. ``y``, the PSF and ``init`` must be non-negative. With
    ``boundary="zero"``, ``init=0.5`` this is ``skimage.restoration.richardson_lucy(y, psf, num_iter,
    clip=False)``.
    """
    y = _check_image(y)
    psf = _check_psf(psf, y.shape)
    check_choice("boundary", boundary, _BOUNDARIES)
    num_iter = check_int("num_iter", num_iter, 0)
    eps = check_real("eps", eps, 0.0)
    if (y < 0).any() or (psf < 0).any():
        raise ValueError("Richardson–Lucy needs a non-negative image and PSF (it models photon counts)")
    x = np.full(y.shape, y.mean()) if init is None else np.broadcast_to(np.asarray(init, float), y.shape).copy()
    if (x < 0).any():
        raise ValueError("init must be non-negative")
    mirrored = psf[::-1, ::-1]
    for _ in range(num_iter):
        x = x * blur(y / (blur(x, psf, boundary) + eps), mirrored, boundary)
    return x


# ------------------------------------------------------------------------------ unpooling, deconvnet
def max_pool2d_switches(x: torch.Tensor, kernel: int, stride: int | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Max pooling (no padding) that also returns the *switches*: for every pooled unit, the flat index
    ``row · W + col`` of its maximum within its ``H × W`` plane (PyTorch's ``return_indices`` format).
    Ties go to the first maximum in row-major order."""
    if x.dim() != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {tuple(x.shape)}")
    kernel = check_positive_int("kernel", kernel)
    stride = kernel if stride is None else check_positive_int("stride", stride)
    n, c, h, w = x.shape
    if kernel > min(h, w):
        raise ValueError(f"kernel {kernel} is larger than the input {h}×{w}")
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    windows = F.unfold(x.reshape(n * c, 1, h, w), kernel, stride=stride)  # (N·C, k·k, oh·ow)
    values, arg = windows.max(dim=1)
    du, dv = arg // kernel, arg % kernel
    rows = torch.arange(oh).repeat_interleave(ow) * stride
    cols = torch.arange(ow).repeat(oh) * stride
    idx = (rows + du) * w + cols + dv
    return values.view(n, c, oh, ow), idx.view(n, c, oh, ow)


def max_unpool2d(x: torch.Tensor, indices: torch.Tensor, output_size: tuple[int, int],
                 accumulate: bool = False) -> torch.Tensor:
    """Unpooling with switches: put each pooled value back at its recorded argmax, zeros elsewhere.

    ``output_size`` is the ``(H, W)`` before pooling. With overlapping windows several pooled units may
    share a switch: ``accumulate=False`` writes them in row-major order so the last one wins (what
    ``torch.nn.functional.max_unpool2d`` does on the CPU); ``accumulate=True`` adds them, which is the
    gradient of max pooling.
    """
    if x.shape != indices.shape or x.dim() != 4:
        raise ValueError(f"x and indices must both be (N, C, h, w), got {tuple(x.shape)} and {tuple(indices.shape)}")
    h, w = check_pair("output_size", output_size, 1)
    accumulate = check_bool("accumulate", accumulate)
    if indices.numel() and (indices.min() < 0 or indices.max() >= h * w):
        raise ValueError(f"indices must lie in [0, {h * w}) for output_size {output_size}")
    n, c = x.shape[:2]
    out = x.new_zeros(n, c, h * w)
    flat_x, flat_i = x.reshape(n, c, -1), indices.reshape(n, c, -1)
    if accumulate:
        out.scatter_add_(2, flat_i, flat_x)
    else:
        for j in range(flat_i.shape[-1]):  # in order, so that the last write wins
            out.scatter_(2, flat_i[..., j: j + 1], flat_x[..., j: j + 1])
    return out.view(n, c, h, w)


@dataclass
class ConvReluPool:
    """The forward pass of one layer conv → ReLU → max-pool, with what the deconvnet needs to go back."""

    weight: torch.Tensor  # (C_out, C_in, k, k)
    padding: int
    conv: torch.Tensor  # before the ReLU
    pooled: torch.Tensor  # after ReLU and pooling
    switches: torch.Tensor


def conv_relu_pool(image: torch.Tensor, weight: torch.Tensor, padding: int, pool_kernel: int,
                   pool_stride: int) -> ConvReluPool:
    """``pool(relu(conv2d(image, weight, padding)))`` with the pooling switches recorded."""
    conv = F.conv2d(image, weight, padding=padding)
    pooled, switches = max_pool2d_switches(torch.relu(conv), pool_kernel, pool_stride)
    return ConvReluPool(weight, padding, conv, pooled, switches)


def project_down(layer: ConvReluPool, top: torch.Tensor,
                 rule: Literal["deconvnet", "gradient"] = "deconvnet") -> torch.Tensor:
    """Project a pooled-shaped map ``top`` back to pixel space through one layer.

    Unpool with the layer's switches (adding where switches collide), then

    * ``rule="deconvnet"`` (Zeiler & Fergus): rectify the signal itself, ``relu(u)``;
    * ``rule="gradient"``: keep it only where the forward ReLU was active, ``u · [conv > 0]`` — the
      gradient of ``Σ top · pooled`` with respect to the image;

    and filter with the transposed filters, ``conv_transpose2d(·, weight, padding)``.
    """
    rule = check_choice("rule", rule, ("deconvnet", "gradient"))
    if top.shape != layer.pooled.shape:
        raise ValueError(f"top must have the pooled shape {tuple(layer.pooled.shape)}, got {tuple(top.shape)}")
    u = max_unpool2d(top, layer.switches, tuple(layer.conv.shape[-2:]), accumulate=True)
    r = torch.relu(u) if rule == "deconvnet" else u * (layer.conv > 0)  # "gradient"
    return conv_transpose2d(r, layer.weight, padding=layer.padding)


# ------------------------------------------------------------------- deconvolutional networks (2010)
def conv_sparse_coding(y: np.ndarray, filters: list[np.ndarray], lam: float, num_iter: int = 100
                       ) -> tuple[np.ndarray, list[float]]:
    """Infer the feature maps of one deconvolutional-network layer by ISTA (periodic boundaries).

    Minimises ``C(z) = λ/2 · ‖Σ_k f_k ∗ z_k − y‖² + Σ_k |z_k|₁`` over maps ``z_k`` of the image's size:
    a gradient step on the data term with step ``1/L``, ``L = λ · max_ω Σ_k |F_k(ω)|²``, then soft
    thresholding by ``1/L``. Returns the maps ``(K, H, W)`` and the cost before every step and at the end.
    """
    y = _check_image(y)
    if not filters:
        raise ValueError("filters must be a non-empty list of 2-D odd-sided arrays")
    lam = check_real("lam", lam, 0.0, low_open=True)
    num_iter = check_int("num_iter", num_iter, 0)
    Fk = np.stack([psf_to_otf(f, y.shape) for f in filters])
    L = lam * (np.abs(Fk) ** 2).sum(0).max()
    Y = np.fft.fft2(y)
    Z = np.zeros_like(Fk)
    z = np.zeros(Fk.shape)

    def cost(z: np.ndarray, R: np.ndarray) -> float:
        return float(lam / 2 * (np.abs(R) ** 2).sum() / y.size + np.abs(z).sum())

    history = []
    for _ in range(num_iter):
        R = (Fk * Z).sum(0) - Y  # residual in Fourier space
        history.append(cost(z, R))
        grad = lam * np.real(np.fft.ifft2(np.conj(Fk) * R))
        v = z - grad / L
        z = np.sign(v) * np.maximum(np.abs(v) - 1 / L, 0)
        Z = np.fft.fft2(z)
    history.append(cost(z, (Fk * Z).sum(0) - Y))
    return z, history
