import pytest
import torch
from torch import nn

from cvlib.analysis.shapes import conv_output_size, effective_kernel, tf_output_size, tf_padding


@pytest.mark.parametrize(
    "size,k,s,p,d,expected",
    [(227, 11, 4, 0, 1, 55), (55, 3, 2, 0, 1, 27), (27, 5, 1, 2, 1, 27), (224, 3, 1, 1, 1, 224),
     (224, 7, 2, 3, 1, 112), (14, 3, 1, 2, 2, 14), (7, 2, 2, 0, 1, 3)],
)
def test_matches_torch_conv(size, k, s, p, d, expected):
    assert conv_output_size(size, k, s, p, d) == expected
    y = nn.Conv2d(1, 1, k, s, p, d)(torch.zeros(1, 1, size, size))
    assert y.shape[-1] == expected


@pytest.mark.parametrize("size", range(5, 40))
@pytest.mark.parametrize("k,s,p", [(3, 2, 0), (3, 2, 1), (2, 2, 0), (5, 3, 2), (3, 3, 1)])
@pytest.mark.parametrize("ceil", [False, True])
def test_matches_torch_pooling(size, k, s, p, ceil):
    y = nn.MaxPool2d(k, s, p, ceil_mode=ceil)(torch.zeros(1, 1, size, size))
    assert conv_output_size(size, k, s, p, ceil_mode=ceil) == y.shape[-1]


def test_asymmetric_padding_is_the_notes_formula():
    # out = (in - k + p_l + p_r) / s + 1
    assert conv_output_size(10, 3, 2, (0, 1)) == (10 - 3 + 0 + 1) // 2 + 1
    y = nn.Conv2d(1, 1, 3, 2)(nn.functional.pad(torch.zeros(1, 1, 10, 10), (0, 1, 0, 1)))
    assert y.shape[-1] == conv_output_size(10, 3, 2, (0, 1))


def test_caffe_ceil_mode_rounds_up():
    # GoogLeNet's pool after conv1 in Caffe: 112 -> 56 with 3x3/2 and ceil.
    assert conv_output_size(112, 3, 2, 0, ceil_mode=True) == 56
    assert conv_output_size(112, 3, 2, 0, ceil_mode=False) == 55


@pytest.mark.parametrize("size", range(1, 30))
@pytest.mark.parametrize("k,s", [(1, 1), (3, 1), (3, 2), (4, 2), (5, 3), (7, 2)])
def test_tf_same_padding(size, k, s):
    out = tf_output_size(size, k, s, "same")
    before, after = tf_padding(size, k, s, "same")
    assert after - before in (0, 1)  # the odd pixel goes after
    if size + before + after >= k:
        assert conv_output_size(size, k, s, (before, after)) == out
    if s == 1:
        assert torch.nn.Conv2d(1, 1, k, 1, padding="same")(torch.zeros(1, 1, max(size, k), max(size, k))).shape[-1] == max(size, k)


def test_tf_valid():
    assert tf_output_size(10, 3, 2, "valid") == 4 == conv_output_size(10, 3, 2, 0)
    assert tf_padding(10, 3, 2, "valid") == (0, 0)


def test_effective_kernel():
    assert effective_kernel(3, 2) == 5
    assert effective_kernel(3, 1) == 3


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(size=4, kernel=7), "larger than the padded input"),
     (dict(size=-1, kernel=3), "size must be an integer >= 1, got -1"),
     (dict(size=5, kernel=0), "kernel must be an integer >= 1, got 0"),
     (dict(size=5, kernel=3, stride=0), "stride must be an integer >= 1, got 0"),
     (dict(size=5, kernel=3, padding=-1), "padding"),
     (dict(size=5, kernel=3, dilation=0), "dilation")],
)
def test_impossible_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(**kwargs)


def test_tf_bad_mode():
    with pytest.raises(ValueError, match="padding must be one of 'same', 'valid'"):
        tf_output_size(5, 3, 1, "full")
    with pytest.raises(ValueError, match="valid"):
        tf_output_size(2, 3, 1, "valid")
