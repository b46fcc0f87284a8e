import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvlib.analysis import counts
from cvlib.nn.conv.grouped import block_diagonal_weight, channel_jacobian, channel_shuffle, grouped_conv2d


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("c_in,c_out,groups", [(8, 8, 1), (8, 8, 2), (8, 12, 4), (6, 6, 6), (12, 24, 3),
                                               (4, 8, 4)])
@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), ((2, 1), (1, 0), (1, 2))])
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_torch_grouped_conv(c_in, c_out, groups, stride, padding, dilation, with_bias):
    g = _gen(c_in * 1000 + c_out * 10 + groups)
    x = torch.randn(2, c_in, 9, 8, generator=g, dtype=torch.float64)
    w = torch.randn(c_out, c_in // groups, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(c_out, generator=g, dtype=torch.float64) if with_bias else None
    ref = F.conv2d(x, w, b, stride, padding, dilation, groups)
    torch.testing.assert_close(grouped_conv2d(x, w, b, groups, stride, padding, dilation), ref)


def test_matches_nn_conv2d_module():
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 32, 5, stride=2, padding=2, groups=4).double()
    x = torch.randn(1, 16, 11, 11, dtype=torch.float64)
    torch.testing.assert_close(grouped_conv2d(x, conv.weight, conv.bias, groups=4, stride=2, padding=2), conv(x))


def test_depthwise_is_groups_equal_channels():
    g = _gen(1)
    x = torch.randn(1, 5, 6, 6, generator=g, dtype=torch.float64)
    w = torch.randn(5, 1, 3, 3, generator=g, dtype=torch.float64)
    y = grouped_conv2d(x, w, groups=5, padding=1)
    for c in range(5):  # each channel convolved alone with its own kernel
        torch.testing.assert_close(y[:, c:c + 1], F.conv2d(x[:, c:c + 1], w[c:c + 1], padding=1))


@pytest.mark.parametrize("c_in,c_out,groups", [(8, 8, 2), (8, 12, 4), (6, 6, 6), (12, 24, 3), (5, 7, 1)])
def test_block_diagonal_weight_gives_same_output(c_in, c_out, groups):
    g = _gen(c_in + c_out + groups)
    x = torch.randn(2, c_in, 7, 7, generator=g, dtype=torch.float64)
    w = torch.randn(c_out, c_in // groups, 3, 3, generator=g, dtype=torch.float64)
    dense = block_diagonal_weight(w, groups)
    assert dense.shape == (c_out, c_in, 3, 3)
    torch.testing.assert_close(F.conv2d(x, dense, padding=1), F.conv2d(x, w, padding=1, groups=groups))
    # exactly 1/g of the dense entries are non-zero (random weights are never exactly 0)
    assert torch.count_nonzero(dense).item() * groups == dense.numel()


def test_block_diagonal_pattern_by_hand():
    w = torch.ones(4, 1, 1, 1)
    dense = block_diagonal_weight(w, 2)[:, :, 0, 0]
    expected = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    torch.testing.assert_close(dense, expected)


@pytest.mark.parametrize("c,groups", [(8, 2), (12, 3), (12, 4), (6, 1), (6, 6), (24, 8)])
def test_channel_shuffle_matches_torch(c, groups):
    x = torch.randn(2, c, 3, 4, generator=_gen(c * groups))
    torch.testing.assert_close(channel_shuffle(x, groups), nn.ChannelShuffle(groups)(x))


def test_channel_shuffle_order_and_inverse():
    x = torch.arange(6.0).reshape(1, 6, 1, 1)
    # two groups (0 1 2 | 3 4 5) interleave, as in Figure 1 of the ShuffleNet paper
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    torch.testing.assert_close(channel_shuffle(channel_shuffle(x, 2), 3), x)


def test_channel_shuffle_any_trailing_dims():
    x = torch.randn(3, 8, generator=_gen(3))
    assert torch.equal(channel_shuffle(x, 4), x.reshape(3, 4, 2).transpose(1, 2).reshape(3, 8))


@pytest.mark.parametrize("c_in,c_out,k,groups", [(256, 256, 3, 32), (96, 256, 5, 2), (384, 384, 3, 2),
                                                  (32, 32, 3, 32), (12, 24, 1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_parameter_counts(c_in, c_out, k, groups, bias):
    conv = nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias, device="meta")
    n_torch = sum(p.numel() for p in conv.parameters())
    assert counts.conv2d_params(c_in, c_out, k, bias=bias, groups=groups) == n_torch
    dense = block_diagonal_weight(torch.empty(conv.weight.shape, device="meta"), groups)
    assert dense.shape == (c_out, c_in, k, k)
    # weights shrink by exactly g; with a bias the count is (k²·C_in/g + 1)·C_out
    assert conv.weight.numel() * groups == nn.Conv2d(c_in, c_out, k, bias=False, device="meta").weight.numel()


def test_channel_jacobian_grouped_is_block_diagonal_and_shuffle_mixes():
    torch.manual_seed(0)
    c, g = 12, 3
    first = nn.Conv2d(c, c, 3, padding=1, groups=g).double()
    second = nn.Conv2d(c, c, 3, padding=1, groups=g).double()
    x = torch.randn(1, c, 4, 4, dtype=torch.float64)
    blocks = torch.block_diag(*[torch.ones(c // g, c // g)] * g).bool()
    j_one = channel_jacobian(first, x)
    assert torch.equal(j_one > 0, blocks)
    j_two = channel_jacobian(lambda t: second(first(t)), x)
    assert torch.equal(j_two > 0, blocks)
    j_shuffled = channel_jacobian(lambda t: second(channel_shuffle(first(t), g)), x)
    assert bool((j_shuffled > 0).all())


def test_channel_jacobian_of_linear_map():
    w = torch.tensor([[2.0, 0.0], [-1.0, 3.0]])
    fn = lambda t: torch.einsum("oc,nc->no", w, t)  # noqa: E731
    torch.testing.assert_close(channel_jacobian(fn, torch.zeros(3, 2)), 3 * w.abs())


def test_bad_inputs():
    x = torch.zeros(1, 6, 5, 5)
    w = torch.zeros(6, 3, 3, 3)
    with pytest.raises(ValueError, match="groups must be an integer >= 1"):
        grouped_conv2d(x, w, groups=0)
    with pytest.raises(ValueError, match="groups must be an integer >= 1"):
        grouped_conv2d(x, w, groups=2.0)
    with pytest.raises(ValueError, match="must divide the input channels"):
        grouped_conv2d(x, torch.zeros(8, 1, 3, 3), groups=4)
    with pytest.raises(ValueError, match="must divide the output channels"):
        grouped_conv2d(x, torch.zeros(5, 2, 3, 3), groups=3)
    with pytest.raises(ValueError, match=r"weight must be \(C_out, C_in/groups"):
        grouped_conv2d(x, torch.zeros(6, 6, 3, 3), groups=2)  # dense weight with groups=2
    with pytest.raises(ValueError, match="weight must be"):
        grouped_conv2d(x, torch.zeros(6, 3, 3), groups=2)
    with pytest.raises(ValueError, match="x must be"):
        grouped_conv2d(torch.zeros(6, 5, 5), w, groups=2)
    with pytest.raises(ValueError, match="bias must have shape"):
        grouped_conv2d(x, w, torch.zeros(3), groups=2)
    with pytest.raises(ValueError, match="groups must be an integer >= 1"):
        block_diagonal_weight(w, -1)
    with pytest.raises(ValueError, match="must divide the output channels"):
        block_diagonal_weight(w, 4)
    with pytest.raises(ValueError, match="weight must be"):
        block_diagonal_weight(torch.zeros(6, 3), 2)
    with pytest.raises(ValueError, match="groups must be an integer >= 1"):
        channel_shuffle(x, 0)
    with pytest.raises(ValueError, match="must divide the channels"):
        channel_shuffle(x, 4)
    with pytest.raises(ValueError, match="x must be"):
        channel_shuffle(torch.zeros(6), 2)
    with pytest.raises(ValueError, match="x must be"):
        channel_jacobian(lambda t: t, torch.zeros(3))
