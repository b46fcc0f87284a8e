import itertools

import pytest
import torch
import torch.nn.functional as F

from cvlib.analysis.shapes import conv_output_size
from cvlib.nn.conv.transposed import (conv_matrix, conv_transpose2d, conv_transpose2d_via_conv, output_padding_for,
                                   overlap_counts, transposed_output_size, zero_insert)

DT = torch.float64


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DT)


# (stride, padding, output_padding, dilation) combinations that PyTorch accepts
SETTINGS = [(s, p, a, d) for s, p, a, d in itertools.product([1, 2, 3], [0, 1, 2], [0, 1, 2], [1, 2])
            if a < max(s, d)]


@pytest.mark.parametrize("s,p,a,d", SETTINGS)
def test_scatter_add_matches_torch(s, p, a, d):
    x, w, b = rand(2, 3, 5, 4, seed=1), rand(3, 2, 3, 2, seed=2), rand(2, seed=3)
    ref = F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=a, dilation=d)
    torch.testing.assert_close(conv_transpose2d(x, w, b, s, p, a, d), ref)


@pytest.mark.parametrize("c_in,c_out", [(1, 1), (1, 4), (4, 1), (3, 5)])
def test_channels_and_pairs_match_torch(c_in, c_out):
    x, w = rand(2, c_in, 4, 6, seed=4), rand(c_in, c_out, 3, 4, seed=5)
    kw = dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2))
    torch.testing.assert_close(conv_transpose2d(x, w, **kw), F.conv_transpose2d(x, w, **kw))


@pytest.mark.parametrize("s,p,a,d", SETTINGS)
def test_zero_insert_pad_flip_equivalence(s, p, a, d):
    # Dumoulin & Visin: stretch (s - 1 zeros), pad by d(k - 1) - p, convolve with the flipped,
    # channel-transposed kernel at stride 1.
    x, w, b = rand(1, 3, 4, 5, seed=6), rand(3, 4, 3, 3, seed=7), rand(4, seed=8)
    ref = F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=a, dilation=d)
    torch.testing.assert_close(conv_transpose2d_via_conv(x, w, b, s, p, a, d), ref)


def test_zero_insert():
    x = torch.arange(1.0, 5.0).view(1, 1, 2, 2)
    z = zero_insert(x, 3)
    assert z.shape == (1, 1, 4, 4)
    assert z[0, 0].tolist() == [[1, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]]


@pytest.mark.parametrize("h,w,k,s,p,d", [(4, 4, 3, 1, 0, 1), (5, 6, 3, 2, 1, 1), (6, 5, 2, 2, 0, 1),
                                         (7, 7, 3, 1, 2, 1), (7, 6, 3, 1, 1, 2), (6, 6, 4, 3, 2, 1)])
def test_conv_matrix_reproduces_conv2d(h, w, k, s, p, d):
    kernel, x = rand(k, k, seed=9), rand(h, w, seed=10)
    C = conv_matrix(h, w, kernel, s, p, d)
    y = F.conv2d(x[None, None], kernel[None, None], stride=s, padding=p, dilation=d)
    assert C.shape == (y.numel(), h * w)
    torch.testing.assert_close(C @ x.flatten(), y.flatten())


@pytest.mark.parametrize("h,w,k,s,p,d", [(4, 4, 3, 1, 0, 1), (5, 6, 3, 2, 1, 1), (6, 6, 4, 3, 2, 1),
                                         (7, 6, 3, 1, 1, 2)])
def test_transpose_is_the_input_gradient_of_conv(h, w, k, s, p, d):
    kernel, x = rand(k, k, seed=11), rand(h, w, seed=12).requires_grad_()
    y = F.conv2d(x[None, None], kernel[None, None], stride=s, padding=p, dilation=d)
    g = rand(*y.shape, seed=13)
    (y * g).sum().backward()  # x.grad = dL/dx for L = <conv(x), g>
    C = conv_matrix(h, w, kernel, s, p, d)
    torch.testing.assert_close(C.T @ g.flatten(), x.grad.flatten())
    # ... and the transposed convolution of g with output_padding restoring h, w gives the same map
    a = (output_padding_for(h, k, s, p, d), output_padding_for(w, k, s, p, d))
    ct = conv_transpose2d(g, kernel[None, None], stride=s, padding=p, output_padding=a, dilation=d)
    torch.testing.assert_close(ct.flatten(), x.grad.flatten())


def test_adjoint_identity():
    for seed, (h, k, s, p) in enumerate([(4, 3, 1, 0), (8, 3, 2, 1), (9, 4, 2, 1), (10, 5, 3, 2)]):
        kernel, x = rand(k, k, seed=seed), rand(h * h, seed=100 + seed)
        C = conv_matrix(h, h, kernel, s, p)
        y = rand(C.shape[0], seed=200 + seed)
        torch.testing.assert_close(torch.dot(C @ x, y), torch.dot(x, C.T @ y))


def test_dumoulin_visin_conv_matrix_pattern():
    # Section 4.1 of the guide: 3x3 kernel on a 4x4 input, 2x2 output; row r of C holds w[u, v] at
    # column 4*(r//2 + u) + (r%2 + v). The first row as printed: w00 w01 w02 0 w10 w11 w12 0 w20 w21 w22 0 0 0 0 0.
    kernel = torch.arange(1.0, 10.0, dtype=DT).view(3, 3)
    C = conv_matrix(4, 4, kernel)
    assert C.shape == (4, 16)
    assert C[0].tolist() == [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0]
    assert C[3].tolist() == [0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9]


def test_transpose_is_not_the_inverse():
    kernel = rand(3, 3, seed=14)
    C = conv_matrix(4, 4, kernel)
    x = rand(16, seed=15)
    assert not torch.allclose(C.T @ (C @ x), x)
    assert torch.linalg.matrix_rank(C.T @ C) == 4  # a 16x16 matrix of rank 4 cannot be inverted


def test_transposed_output_size_matches_torch():
    for i, k, s, p, a, d in itertools.product((1, 2, 5, 7), (1, 2, 3, 4), (1, 2, 3), (0, 1), (0, 1, 2), (1, 2)):
        if a >= max(s, d):
            continue
        try:
            expected = F.conv_transpose2d(torch.zeros(1, 1, i, 1), torch.zeros(1, 1, k, 1), stride=(s, 1),
                                          padding=(p, 0), output_padding=(a, 0), dilation=(d, 1)).shape[2]
        except RuntimeError:  # torch refuses an empty output: so must we
            with pytest.raises(ValueError):
                transposed_output_size(i, k, s, p, a, d)
            continue
        assert transposed_output_size(i, k, s, p, a, d) == expected, (i, k, s, p, a, d)


def test_conv_maps_the_transposed_size_back():
    checked = 0
    for i, k, s, p, d in itertools.product(range(1, 9), (1, 2, 3, 5), (1, 2, 3), (0, 1, 2), (1, 2)):
        for a in range(s):
            try:
                o = transposed_output_size(i, k, s, p, a, d)
            except ValueError:
                continue
            if d * (k - 1) + 1 <= o + 2 * p:
                assert conv_output_size(o, k, s, p, d) == i, (i, k, s, p, a, d)
                assert output_padding_for(o, k, s, p, d) == a, (i, k, s, p, a, d)
                checked += 1
    assert checked > 500


def test_output_padding_for_restores_the_size():
    # The stride-2 layers of the classic networks: conv then transposed conv gives the input size back.
    for size, k, s, p in [(227, 11, 4, 0), (55, 3, 2, 0), (224, 7, 2, 3), (112, 3, 2, 1), (224, 2, 2, 0),
                          (28, 3, 2, 1), (27, 3, 2, 1)]:
        o = conv_output_size(size, k, s, p)
        a = output_padding_for(size, k, s, p)
        assert transposed_output_size(o, k, s, p, a) == size
        x = torch.zeros(1, 1, size, size)
        y = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s, padding=p)
        assert F.conv_transpose2d(y, torch.zeros(1, 1, k, k), stride=s, padding=p, output_padding=a).shape == x.shape


def test_overlap_counts():
    # Odena et al.: the overlap is even (away from the borders) exactly when the stride divides the kernel.
    for k in range(1, 7):
        for s in range(1, 4):
            counts = overlap_counts((1, 12), (1, k), (1, s))[0]
            inner = counts[k - 1: len(counts) - (k - 1)]
            assert bool((inner == inner[0]).all()) == (k % s == 0), (k, s)
            assert inner.max() == -(-k // s) and inner.min() == k // s
    c2 = overlap_counts(6, 3, 2)
    assert c2[2:-2, 2:-2].max() / c2[2:-2, 2:-2].min() == 4  # 2 per axis, multiplied
    assert overlap_counts(4, 4, 2).sum() == 4 * 4 * 16  # every stamp has 16 taps


@pytest.mark.parametrize("call,match", [
    (lambda: transposed_output_size(0, 3), "input size"),
    (lambda: transposed_output_size(4, 0), "kernel"),
    (lambda: transposed_output_size(4, 3, 0), "stride"),
    (lambda: transposed_output_size(4, 3, 1, -1), "padding"),
    (lambda: transposed_output_size(4, 3, 2, 0, 2), "output_padding=2 must be smaller"),
    (lambda: transposed_output_size(4, 3, 1, 0, 1), "output_padding=1 must be smaller"),
    (lambda: transposed_output_size(4, 3, 2, 0, -1), "output_padding"),
    (lambda: transposed_output_size(1, 1, 1, 1), "too large"),
    (lambda: transposed_output_size(2.0, 3), "integer"),
    (lambda: transposed_output_size(4, 3, dilation=0), "dilation"),
    (lambda: conv_matrix(4, 4, torch.ones(1, 1, 3, 3)), "2-D tensor"),
    (lambda: conv_matrix(2, 2, torch.ones(3, 3)), "larger than the padded input"),
    (lambda: conv_matrix(4, 4, torch.ones(3, 3), stride=0), "stride"),
    (lambda: conv_transpose2d(torch.ones(1, 2, 3, 3), torch.ones(3, 1, 3, 3)), "input channels"),
    (lambda: conv_transpose2d(torch.ones(2, 3, 3), torch.ones(2, 1, 3, 3)), r"x must be \(N, C_in, H, W\)"),
    (lambda: conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 3, 3)), "weight must be"),
    (lambda: conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 2, 3, 3), torch.ones(3)), "bias"),
    (lambda: conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), stride=2, output_padding=2),
     "output_padding"),
    (lambda: conv_transpose2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), stride=(1, 2, 3)), "pair"),
    (lambda: output_padding_for(2, 5), "larger than the padded input"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
