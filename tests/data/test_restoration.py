import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import convolve
from skimage import restoration

from cvlib.data.restoration import (blur, conv_relu_pool, conv_sparse_coding, gaussian_psf, inverse_filter,
                                 max_pool2d_switches, max_unpool2d, motion_psf, project_down, psf_to_otf,
                                 richardson_lucy, wiener_deconvolution)
from cvlib.nn.conv.transposed import conv_matrix

RNG = np.random.default_rng(0)
IMG = RNG.random((40, 50))
PSF = RNG.random((5, 7))
PSF /= PSF.sum()


# ------------------------------------------------------------------------------------------- blurs
def test_zero_boundary_blur_matches_scipy_same():
    np.testing.assert_allclose(blur(IMG, PSF, "zero"), convolve(IMG, PSF, mode="same"), atol=1e-12)


def test_periodic_blur_is_a_circular_convolution():
    # direct sum with wrap-around indices, y[r, c] = Σ_uv k[u, v] x[r − (u − cu), c − (v − cv)]
    cu, cv = PSF.shape[0] // 2, PSF.shape[1] // 2
    ref = sum(PSF[u, v] * np.roll(IMG, (u - cu, v - cv), axis=(0, 1))
              for u in range(PSF.shape[0]) for v in range(PSF.shape[1]))
    np.testing.assert_allclose(blur(IMG, PSF), ref, atol=1e-12)


def test_otf_matches_skimage_ir2tf():
    from skimage.restoration import uft
    np.testing.assert_allclose(psf_to_otf(PSF, IMG.shape)[:, : IMG.shape[1] // 2 + 1],
                               uft.ir2tf(PSF, IMG.shape), atol=1e-12)


def test_psf_helpers_are_normalised():
    assert gaussian_psf(1.5).shape == (11, 11) and abs(gaussian_psf(1.5).sum() - 1) < 1e-12
    assert motion_psf(9).shape == (1, 9) and abs(motion_psf(9).sum() - 1) < 1e-12


# ------------------------------------------------------------------------------------ restorations
def test_inverse_filter_recovers_a_noise_free_circulant_blur_exactly():
    psf = gaussian_psf(1.0)
    np.testing.assert_allclose(inverse_filter(blur(IMG, psf), psf), IMG, atol=1e-9)


def test_inverse_filter_equals_solving_the_circulant_system():
    # independent of the FFT: build the circulant matrix column by column and solve it
    psf, shape = motion_psf(3), (6, 7)
    x = RNG.random(shape)
    cols = [blur(e.reshape(shape), psf).ravel() for e in np.eye(np.prod(shape))]
    C = np.stack(cols, axis=1)
    y = C @ x.ravel()
    np.testing.assert_allclose(inverse_filter(y.reshape(shape), psf).ravel(), np.linalg.solve(C, y), atol=1e-10)


def test_inverse_filter_amplifies_noise():
    psf = gaussian_psf(2.0)
    y = blur(IMG, psf) + 1e-3 * np.random.default_rng(1).standard_normal(IMG.shape)
    assert np.abs(inverse_filter(y, psf) - IMG).max() > 10  # noise divided by a tiny |K|


def test_inverse_filter_threshold_is_a_pseudo_inverse():
    psf = np.ones((1, 5)) / 5  # on 40 columns: |K| = 0 exactly at multiples of 40/5 = 8
    with pytest.raises(ValueError, match="exact zeros"):
        inverse_filter(IMG[:, :40], psf)
    out = inverse_filter(blur(IMG[:, :40], psf), psf, threshold=1e-8)
    np.testing.assert_allclose(blur(out, psf), blur(IMG[:, :40], psf), atol=1e-10)


@pytest.mark.parametrize("balance", [1e-3, 0.1, 2.0])
def test_wiener_matches_skimage_with_identity_regulariser(balance):
    ref = restoration.wiener(IMG, PSF, balance, reg=np.array([[1.0]]), clip=False)
    np.testing.assert_allclose(wiener_deconvolution(IMG, PSF, balance), ref, atol=1e-12)


def test_wiener_is_tikhonov_least_squares():
    # X̂ minimises ‖k ∗ x − y‖² + λ‖x‖²: solve (CᵀC + λI) x = Cᵀ y with the explicit matrix
    psf, shape, lam = PSF[:3, :3] / PSF[:3, :3].sum(), (5, 6), 0.05
    C = np.stack([blur(e.reshape(shape), psf).ravel() for e in np.eye(30)], axis=1)
    y = RNG.random(shape)
    ref = np.linalg.solve(C.T @ C + lam * np.eye(30), C.T @ y.ravel())
    np.testing.assert_allclose(wiener_deconvolution(y, psf, lam).ravel(), ref, atol=1e-10)


def test_wiener_zero_balance_is_inverse_filter_and_accepts_per_frequency_balance():
    psf = gaussian_psf(1.0)
    np.testing.assert_allclose(wiener_deconvolution(IMG, psf, 0.0), inverse_filter(IMG, psf), atol=1e-8)
    np.testing.assert_allclose(wiener_deconvolution(IMG, psf, np.full(IMG.shape, 0.3)),
                               wiener_deconvolution(IMG, psf, 0.3), atol=1e-12)


@pytest.mark.parametrize("num_iter", [1, 5, 20])
def test_richardson_lucy_matches_skimage(num_iter):
    ref = restoration.richardson_lucy(IMG, PSF, num_iter, clip=False)
    np.testing.assert_allclose(richardson_lucy(IMG, PSF, num_iter, boundary="zero", init=0.5), ref,
                               rtol=1e-9, atol=1e-12)


def test_richardson_lucy_keeps_flux_and_sign_with_periodic_boundaries():
    out = richardson_lucy(IMG, PSF, 15)
    assert abs(out.sum() - IMG.sum()) < 1e-9 * IMG.sum() and (out >= 0).all()


def test_richardson_lucy_true_image_is_a_fixed_point():
    x = IMG + 0.1
    np.testing.assert_allclose(richardson_lucy(blur(x, PSF), PSF, 5, init=x), x, atol=1e-9)


# ----------------------------------------------------------------------------- unpooling, deconvnet
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1), (2, 1)])
def test_max_pool_switches_match_torch(k, s):
    x = torch.randn(2, 3, 9, 11, generator=torch.Generator().manual_seed(k * 10 + s), dtype=torch.float64)
    p, i = max_pool2d_switches(x, k, s)
    p_ref, i_ref = F.max_pool2d(x, k, s, return_indices=True)
    assert torch.equal(p, p_ref) and torch.equal(i, i_ref)


@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1)])
def test_max_unpool_matches_torch_even_where_switches_collide(k, s):
    x = torch.randn(2, 3, 9, 11, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    _, idx = F.max_pool2d(x, k, s, return_indices=True)
    values = torch.randn(idx.shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    ref = F.max_unpool2d(values, idx, k, s, output_size=x.shape[-2:])
    assert torch.equal(max_unpool2d(values, idx, x.shape[-2:]), ref)
    if k > s:  # overlapping windows: make sure the collision case is really exercised
        assert idx[0, 0].unique().numel() < idx[0, 0].numel()


def test_accumulating_unpool_is_the_gradient_of_max_pooling():
    x = torch.randn(1, 2, 13, 13, generator=torch.Generator().manual_seed(3), dtype=torch.float64,
                    requires_grad=True)
    out, idx = F.max_pool2d(x, 3, 2, return_indices=True)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    (out * g).sum().backward()
    torch.testing.assert_close(max_unpool2d(g, idx, (13, 13), accumulate=True), x.grad)


def _layer(seed=0):
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 2, 20, 20, generator=gen, dtype=torch.float64)
    weight = torch.randn(4, 2, 3, 3, generator=gen, dtype=torch.float64)
    return image, weight, conv_relu_pool(image, weight, padding=1, pool_kernel=3, pool_stride=2)


def test_conv_relu_pool_forward_matches_torch():
    image, weight, layer = _layer()
    torch.testing.assert_close(layer.pooled, F.max_pool2d(F.relu(F.conv2d(image, weight, padding=1)), 3, 2))


def test_gradient_rule_matches_autograd():
    image, weight, layer = _layer(1)
    top = torch.randn(layer.pooled.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    img = image.clone().requires_grad_()
    (F.max_pool2d(F.relu(F.conv2d(img, weight, padding=1)), 3, 2) * top).sum().backward()
    torch.testing.assert_close(project_down(layer, top, rule="gradient"), img.grad)


def test_deconvnet_rule_rectifies_the_backward_signal():
    image, weight, layer = _layer(3)
    top = torch.randn(layer.pooled.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    u = max_unpool2d(top, layer.switches, tuple(layer.conv.shape[-2:]), accumulate=True)
    ref = F.conv_transpose2d(F.relu(u), weight, padding=1)
    torch.testing.assert_close(project_down(layer, top), ref)
    assert not torch.allclose(project_down(layer, top), project_down(layer, top, rule="gradient"))


def test_conv_sparse_coding_decreases_cost_and_reconstructs():
    f = [np.array([[0.0, 0, 0], [-1, 0, 1], [0, 0, 0]]), np.array([[0.0, -1, 0], [0, 0, 0], [0, 1, 0]]),
         np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]])]
    z, hist = conv_sparse_coding(IMG, f, lam=100.0, num_iter=200)
    assert all(b <= a + 1e-9 for a, b in zip(hist, hist[1:]))
    rec = sum(blur(a, b) for a, b in zip(z, f))
    assert np.linalg.norm(rec - IMG) / np.linalg.norm(IMG) < 0.05  # the delta filter alone could fit y


def test_transposed_conv_is_the_adjoint_in_fourier():
    # conj(K)·Y equals Cᵀ y for the circulant C, and equals cvlib's conv_matrix transpose in the interior
    y = RNG.random((9, 9))
    k = RNG.random((3, 3))
    C = np.stack([blur(e.reshape(9, 9), k).ravel() for e in np.eye(81)], axis=1)
    adj = np.real(np.fft.ifft2(np.conj(psf_to_otf(k, (9, 9))) * np.fft.fft2(y)))
    np.testing.assert_allclose(adj.ravel(), C.T @ y.ravel(), atol=1e-12)
    Cz = conv_matrix(9, 9, torch.from_numpy(k[::-1, ::-1].copy()), padding=1).numpy()  # zero padding
    np.testing.assert_allclose((Cz.T @ y.ravel()).reshape(9, 9)[1:-1, 1:-1], adj[1:-1, 1:-1], atol=1e-12)


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, match", [
    (lambda: blur(IMG, np.ones((2, 3))), "odd"),
    (lambda: blur(IMG, PSF, "reflect"), "boundary"),
    (lambda: blur(np.ones((2, 2, 2)), PSF), "2-D"),
    (lambda: psf_to_otf(np.ones((5, 5)), (3, 3)), "larger"),
    (lambda: wiener_deconvolution(IMG, PSF, -1.0), "balance"),
    (lambda: wiener_deconvolution(IMG, PSF, np.ones((3, 3))), "balance"),
    (lambda: inverse_filter(IMG, PSF, threshold=-1), "threshold"),
    (lambda: richardson_lucy(IMG - 1, PSF), "non-negative"),
    (lambda: richardson_lucy(IMG, PSF, num_iter=-1), "num_iter"),
    (lambda: richardson_lucy(IMG, PSF, init=-1.0), "init"),
    (lambda: gaussian_psf(0), "sigma"),
    (lambda: motion_psf(4), "odd"),
    (lambda: max_pool2d_switches(torch.zeros(3, 4, 4), 2), r"\(N, C, H, W\)"),
    (lambda: max_pool2d_switches(torch.zeros(1, 1, 4, 4), 0), "kernel"),
    (lambda: max_pool2d_switches(torch.zeros(1, 1, 2, 2), 3), "larger"),
    (lambda: max_unpool2d(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3, dtype=torch.long), (4, 4)), "indices"),
    (lambda: max_unpool2d(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 16), (4, 4)), r"\[0, 16\)"),
    (lambda: conv_sparse_coding(IMG, [], 1.0), "filters"),
    (lambda: conv_sparse_coding(IMG, [PSF], 0.0), "lam"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_rule_and_top_shape():
    _, _, layer = _layer()
    with pytest.raises(ValueError, match="rule"):
        project_down(layer, torch.zeros_like(layer.pooled), rule="guided")
    with pytest.raises(ValueError, match="pooled shape"):
        project_down(layer, torch.zeros(1, 1, 2, 2))
