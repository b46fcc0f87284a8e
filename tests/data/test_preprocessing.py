import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data as skdata
from sklearn.decomposition import PCA

from cvlib.data.preprocessing import (IMAGENET_MEAN, IMAGENET_STD, center_crop, channel_stats, crop, denormalize,
                                 five_crop, hflip, mean_image, n_crop_positions, normalize, pca_color_augment,
                                 pca_color_shift, pca_shift_covariance, random_crop, rgb_pca, ten_crop,
                                 to_float, zca_apply, zca_fit)


@pytest.fixture(scope="module")
def photo():
    return to_float(skdata.chelsea())  # 300×451×3 in [0, 1]


def random_images(n=4, shape=(20, 30, 3), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random(shape) * rng.uniform(0.3, 1.0) for _ in range(n)]


# ------------------------------------------------------------------ normalisation
def test_normalize_equals_torch_batch_norm_in_eval_mode(photo):
    # F.batch_norm with running statistics (mean, std²), no affine and eps = 0 is exactly (x − μ)/σ per channel.
    t = torch.from_numpy(photo).permute(2, 0, 1)[None]  # (1, 3, H, W)
    ref = F.batch_norm(t, torch.tensor(IMAGENET_MEAN, dtype=t.dtype), torch.tensor(IMAGENET_STD, dtype=t.dtype) ** 2,
                       training=False, eps=0.0)
    ours = normalize(photo, IMAGENET_MEAN, IMAGENET_STD)
    torch.testing.assert_close(torch.from_numpy(ours).permute(2, 0, 1)[None], ref)


def test_normalize_equals_plain_torch_broadcasting_on_a_batch():
    batch = np.stack(random_images(3))
    mean, std = (0.2, 0.5, 0.7), (0.1, 0.3, 0.9)
    t = torch.from_numpy(batch).permute(0, 3, 1, 2)
    ref = (t - torch.tensor(mean, dtype=t.dtype)[:, None, None]) / torch.tensor(std, dtype=t.dtype)[:, None, None]
    torch.testing.assert_close(torch.from_numpy(normalize(batch, mean, std)).permute(0, 3, 1, 2), ref)


def test_denormalize_inverts_normalize(photo):
    np.testing.assert_allclose(denormalize(normalize(photo, IMAGENET_MEAN, IMAGENET_STD), IMAGENET_MEAN,
                                           IMAGENET_STD), photo, atol=1e-12)


def test_pooled_stats_equal_numpy_over_concatenated_pixels():
    ims = random_images(4) + [np.random.default_rng(9).random((7, 11, 3))]  # sizes may differ
    pixels = np.concatenate([im.reshape(-1, 3) for im in ims])
    mean, std = channel_stats(ims)
    np.testing.assert_allclose(mean, pixels.mean(0))
    np.testing.assert_allclose(std, pixels.std(0))
    normed = [normalize(im, mean, std) for im in ims]
    allp = np.concatenate([im.reshape(-1, 3) for im in normed])
    np.testing.assert_allclose(allp.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(allp.std(0), 1, atol=1e-12)


def test_per_image_std_is_not_larger_than_pooled():
    ims = random_images(6)
    m_pool, s_pool = channel_stats(ims, "pooled")
    m_img, s_img = channel_stats(ims, "per_image")
    np.testing.assert_allclose(m_img, np.mean([im.mean((0, 1)) for im in ims], axis=0))  # equal sizes
    np.testing.assert_allclose(m_img, m_pool)
    assert np.all(s_img <= s_pool + 1e-12)


def test_mean_image_spatial_average_is_the_channel_mean():
    ims = random_images(5)
    mi = mean_image(ims)
    assert mi.shape == ims[0].shape
    np.testing.assert_allclose(mi, np.mean(np.stack(ims), axis=0))
    np.testing.assert_allclose(mi.mean((0, 1)), channel_stats(ims)[0])


def test_to_float():
    x = np.array([[[0, 128, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(to_float(x), [[[0, 128 / 255, 1]]])
    with pytest.raises(ValueError, match="uint8 or floating"):
        to_float(np.array([[[1, 2, 3]]], dtype=np.int32))


@pytest.mark.parametrize("std", [(0.2, 0.0, 0.2), (0.2, -1.0, 0.2)])
def test_normalize_rejects_non_positive_std(photo, std):
    with pytest.raises(ValueError, match="std must be > 0"):
        normalize(photo, IMAGENET_MEAN, std)


def test_normalize_rejects_wrong_channel_count(photo):
    with pytest.raises(ValueError, match="one value per channel"):
        normalize(photo[..., :2], IMAGENET_MEAN, IMAGENET_STD)
    with pytest.raises(ValueError, match="shape"):
        normalize(photo[..., 0], IMAGENET_MEAN, IMAGENET_STD)


def test_stats_and_mean_image_bad_input():
    with pytest.raises(ValueError, match="how"):
        channel_stats(random_images(2), how="median")
    with pytest.raises(ValueError, match="at least one"):
        channel_stats([])
    with pytest.raises(ValueError, match="one shape"):
        mean_image([np.zeros((4, 4, 3)), np.zeros((5, 4, 3))])


# ------------------------------------------------------------------ PCA colour augmentation
def test_rgb_pca_equals_numpy_cov_and_eigh(photo):
    lam, P = rgb_pca(photo)
    cov = np.cov(photo.reshape(-1, 3).T)
    ref_lam, ref_vec = np.linalg.eigh(cov)
    np.testing.assert_allclose(lam, ref_lam[::-1], rtol=1e-10)
    np.testing.assert_allclose(P @ np.diag(lam) @ P.T, cov, atol=1e-12)
    np.testing.assert_allclose(P.T @ P, np.eye(3), atol=1e-12)
    for i in range(3):  # eigenvectors agree up to sign
        assert abs(abs(P[:, i] @ ref_vec[:, 2 - i]) - 1) < 1e-9


def test_rgb_pca_equals_sklearn_pca_up_to_sign(photo):
    lam, P = rgb_pca(photo)
    pca = PCA(n_components=3).fit(photo.reshape(-1, 3))
    np.testing.assert_allclose(lam, pca.explained_variance_, rtol=1e-8)
    signs = np.sign(np.sum(P * pca.components_.T, axis=0))
    np.testing.assert_allclose(P * signs, pca.components_.T, atol=1e-8)


def test_pca_augment_adds_one_vector_to_every_pixel(photo):
    lam, P = rgb_pca(photo)
    out = pca_color_augment(photo, lam, P, rng=np.random.default_rng(0))
    assert out.shape == photo.shape
    diff = (out - photo).reshape(-1, 3)
    np.testing.assert_allclose(diff, np.broadcast_to(diff[0], diff.shape), atol=1e-12)
    alpha = np.array([0.3, -0.2, 0.1])
    np.testing.assert_allclose(pca_color_augment(photo, lam, P, alpha=alpha) - photo,
                               np.broadcast_to(sum(alpha[i] * lam[i] * P[:, i] for i in range(3)), photo.shape),
                               atol=1e-12)


def test_pca_shift_covariance_monte_carlo(photo):
    lam, P = rgb_pca(photo)
    sigma, n = 0.1, 200_000
    alpha = np.random.default_rng(1).normal(0, sigma, size=(n, 3))
    d = pca_color_shift(lam, P, alpha)
    emp = d.T @ d / n  # the mean is 0 by construction
    exact = pca_shift_covariance(lam, P, sigma)
    np.testing.assert_allclose(exact, sum(sigma ** 2 * lam[i] ** 2 * np.outer(P[:, i], P[:, i]) for i in range(3)),
                               atol=1e-15)
    # each entry: standard error of a mean of n products is at most sqrt(2/n)·(largest variance)
    assert np.abs(emp - exact).max() < 5 * np.sqrt(2 / n) * exact.diagonal().max()
    # in the eigenbasis the shift has variances σ²λ_i² and no correlation
    coords = d @ P
    np.testing.assert_allclose(coords.var(0), sigma ** 2 * lam ** 2, rtol=0.02)


def test_pca_bad_input(photo):
    lam, P = rgb_pca(photo)
    with pytest.raises(ValueError, match="3 channels"):
        rgb_pca(photo[..., :2])
    with pytest.raises(ValueError, match="sigma"):
        pca_color_augment(photo, lam, P, sigma=-0.1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        pca_color_augment(photo, lam, P)
    with pytest.raises(ValueError, match="3×3"):
        pca_color_shift(lam, P[:2], [0, 0, 0])
    with pytest.raises(ValueError, match=">= 0"):
        pca_color_shift(-lam, P, [0, 0, 0])


# ------------------------------------------------------------------ crops and flips
def test_hflip_equals_torch_flip(photo):
    t = torch.from_numpy(photo.copy())
    torch.testing.assert_close(torch.from_numpy(hflip(photo).copy()), torch.flip(t, dims=[1]))
    np.testing.assert_array_equal(hflip(hflip(photo)), photo)


def test_crops_equal_slicing(photo):
    np.testing.assert_array_equal(crop(photo, 10, 20, (100, 200)), photo[10:110, 20:220])
    c = center_crop(photo, 224)
    np.testing.assert_array_equal(c, photo[38:262, 113:337])  # (300−224)//2 = 38, (451−224)//2 = 113
    tl, tr, bl, br, ce = five_crop(photo, 100)
    np.testing.assert_array_equal(tl, photo[:100, :100])
    np.testing.assert_array_equal(tr, photo[:100, -100:])
    np.testing.assert_array_equal(bl, photo[-100:, :100])
    np.testing.assert_array_equal(br, photo[-100:, -100:])
    np.testing.assert_array_equal(ce, photo[100:200, 175:275])


def test_ten_crop_is_five_crops_and_their_flips(photo):
    ten = ten_crop(photo, 128)
    assert len(ten) == 10 and all(c.shape == (128, 128, 3) for c in ten)
    for a, b in zip(ten[:5], ten[5:]):
        torch.testing.assert_close(torch.from_numpy(b.copy()), torch.flip(torch.from_numpy(a.copy()), dims=[1]))
    # the same set as flipping the image first (torchvision's order): the mirrored corner swaps sides
    flipped_five = five_crop(hflip(photo), 128)
    np.testing.assert_array_equal(ten[5], flipped_five[1])  # flip of top-left = top-right of the flipped image


def test_random_crop_covers_every_position_uniformly():
    img = np.arange(6 * 6, dtype=float).reshape(6, 6, 1)
    rng = np.random.default_rng(0)
    seen = {}
    for _ in range(9000):
        c = random_crop(img, 4, rng)
        seen[c[0, 0, 0]] = seen.get(c[0, 0, 0], 0) + 1
    assert len(seen) == n_crop_positions(6, 4) == 9  # tops and lefts 0, 1, 2
    counts = np.array(list(seen.values()))
    assert np.all(np.abs(counts - 1000) < 5 * np.sqrt(1000))


def test_crop_position_counts():
    assert n_crop_positions(256, 224) == 33 ** 2 == 1089
    assert n_crop_positions((256, 300), (224, 224)) == 33 * 77


@pytest.mark.parametrize("call", [
    lambda im: crop(im, 0, 0, 301),
    lambda im: center_crop(im, (301, 10)),
    lambda im: random_crop(im, 500, np.random.default_rng(0)),
    lambda im: five_crop(im, 301),
    lambda im: n_crop_positions(224, 256),
])
def test_crop_larger_than_image_is_rejected(photo, call):
    with pytest.raises(ValueError, match="larger than the image"):
        call(photo)


def test_crop_bad_positions_and_sizes(photo):
    with pytest.raises(ValueError, match="top"):
        crop(photo, 100, 0, 224)
    with pytest.raises(ValueError, match="an integer >= 1"):
        crop(photo, 0, 0, 0)
    with pytest.raises(ValueError, match="shape"):
        hflip(photo[..., 0])


# ------------------------------------------------------------------ ZCA whitening
def test_zca_whitens_and_matches_sklearn_pca_whitening():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 5)) @ rng.normal(size=(5, 5)) + 3.0
    mu, W = zca_fit(X, eps=0.0)
    Z = zca_apply(X, mu, W)
    np.testing.assert_allclose(W, W.T, atol=1e-12)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(5), atol=1e-9)
    pca = PCA(whiten=True).fit(X)  # PCA whitening; ZCA rotates it back: Z = Z_pca · components
    np.testing.assert_allclose(Z, pca.transform(X) @ pca.components_, atol=1e-8)


def test_zca_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        zca_fit(np.zeros(5))
    with pytest.raises(ValueError, match="singular"):
        zca_fit(np.zeros((10, 3)), eps=0.0)
    with pytest.raises(ValueError, match="eps"):
        zca_fit(np.ones((10, 3)), eps=-1.0)
