import pytest
import torch
from torch import nn

from cvlib.nn.normalization import (batch_norm, fold_batchnorm, group_norm, instance_norm, layer_norm,
                                 torch_momentum_from_decay, update_running)

TOL = dict(rtol=0, atol=1e-6)


def sample(shape=(8, 6, 5, 4), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 1.5


def affine(c, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(c, generator=g, dtype=torch.float64) + 0.5,
            torch.randn(c, generator=g, dtype=torch.float64))


def randomize_affine(module, seed=2):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        module.weight.copy_(torch.rand(module.weight.shape, generator=g, dtype=torch.float64) + 0.5)
        module.bias.copy_(torch.randn(module.bias.shape, generator=g, dtype=torch.float64))


def test_batch_norm_matches_torch_train_eval_and_running_stats():
    c = 6
    bn = nn.BatchNorm2d(c, momentum=0.1).double().train()
    randomize_affine(bn)
    mean, var = torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64)
    for step in range(5):
        x = sample(seed=10 + step)
        ref = bn(x)
        ours = batch_norm(x, bn.weight, bn.bias, running_mean=mean, running_var=var, training=True)
        torch.testing.assert_close(ours, ref, **TOL)
        torch.testing.assert_close(mean, bn.running_mean, **TOL)
        torch.testing.assert_close(var, bn.running_var, **TOL)
    bn.eval()
    x = sample(seed=99)
    torch.testing.assert_close(batch_norm(x, bn.weight, bn.bias, running_mean=mean, running_var=var,
                                          training=False), bn(x), **TOL)


def test_running_var_is_unbiased_and_normalisation_is_biased():
    x = sample((2, 3, 2, 2), seed=3)  # n = 8 values per channel: the n/(n-1) factor is large
    mean, var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    y = batch_norm(x, running_mean=mean, running_var=var, momentum=1.0)
    torch.testing.assert_close(mean, x.mean(dim=(0, 2, 3)), **TOL)
    torch.testing.assert_close(var, x.var(dim=(0, 2, 3), unbiased=True), **TOL)
    # the normalised output has unit *biased* variance (up to eps)
    torch.testing.assert_close(y.var(dim=(0, 2, 3), unbiased=False),
                               torch.ones(3, dtype=torch.float64), rtol=0, atol=1e-3)


def test_momentum_conventions():
    r = torch.tensor([2.0], dtype=torch.float64)
    update_running(r, torch.tensor([12.0], dtype=torch.float64), 0.1)
    assert r.item() == pytest.approx(0.9 * 2 + 0.1 * 12)
    assert torch_momentum_from_decay(0.99) == pytest.approx(0.01)
    assert torch_momentum_from_decay(0.9) == pytest.approx(0.1)


def test_layer_norm_matches_torch():
    x = sample()
    ln = nn.LayerNorm(list(x.shape[1:])).double()
    randomize_affine(ln)
    torch.testing.assert_close(layer_norm(x, ln.weight, ln.bias), ln(x), **TOL)


def test_instance_norm_matches_torch():
    x = sample()
    inn = nn.InstanceNorm2d(x.shape[1], affine=True).double()
    randomize_affine(inn)
    torch.testing.assert_close(instance_norm(x, inn.weight, inn.bias), inn(x), **TOL)
    torch.testing.assert_close(instance_norm(x), nn.InstanceNorm2d(x.shape[1]).double()(x), **TOL)


@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm_matches_torch(groups):
    x = sample()
    gn = nn.GroupNorm(groups, x.shape[1]).double()
    randomize_affine(gn)
    torch.testing.assert_close(group_norm(x, groups, gn.weight, gn.bias), gn(x), **TOL)


def test_group_norm_extremes_are_layer_and_instance_norm():
    x = sample()
    c = x.shape[1]
    torch.testing.assert_close(group_norm(x, 1), layer_norm(x), **TOL)
    torch.testing.assert_close(group_norm(x, c), instance_norm(x), **TOL)
    torch.testing.assert_close(group_norm(x, 1), nn.LayerNorm(list(x.shape[1:]),
                                                              elementwise_affine=False).double()(x), **TOL)


@pytest.mark.parametrize("bias,groups", [(True, 1), (False, 1), (True, 2)])
def test_fold_batchnorm_equals_conv_then_bn_in_eval(bias, groups):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=bias, groups=groups).double()
    bn = nn.BatchNorm2d(6).double()
    randomize_affine(bn)
    net = nn.Sequential(conv, bn).train()
    with torch.no_grad():
        for seed in range(3):  # give the running statistics non-trivial values
            net(sample((8, 4, 9, 9), seed=seed))
    net.eval()
    folded = fold_batchnorm(conv, bn)
    x = sample((2, 4, 9, 9), seed=7)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), net(x), rtol=0, atol=1e-10)
    assert folded.bias is not None and folded.stride == conv.stride and folded.groups == groups


def test_bad_inputs():
    x = sample()
    with pytest.raises(ValueError, match="divide"):
        group_norm(x, 4)
    with pytest.raises(ValueError, match="groups"):
        group_norm(x, 0)
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(N, C, H, W\)"):
        batch_norm(x[0])
    with pytest.raises(ValueError, match="momentum"):
        batch_norm(x, momentum=1.5)
    with pytest.raises(ValueError, match="eps"):
        layer_norm(x, eps=0)
    with pytest.raises(ValueError, match="running_mean"):
        batch_norm(x, training=False)
    with pytest.raises(ValueError, match="more than one"):
        batch_norm(x[:1, :, :1, :1])
    with pytest.raises(ValueError, match="gamma"):
        instance_norm(x, gamma=torch.ones(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="num_features"):
        fold_batchnorm(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(5))
    with pytest.raises(ValueError, match="running"):
        fold_batchnorm(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False))
    with pytest.raises(ValueError, match="Conv2d"):
        fold_batchnorm(nn.Linear(3, 4), nn.BatchNorm2d(4))
