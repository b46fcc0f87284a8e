"""Preprocessing, restoration and the synthetic data reject impossible arguments with a ValueError naming
them (issue 21) and accept NumPy scalars."""

import math

import numpy as np
import pytest
import torch

from cvlib.data import preprocessing as P
from cvlib.data import restoration as R
from cvlib.data.synthetic import make_shapes, render_shape

IMG = np.zeros((8, 8, 3))
GREY = np.ones((9, 9))
EIG = (np.ones(3), np.eye(3))


@pytest.mark.parametrize("call,match", [
    (lambda: P.crop(IMG, 1.5, 0, 2), "top must be an integer, got 1.5"),
    (lambda: P.crop(IMG, 0, True, 2), "left must be an integer, got True"),
    (lambda: P.crop(IMG, 0, 0, 2.0), "size must be an integer or a pair"),
    (lambda: P.crop(IMG, 0, 0, (2, 0)), r"size\[1\] must be an integer >= 1, got 0"),
    (lambda: P.center_crop(IMG, (2, 2, 2)), "size must be an integer or a pair"),
    (lambda: P.n_crop_positions((8, 8.0), 2), r"image_size\[1\] must be an integer >= 1"),
    (lambda: P.n_crop_positions(8, "2"), "crop_size must be an integer or a pair"),
    (lambda: P.channel_stats([IMG], how="mean"), "how must be one of 'pooled', 'per_image'"),
    (lambda: P.pca_color_augment(IMG, *EIG, sigma=math.nan, alpha=[0, 0, 0]), r"sigma \(std of alpha\)"),
    (lambda: P.pca_color_augment(IMG, *EIG, alpha=[0, 0, 0], clip=(0, "1")), r"clip\[1\] must be a real number"),
    (lambda: P.pca_color_augment(IMG, *EIG, alpha=[0, 0, 0], clip=(1.0, 0.0)), "low < high"),
    (lambda: P.pca_shift_covariance(*EIG, sigma=True), "sigma must be a real number >= 0.0"),
    (lambda: P.zca_fit(np.eye(3), eps=math.inf), "eps must be a real number >= 0.0"),
    (lambda: R.gaussian_psf(math.nan), "sigma must be a real number > 0.0"),
    (lambda: R.gaussian_psf(1.0, radius=1.5), "radius must be an integer >= 0, got 1.5"),
    (lambda: R.motion_psf(3.0), "length must be an integer >= 1"),
    (lambda: R.motion_psf(True), "length must be an integer"),
    (lambda: R.inverse_filter(GREY, R.gaussian_psf(1.0), threshold="0.1"), "threshold must be a real number >= 0.0"),
    (lambda: R.blur(GREY, R.gaussian_psf(1.0), boundary="reflect"), "boundary must be one of 'periodic', 'zero'"),
    (lambda: R.richardson_lucy(GREY, R.gaussian_psf(1.0), num_iter=2.0), "num_iter must be an integer >= 0"),
    (lambda: R.richardson_lucy(GREY, R.gaussian_psf(1.0), eps=-1.0), "eps must be a real number >= 0.0"),
    (lambda: R.max_pool2d_switches(torch.zeros(1, 1, 4, 4), 2, stride=1.5), "stride must be an integer >= 1"),
    (lambda: R.max_unpool2d(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.long), (4, 4.0)),
     r"output_size\[1\] must be an integer >= 1"),
    (lambda: R.max_unpool2d(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.long), (4, 4),
                            accumulate="no"), "accumulate must be True or False"),
    (lambda: R.conv_sparse_coding(GREY, [np.ones((3, 3))], math.inf), "lam must be a real number > 0.0"),
    (lambda: R.conv_sparse_coding(GREY, [np.ones((3, 3))], 1.0, num_iter=-1), "num_iter must be an integer >= 0"),
    (lambda: render_shape("hexagon", 8, 8, 4, 16), "kind must be one of 'circle', 'square', 'triangle'"),
    (lambda: render_shape("circle", 8, 8, math.nan, 16), "side must be a real number > 0.0"),
    (lambda: render_shape("circle", 8, 8, 4, 16.0), "size must be an integer >= 1"),
    (lambda: render_shape("triangle", 8, 8, 4, 16, height=0), "height must be a real number > 0.0"),
    (lambda: render_shape("circle", math.inf, 8, 4, 16), "cx must be a real number"),
    (lambda: make_shapes(True), "n must be an integer >= 1, got True"),
    (lambda: make_shapes(2, size=16.0), "size must be an integer >= 16"),
    (lambda: make_shapes(2, seed=-1), "seed must be an integer >= 0"),
    (lambda: make_shapes(2, n_lines=1.5), "n_lines must be an integer >= 0"),
    (lambda: make_shapes(2, noise=math.nan), "noise must be a real number >= 0.0"),
    (lambda: make_shapes(2, side_range=(12.0,)), "side_range must be a sequence of 2 real numbers"),
])
def test_bad_arguments_name_themselves(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_scalars_are_accepted():
    img = np.arange(48.0).reshape(4, 4, 3)
    assert np.array_equal(P.crop(img, np.int64(1), np.int64(1), np.int64(2)), img[1:3, 1:3])
    assert P.n_crop_positions(np.int64(256), (np.int64(224), 224)) == 33 * 33
    assert R.motion_psf(np.int64(3)).shape == (1, 3)
    assert R.gaussian_psf(np.float32(1.0), radius=np.int64(2)).shape == (5, 5)
    mask, box = render_shape("square", np.float64(8.0), 8, np.int64(4), np.int64(16))
    assert mask.sum() == 16 and box == (6.0, 6.0, 10.0, 10.0)
    assert len(make_shapes(np.int64(2), size=np.int64(32), seed=np.int64(1), side_range=(4, 12))) == 2
