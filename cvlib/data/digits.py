"""scikit-learn's handwritten digits as tensors, with named scalings and one seeded, stratified split.

The data set (``sklearn.datasets.load_digits``, shipped with scikit-learn, nothing is downloaded) holds
1,797 grey-scale images of 8×8 pixels with ink from 0 to 16, about 180 of each digit 0–9. Every page that
trains on it loads it here::

    X, Y = load_digits(scaling="standard")                       # all 1,797, in scikit-learn's order
    (x_tr, y_tr), (x_te, y_te) = split_digits(1000)              # 1,000 for training, 797 for testing

Scalings (``SCALINGS``):

``"raw"``       the pixel values 0 … 16 as stored;
``"unit"``      divided by 16, in [0, 1];
``"standard"``  per pixel, minus its mean and divided by its standard deviation (the population one,
                ``ddof = 0``), both computed on the training split (on all the digits for
                :func:`load_digits`), exactly as ``sklearn.preprocessing.StandardScaler``: a pixel that is
                constant there (the left column is always blank) is divided by 1, so it becomes 0.

Layouts (``LAYOUTS``): ``"flat"`` gives ``N × 64`` rows (row-major pixels, scikit-learn's ``data``),
``"image"`` gives ``N × 1 × 8 × 8`` (its ``images``, one channel). Labels are ``int64`` tensors.

The split (:func:`split_indices`) is scikit-learn's ``train_test_split`` stratified by the digit with
``random_state=seed``: each digit appears in the training part in (almost) its share of the whole set,
and the same ``n_train`` and ``seed`` always give the same rows. The default, 1,347 training and 450 test
digits, is a stratified quarter held out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from cvlib._validate import check_choice, check_int

__all__ = ["N_DIGITS", "SCALINGS", "LAYOUTS", "Digits", "load_digits", "split_indices", "split_digits"]

N_DIGITS = 1797
SCALINGS = ("raw", "unit", "standard")
LAYOUTS = ("flat", "image")


class Digits(NamedTuple):
    """Inputs and labels of a set of digits; unpacks as ``x, y`` and is what ``cvlib.train.fit`` takes."""

    x: torch.Tensor  #: ``N × 64`` or ``N × 1 × 8 × 8``, in the requested scaling and dtype
    y: torch.Tensor  #: ``N`` labels 0–9, ``int64``


_CACHE: dict[str, np.ndarray] = {}


def _raw() -> tuple[np.ndarray, np.ndarray]:
    if not _CACHE:
        from sklearn.datasets import load_digits as sklearn_load_digits

        data = sklearn_load_digits()
        _CACHE["data"], _CACHE["target"] = data.data.astype(np.float64), data.target.astype(np.int64)
    return _CACHE["data"], _CACHE["target"]


def _check_common(scaling: str, layout: str, dtype: torch.dtype) -> None:
    check_choice("scaling", scaling, SCALINGS)
    check_choice("layout", layout, LAYOUTS)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")


def _standardiser(fit_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = fit_rows.mean(0)
    std = fit_rows.std(0)
    return mean, np.where(std == 0, 1.0, std)


def _finish(rows: np.ndarray, labels: np.ndarray, scaling: str, layout: str, dtype: torch.dtype,
            stats: tuple[np.ndarray, np.ndarray] | None) -> Digits:
    if scaling == "unit":
        rows = rows / 16.0
    elif scaling == "standard":
        mean, std = stats
        rows = (rows - mean) / std
    x = torch.tensor(rows, dtype=dtype)
    if layout == "image":
        x = x.reshape(-1, 1, 8, 8)
    return Digits(x, torch.tensor(labels, dtype=torch.int64))


def load_digits(*, scaling: str = "unit", layout: str = "flat", dtype: torch.dtype = torch.float32) -> Digits:
    """All 1,797 digits in scikit-learn's order, in a scaling of ``SCALINGS`` and a layout of ``LAYOUTS``
    (``"standard"`` uses the statistics of all of them)."""
    _check_common(scaling, layout, dtype)
    data, target = _raw()
    return _finish(data, target, scaling, layout, dtype, _standardiser(data) if scaling == "standard" else None)


def split_indices(n_train: int = 1347, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The rows (of scikit-learn's order) of the training and the test part: ``n_train`` and
    ``1797 − n_train`` of them, stratified by digit, in the order ``train_test_split`` returns them."""
    from sklearn.model_selection import train_test_split

    n_train = check_int("n_train", n_train, 10, N_DIGITS - 10)
    seed = check_int("seed", seed, 0, 2 ** 32 - 1)
    _, target = _raw()
    return train_test_split(np.arange(N_DIGITS), train_size=n_train, random_state=seed, stratify=target)


def split_digits(n_train: int = 1347, *, seed: int = 0, scaling: str = "unit", layout: str = "flat",
                 dtype: torch.dtype = torch.float32) -> tuple[Digits, Digits]:
    """``(train, test)``: the stratified split of :func:`split_indices`, each part a :class:`Digits` in the
    given scaling and layout; ``"standard"`` uses the statistics of the training part for both parts.

    ``n_train`` is a count between 10 and 1,787 (each part must hold every digit at least once).
    """
    _check_common(scaling, layout, dtype)
    train_idx, test_idx = split_indices(n_train, seed=seed)
    data, target = _raw()
    stats = _standardiser(data[train_idx]) if scaling == "standard" else None
    return (_finish(data[train_idx], target[train_idx], scaling, layout, dtype, stats),
            _finish(data[test_idx], target[test_idx], scaling, layout, dtype, stats))
