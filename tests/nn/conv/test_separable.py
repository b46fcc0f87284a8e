"""cvlib.nn.conv.separable against torch's grouped and 1×1 convolutions and against the SVD."""

import pytest
import torch
import torch.nn.functional as F

from cvlib.nn.conv.separable import depthwise_conv2d
from cvlib.nn.conv.separable import nearest_separable, separable_error, separable_to_dense


@pytest.mark.parametrize("m,d,n,k,stride,padding", [(3, 1, 4, 3, 1, 0), (5, 2, 7, 3, 2, 1), (4, 3, 2, 5, 1, 2),
                                                    (1, 1, 1, 1, 1, 0)])
def test_dense_kernel_equals_depthwise_then_pointwise(m, d, n, k, stride, padding):
    g = torch.Generator().manual_seed(m * 100 + d * 10 + n)
    x = torch.randn(2, m, 9, 8, generator=g, dtype=torch.float64)
    dw = torch.randn(m * d, 1, k, k, generator=g, dtype=torch.float64)
    pw = torch.randn(n, m * d, generator=g, dtype=torch.float64)
    two_step = F.conv2d(F.conv2d(x, dw, stride=stride, padding=padding, groups=m), pw[:, :, None, None])
    dense = separable_to_dense(dw, pw, in_channels=m)
    assert dense.shape == (n, m, k, k)
    torch.testing.assert_close(F.conv2d(x, dense, stride=stride, padding=padding), two_step)


def test_from_scratch_depthwise_agrees():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 6, 7, 7, generator=g, dtype=torch.float64)
    dw = torch.randn(6, 1, 3, 3, generator=g, dtype=torch.float64)
    pw = torch.randn(4, 6, 1, 1, generator=g, dtype=torch.float64)
    ours = F.conv2d(depthwise_conv2d(x, dw, padding=1), pw)
    torch.testing.assert_close(F.conv2d(x, separable_to_dense(dw, pw), padding=1), ours)


def test_nearest_separable_recovers_a_separable_kernel():
    g = torch.Generator().manual_seed(1)
    dw = torch.randn(5, 1, 3, 3, generator=g, dtype=torch.float64)
    pw = torch.randn(8, 5, generator=g, dtype=torch.float64)
    w = separable_to_dense(dw, pw)
    dw2, pw2 = nearest_separable(w)
    torch.testing.assert_close(separable_to_dense(dw2, pw2), w)
    assert separable_error(w) < 1e-12


@pytest.mark.parametrize("d", [1, 2, 4])
def test_error_is_eckart_young(d):
    g = torch.Generator().manual_seed(d)
    w = torch.randn(16, 3, 3, 3, generator=g, dtype=torch.float64)
    # Independent route: per input channel, the dropped singular values of the N × 9 slice.
    dropped = sum(float((torch.linalg.svdvals(w[:, c].reshape(16, 9))[d:] ** 2).sum()) for c in range(3))
    expected = (dropped / float((w ** 2).sum())) ** 0.5
    assert separable_error(w, d) == pytest.approx(expected, rel=1e-9)
    # No rank-d slice approximation can beat the SVD one: a random separable kernel does worse.
    dw = torch.randn(3 * d, 1, 3, 3, generator=g, dtype=torch.float64)
    pw = torch.linalg.lstsq(dw[:, 0].reshape(3, d, 9).transpose(1, 2), w.permute(1, 2, 3, 0).reshape(3, 9, 16)).solution
    other = separable_to_dense(dw, pw.permute(2, 0, 1).reshape(16, 3 * d), in_channels=3)
    assert float(torch.linalg.vector_norm(w - other) / torch.linalg.vector_norm(w)) >= expected - 1e-12


def test_full_depth_multiplier_is_exact():
    w = torch.randn(4, 2, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert separable_error(w, 4) < 1e-12


def test_bad_inputs():
    with pytest.raises(ValueError, match="depthwise weight"):
        separable_to_dense(torch.zeros(3, 2, 3, 3), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="pointwise weight"):
        separable_to_dense(torch.zeros(3, 1, 3, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match="pointwise weight"):
        separable_to_dense(torch.zeros(3, 1, 3, 3), torch.zeros(4, 3, 3, 3))
    with pytest.raises(ValueError, match="in_channels"):
        separable_to_dense(torch.zeros(6, 1, 3, 3), torch.zeros(4, 6), in_channels=4)
    with pytest.raises(ValueError, match="weight must be"):
        nearest_separable(torch.zeros(4, 3, 3))
    with pytest.raises(ValueError, match="depth_multiplier"):
        nearest_separable(torch.zeros(4, 3, 3, 3), depth_multiplier=5)
    with pytest.raises(ValueError, match="depth_multiplier"):
        nearest_separable(torch.zeros(4, 3, 3, 3), depth_multiplier=0)
