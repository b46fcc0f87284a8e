import random

import pytest
import torch
from torch import nn

from cvlib.analysis.receptive_field import RFLayer, rf_bottom_up, rf_top_down, rf_window


def vgg16_chain() -> list[RFLayer]:
    layers = []
    for block, n in enumerate([2, 2, 3, 3, 3], start=1):
        layers += [RFLayer(f"conv{block}_{i}", 3, 1, 1) for i in range(1, n + 1)]
        layers.append(RFLayer(f"pool{block}", 2, 2, 0))
    return layers


def test_vgg16_conv5_3_is_196_both_ways():
    chain = vgg16_chain()[:-1]  # up to conv5_3
    top = rf_top_down(chain)
    assert top[0] == 3 and top[1] == 5 and top[3] == 14  # the notes' conv5_3, conv5_2, maxpool4 lines
    assert top[-1] == 196
    assert rf_bottom_up(chain)[-1].size == 196


@pytest.mark.parametrize("seed", range(20))
def test_the_two_recurrences_agree(seed):
    rng = random.Random(seed)
    chain = [RFLayer(f"l{i}", rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2))
             for i in range(rng.randint(1, 8))]
    assert rf_top_down(chain)[-1] == rf_bottom_up(chain)[-1].size


def test_receptive_field_by_gradient():
    # The input pixels that influence one output pixel, found with autograd, span exactly the window.
    torch.manual_seed(0)
    specs = [(3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 2, 2), (2, 2, 0, 1)]
    net = nn.Sequential(*[nn.Conv2d(1, 1, k, s, p, d) for k, s, p, d in specs])
    with torch.no_grad():
        for m in net:
            m.weight.fill_(1.0)
    x = torch.ones(1, 1, 64, 64, requires_grad=True)
    y = net(x)
    i = 5
    y[0, 0, i, i].backward()
    rows = torch.nonzero(x.grad[0, 0].sum(1)).flatten()
    state = rf_bottom_up([RFLayer("x", *s) for s in specs])[-1]
    first, centre, last = rf_window(state, i)
    assert (rows.min().item(), rows.max().item()) == (first, last)
    assert last - first + 1 == state.size


def test_bad_layers():
    with pytest.raises(ValueError, match="stride"):
        RFLayer("bad", 3, 0)
    with pytest.raises(ValueError, match="kernel"):
        RFLayer("bad", 0, 1)
    with pytest.raises(ValueError, match="at least one layer"):
        rf_top_down([])
    with pytest.raises(ValueError, match="index"):
        rf_window(rf_bottom_up([RFLayer("a", 3)])[-1], -1)


def test_registered_custom_window_layers_count_in_the_profile():
    import cvlib
    from cvlib.models import build

    prof = cvlib.profile(build("lenet5"), 32, channels=1)
    # C5's 5×5 window on S4's 5×5 map sees the whole 32×32 input (LeNet-5's design).
    assert [prof[n].rf[0] for n in ("c1", "s2", "c3", "s4", "c5")] == [5, 6, 14, 16, 32]
