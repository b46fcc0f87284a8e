import numpy as np
import pytest
import torch

from cvlib.book import as_hwc, hwc


def test_channels_first_becomes_height_width_channels():
    assert hwc((64, 112, 56)) == "112×56×64"
    assert hwc(torch.Size([3, 224, 224])) == "224×224×3"
    assert as_hwc((96, 55, 54)) == (55, 54, 96)


def test_vector_and_newline():
    assert hwc((1000,)) == "1000"
    assert hwc((16, 5, 5), newline=True) == "5×5\n×16"


def test_numpy_integers_are_accepted():
    assert hwc(np.array([8, 4, 2])) == "4×2×8"
    assert as_hwc((np.int64(3), 2, 1)) == (2, 1, 3)


@pytest.mark.parametrize("bad, name", [((3, 4), "shape"), ((), "shape"), ((3, -1, 2), r"shape\[1\]"),
                                       ((3, 2.5, 2), r"shape\[1\]"), ("chw", "shape")])
def test_malformed_shapes_are_rejected(bad, name):
    with pytest.raises(ValueError, match=name):
        hwc(bad)


def test_as_hwc_needs_three_dimensions():
    with pytest.raises(ValueError, match="shape"):
        as_hwc((10,))


def test_newline_must_be_a_bool():
    with pytest.raises(ValueError, match="newline"):
        hwc((1, 2, 3), newline="yes")
