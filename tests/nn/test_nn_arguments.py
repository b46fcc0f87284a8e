"""The layers of cvlib.nn reject impossible arguments with a ValueError naming them (issue 21) and accept
NumPy scalars."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from cvlib.nn import activations as A
from cvlib.nn import init, normalization
from cvlib.nn.blocks import make_divisible
from cvlib.nn.conv.dilated import dilated_conv2d, footprint_1d, hdc_ok
from cvlib.nn.conv.grouped import block_diagonal_weight, channel_shuffle, grouped_conv2d
from cvlib.nn.conv.separable import depthwise_conv2d, nearest_separable, separable_ratio, separate_kernel
from cvlib.nn.dropout import (Dropout, bernoulli_mask, inference_scale, inverted_dropout, mc_dropout_probs,
                              vanilla_dropout)
from cvlib.nn.lrn import LocalResponseNorm, local_response_norm
from cvlib.nn.quantize import quantize_unsigned

X = torch.ones(2, 3)
IMG = torch.randn(2, 4, 5, 5)


@pytest.mark.parametrize("call,match", [
    (lambda: inverted_dropout(X, 0.5, training="no"), "training must be True or False, got 'no'"),
    (lambda: vanilla_dropout(X, 0.5, training=1), "training must be True or False, got 1"),
    (lambda: vanilla_dropout(X, 0.5, training=None), "training must be True or False"),
    (lambda: inverted_dropout(X, math.inf), r"p \(the drop probability\) must be a real number in \[0.0, 1.0\)"),
    (lambda: Dropout(0.5, inverted="no"), "inverted must be True or False"),
    (lambda: inference_scale(0.5, "yes"), "inverted must be True or False"),
    (lambda: bernoulli_mask((2, 1.5), 0.5), r"shape\[1\] must be an integer >= 0, got 1.5"),
    (lambda: bernoulli_mask(3, 0.5), "shape must be a sequence of integers"),
    (lambda: mc_dropout_probs(nn.Sequential(Dropout(0.5)), X, 2.0), "n_samples must be an integer >= 1"),
    (lambda: mc_dropout_probs(nn.Sequential(Dropout(0.5)), X, True), "n_samples must be an integer"),
])
def test_dropout_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dropout_training_flag_is_honoured_and_numpy_scalars_work():
    x = torch.ones(1000)
    assert torch.equal(inverted_dropout(x, 0.5, training=False), x)          # not a truthy 'no'
    assert torch.equal(vanilla_dropout(x, np.float32(0.25), training=np.bool_(False)), 0.75 * x)
    kept = inverted_dropout(x, np.float64(0.5), generator=torch.Generator().manual_seed(0))
    assert set(kept.unique().tolist()) <= {0.0, 2.0}
    assert bernoulli_mask(torch.Size([2, np.int64(3)]), 0.5).shape == (2, 3)


@pytest.mark.parametrize("call,match", [
    (lambda: A.leaky_relu(X, True), "negative_slope must be a real number, got True"),
    (lambda: A.leaky_relu(X, math.nan), "negative_slope must be a real number"),
    (lambda: A.gelu_grad(X, None), "approximate must be one of 'none', 'tanh', got None"),
    (lambda: A.softmax(X, dim=1.0), r"dim must be an integer in \[-2, 1\], got 1.0"),
    (lambda: A.log_softmax(X, dim=True), "dim must be an integer"),
    (lambda: A.softmax(X, temperature="2"), r"temperature must be a real number > 0.0, got '2'"),
    (lambda: A.softmax(X, temperature=math.inf), "temperature must be a real number"),
    (lambda: A.softmax(X, temperature=math.nan), "temperature"),
    (lambda: A.softplus(torch.tensor([1, 2])), "x must be a floating-point tensor"),
    (lambda: A.softmax_backward(X, [1.0]), "grad_output must be a tensor"),
    (lambda: A.Activation("leaky_relu", negative_slope="0.1"), "negative_slope"),
])
def test_activation_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_activation_numpy_scalars():
    x = torch.tensor([-2.0, 3.0])
    assert torch.equal(A.leaky_relu(x, np.float32(0.5)), torch.tensor([-1.0, 3.0]))
    torch.testing.assert_close(A.softmax(x, dim=np.int64(0), temperature=np.float64(2.0)),
                               torch.softmax(x / 2, dim=0))


@pytest.mark.parametrize("call,match", [
    (lambda: init.fan_in_fan_out((4, 3.0)), r"shape\[1\] must be an integer >= 0, got 3.0"),
    (lambda: init.fan_in_fan_out((4, -3)), r"shape\[1\] must be an integer >= 0"),
    (lambda: init.gain("leaky_relu", "x"), r"param \(the negative slope of leaky_relu\) must be a real number"),
    (lambda: init.gain("leaky_relu", math.inf), "param"),
    (lambda: init.gain("swish"), "nonlinearity must be one of 'linear'"),
    (lambda: init.gain(None), "nonlinearity must be one of"),
    (lambda: init.kaiming_std((4, 3), mode="fan_avg"), "mode must be one of 'fan_in', 'fan_out'"),
    (lambda: init.xavier_std((4, 3), gain=-1.0), r"gain must be a real number >= 0.0, got -1.0"),
    (lambda: init.xavier_std((4, 3), gain="1"), "gain"),
    (lambda: init.uniform_bound(-1.0), "std must be a real number >= 0.0"),
    (lambda: init.normal((3, 3), std=True), "std must be a real number"),
    (lambda: init.constant((3, 3), math.nan), "value must be a real number"),
    (lambda: init.init_weights(nn.Linear(2, 2), "glorot"), "method must be one of 'zeros'"),
    (lambda: init.init_weights(nn.Linear(2, 2), "zeros", bias="0"), "bias must be a real number"),
    (lambda: init.layer_statistics("he_normal", "gelu"), "activation must be one of 'relu', 'tanh', 'linear'"),
    (lambda: init.layer_statistics("he_normal", "relu", depth=0), "depth must be an integer >= 1, got 0"),
    (lambda: init.layer_statistics("he_normal", "relu", width=2.0), "width must be an integer >= 1"),
    (lambda: init.layer_statistics("he_normal", "relu", batch=True), "batch must be an integer"),
    (lambda: init.layer_statistics("he_normal", "relu", seed=0.5), "seed must be an integer"),
    (lambda: init.layer_statistics("orthogonal", "relu"), "init must be one of 'zeros'"),
])
def test_init_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_init_numpy_scalars():
    assert init.fan_in_fan_out((np.int64(4), np.int64(3), 3, 3)) == (27, 36)
    assert init.gain("leaky_relu", np.float32(0.0)) == pytest.approx(math.sqrt(2))
    assert init.uniform_bound(np.float64(1.0)) == pytest.approx(math.sqrt(3))
    assert init.constant((2,), np.float32(0.5)).tolist() == [0.5, 0.5]


@pytest.mark.parametrize("call,match", [
    (lambda: local_response_norm(IMG, n=0), r"n \(the number of neighbouring channels\) must be an integer >= 1"),
    (lambda: local_response_norm(IMG, n=2.0), "n .* must be an integer"),
    (lambda: local_response_norm(IMG, alpha="1e-4"), "alpha must be a real number"),
    (lambda: local_response_norm(IMG, beta=math.nan), "beta must be a real number"),
    (lambda: local_response_norm(IMG, k=math.inf), "k must be a real number"),
    (lambda: local_response_norm(IMG, k=0, alpha=0), "cannot both be <= 0"),
    (lambda: local_response_norm([[1.0]]), r"a must be a tensor of shape \(N, C, H, W\)"),
    (lambda: LocalResponseNorm(n=-1), "n .* must be an integer >= 1"),
    (lambda: normalization.batch_norm(IMG, training="no"), "training must be True or False, got 'no'"),
    (lambda: normalization.batch_norm(IMG, momentum=1.5), r"momentum must be a real number in \[0.0, 1.0\]"),
    (lambda: normalization.batch_norm(IMG, eps=0), "eps must be a real number > 0.0"),
    (lambda: normalization.batch_norm(IMG, eps="1e-5"), "eps"),
    (lambda: normalization.update_running(torch.zeros(3), torch.ones(3), momentum=True), "momentum"),
    (lambda: normalization.torch_momentum_from_decay(math.nan), "decay must be a real number"),
    (lambda: normalization.group_norm(IMG, 2.0), "groups must be an integer >= 1, got 2.0"),
    (lambda: normalization.layer_norm(IMG, gamma=[1.0]), "gamma must be a tensor"),
    (lambda: normalization.normalize(IMG, (1,), eps=-1.0), "eps"),
    (lambda: quantize_unsigned(X, 8, 0), r"max_value must be a real number > 0.0, got 0.0"),
    (lambda: quantize_unsigned(X, 8, math.inf), "max_value"),
    (lambda: quantize_unsigned(X, 8.0, 6), "bits must be an integer >= 1"),
    (lambda: make_divisible(True), "value must be a real number"),
    (lambda: make_divisible(32, 0), "divisor must be an integer >= 1"),
])
def test_normalisation_and_friends_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_batch_norm_inference_flag_and_numpy_scalars():
    running_mean, running_var = torch.zeros(4), torch.ones(4)
    y = normalization.batch_norm(IMG, running_mean=running_mean, running_var=running_var,
                                 training=np.bool_(False), eps=np.float32(1e-5))
    torch.testing.assert_close(y, IMG / math.sqrt(1 + 1e-5), rtol=1e-6, atol=1e-6)
    assert torch.equal(running_mean, torch.zeros(4))                        # inference: not updated
    assert quantize_unsigned(torch.tensor([0.5]), np.int64(1), np.float64(1.0)).item() == 0.0
    assert make_divisible(np.float32(30.0), np.int64(8)) == 32


W = torch.randn(4, 2, 3, 3)


@pytest.mark.parametrize("call,match", [
    (lambda: grouped_conv2d(IMG, W, groups=2, stride=1.5), "stride must be an integer or a pair"),
    (lambda: grouped_conv2d(IMG, W, groups=2, stride=(1, 0)), r"stride\[1\] must be an integer >= 1, got 0"),
    (lambda: grouped_conv2d(IMG, W, groups=2, padding=-1), "padding must be an integer >= 0"),
    (lambda: grouped_conv2d(IMG, W, groups=2, padding=(0.5, 1)), r"padding\[0\]"),
    (lambda: grouped_conv2d(IMG, W, groups=2, dilation=0), "dilation must be an integer >= 1"),
    (lambda: grouped_conv2d(IMG, W, groups=True), "groups must be an integer"),
    (lambda: block_diagonal_weight(W, 1.0), "groups must be an integer"),
    (lambda: channel_shuffle(IMG, "2"), "groups must be an integer"),
    (lambda: dilated_conv2d(IMG, torch.randn(2, 4, 3, 3), padding=1.5), "padding must be an integer >= 0, got 1.5"),
    (lambda: dilated_conv2d(IMG, torch.randn(2, 4, 3, 3), stride=True), "stride must be an integer"),
    (lambda: dilated_conv2d(IMG, torch.randn(2, 2, 3, 3), groups=0), "groups must be an integer >= 1"),
    (lambda: footprint_1d([3, 3.0], [1, 2]), "kernel must be an integer >= 1, got 3.0"),
    (lambda: hdc_ok([1, 2, 3], kernel=2.5), "kernel must be an integer"),
    (lambda: depthwise_conv2d(IMG, torch.randn(4, 1, 3, 3), padding=0.5), "padding must be an integer >= 0"),
    (lambda: depthwise_conv2d(IMG, torch.randn(4, 1, 3, 3), stride=0), "stride must be an integer >= 1"),
    (lambda: separable_ratio(64, (3, 0)), r"kernel_size\[1\] must be an integer >= 1"),
    (lambda: separable_ratio(0, 3), "out_channels must be an integer >= 1"),
    (lambda: nearest_separable(W, 1.0), r"depth_multiplier .* must be an integer in \[1, 4\], got 1.0"),
    (lambda: separate_kernel(torch.ones(3, 3), rtol=-1.0), "rtol must be a real number >= 0.0"),
])
def test_conv_variant_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_grouped_conv_accepts_pairs_and_numpy():
    y = grouped_conv2d(IMG, W, groups=np.int64(2), stride=(np.int64(2), 1), padding=(1, 0))
    torch.testing.assert_close(y, torch.nn.functional.conv2d(IMG, W, groups=2, stride=(2, 1), padding=(1, 0)))
    assert separable_ratio(np.int64(4), (3, np.int64(3))) == pytest.approx(1 / 4 + 1 / 9)
