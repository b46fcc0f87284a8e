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
