"""The worked output sizes of the output-size page, measured with real torch layers.

Expected values come from the papers (AlexNet Figure 2 and neuron counts, VGG section 2.1, GoogLeNet
Table 1) or from torch itself; cvlib's formulas are compared with both.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvlib.analysis.shapes import conv_output_size, tf_output_size, tf_padding


def run(layers, size):
    x, sizes = torch.zeros(1, 1, size, size), []
    for layer in layers:
        x = layer(x)
        sizes.append(x.shape[-1])
    return sizes


def test_alexnet_227_chain_matches_paper_map_sizes():
    # AlexNet paper: 55 after conv1, 27 after conv2 (186,624 = 27²·256), 13 after conv3-5, 6 after pool5.
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 1, 11, 4), nn.MaxPool2d(3, 2), nn.Conv2d(1, 1, 5, 1, 2), nn.MaxPool2d(3, 2),
              nn.Conv2d(1, 1, 3, 1, 1), nn.Conv2d(1, 1, 3, 1, 1), nn.Conv2d(1, 1, 3, 1, 1), nn.MaxPool2d(3, 2)]
    measured = run(layers, 227)
    assert measured == [55, 27, 27, 13, 13, 13, 13, 6]
    assert 186_624 == measured[2] ** 2 * 256 and 43_264 == measured[6] ** 2 * 256
    computed, size = [], 227
    for layer in layers:
        k, s, p = (layer.kernel_size, layer.stride, layer.padding)
        k, s, p = [v[0] if isinstance(v, tuple) else v for v in (k, s, p)]
        size = conv_output_size(size, k, s, p)
        computed.append(size)
    assert computed == measured


def test_alexnet_224_needs_padding_for_55():
    assert conv_output_size(224, 11, 4) == 54 != 55
    totals = [p for p in range(12) if conv_output_size(224, 11, 4, (p // 2, p - p // 2)) == 55]
    assert totals == [3, 4, 5, 6]
    assert nn.Conv2d(1, 1, 11, 4, 2)(torch.zeros(1, 1, 224, 224)).shape[-1] == 55


def test_vgg_five_poolings_reach_seven():
    torch.manual_seed(0)
    sizes = run([nn.Conv2d(1, 1, 3, 1, 1), nn.MaxPool2d(2, 2)] * 5, 224)
    assert sizes[1::2] == [224 // 2**i for i in range(1, 6)] == [112, 56, 28, 14, 7]


@pytest.mark.parametrize("op", ["conv", "max"])
@pytest.mark.parametrize("size,k,s", [(224, 7, 2), (112, 3, 2), (56, 3, 2), (28, 3, 2), (14, 3, 2),
                                      (28, 3, 1), (9, 4, 1), (7, 4, 2), (15, 2, 3)])
def test_tf_same_via_explicit_pad(op, size, k, s):
    before, after = tf_padding(size, k, s, "same")
    x = torch.zeros(1, 1, size, size)
    if op == "max":
        y = F.max_pool2d(F.pad(x, (before, after, before, after), value=float("-inf")), k, s)
    else:
        y = F.conv2d(F.pad(x, (before, after, before, after)), torch.ones(1, 1, k, k), stride=s)
    assert y.shape[-1] == tf_output_size(size, k, s, "same") == math.ceil(size / s)


def test_googlenet_same_and_caffe_ceil_agree_with_table1():
    table1 = [112, 56, 28, 14, 7]  # GoogLeNet, Table 1
    same = [tf_output_size(224, 7, 2)]
    for _ in range(4):
        same.append(tf_output_size(same[-1], 3, 2))
    caffe = run([nn.Conv2d(1, 1, 7, 2, 3)] + [nn.MaxPool2d(3, 2, ceil_mode=True)] * 4, 224)
    floor = run([nn.Conv2d(1, 1, 7, 2, 3)] + [nn.MaxPool2d(3, 2)] * 4, 224)
    assert same == caffe == table1
    assert floor != table1 and floor[1] == 55
    assert tf_padding(224, 7, 2) == (2, 3) and tf_padding(112, 3, 2) == (0, 1)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_torch_same_padding_puts_extra_pixel_after():
    torch.manual_seed(0)
    x, w = torch.randn(1, 1, 9, 9), torch.randn(1, 1, 4, 4)
    before, after = tf_padding(9, 4, 1, "same")
    assert (before, after) == (1, 2)
    assert torch.allclose(F.conv2d(F.pad(x, (before, after, before, after)), w), F.conv2d(x, w, padding="same"))


@pytest.mark.parametrize("size,k,s,p,op", [(7, 4, 2, 1, 0), (14, 3, 2, 1, 0), (14, 3, 2, 1, 1),
                                          (5, 3, 1, 1, 0), (4, 2, 2, 0, 0), (10, 5, 3, 2, 2)])
def test_transposed_conv_inverts_the_size(size, k, s, p, op):
    out = nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op)(torch.zeros(1, 1, size, size)).shape[-1]
    assert out == (size - 1) * s - 2 * p + k + op
    # a convolution with the same settings maps the transposed output back to the input size
    assert conv_output_size(out, k, s, p) == size


@pytest.mark.parametrize("size,k,s,p", [(6, 3, 2, 0), (6, 3, 2, 1), (5, 2, 2, 1), (13, 3, 2, 0), (55, 3, 2, 0)])
def test_ceil_mode_adds_at_most_one_window(size, k, s, p):
    x = torch.zeros(1, 1, size, size)
    floor = nn.MaxPool2d(k, s, p)(x).shape[-1]
    ceil = nn.MaxPool2d(k, s, p, ceil_mode=True)(x).shape[-1]
    assert ceil - floor in (0, 1)
    assert (floor, ceil) == (conv_output_size(size, k, s, p), conv_output_size(size, k, s, p, ceil_mode=True))
    if (size + 2 * p - k) % s == 0:
        assert ceil == floor


@pytest.mark.parametrize(
    "call,match",
    [(lambda: tf_padding(8, 3, 2, "full"), "padding must be one of 'same', 'valid', got 'full'"),
     (lambda: conv_output_size(8, 3, 1, (1, -1)), r"padding\[1\] must be an integer >= 0, got -1"),
     (lambda: conv_output_size(8.0, 3), "size must be an integer"),
     (lambda: conv_output_size(True, 3), "size must be an integer"),
     (lambda: conv_output_size(5, 3, 1, 0, dilation=3), "larger than the padded input"),
     (lambda: tf_output_size(4, 3, 1, "valid", dilation=2), "valid")],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
