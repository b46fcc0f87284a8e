"""Property tests: the output-size formula equals the shape ``conv2d`` and ``max_pool2d`` actually produce."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cvlib.analysis.shapes import conv_output_size, effective_kernel, tf_output_size, tf_padding

SETTINGS = settings(max_examples=80, deadline=None, database=None)


@SETTINGS
@given(size=st.integers(1, 24), kernel=st.integers(1, 6), stride=st.integers(1, 5),
       before=st.integers(0, 4), after=st.integers(0, 4), dilation=st.integers(1, 3))
def test_conv_output_size_is_conv2d_shape(size, kernel, stride, before, after, dilation):
    x = F.pad(torch.zeros(1, 1, size, 1), (0, 0, before, after))      # asymmetric padding of the rows
    w = torch.zeros(1, 1, kernel, 1)
    if effective_kernel(kernel, dilation) > size + before + after:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv_output_size(size, kernel, stride, (before, after), dilation)
        with pytest.raises(RuntimeError):
            F.conv2d(x, w, stride=(stride, 1), dilation=(dilation, 1))
        return
    expected = F.conv2d(x, w, stride=(stride, 1), dilation=(dilation, 1)).shape[2]
    assert conv_output_size(size, kernel, stride, (before, after), dilation) == expected
    if before == after:
        assert conv_output_size(size, kernel, stride, before, dilation) == expected


@SETTINGS
@given(size=st.integers(1, 24), kernel=st.integers(1, 6), stride=st.integers(1, 5), data=st.data(),
       dilation=st.integers(1, 3), ceil_mode=st.booleans())
def test_conv_output_size_is_max_pool2d_shape(size, kernel, stride, data, dilation, ceil_mode):
    padding = data.draw(st.integers(0, kernel // 2), label="padding")  # torch's limit: half the kernel
    if effective_kernel(kernel, dilation) > size + 2 * padding:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv_output_size(size, kernel, stride, padding, dilation, ceil_mode)
        return
    y = F.max_pool2d(torch.zeros(1, 1, size, 1), (kernel, 1), (stride, 1), (padding, 0), (dilation, 1),
                     ceil_mode=ceil_mode)
    assert conv_output_size(size, kernel, stride, padding, dilation, ceil_mode) == y.shape[2]


@SETTINGS
@given(size=st.integers(1, 40), kernel=st.integers(1, 7), stride=st.integers(1, 5), dilation=st.integers(1, 3))
def test_tf_same_padding_gives_the_same_output_size(size, kernel, stride, dilation):
    before, after = tf_padding(size, kernel, stride, "same", dilation)
    assert 0 <= before <= after <= before + 1
    out = tf_output_size(size, kernel, stride, "same", dilation)
    assert out == -(-size // stride)
    assert conv_output_size(size, kernel, stride, (before, after), dilation) == out
