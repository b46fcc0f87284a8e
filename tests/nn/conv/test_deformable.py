import pytest
import torch
import torch.nn.functional as F

from cvlib.analysis import counts
from cvlib.nn.conv.deformable import DeformConv2d, bilinear_kernel, bilinear_sample, deform_conv2d, kernel_grid


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _naive_integer(x, offset, weight, bias, stride, padding, dilation):
    """Eq. (2) by loops for integer offsets: read x(p0 + p_n + Δp_n) directly, zero outside the image."""
    n, c, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = offset.shape[-2:]
    out = torch.zeros(n, c_out, oh, ow, dtype=x.dtype)
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                acc = bias.clone() if bias is not None else torch.zeros(c_out, dtype=x.dtype)
                for i in range(kh):
                    for j in range(kw):
                        k = i * kw + j
                        y = oy * stride - padding + i * dilation + int(offset[b, 2 * k, oy, ox])
                        xx = ox * stride - padding + j * dilation + int(offset[b, 2 * k + 1, oy, ox])
                        if 0 <= y < h and 0 <= xx < w:
                            acc = acc + weight[:, :, i, j] @ x[b, :, y, xx]
                out[b, :, oy, ox] = acc
    return out


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (1, 1, 1), (2, 1, 1), (1, 2, 2), (2, 3, 3),
                                                     ((2, 1), (0, 2), (1, 2))])
def test_zero_offsets_equal_conv2d(stride, padding, dilation):
    x, w, b = _rand(2, 3, 10, 12), _rand(5, 3, 3, 3, seed=1), _rand(5, seed=2)
    ref = F.conv2d(x, w, b, stride, padding, dilation)
    offset = torch.zeros(2, 18, *ref.shape[-2:], dtype=torch.float64)
    assert torch.allclose(deform_conv2d(x, offset, w, b, stride, padding, dilation), ref, atol=1e-12)


def test_zero_offsets_non_square_kernel_without_bias():
    x, w = _rand(1, 2, 8, 9), _rand(3, 2, 2, 5, seed=3)
    ref = F.conv2d(x, w, padding=(1, 2))
    offset = torch.zeros(1, 2 * 2 * 5, *ref.shape[-2:], dtype=torch.float64)
    assert torch.allclose(deform_conv2d(x, offset, w, padding=(1, 2)), ref, atol=1e-12)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 1, 1), (1, 2, 2)])
def test_integer_offsets_equal_naive_loop(stride, padding, dilation):
    x, w, b = _rand(2, 2, 7, 8), _rand(3, 2, 3, 3, seed=1), _rand(3, seed=2)
    oh = (7 + 2 * padding - dilation * 2 - 1) // stride + 1
    ow = (8 + 2 * padding - dilation * 2 - 1) // stride + 1
    g = torch.Generator().manual_seed(4)
    offset = torch.randint(-2, 3, (2, 18, oh, ow), generator=g).double()
    ours = deform_conv2d(x, offset, w, b, stride, padding, dilation)
    assert torch.allclose(ours, _naive_integer(x, offset, w, b, stride, padding, dilation), atol=1e-12)


def test_constant_shift_equals_conv_of_shifted_input():
    # The same offset (dy, dx) = (1, -2) on every tap reads x(p + (1, -2)): conv2d of the shifted image.
    x, w = _rand(1, 2, 9, 9), _rand(4, 2, 3, 3, seed=1)
    offset = torch.zeros(1, 18, 9, 9, dtype=torch.float64)
    offset[:, 0::2], offset[:, 1::2] = 1.0, -2.0
    big = F.pad(x, (3, 3, 3, 3))  # big[Y + 3, X + 3] = x(Y, X), zero outside
    # shifted(y, x) = x(y + 1, x − 2) for the rows and columns −1 … 9 that a padding-1 conv reads
    shifted = big[:, :, 3:14, 0:11]
    assert torch.allclose(deform_conv2d(x, offset, w, padding=1), F.conv2d(shifted, w), atol=1e-12)


def test_dilation_is_a_special_offset():
    # A 3×3 kernel with offsets (d − 1)·p_n and padding 1 is the dilated convolution (the paper's Fig. 1c).
    x, w = _rand(1, 2, 11, 11), _rand(3, 2, 3, 3, seed=1)
    d = 3
    offset = torch.zeros(1, 18, 11, 11, dtype=torch.float64)
    for i in range(3):
        for j in range(3):
            k = i * 3 + j
            offset[:, 2 * k], offset[:, 2 * k + 1] = (d - 1) * (i - 1), (d - 1) * (j - 1)
    ref = F.conv2d(x, w, padding=d, dilation=d)
    assert torch.allclose(deform_conv2d(x, offset, w, padding=1), ref, atol=1e-12)


def test_bilinear_sample_matches_grid_sample():
    x = _rand(2, 3, 9, 13)
    g = torch.Generator().manual_seed(5)
    py = torch.rand(2, 200, generator=g, dtype=torch.float64) * 13 - 2  # inside and outside the image
    px = torch.rand(2, 200, generator=g, dtype=torch.float64) * 17 - 2
    grid = torch.stack([px / (13 - 1) * 2 - 1, py / (9 - 1) * 2 - 1], dim=-1).unsqueeze(1)
    ref = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True).squeeze(2)
    assert torch.allclose(bilinear_sample(x, py, px), ref, atol=1e-12)


def test_bilinear_sample_equals_the_dense_formula():
    # x(p) = Σ_q G(q, p)·x(q) over *all* integer q, with G(q, p) = g(q_y, p_y)·g(q_x, p_x).
    x = _rand(1, 2, 5, 6)
    py = torch.tensor([[0.0, 1.25, 3.5, 4.9, -0.4, 5.2]], dtype=torch.float64)
    px = torch.tensor([[0.0, 2.75, 0.5, 5.0, 2.0, -0.9]], dtype=torch.float64)
    qy, qx = torch.meshgrid(torch.arange(5.0, dtype=torch.float64), torch.arange(6.0, dtype=torch.float64),
                            indexing="ij")
    dense = torch.stack([(bilinear_kernel(qy, a) * bilinear_kernel(qx, b) * x[0]).sum(dim=(1, 2))
                         for a, b in zip(py[0], px[0])], dim=-1)
    assert torch.allclose(bilinear_sample(x, py, px)[0], dense, atol=1e-12)


def test_bilinear_kernel_values():
    assert bilinear_kernel(0.0, 0.0).item() == 1.0
    assert bilinear_kernel(3.0, 2.75).item() == 0.75
    assert bilinear_kernel(1.0, 2.5).item() == 0.0
    assert bilinear_kernel(-1.0, -1.5).item() == 0.5


def test_kernel_grid_is_the_regular_grid():
    ys, xs = kernel_grid(3, (2, 2), stride=2, padding=1, dilation=1)
    assert ys[:, 0, 0].tolist() == [-1, -1, -1, 0, 0, 0, 1, 1, 1]
    assert xs[:, 1, 1].tolist() == [1, 2, 3, 1, 2, 3, 1, 2, 3]


def test_gradcheck_input_weight_offset():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(1, 2, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, generator=g, dtype=torch.float64, requires_grad=True)
    # Non-integer offsets (fractional parts in [0.15, 0.85]) keep gradcheck away from the kinks of g.
    whole = torch.randint(-1, 2, (1, 18, 5, 5), generator=g).double()
    frac = 0.15 + 0.7 * torch.rand(1, 18, 5, 5, generator=g, dtype=torch.float64)
    offset = (whole + frac).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, o, ww, bb: deform_conv2d(a, o, ww, bb, padding=1),
                                    (x, offset, w, b), eps=1e-6, atol=1e-5)


def test_module_starts_as_standard_conv_and_counts_parameters():
    torch.manual_seed(0)
    layer = DeformConv2d(4, 6, 3, stride=2, padding=1)
    assert layer.conv_offset.out_channels == 18
    assert layer.conv_offset.weight.abs().sum() == 0 and layer.conv_offset.bias.abs().sum() == 0
    x = torch.randn(2, 4, 9, 9)
    y, offset = layer(x, return_offset=True)
    assert offset.shape == (2, 18, 5, 5) and offset.abs().max() == 0
    assert torch.allclose(y, F.conv2d(x, layer.weight, layer.bias, 2, 1), atol=1e-5)
    expected = counts.conv2d_params(4, 6, 3) + counts.conv2d_params(4, 18, 3)
    assert sum(p.numel() for p in layer.parameters()) == expected


def test_offset_branch_receives_gradient_at_zero_init():
    torch.manual_seed(0)
    layer = DeformConv2d(2, 3, 3, padding=1).double()
    x = torch.randn(1, 2, 8, 8, dtype=torch.float64)
    layer(x).square().sum().backward()
    assert layer.conv_offset.bias.grad.abs().sum() > 0
    assert layer.conv_offset.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("call,match", [
    (lambda: deform_conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 9, 3, 3), torch.zeros(1, 2, 3, 3)),
     "offset must have shape"),
    (lambda: deform_conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 18, 5, 5), torch.zeros(1, 2, 3, 3)),
     "offset must have shape"),
    (lambda: deform_conv2d(torch.zeros(2, 2, 5, 5), torch.zeros(1, 18, 3, 3), torch.zeros(1, 2, 3, 3)),
     "offset must have shape"),
    (lambda: deform_conv2d(torch.zeros(1, 2, 2, 5), torch.zeros(1, 18, 1, 3), torch.zeros(1, 2, 3, 3)),
     "larger than the padded input"),
    (lambda: deform_conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 18, 5, 5), torch.zeros(1, 2, 3, 3), padding=-1),
     "padding must be an integer >= 0"),
    (lambda: deform_conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 18, 3, 3), torch.zeros(1, 2, 3, 3), stride=0),
     "stride must be an integer >= 1"),
    (lambda: deform_conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 18, 3, 3), torch.zeros(1, 2, 3, 3), dilation=0),
     "dilation must be an integer >= 1"),
    (lambda: deform_conv2d(torch.zeros(1, 3, 5, 5), torch.zeros(1, 18, 3, 3), torch.zeros(1, 2, 3, 3)),
     "input channels"),
    (lambda: deform_conv2d(torch.zeros(1, 2, 5, 5), torch.zeros(1, 18, 3, 3), torch.zeros(1, 2, 3, 3),
                           bias=torch.zeros(2)), "bias must have shape"),
    (lambda: deform_conv2d(torch.zeros(2, 5, 5), torch.zeros(1, 18, 3, 3), torch.zeros(1, 2, 3, 3)),
     "x must be a 4-D"),
    (lambda: bilinear_sample(torch.zeros(1, 1, 3, 3), torch.zeros(1, 4), torch.zeros(1, 5)), "same shape"),
    (lambda: bilinear_sample(torch.zeros(2, 1, 3, 3), torch.zeros(1, 4), torch.zeros(1, 4)), "batch dimension"),
    (lambda: DeformConv2d(0, 4, 3), "in_channels"),
    (lambda: DeformConv2d(2, 4, (3, 3, 3)), "kernel_size"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
