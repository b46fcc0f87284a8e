"""Every impossible argument of the analysis functions raises a ValueError that names it (issue 21), valid
NumPy scalars are accepted, and counts are Python ``int``s."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from cvlib.analysis import counts
from cvlib.analysis.receptive_field import RFLayer, rf_bottom_up, rf_top_down, rf_window, window_of
from cvlib.analysis.shapes import conv_output_size, effective_kernel, tf_output_size, tf_padding
from cvlib.analysis.tracing import layer_depth


# --- output sizes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(size=8.0, kernel=3), "size must be an integer >= 1, got 8.0"),
    (dict(size=True, kernel=3), "size must be an integer >= 1, got True"),
    (dict(size="8", kernel=3), "size must be an integer"),
    (dict(size=math.nan, kernel=3), "size must be an integer"),
    (dict(size=8, kernel=3.0), "kernel must be an integer >= 1, got 3.0"),
    (dict(size=8, kernel=False), "kernel must be an integer"),
    (dict(size=8, kernel=3, stride=1.5), "stride must be an integer >= 1, got 1.5"),
    (dict(size=8, kernel=3, stride=True), "stride must be an integer"),
    (dict(size=8, kernel=3, stride=0), "stride must be an integer >= 1, got 0"),
    (dict(size=8, kernel=3, padding=0.5), r"padding must be an integer or a pair \(before, after\)"),
    (dict(size=8, kernel=3, padding=-1), r"padding must be an integer >= 0, got -1"),
    (dict(size=8, kernel=3, padding=(1, 2, 3)), r"padding must be an integer or a pair \(before, after\)"),
    (dict(size=8, kernel=3, padding=(1,)), r"padding must be an integer or a pair"),
    (dict(size=8, kernel=3, padding=(1.0, 1)), r"padding\[0\] must be an integer >= 0, got 1.0"),
    (dict(size=8, kernel=3, padding=(1, -2)), r"padding\[1\] must be an integer >= 0, got -2"),
    (dict(size=8, kernel=3, padding="same"), r"padding must be an integer or a pair"),
    (dict(size=8, kernel=3, dilation=0), "dilation must be an integer >= 1, got 0"),
    (dict(size=8, kernel=3, dilation=2.0), "dilation must be an integer"),
    (dict(size=8, kernel=3, ceil_mode="no"), "ceil_mode must be True or False, got 'no'"),
    (dict(size=8, kernel=3, ceil_mode=1), "ceil_mode must be True or False, got 1"),
])
def test_conv_output_size_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(**kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda: effective_kernel(0), "kernel must be an integer >= 1"),
    (lambda: effective_kernel(3, 0), "dilation must be an integer >= 1"),
    (lambda: effective_kernel(3, 1.5), "dilation"),
    (lambda: tf_output_size(0, 3), "size must be an integer >= 1"),
    (lambda: tf_output_size(8, 3, 0), "stride must be an integer >= 1"),
    (lambda: tf_output_size(8, 3, 2.0), "stride"),
    (lambda: tf_output_size(8, 0), "kernel"),
    (lambda: tf_output_size(8, 3, 1, "SAME"), "padding must be one of 'same', 'valid', got 'SAME'"),
    (lambda: tf_output_size(8, 3, 1, "same", 0), "dilation"),
    (lambda: tf_padding(8, 3, 1, 1), "padding must be one of 'same', 'valid', got 1"),
    (lambda: tf_padding(8, 3, True), "stride"),
])
def test_tf_and_kernel_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_integers_are_accepted_and_sizes_are_int():
    out = conv_output_size(np.int64(227), np.int32(11), np.int64(4), (np.int64(0), np.uint8(0)))
    assert out == 55 and type(out) is int
    out = conv_output_size(np.int64(7), 3, 2, 1, ceil_mode=np.bool_(True))
    assert out == 4 and type(out) is int
    assert type(effective_kernel(np.int64(3), np.int64(2))) is int
    for padding in ("same", "valid"):
        out = tf_output_size(np.int64(10), np.int64(3), np.int64(2), padding)
        assert type(out) is int and all(type(p) is int for p in tf_padding(np.int64(10), 3, 2, padding))
    assert tf_output_size(10, 3, 2, "same") == 5 and tf_output_size(10, 3, 2, "valid") == 4
    assert tf_padding(10, 3, 2, "same") == (0, 1) and tf_padding(10, 3, 2, "valid") == (0, 0)


def test_kernel_must_fit_with_each_padding_side():
    assert conv_output_size(2, 4, 1, (1, 1)) == 1
    with pytest.raises(ValueError, match=r"larger than the padded input 3 \(size=2, padding=1\+0\)"):
        conv_output_size(2, 4, 1, (1, 0))
    with pytest.raises(ValueError, match="kernel extent 5 .* is larger"):
        conv_output_size(4, 3, dilation=2)


# --- counts ----------------------------------------------------------------------------------------

CONV_COUNTS = [counts.conv2d_macs, counts.conv2d_flops, counts.conv2d_connections]


@pytest.mark.parametrize("fn", CONV_COUNTS)
@pytest.mark.parametrize("args,kwargs,match", [
    ((0, 4, 3, 5), {}, "in_channels must be an integer >= 1, got 0"),
    ((3.0, 4, 3, 5), {}, "in_channels must be an integer >= 1, got 3.0"),
    ((True, 4, 3, 5), {}, "in_channels must be an integer"),
    ((3, 0, 3, 5), {}, "out_channels must be an integer >= 1, got 0"),
    ((3, "4", 3, 5), {}, "out_channels"),
    ((3, 4, 0, 5), {}, "kernel_size must be an integer >= 1"),
    ((3, 4, 2.5, 5), {}, "kernel_size must be an integer or a pair"),
    ((3, 4, (3, 0), 5), {}, r"kernel_size\[1\] must be an integer >= 1, got 0"),
    ((3, 4, (3, 3, 3), 5), {}, "kernel_size must be an integer or a pair"),
    ((3, 4, 3, 0), {}, "output_size must be an integer >= 1, got 0"),
    ((3, 4, 3, (5, 5.0)), {}, r"output_size\[1\] must be an integer >= 1, got 5.0"),
    ((3, 4, 3, (5, 5, 5)), {}, "output_size must be an integer or a pair"),
    ((3, 4, 3, 5), {"groups": 0}, "groups must be an integer >= 1, got 0"),
    ((3, 4, 3, 5), {"groups": 1.0}, "groups must be an integer"),
    ((4, 6, 3, 5), {"groups": 4}, "groups=4 must divide both in_channels=4 and out_channels=6"),
    ((6, 4, 3, 5), {"groups": 4}, "groups=4 must divide both in_channels=6 and out_channels=4"),
])
def test_conv_counts_name_the_argument(fn, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda: counts.conv2d_params(0, 64, 3), "in_channels must be an integer >= 1"),
    (lambda: counts.conv2d_params(3, 0, 3), "out_channels must be an integer >= 1"),
    (lambda: counts.conv2d_params(3, 64, 0), "kernel_size must be an integer >= 1"),
    (lambda: counts.conv2d_params(3, 64, 3, groups=-1), "groups must be an integer >= 1"),
    (lambda: counts.conv2d_params(3, 64, 3, bias=2), "bias must be True or False, got 2"),
    (lambda: counts.conv2d_params(3, 64, 3, bias="no"), "bias must be True or False, got 'no'"),
    (lambda: counts.conv2d_params(3, 64, 3, bias=None), "bias must be True or False"),
    (lambda: counts.conv2d_flops(3, 64, 3, 5, bias=2), "bias must be True or False"),
    (lambda: counts.conv2d_connections(3, 64, 3, 5, bias=1), "bias must be True or False"),
    (lambda: counts.linear_params(0, 4), "in_features must be an integer >= 1, got 0"),
    (lambda: counts.linear_params(4, 0), "out_features must be an integer >= 1, got 0"),
    (lambda: counts.linear_params(4, 2, bias=2), "bias must be True or False"),
    (lambda: counts.linear_macs(4.0, 2), "in_features"),
    (lambda: counts.linear_macs(4, True), "out_features"),
    (lambda: counts.linear_flops(-1, 2), "in_features"),
    (lambda: counts.linear_flops(4, 0), "out_features"),
    (lambda: counts.linear_flops(4, 2, bias="yes"), "bias must be True or False"),
    (lambda: counts.linear_connections(0, 2), "in_features"),
    (lambda: counts.linear_connections(2, 2, bias=0), "bias must be True or False"),
    (lambda: counts.batchnorm_params(0), "channels must be an integer >= 1, got 0"),
    (lambda: counts.batchnorm_params(2.5), "channels must be an integer >= 1, got 2.5"),
    (lambda: counts.batchnorm_params(4, affine="no"), "affine must be True or False, got 'no'"),
    (lambda: counts.batchnorm_params(4, affine=0), "affine must be True or False"),
    (lambda: counts.neurons(55), "shape must be a sequence of integers"),
    (lambda: counts.neurons("55"), "shape must be a sequence of integers"),
    (lambda: counts.neurons((55, True)), r"shape\[1\] must be an integer >= 1, got True"),
])
def test_counts_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_batchnorm_without_affine_has_no_parameters():
    assert counts.batchnorm_params(64, affine=False) == 0
    assert counts.batchnorm_params(64) == counts.batchnorm_params(64, affine=True) == 128
    for affine in (True, False):
        layer = nn.BatchNorm2d(64, affine=affine)
        assert counts.batchnorm_params(64, affine) == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("call,expected", [
    (lambda: counts.neurons((np.int64(55), 55, np.int32(96))), 290400),
    (lambda: counts.conv2d_params(np.int64(3), np.int64(96), np.int64(11)), 34944),
    (lambda: counts.conv2d_params(96, 256, 5, groups=np.int64(2)), 307456),
    (lambda: counts.conv2d_params(3, 64, 3, bias=np.bool_(False)), 1728),
    (lambda: counts.conv2d_macs(3, 96, 11, np.int64(55)), 105415200),
    (lambda: counts.conv2d_macs(32, 32, 3, 7, groups=32), 14112),
    (lambda: counts.conv2d_macs(6, 4, 3, 5, groups=2), 2700),
    (lambda: counts.conv2d_flops(3, 96, 11, (55, np.int64(55))), 210830400),
    (lambda: counts.conv2d_flops(6, 4, 3, 5, bias=False, groups=2), 5300),
    (lambda: counts.conv2d_connections(1, 6, 5, 28), 122304),
    (lambda: counts.conv2d_connections(6, 4, 3, 5, groups=2), 2800),
    (lambda: counts.linear_params(np.int64(4096), 1000), 4097000),
    (lambda: counts.linear_macs(4096, np.int64(1000)), 4096000),
    (lambda: counts.linear_flops(4096, 1000), 8192000),
    (lambda: counts.linear_flops(4096, 1000, bias=False), 8191000),
    (lambda: counts.linear_connections(120, 84, bias=False), 10080),
    (lambda: counts.batchnorm_params(np.int64(3)), 6),
])
def test_counts_are_python_ints(call, expected):
    value = call()
    assert value == expected and type(value) is int


# --- receptive fields ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(kernel=3, stride=1.5), r"stride of layer 'c' must be an integer >= 1, got 1.5"),
    (dict(kernel=3, stride=0), r"stride of layer 'c' must be an integer >= 1, got 0"),
    (dict(kernel=3, stride=True), "stride of layer 'c' must be an integer"),
    (dict(kernel=3, padding=0.5), r"padding of layer 'c' must be an integer >= 0, got 0.5"),
    (dict(kernel=3, padding=-1), "padding of layer 'c' must be an integer >= 0, got -1"),
    (dict(kernel=3, padding="1"), "padding of layer 'c' must be an integer"),
    (dict(kernel=2.0), "kernel of layer 'c' must be an integer >= 1, got 2.0"),
    (dict(kernel=0), "kernel of layer 'c' must be an integer >= 1, got 0"),
    (dict(kernel=3, dilation=0), "dilation of layer 'c' must be an integer >= 1, got 0"),
    (dict(kernel=3, dilation=1.5), "dilation of layer 'c'"),
])
def test_rf_layer_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RFLayer("c", **kwargs)


def test_rf_layer_stores_python_ints():
    layer = RFLayer("c", np.int64(3), np.int64(2), np.int64(1), np.int64(2))
    assert (layer.kernel, layer.stride, layer.padding, layer.dilation) == (3, 2, 1, 2)
    assert all(type(v) is int for v in (layer.kernel, layer.stride, layer.padding, layer.dilation))
    assert layer.extent == 5 and rf_top_down([layer]) == [5]


def test_rf_functions_check_their_arguments():
    state = rf_bottom_up([RFLayer("a", 3, 2)])[-1]
    assert rf_window(state, np.int64(1)) == (2.0, 3.0, 4.0)         # centre 1 + 1·2, size 3
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="index must be an integer >= 0"):
            rf_window(state, bad)
    with pytest.raises(ValueError, match=r"layers\[1\] must be an RFLayer, got tuple"):
        rf_top_down([RFLayer("a", 3), (3, 1, 0, 1)])
    with pytest.raises(ValueError, match="at least one layer"):
        rf_bottom_up(())


def test_window_of_reads_torch_layers():
    conv = nn.Conv2d(1, 1, (3, 5), stride=(1, 2), padding=(1, 2), dilation=(2, 1))
    rows, cols = window_of("conv", conv)
    assert (rows.kernel, rows.stride, rows.padding, rows.dilation) == (3, 1, 1, 2)
    assert (cols.kernel, cols.stride, cols.padding, cols.dilation) == (5, 2, 2, 1)
    same = window_of("same", nn.Conv2d(1, 1, 5, padding="same", dilation=2))
    assert same[0].padding == 4
    pool = window_of("pool", nn.MaxPool2d(3))                   # stride defaults to the kernel
    assert (pool[0].kernel, pool[0].stride) == (3, 3)
    assert window_of("relu", nn.ReLU()) is None


def test_layer_depth_with_pooling_is_a_bool():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3))
    assert layer_depth(model) == 2 and layer_depth(model, with_pooling=True) == 3
    with pytest.raises(ValueError, match="with_pooling must be True or False, got 'yes'"):
        layer_depth(model, with_pooling="yes")
    model.train()
    layer_depth(model)
    assert model.training                                       # the mode is restored


def test_conv_counts_agree_with_a_layer_for_numpy_arguments():
    c_in, c_out, k = np.int64(8), np.int64(16), np.int64(3)
    layer = nn.Conv2d(int(c_in), int(c_out), int(k), groups=4)
    y = layer(torch.zeros(1, 8, 9, 9))
    assert counts.conv2d_params(c_in, c_out, k, groups=np.int64(4)) == sum(p.numel() for p in layer.parameters())
    assert counts.neurons(y.shape[1:]) == 16 * 7 * 7
