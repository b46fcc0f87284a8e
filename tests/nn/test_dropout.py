import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvlib.nn.dropout import (Dropout, bernoulli_mask, check_drop_probability, inference_scale, inverted_dropout,
                           mc_dropout_probs, scale_weights_for_test, vanilla_dropout)

PS = [0.1, 0.4, 0.5, 0.9]


def positive_input(shape=(64, 128), seed=0):
    """Strictly positive values, so that a zero in the output can only come from the mask."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=torch.float64) + 0.5


@pytest.mark.parametrize("p", PS)
def test_inverted_equals_torch_train_mode_with_torchs_mask(p):
    x = positive_input()
    torch.manual_seed(1)
    ref = nn.Dropout(p).train()(x)
    mask = (ref != 0).to(x.dtype)  # the mask torch drew, read off its output
    torch.testing.assert_close(inverted_dropout(x, p, mask=mask), ref)
    # and torch's kept values are exactly x / (1 - p): nothing else happens to them
    torch.testing.assert_close(ref[mask.bool()], x[mask.bool()] / (1 - p))


@pytest.mark.parametrize("p", PS)
def test_gradients_equal_torchs_with_the_same_mask(p):
    x = positive_input((8, 32)).requires_grad_()
    torch.manual_seed(2)
    ref = F.dropout(x, p, training=True)
    (ref * torch.arange(32.0, dtype=x.dtype)).sum().backward()
    g_ref = x.grad.clone()
    x.grad = None
    ours = inverted_dropout(x, p, mask=(ref != 0).to(x.dtype).detach())
    (ours * torch.arange(32.0, dtype=x.dtype)).sum().backward()
    torch.testing.assert_close(x.grad, g_ref)
    assert bool((x.grad[ref == 0] == 0).all())  # a dropped unit gets no gradient


@pytest.mark.parametrize("p", PS)
def test_drop_fraction_matches_torch_statistically(p):
    # Different random streams cannot be compared element by element: compare the drop rates, each
    # against p, within 5 binomial standard deviations sqrt(p(1-p)/n).
    n = 200_000
    x = torch.ones(n)
    torch.manual_seed(3)
    torch_rate = (F.dropout(x, p, training=True) == 0).double().mean().item()
    ours_rate = (inverted_dropout(x, p, generator=torch.Generator().manual_seed(3)) == 0).double().mean().item()
    tol = 5 * math.sqrt(p * (1 - p) / n)
    assert abs(torch_rate - p) < tol
    assert abs(ours_rate - p) < tol


@pytest.mark.parametrize("p", PS)
def test_eval_mode(p):
    x = positive_input()
    assert torch.equal(nn.Dropout(p).eval()(x), x)
    assert torch.equal(Dropout(p).eval()(x), x)
    assert torch.equal(inverted_dropout(x, p, training=False), x)
    torch.testing.assert_close(Dropout(p, inverted=False).eval()(x), x * (1 - p))
    assert inference_scale(p, inverted=True) == 1.0
    assert inference_scale(p, inverted=False) == pytest.approx(1 - p)


def test_vanilla_is_inverted_times_keep_probability():
    x = positive_input()
    mask = bernoulli_mask(x.shape, 0.3, torch.Generator().manual_seed(4), dtype=x.dtype)
    v = vanilla_dropout(x, 0.3, mask=mask)
    assert torch.equal(v, x * mask)  # no scaling while training
    torch.testing.assert_close(inverted_dropout(x, 0.3, mask=mask) * 0.7, v)


def test_generator_makes_it_reproducible():
    x = positive_input()
    a = inverted_dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    b = inverted_dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    c = inverted_dropout(x, 0.5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    layer = Dropout(0.5, generator=torch.Generator().manual_seed(7)).train()
    assert torch.equal(layer(x), a)


def test_p_zero_keeps_everything():
    x = positive_input()
    assert torch.equal(inverted_dropout(x, 0.0, generator=torch.Generator().manual_seed(0)), x)
    assert torch.equal(vanilla_dropout(x, 0.0, generator=torch.Generator().manual_seed(0)), x)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("inverted", [True, False])
def test_monte_carlo_mean_is_the_test_time_output(p, inverted):
    # E[training output] = test-time output. The mean of n masks of r·y·c (c = 1/(1-p) or 1) has standard
    # deviation |y|·c·sqrt(p(1-p)/n); allow 5 of them (fixed seed, 50 elements).
    n = 4000
    y = torch.linspace(-2.0, 3.0, 50, dtype=torch.float64)
    g = torch.Generator().manual_seed(11)
    fn = inverted_dropout if inverted else vanilla_dropout
    samples = torch.stack([fn(y, p, generator=g) for _ in range(n)])
    expected = fn(y, p, training=False)
    c = 1 / (1 - p) if inverted else 1.0
    sigma = y.abs() * c * math.sqrt(p * (1 - p) / n)
    assert bool(((samples.mean(0) - expected).abs() <= 5 * sigma + 1e-12).all())


def test_weight_scaling_equals_activation_scaling():
    torch.manual_seed(5)
    fc = nn.Linear(20, 7).double()
    y = torch.randn(3, 20, dtype=torch.float64)
    torch.testing.assert_close(scale_weights_for_test(fc, 0.4)(y), fc(vanilla_dropout(y, 0.4, training=False)))
    torch.testing.assert_close(scale_weights_for_test(fc, 0.4).bias, fc.bias)


def test_mc_dropout_probs():
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), Dropout(0.5, generator=torch.Generator().manual_seed(0)),
                          nn.Linear(16, 3))
    x = torch.randn(4, 5)
    probs = mc_dropout_probs(model, x, 10)
    assert probs.shape == (10, 4, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(10, 4))
    assert not torch.equal(probs[0], probs[1])  # different masks, different sub-networks
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), True, "0.5", None])
def test_bad_probability(p):
    with pytest.raises(ValueError, match="drop probability"):
        check_drop_probability(p)
    with pytest.raises(ValueError, match="drop probability"):
        inverted_dropout(torch.ones(3), p)
    with pytest.raises(ValueError, match="drop probability"):
        Dropout(p)


def test_bad_arguments():
    x = torch.ones(2, 3)
    with pytest.raises(ValueError, match="shape of the input"):
        inverted_dropout(x, 0.5, mask=torch.ones(3, 2))
    with pytest.raises(ValueError, match="only 0"):
        vanilla_dropout(x, 0.5, mask=torch.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="not both"):
        inverted_dropout(x, 0.5, generator=torch.Generator(), mask=torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"shape\[1\] must be an integer >= 0, got -1"):
        bernoulli_mask((2, -1), 0.5)
    with pytest.raises(ValueError, match="inverted"):
        Dropout(0.5, inverted="yes")
    with pytest.raises(ValueError, match="inverted"):
        inference_scale(0.5, inverted=1)
    with pytest.raises(ValueError, match="nn.Linear"):
        scale_weights_for_test(nn.Conv2d(1, 1, 1), 0.5)
    with pytest.raises(ValueError, match="n_samples"):
        mc_dropout_probs(nn.Sequential(Dropout(0.5)), x, 0)
    with pytest.raises(ValueError, match="no dropout layer"):
        mc_dropout_probs(nn.Linear(3, 2), x, 3)


def test_vanilla_network_is_inverted_network_with_scaled_weights():
    # W' = (1 - p)·W on the layer reading the dropout output: same outputs in training (same mask) and test.
    torch.manual_seed(9)
    p = 0.3
    fc = nn.Linear(12, 5).double()
    y = torch.randn(6, 12, dtype=torch.float64)
    mask = bernoulli_mask(y.shape, p, torch.Generator().manual_seed(10), dtype=y.dtype)
    fc_inv = scale_weights_for_test(fc, p)
    torch.testing.assert_close(fc(vanilla_dropout(y, p, mask=mask)), fc_inv(inverted_dropout(y, p, mask=mask)))
    torch.testing.assert_close(fc(vanilla_dropout(y, p, training=False)), fc_inv(inverted_dropout(y, p, training=False)))
