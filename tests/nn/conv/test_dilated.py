"""cvlib.nn.conv.dilated against torch's dilated convolution, autograd and the receptive-field recurrence."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cvlib.nn.conv.dilated import (dilate_kernel, dilated_conv2d, footprint, footprint_1d, hdc_max_gap,
                                hdc_ok)
from cvlib.analysis.receptive_field import RFLayer, rf_top_down


@pytest.mark.parametrize("d,stride,padding,groups", [(1, 1, 0, 1), (2, 1, 2, 1), (3, 2, 1, 2), (4, 1, 4, 4)])
def test_matches_torch(d, stride, padding, groups):
    g = torch.Generator().manual_seed(d * 10 + stride)
    x = torch.randn(2, 4, 17, 15, generator=g, dtype=torch.float64)
    w = torch.randn(8, 4 // groups, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(8, generator=g, dtype=torch.float64)
    ours = dilated_conv2d(x, w, b, stride=stride, padding=padding, dilation=d, groups=groups)
    ref = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=d, groups=groups)
    torch.testing.assert_close(ours, ref)


def test_dilate_kernel_layout():
    w = torch.arange(1.0, 7.0).reshape(2, 3)
    big = dilate_kernel(w, 3)
    assert big.shape == (4, 7)
    assert big[0, 0] == 1 and big[0, 3] == 2 and big[0, 6] == 3 and big[3, 6] == 6
    assert int((big != 0).sum()) == 6
    torch.testing.assert_close(dilate_kernel(w, 1), w)


@pytest.mark.parametrize("kernels,dilations", [((3, 3, 3), (1, 2, 4)), ((3, 3, 3), (2, 2, 2)), ((5, 3), (1, 3)),
                                               ((3, 3, 3, 3), (1, 2, 5, 9))])
def test_footprint_is_the_gradient_of_one_output(kernels, dilations):
    """Independent route: autograd of the centre output of a stack of all-ones dilated convs."""
    n = int(sum(d * (k - 1) for k, d in zip(kernels, dilations))) + 1
    x = torch.zeros(1, 1, n, n, dtype=torch.float64, requires_grad=True)
    y = x
    for k, d in zip(kernels, dilations):
        y = F.conv2d(y, torch.ones(1, 1, k, k, dtype=torch.float64), dilation=d)
    assert y.shape[-2:] == (1, 1)
    y.sum().backward()
    np.testing.assert_array_equal(footprint(kernels, dilations), x.grad[0, 0].numpy().astype(np.int64))


def test_footprint_length_is_the_receptive_field():
    for dil in itertools.product([1, 2, 3, 4], repeat=3):
        layers = [RFLayer(f"l{i}", 3, dilation=d) for i, d in enumerate(dil)]
        assert len(footprint_1d([3, 3, 3], dil)) == rf_top_down(layers)[-1]
        assert footprint_1d([3, 3, 3], dil).sum() == 27  # 3 taps per layer: 3³ paths in all


def test_hdc_examples_from_the_paper():
    # Wang et al.: for K = 3, rates [1, 2, 5] satisfy the rule and [1, 2, 9] do not.
    assert hdc_max_gap([1, 2, 5]) == 2 and hdc_ok([1, 2, 5])
    assert hdc_max_gap([1, 2, 9]) == 5 and not hdc_ok([1, 2, 9])


def test_hdc_rule_predicts_holes():
    """With r_1 = 1 and K = 3: the rule implies no hole for any rates, and for non-decreasing rates
    (the paper's setting) a hole-free stack also satisfies it."""
    for n in (2, 3):
        for rest in itertools.product(range(1, 10), repeat=n):
            rates = (1, *rest)
            no_hole = bool((footprint_1d([3] * len(rates), rates) > 0).all())
            if hdc_ok(rates, 3):
                assert no_hole, rates
            elif all(a <= b for a, b in zip(rates, rates[1:])):
                assert not no_hole, rates
    # The rule is only sufficient when rates decrease: (1, 3, 1) fails it but has no hole.
    assert not hdc_ok((1, 3, 1)) and (footprint_1d([3, 3, 3], (1, 3, 1)) > 0).all()


def test_bad_inputs():
    x = torch.zeros(1, 1, 5, 5)
    with pytest.raises(ValueError, match="larger than the padded input"):
        dilated_conv2d(x, torch.zeros(1, 1, 3, 3), dilation=3)
    with pytest.raises(ValueError, match="dilation"):
        dilated_conv2d(x, torch.zeros(1, 1, 3, 3), dilation=0)
    with pytest.raises(ValueError, match="padding"):
        dilated_conv2d(x, torch.zeros(1, 1, 3, 3), padding=-1)
    with pytest.raises(ValueError, match="stride"):
        dilated_conv2d(x, torch.zeros(1, 1, 3, 3), stride=0)
    with pytest.raises(ValueError, match="x must be"):
        dilated_conv2d(torch.zeros(5, 5), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="one dilation per kernel"):
        footprint_1d([3, 3], [1])
    with pytest.raises(ValueError, match="at least two layers"):
        hdc_max_gap([1])
    with pytest.raises(ValueError, match="dilation"):
        dilate_kernel(torch.zeros(3, 3), -2)
