"""cvlib.data.digits: scikit-learn's digits with named scalings, layouts and one stratified split."""

import numpy as np
import pytest
import sklearn.datasets
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from cvlib.data.digits import LAYOUTS, N_DIGITS, SCALINGS, Digits, load_digits, split_digits, split_indices

SK = sklearn.datasets.load_digits()


def test_all_digits_in_scikit_learns_order():
    x, y = load_digits(scaling="raw")
    assert x.shape == (N_DIGITS, 64) and x.dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_array_equal(x.numpy(), SK.data)
    np.testing.assert_array_equal(y.numpy(), SK.target)


def test_scalings():
    unit = load_digits()
    assert float(unit.x.min()) == 0 and float(unit.x.max()) == 1
    np.testing.assert_allclose(unit.x.numpy(), SK.data / 16, rtol=1e-6)
    std = load_digits(scaling="standard", dtype=torch.float64)
    np.testing.assert_allclose(std.x.numpy(), StandardScaler().fit_transform(SK.data), rtol=0, atol=1e-12)
    constant = SK.data.std(0) == 0  # the always-blank pixels become 0, not NaN
    assert constant.any() and bool((std.x[:, constant] == 0).all())


def test_image_layout():
    x, y = load_digits(layout="image", scaling="raw", dtype=torch.float64)
    assert x.shape == (N_DIGITS, 1, 8, 8) and x.dtype == torch.float64
    np.testing.assert_array_equal(x[:, 0].numpy(), SK.images)


def test_split_is_seeded_stratified_and_disjoint():
    train_idx, test_idx = split_indices(1000)
    assert len(train_idx) == 1000 and len(test_idx) == 797
    assert sorted(np.concatenate([train_idx, test_idx]).tolist()) == list(range(N_DIGITS))
    counts = np.bincount(SK.target[train_idx], minlength=10)
    share = np.bincount(SK.target, minlength=10) * 1000 / N_DIGITS
    assert np.abs(counts - share).max() <= 1  # every digit in (almost) its share
    again, _ = split_indices(1000)
    other, _ = split_indices(1000, seed=1)
    np.testing.assert_array_equal(train_idx, again)
    assert not np.array_equal(train_idx, other)


def test_default_split_is_a_stratified_quarter():
    train_idx, test_idx = split_indices()
    ref_train, ref_test = train_test_split(np.arange(N_DIGITS), test_size=0.25, random_state=0, stratify=SK.target)
    np.testing.assert_array_equal(train_idx, ref_train)
    np.testing.assert_array_equal(test_idx, ref_test)


def test_split_digits_uses_training_statistics():
    train, test = split_digits(1200, scaling="standard", dtype=torch.float64)
    assert isinstance(train, Digits) and len(train.x) == 1200 and len(test.y) == 597
    train_idx, test_idx = split_indices(1200)
    scaler = StandardScaler().fit(SK.data[train_idx])
    np.testing.assert_allclose(train.x.numpy(), scaler.transform(SK.data[train_idx]), atol=1e-12)
    np.testing.assert_allclose(test.x.numpy(), scaler.transform(SK.data[test_idx]), atol=1e-12)
    np.testing.assert_array_equal(test.y.numpy(), SK.target[test_idx])
    (x_tr, y_tr), (x_te, y_te) = split_digits(200, layout="image")
    assert x_tr.shape == (200, 1, 8, 8) and x_te.shape == (1597, 1, 8, 8)


@pytest.mark.parametrize("kwargs,match", [
    (dict(scaling="minmax"), "scaling must be one of 'raw', 'unit', 'standard'"),
    (dict(layout="nhwc"), "layout must be one of 'flat', 'image'"),
    (dict(dtype=torch.int64), "dtype must be a floating-point torch.dtype"),
    (dict(dtype="float32"), "dtype must be a floating-point torch.dtype"),
])
def test_load_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digits(**kwargs)
    with pytest.raises(ValueError, match=match):
        split_digits(**kwargs)


@pytest.mark.parametrize("n_train,match", [(5, r"n_train must be an integer in \[10, 1787\], got 5"),
                                           (1790, r"in \[10, 1787\]"), (0.75, "n_train must be an integer"),
                                           (True, "n_train must be an integer")])
def test_split_rejects(n_train, match):
    with pytest.raises(ValueError, match=match):
        split_indices(n_train)


def test_names():
    assert SCALINGS == ("raw", "unit", "standard") and LAYOUTS == ("flat", "image")
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 4294967295\]"):
        split_indices(100, seed=-1)
