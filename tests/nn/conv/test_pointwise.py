import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvlib.nn.conv.pointwise import pointwise_conv


@pytest.mark.parametrize("n,c_in,c_out,h,w", [(1, 1, 1, 5, 5), (2, 3, 7, 4, 6), (1, 192, 16, 7, 7),
                                              (3, 8, 1, 1, 1)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_conv2d_with_1x1_kernel(n, c_in, c_out, h, w, with_bias):
    g = torch.Generator().manual_seed(c_in * 100 + c_out)
    x = torch.randn(n, c_in, h, w, generator=g, dtype=torch.float64)
    weight = torch.randn(c_out, c_in, 1, 1, generator=g, dtype=torch.float64)
    bias = torch.randn(c_out, generator=g, dtype=torch.float64) if with_bias else None
    ref = F.conv2d(x, weight, bias)
    torch.testing.assert_close(pointwise_conv(x, weight, bias), ref)           # (C_out, C_in, 1, 1)
    torch.testing.assert_close(pointwise_conv(x, weight[:, :, 0, 0], bias), ref)  # (C_out, C_in)


def test_matches_linear_at_every_pixel():
    torch.manual_seed(0)
    linear = nn.Linear(6, 4).double()
    x = torch.randn(2, 6, 5, 3, dtype=torch.float64)
    ref = linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # channels last, Linear, channels first
    torch.testing.assert_close(pointwise_conv(x, linear.weight, linear.bias), ref)


def test_formula_by_hand():
    x = torch.arange(2 * 3 * 2 * 2, dtype=torch.float64).reshape(2, 3, 2, 2)
    weight = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], dtype=torch.float64)
    bias = torch.tensor([0.25, -1.0], dtype=torch.float64)
    y = pointwise_conv(x, weight, bias)
    assert y.shape == (2, 2, 2, 2)
    for n in range(2):
        for o in range(2):
            for h in range(2):
                for w in range(2):
                    expected = sum(weight[o, c] * x[n, c, h, w] for c in range(3)) + bias[o]
                    assert y[n, o, h, w] == expected


def test_single_channel_is_a_scale_and_shift():
    x = torch.tensor([[[[1.0, -2.0], [4.0, 0.5]]]])
    y = pointwise_conv(x, torch.tensor([[3.0]]), torch.tensor([1.0]))
    torch.testing.assert_close(y, 3.0 * x + 1.0)
    torch.testing.assert_close(pointwise_conv(x, torch.tensor([[3.0]])), 3.0 * x)


@pytest.mark.parametrize("x,weight,bias,match", [
    (torch.zeros(3, 4, 4), torch.zeros(2, 3), None, "N, C_in, H, W"),
    (torch.zeros(1, 3, 4, 4), torch.zeros(2, 3, 3, 3), None, "1×1 kernel"),
    (torch.zeros(1, 3, 4, 4), torch.zeros(6), None, "C_out, C_in"),
    (torch.zeros(1, 3, 4, 4), torch.zeros(2, 4), None, "C_in=4"),
    (torch.zeros(1, 3, 4, 4), torch.zeros(2, 3, 1, 1), torch.zeros(3), r"bias must have shape \(2,\)"),
])
def test_bad_input(x, weight, bias, match):
    with pytest.raises(ValueError, match=match):
        pointwise_conv(x, weight, bias)
