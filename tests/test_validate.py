"""cvlib._validate: the shared integer and pair checks."""

import numpy as np
import pytest

from cvlib._validate import check_int, check_pair


def test_check_int_accepts_python_and_numpy_integers():
    assert check_int("k", 3, 1) == 3 and type(check_int("k", np.int64(3), 1)) is int
    assert check_int("p", 0, 0) == 0


@pytest.mark.parametrize("value,match", [(True, "must be an integer"), (2.0, "must be an integer"),
                                         ("3", "must be an integer"), (0, r"k must be an integer >= 1, got 0")])
def test_check_int_rejects(value, match):
    with pytest.raises(ValueError, match=match):
        check_int("k", value, 1)


def test_check_int_names_the_bound():
    with pytest.raises(ValueError, match=r"padding must be an integer >= 0, got -1"):
        check_int("padding", -1, 0)
    with pytest.raises(ValueError, match=r"groups must be an integer >= 2, got 1"):
        check_int("groups", 1, 2)


def test_check_pair():
    assert check_pair("stride", 2, 1) == (2, 2)
    assert check_pair("stride", (1, 3), 1) == (1, 3) and check_pair("stride", [4, 5], 1) == (4, 5)
    with pytest.raises(ValueError, match="pair"):
        check_pair("stride", (1, 2, 3), 1)
    with pytest.raises(ValueError, match=r"stride\[1\] must be an integer >= 1"):
        check_pair("stride", (1, 0), 1)
    with pytest.raises(ValueError, match="must be an integer"):
        check_pair("stride", "ab", 1)


# --- the rest of the vocabulary --------------------------------------------------------------------

import math  # noqa: E402

import torch  # noqa: E402

from cvlib._validate import (check_bool, check_choice, check_int_sequence, check_positive_int,  # noqa: E402
                             check_probability, check_real, check_real_sequence, check_tensor)


def test_check_int_maximum_and_types():
    assert check_int("k", np.uint8(7), 0, 7) == 7
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 7\], got 8"):
        check_int("k", 8, 0, 7)
    with pytest.raises(ValueError, match=r"k must be an integer <= 7, got 8"):
        check_int("k", 8, maximum=7)
    with pytest.raises(ValueError, match=r"k must be an integer, got nan"):
        check_int("k", math.nan)
    assert check_positive_int("n", np.int32(3)) == 3 and type(check_positive_int("n", np.int32(3))) is int
    with pytest.raises(ValueError, match=r"n must be an integer >= 1, got 0"):
        check_positive_int("n", 0)


def test_check_pair_names_its_parts():
    with pytest.raises(ValueError, match=r"padding must be an integer or a pair \(before, after\) of integers >= 0"):
        check_pair("padding", (1, 2, 3), 0, parts=("before", "after"))
    with pytest.raises(ValueError, match=r"padding must be an integer or a pair \(before, after\)"):
        check_pair("padding", 1.5, 0, parts=("before", "after"))
    with pytest.raises(ValueError, match=r"padding\[0\] must be an integer >= 0, got 1.5"):
        check_pair("padding", (1.5, 1), 0)
    assert check_pair("size", (np.int64(2), 3)) == (2, 3)
    assert check_pair("size", torch.Size([4, 5]), 1) == (4, 5)


@pytest.mark.parametrize("value", [True, "0.5", None, math.nan, math.inf, -math.inf, [0.5], torch.tensor(0.5)])
def test_check_real_rejects(value):
    with pytest.raises(ValueError, match="^lr must be a real number"):
        check_real("lr", value)


def test_check_real_bounds_and_types():
    assert check_real("x", np.float32(0.5)) == 0.5 and type(check_real("x", np.float32(0.5))) is float
    assert check_real("x", np.int64(3)) == 3.0 and type(check_real("x", 3)) is float
    assert check_real("x", math.inf, allow_inf=True) == math.inf
    with pytest.raises(ValueError, match=r"x must be a real number \(finite\), got inf"):
        check_real("x", math.inf)
    with pytest.raises(ValueError, match="got nan"):
        check_real("x", math.nan, allow_inf=True)
    assert check_real("x", 0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match=r"x must be a real number > 0.0, got 0.0"):
        check_real("x", 0.0, 0.0, low_open=True)
    with pytest.raises(ValueError, match=r"x must be a real number < 1.0, got 1.0"):
        check_real("x", 1.0, maximum=1.0, high_open=True)
    with pytest.raises(ValueError, match=r"x must be a real number in \(0.0, 1.0\], got -0.5"):
        check_real("x", -0.5, 0.0, 1.0, low_open=True)
    with pytest.raises(ValueError, match=r"x must be a real number <= 1.0, got 2.0"):
        check_real("x", 2, maximum=1.0)


def test_check_probability():
    assert check_probability("p", 1) == 1.0 and check_probability("p", 0) == 0.0
    with pytest.raises(ValueError, match=r"p must be a real number in \[0.0, 1.0\), got 1.0"):
        check_probability("p", 1.0, allow_one=False)
    with pytest.raises(ValueError, match=r"p must be a real number in \(0.0, 1.0\], got 0.0"):
        check_probability("p", 0.0, allow_zero=False)
    for bad in (1.5, -0.1, math.nan, "0.5", True):
        with pytest.raises(ValueError, match="^p must be a real number"):
            check_probability("p", bad)


def test_check_bool():
    assert check_bool("b", True) is True and check_bool("b", np.bool_(False)) is False
    for bad in ("no", 1, 0, None, 2.0):
        with pytest.raises(ValueError, match=r"^b must be True or False, got"):
            check_bool("b", bad)


def test_check_choice():
    assert check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"mode must be one of 'a', 'b', got 'c'"):
        check_choice("mode", "c", ("a", "b"))
    with pytest.raises(ValueError, match="mode must be one of"):
        check_choice("mode", ["a"], ("a", "b"))  # unhashable: not a choice, no TypeError


def test_check_tensor():
    t = torch.zeros(2, 4)
    assert check_tensor("boxes", t, "K 4") is t
    with pytest.raises(ValueError, match=r"boxes must be a tensor of shape \(K, 4\), got list"):
        check_tensor("boxes", [[0.0] * 4], "K 4")
    with pytest.raises(ValueError, match=r"boxes must be a tensor of shape \(K, 4\), got shape \(2, 5\)"):
        check_tensor("boxes", torch.zeros(2, 5), "K 4")
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        check_tensor("boxes", torch.zeros(4), "K 4")
    with pytest.raises(ValueError, match="boxes must be a floating-point tensor, got dtype torch.int64"):
        check_tensor("boxes", torch.zeros(2, 4, dtype=torch.long), floating=True)
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=r"scores must hold finite values \(no NaN or inf\)"):
            check_tensor("scores", torch.tensor([0.5, bad]), "N", finite=True)
    assert check_tensor("scores", torch.zeros(0), "N", finite=True).numel() == 0


def test_check_int_sequence():
    assert check_int_sequence("shape", (2, np.int64(3)), 1) == (2, 3)
    assert check_int_sequence("shape", torch.Size([2, 3]), 1) == (2, 3)
    assert check_int_sequence("shape", np.array([4, 5]), 1) == (4, 5)
    assert check_int_sequence("shape", torch.tensor([4, 5]), 1) == (4, 5)
    assert check_int_sequence("shape", (), 0) == ()
    with pytest.raises(ValueError, match=r"shape\[1\] must be an integer >= 1, got 0"):
        check_int_sequence("shape", (3, 0), 1)
    with pytest.raises(ValueError, match=r"shape\[0\] must be an integer >= 1, got 2.0"):
        check_int_sequence("shape", torch.tensor([2.0]), 1)
    with pytest.raises(ValueError, match=r"shape\[0\] must be an integer, got True"):
        check_int_sequence("shape", [True])
    with pytest.raises(ValueError, match="levels must be a non-empty sequence of integers >= 1, got"):
        check_int_sequence("levels", [], 1, min_length=1)
    with pytest.raises(ValueError, match="levels must be a sequence of at least 2 integers"):
        check_int_sequence("levels", [1], min_length=2)
    with pytest.raises(ValueError, match="levels must be a sequence of 3 integers, got 2"):
        check_int_sequence("levels", [1, 2], length=3)
    for bad in ("12", 5, None, np.int64(3)):
        with pytest.raises(ValueError, match="levels must be a sequence of integers"):
            check_int_sequence("levels", bad)


def test_check_real_sequence():
    assert check_real_sequence("w", (1, np.float32(2.5)), 0.0, low_open=True) == (1.0, 2.5)
    assert check_real_sequence("w", torch.tensor([1.0, 2.0]), length=2) == (1.0, 2.0)
    with pytest.raises(ValueError, match=r"w\[1\] must be a real number > 0.0, got 0.0"):
        check_real_sequence("w", (1.0, 0.0), 0.0, low_open=True)
    with pytest.raises(ValueError, match=r"w\[0\] must be a real number \(finite\), got nan"):
        check_real_sequence("w", [math.nan])
    with pytest.raises(ValueError, match="w must be a sequence of 4 real numbers, got 3"):
        check_real_sequence("w", [1, 2, 3], length=4)
    with pytest.raises(ValueError, match="w must be a sequence of real numbers"):
        check_real_sequence("w", "1234")
