"""Input preprocessing (预处理) and data augmentation (数据增强) for image classifiers, from scratch in NumPy.

Images are arrays of shape ``(H, W, C)`` (channels last, as scikit-image returns them), float values,
usually in ``[0, 1]``; a stack of equal-size images is ``(N, H, W, C)``.

Normalisation, per channel ``c`` (ImageNet models: ``C = 3``)::

    x̂[..., c] = (x[..., c] − μ_c) / σ_c          and its inverse   x = x̂ · σ_c + μ_c

The channel statistics are computed over a set of images, either *pooled* over all their pixels
(``μ_c = mean of every pixel value``, ``σ_c² = mean of (x − μ_c)²``) or as the *mean of the per-image*
statistics (average of each image's mean, average of each image's standard deviation; the latter is
smaller than the pooled one, since it leaves out the spread between images).
torchvision's fixed constants ``IMAGENET_MEAN`` and ``IMAGENET_STD`` were computed on a random subset of
the ImageNet training images, scaled to ``[0, 1]``.

AlexNet's PCA colour augmentation ("fancy PCA", Krizhevsky et al. 2012, §4.1): with ``λ_i, p_i`` the
eigenvalues and unit eigenvectors of the 3×3 covariance of the RGB values of all training pixels,
every pixel of one image gets the same vector added::

    δ = [p_1, p_2, p_3] · [α_1 λ_1, α_2 λ_2, α_3 λ_3]ᵀ,      α_i ~ N(0, σ²), σ = 0.1 in the paper,

drawn afresh each time the image is used. Its covariance is ``Cov(δ) = P diag(σ² λ_i²) Pᵀ``.

Crops: a crop of side ``s`` from an image of side ``S`` can start at ``S − s + 1`` positions per axis.
``ten_crop`` gives the four corner crops, the centre crop, and the horizontal flips of those five.

ZCA whitening: with ``Σ = U diag(λ) Uᵀ`` the covariance of the (centred) data,
``W = U diag(1/√(λ + ε)) Uᵀ`` and ``x_white = W (x − μ)`` has covariance ≈ I while staying as close
as possible to ``x`` (PCA whitening ``diag(1/√(λ + ε)) Uᵀ (x − μ)`` rotates it instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from cvlib._validate import check_choice, check_int, check_pair, check_real, check_real_sequence

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "to_float",
    "channel_stats",
    "normalize",
    "denormalize",
    "mean_image",
    "rgb_pca",
    "pca_color_shift",
    "pca_color_augment",
    "pca_shift_covariance",
    "crop",
    "center_crop",
    "random_crop",
    "hflip",
    "five_crop",
    "ten_crop",
    "n_crop_positions",
    "zca_fit",
    "zca_apply",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


# ---------------------------------------------------------------- checks
def _image(x: np.ndarray, name: str = "image", channels: int | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"{name} must have shape (H, W, C), got shape {x.shape}")
    if channels is not None and x.shape[-1] != channels:
        raise ValueError(f"{name} must have {channels} channels (last axis), got {x.shape[-1]}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must have at least one pixel, got shape {x.shape}")
    return x


def _stats(mean: Sequence[float], std: Sequence[float], channels: int) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(mean, dtype=np.float64).reshape(-1)
    s = np.asarray(std, dtype=np.float64).reshape(-1)
    if m.size != channels or s.size != channels:
        raise ValueError(f"mean and std need one value per channel ({channels}), got {m.size} and {s.size}")
    if not np.all(np.isfinite(m)) or not np.all(np.isfinite(s)):
        raise ValueError("mean and std must be finite")
    if np.any(s <= 0):
        raise ValueError(f"std must be > 0 in every channel, got {s.tolist()}")
    return m, s


# ---------------------------------------------------------------- normalisation
def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 values 0…255 → float64 in [0, 1] (``x / 255``); float input is returned as float64."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"image must be uint8 or floating point, got dtype {image.dtype}")
    return image.astype(np.float64)


def channel_stats(images: Iterable[np.ndarray], how: str = "pooled") -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation over a set of ``(H, W, C)`` images (sizes may differ).

    ``how="pooled"``: over all pixels of all images, ``μ_c = Σ x / n``, ``σ_c = √(Σ (x − μ_c)² / n)``.
    ``how="per_image"``: the average of the images' own means and the average of their own standard
    deviations (how torchvision's ImageNet constants were most likely computed).
    """
    how = check_choice("how", how, ("pooled", "per_image"))
    images = [_image(im, "every image") for im in images]
    if not images:
        raise ValueError("images must contain at least one image")
    c = images[0].shape[-1]
    if any(im.shape[-1] != c for im in images):
        raise ValueError("all images must have the same number of channels")
    if how == "per_image":
        means = np.stack([im.reshape(-1, c).mean(0) for im in images])
        stds = np.stack([im.reshape(-1, c).std(0) for im in images])
        return means.mean(0), stds.mean(0)
    n = sum(im.shape[0] * im.shape[1] for im in images)
    mean = sum(im.reshape(-1, c).sum(0, dtype=np.float64) for im in images) / n
    var = sum(((im.reshape(-1, c) - mean) ** 2).sum(0) for im in images) / n
    return mean, np.sqrt(var)


def normalize(image: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """``(x − μ_c) / σ_c`` in every channel ``c`` (last axis). ``ValueError`` if ``σ_c ≤ 0`` or the
    number of channels does not match ``len(mean)``. Works on one image or on a stack ``(N, H, W, C)``."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim not in (3, 4):
        raise ValueError(f"image must have shape (H, W, C) or (N, H, W, C), got shape {x.shape}")
    m, s = _stats(mean, std, x.shape[-1])
    return (x - m) / s


def denormalize(image: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """The inverse of :func:`normalize`: ``x̂ · σ_c + μ_c``."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim not in (3, 4):
        raise ValueError(f"image must have shape (H, W, C) or (N, H, W, C), got shape {x.shape}")
    m, s = _stats(mean, std, x.shape[-1])
    return x * s + m


def mean_image(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """AlexNet's "mean activity over the training set": the pixel-wise mean ``(1/N) Σ_n x_n`` of
    ``N`` images of one size, an ``(H, W, C)`` image. Its spatial average is the pooled channel mean."""
    if not isinstance(images, np.ndarray):
        images = [_image(im, "every image") for im in images]
        shapes = {im.shape for im in images}
        if len(shapes) > 1:
            raise ValueError(f"images must all have one shape (H, W, C), got {sorted(shapes)}")
        if not images:
            raise ValueError("images must contain at least one image")
        images = np.stack(images)
    stack = images
    if stack.ndim != 4 or stack.shape[0] < 1:
        raise ValueError(f"images must be a stack (N, H, W, C) with N >= 1, got shape {stack.shape}")
    return stack.mean(axis=0, dtype=np.float64)


# ---------------------------------------------------------------- PCA colour augmentation
def rgb_pca(images: np.ndarray | Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``λ`` (descending) and unit eigenvectors ``P`` (columns ``p_i``) of the 3×3
    covariance ``Σ = Xcᵀ Xc / (n − 1)`` of the RGB values of all pixels of ``images`` (one ``(H, W, 3)``
    image or several), so that ``Σ = P diag(λ) Pᵀ``."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = [images]
    pixels = np.concatenate([_image(im, "every image", channels=3).reshape(-1, 3) for im in images])
    if len(pixels) < 2:
        raise ValueError("need at least two pixels to estimate a covariance")
    xc = pixels.astype(np.float64) - pixels.mean(0, dtype=np.float64)
    cov = xc.T @ xc / (len(pixels) - 1)
    lam, vec = np.linalg.eigh(cov)  # ascending
    order = np.argsort(lam)[::-1]
    return lam[order], vec[:, order]


def _eig(eigvals: np.ndarray, eigvecs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lam = np.asarray(eigvals, dtype=np.float64).reshape(-1)
    vec = np.asarray(eigvecs, dtype=np.float64)
    if lam.shape != (3,) or vec.shape != (3, 3):
        raise ValueError(f"need 3 eigenvalues and a 3×3 eigenvector matrix, got {lam.shape} and {vec.shape}")
    if np.any(lam < 0):
        raise ValueError(f"eigenvalues of a covariance must be >= 0, got {lam.tolist()}")
    return lam, vec


def pca_color_shift(eigvals: np.ndarray, eigvecs: np.ndarray, alpha: Sequence[float]) -> np.ndarray:
    """The RGB vector ``δ = P (α ⊙ λ) = Σ_i α_i λ_i p_i`` that AlexNet adds to every pixel."""
    lam, vec = _eig(eigvals, eigvecs)
    a = np.asarray(alpha, dtype=np.float64)
    if a.shape[-1:] != (3,):
        raise ValueError(f"alpha must hold 3 values (last axis), got shape {a.shape}")
    return (a * lam) @ vec.T


def pca_color_augment(image: np.ndarray, eigvals: np.ndarray, eigvecs: np.ndarray, sigma: float = 0.1,
                      rng: np.random.Generator | None = None, alpha: Sequence[float] | None = None,
                      clip: tuple[float, float] | None = None) -> np.ndarray:
    """``image + δ`` for every pixel, ``δ = Σ_i α_i λ_i p_i`` with ``α_i ~ N(0, σ²)`` drawn once per call
    (or given as ``alpha``). ``clip=(lo, hi)`` clips the result (the paper does not clip)."""
    x = _image(image, channels=3).astype(np.float64)
    sigma = check_real("sigma (std of alpha)", sigma, 0.0)
    if alpha is None:
        if rng is None:
            raise ValueError("give rng (a numpy Generator) to draw alpha, or alpha itself")
        alpha = rng.normal(0.0, sigma, size=3)
    out = x + pca_color_shift(eigvals, eigvecs, alpha)
    if clip is not None:
        lo, hi = check_real_sequence("clip", clip, length=2)
        if not lo < hi:
            raise ValueError(f"clip must be (low, high) with low < high, got {clip!r}")
        out = np.clip(out, lo, hi)
    return out


def pca_shift_covariance(eigvals: np.ndarray, eigvecs: np.ndarray, sigma: float = 0.1) -> np.ndarray:
    """The covariance of ``δ``: ``E[δ δᵀ] = P diag(σ² λ_i²) Pᵀ`` (the ``α_i`` are independent, mean 0)."""
    lam, vec = _eig(eigvals, eigvecs)
    sigma = check_real("sigma", sigma, 0.0)
    return vec @ np.diag(sigma ** 2 * lam ** 2) @ vec.T


# ---------------------------------------------------------------- crops and flips
def crop(image: np.ndarray, top: int, left: int, size: int | Sequence[int]) -> np.ndarray:
    """``image[top : top + h, left : left + w]``; ``ValueError`` if the window leaves the image."""
    x = _image(image)
    h, w = check_pair("size", size, 1)
    H, W = x.shape[:2]
    if h > H or w > W:
        raise ValueError(f"crop {h}×{w} is larger than the image {H}×{W}")
    top, left = check_int("top", top), check_int("left", left)
    if not (0 <= top <= H - h and 0 <= left <= W - w):
        raise ValueError(f"a {h}×{w} crop of a {H}×{W} image needs 0 <= top <= {H - h} and "
                         f"0 <= left <= {W - w}, got top={top}, left={left}")
    return x[top:top + h, left:left + w]


def center_crop(image: np.ndarray, size: int | Sequence[int]) -> np.ndarray:
    """The crop whose offsets are ``⌊(H − h)/2⌋`` and ``⌊(W − w)/2⌋``."""
    x = _image(image)
    h, w = check_pair("size", size, 1)
    if h > x.shape[0] or w > x.shape[1]:
        raise ValueError(f"crop {h}×{w} is larger than the image {x.shape[0]}×{x.shape[1]}")
    return crop(x, (x.shape[0] - h) // 2, (x.shape[1] - w) // 2, (h, w))


def random_crop(image: np.ndarray, size: int | Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """A crop at a uniformly random position: ``top ∈ {0, …, H − h}``, ``left ∈ {0, …, W − w}``."""
    x = _image(image)
    h, w = check_pair("size", size, 1)
    if h > x.shape[0] or w > x.shape[1]:
        raise ValueError(f"crop {h}×{w} is larger than the image {x.shape[0]}×{x.shape[1]}")
    top = int(rng.integers(0, x.shape[0] - h + 1))
    left = int(rng.integers(0, x.shape[1] - w + 1))
    return crop(x, top, left, (h, w))


def hflip(image: np.ndarray) -> np.ndarray:
    """Horizontal reflection: column ``j`` becomes column ``W − 1 − j``."""
    return _image(image)[:, ::-1]


def five_crop(image: np.ndarray, size: int | Sequence[int]) -> list[np.ndarray]:
    """Top-left, top-right, bottom-left, bottom-right and centre crops."""
    x = _image(image)
    h, w = check_pair("size", size, 1)
    H, W = x.shape[:2]
    if h > H or w > W:
        raise ValueError(f"crop {h}×{w} is larger than the image {H}×{W}")
    corners = [(0, 0), (0, W - w), (H - h, 0), (H - h, W - w)]
    return [crop(x, t, l, (h, w)) for t, l in corners] + [center_crop(x, (h, w))]


def ten_crop(image: np.ndarray, size: int | Sequence[int]) -> list[np.ndarray]:
    """AlexNet's test-time patches: the five crops of :func:`five_crop`, then their horizontal flips."""
    five = five_crop(image, size)
    return five + [hflip(c) for c in five]


def n_crop_positions(image_size: int | Sequence[int], crop_size: int | Sequence[int]) -> int:
    """The number of distinct crop windows, ``(H − h + 1)(W − w + 1)``."""
    H, W = check_pair("image_size", image_size, 1)
    h, w = check_pair("crop_size", crop_size, 1)
    if h > H or w > W:
        raise ValueError(f"crop {h}×{w} is larger than the image {H}×{W}")
    return (H - h + 1) * (W - w + 1)


# ---------------------------------------------------------------- ZCA whitening
def zca_fit(X: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``μ`` and ZCA matrix ``W = U diag(1/√(λ + ε)) Uᵀ`` of data ``X`` (rows are samples), with
    ``U diag(λ) Uᵀ = (X − μ)ᵀ(X − μ)/(n − 1)``. ``W`` is symmetric and ``W Σ W ≈ I``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be a 2-D array (samples, features) with at least 2 rows, got {X.shape}")
    eps = check_real("eps", eps, 0.0)
    mu = X.mean(0)
    xc = X - mu
    lam, U = np.linalg.eigh(xc.T @ xc / (len(X) - 1))
    lam = np.clip(lam, 0.0, None)
    if eps == 0 and np.any(lam <= 0):
        raise ValueError("the covariance is singular: use eps > 0")
    return mu, (U / np.sqrt(lam + eps)) @ U.T


def zca_apply(X: np.ndarray, mean: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``(X − μ) Wᵀ`` (``W`` is symmetric, so this is ``W (x − μ)`` for every row ``x``)."""
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if X.ndim != 2 or W.shape != (X.shape[1], X.shape[1]) or np.shape(mean) != (X.shape[1],):
        raise ValueError(f"need X (n, d), mean (d,) and W (d, d); got {X.shape}, {np.shape(mean)}, {W.shape}")
    return (X - mean) @ W.T
