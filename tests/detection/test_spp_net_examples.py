"""The SPP-Net page's claims, checked independently of the notebook.

- the centre of a feature cell's receptive field, measured by back-propagation, is where
  ``cvlib.profile`` puts it (``start + S·x'``), and it is ``S·x'`` with ``floor(p/2)`` padding only when
  every kernel is odd (He et al. 2015, Appendix);
- the notes' corner rules ``floor(x/S) + 1`` and ``ceil(x/S) - 1`` keep exactly the cells centred
  inside a box;
- SPP's ``window = ceil(a/n), stride = floor(a/n)`` fails exactly when ``a < n`` or ``a mod n > a // n``;
- ZF-5's conv5 is 13×13 for a 224 input and 10×10 for 180 (He et al. 2015, §2.3);
- Python rounds halves to even, C (and ``round_half_away``) away from zero.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cvlib
from cvlib import models
from cvlib.detection import spp, spp_window
from cvlib.detection.roi_pool import round_half_away


def _k(m: nn.Module) -> int:
    return m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]


def _s(m: nn.Module) -> int:
    s = m.stride if m.stride is not None else m.kernel_size
    return s if isinstance(s, int) else s[0]


def _p(m: nn.Module) -> int:
    return m.padding if isinstance(m.padding, int) else m.padding[0]


def thin_trunk(trunk: nn.Module, half_pad: bool) -> nn.Sequential:
    """The same sliding windows as ``trunk`` with one channel: convolutions of ones, average pooling.

    Average pooling has the geometry of max pooling but sends gradient to every pixel of its window, so
    with positive weights and input the gradient of one output is non-zero exactly on its receptive field.
    """
    layers = []
    for m in trunk.modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d)):
            k, s = _k(m), _s(m)
            p = k // 2 if half_pad else _p(m)
            if isinstance(m, nn.Conv2d):
                conv = nn.Conv2d(1, 1, k, s, p, bias=False)
                nn.init.ones_(conv.weight)
                layers.append(conv)
            else:
                layers.append(nn.AvgPool2d(k, s, p))
    return nn.Sequential(*layers)


def measured_centre(trunk: nn.Module, size: int, index: int) -> tuple[float, int, int]:
    """Centre, first and last input row that influence output cell (index, index), by autograd."""
    x = torch.ones(1, 1, size, size, requires_grad=True)
    y = trunk(x)
    y[0, 0, index, index].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    first, last = rows.min().item(), rows.max().item()
    return (first + last) / 2, first, last


def _trunk(name: str, until: str) -> nn.Module:
    with torch.device("meta"):
        features = models.build(name).features
    names = list(dict(features.named_children()))
    return features[: names.index(until) + 1]


# ZF-5 (He et al. 2015, Table 1), paddings of the authors' released model definition.
ZF5 = nn.Sequential(nn.Conv2d(1, 1, 7, 2, 1), nn.MaxPool2d(3, 2), nn.Conv2d(1, 1, 5, 2, 0), nn.MaxPool2d(3, 2),
                    nn.Conv2d(1, 1, 3, 1, 1), nn.Conv2d(1, 1, 3, 1, 1), nn.Conv2d(1, 1, 3, 1, 1))


@pytest.mark.parametrize("trunk,size,half_pad,offset", [
    (_trunk("alexnet", "conv5"), 227, False, 17.0),
    (_trunk("alexnet", "conv5"), 227, True, 0.0),      # odd kernels, floor(p/2): centre at S·x'
    (_trunk("vgg16", "conv5_3"), 224, False, 7.5),
    (_trunk("vgg16", "conv5_3"), 224, True, -7.5),     # 2×2 poolings cannot be centred
    (ZF5, 224, False, 20.0),
    (ZF5, 224, True, 0.0),
])
def test_rf_centre_by_backprop_matches_profile(trunk, size, half_pad, offset):
    thin = thin_trunk(trunk, half_pad)
    last = cvlib.profile(thin, size, channels=1).rows[-1]
    assert last.jump == (16, 16)
    assert last.start == (offset, offset)
    half = (last.rf[0] - 1) / 2
    side = last.output_shape[-1]
    # a cell whose whole field lies inside the image, so the gradient shows all of it
    index = next(i for i in range(side) if offset + 16 * i - half >= 0 and offset + 16 * i + half <= size - 1)
    centre, first, lastrow = measured_centre(thin, size, index)
    assert lastrow - first + 1 == last.rf[0]
    assert centre == offset + 16 * index


@pytest.mark.parametrize("S", [4, 8, 16, 32])
def test_notes_corner_rules_keep_cells_centred_inside(S):
    for x in range(0, 20 * S):
        left, right = math.floor(x / S) + 1, math.ceil(x / S) - 1
        assert left == min(k for k in range(0, 30) if S * k > x)
        assert right == max(k for k in range(-1, 30) if S * k < x)
    # a box [16, 32] on S = 16 has its two candidate centres on its edges: no cell survives
    if S == 16:
        assert math.ceil(32 / 16) - 1 < math.floor(16 / 16) + 1


def test_spp_rule_fails_exactly_when_remainder_exceeds_quotient():
    for n in range(1, 9):
        for a in range(1, 81):
            window, stride = math.ceil(a / n), a // n
            count = F.max_pool2d(torch.zeros(1, 1, a, a), window, stride).shape[-1] if stride else 0
            closed_form_fails = a < n or a % n > a // n
            assert (count != n) == closed_form_fails, (a, n, count)
            if a >= n * (n - 1) and a >= n:
                assert count == n
            if closed_form_fails:
                with pytest.raises(ValueError):
                    spp_window(a, n)
            else:
                assert spp_window(a, n) == (window, stride)


def test_spp_adaptive_handles_every_size_the_rule_refuses():
    # the notes' pyramid on maps the rule cannot tile (a = 6, 7, 11 for the 4×4 level, a < 4)
    for a in (2, 3, 6, 7, 11):
        x = torch.randn(1, 3, a, a, generator=torch.Generator().manual_seed(a))
        out = spp(x, (4, 2, 1), mode="adaptive")
        assert out.shape == (1, 3 * 21)
        assert torch.equal(out[:, -3:], x.amax(dim=(2, 3)))   # the 1×1 level is the global max


def test_zf5_conv5_sides():
    # He et al. (2015), §2.3: conv5 is 13×13 for 224×224 and 10×10 for 180×180; Caffe pools with ceil.
    zf = nn.Sequential(*[nn.MaxPool2d(m.kernel_size, m.stride, ceil_mode=True) if isinstance(m, nn.MaxPool2d)
                         else m for m in ZF5])
    with torch.no_grad():
        assert zf(torch.zeros(1, 1, 224, 224)).shape[-1] == 13
        assert zf(torch.zeros(1, 1, 180, 180)).shape[-1] == 10


def test_python_round_is_bankers_c_round_is_half_away():
    assert [round(v) for v in (0.5, 1.5, 2.5, 3.5)] == [0, 2, 2, 4]
    values = [k / 4 for k in range(-16, 17)]
    c_style = round_half_away(torch.tensor(values, dtype=torch.float64)).tolist()
    reference = [float(Decimal(str(v)).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for v in values]
    assert c_style == reference


@pytest.mark.parametrize("a,n,match", [(0, 4, r"a \(the map size\) must be an integer >= 1"),
                                       (4, 0, r"n \(the bins per side\) must be an integer >= 1"),
                                       (-3, 2, r"a \(the map size\)"), (4.0, 2, "a"), (4, True, "n")])
def test_spp_window_bad_sizes(a, n, match):
    with pytest.raises(ValueError, match=match):
        spp_window(a, n)
