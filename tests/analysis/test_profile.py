import dataclasses
import gc
import weakref

import pytest
import torch
from torch import nn

import cvlib
from cvlib import models
from cvlib.analysis import counts, profiler
from cvlib.analysis.receptive_field import RFLayer, rf_bottom_up


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_vgg16_totals():
    m = models.build("vgg16")
    prof = cvlib.profile(m, 224)
    assert prof.total_params == 138_357_544 == n_params(m)
    assert prof.extra_params == 0
    assert abs(prof.total_macs / 1e9 - 15.47) < 0.01
    assert prof["features.conv5_3"].rf == (196, 196)
    assert prof["features.pool5"].output_shape == (512, 7, 7)


def test_totals_equal_the_formulas_by_hand():
    m = models.build("vgg16")
    prof = cvlib.profile(m, 224)
    by_hand = 0
    size, c_in = 224, 3
    for block in [[64, 64], [128, 128], [256] * 3, [512] * 3, [512] * 3]:
        for c_out in block:
            by_hand += counts.conv2d_macs(c_in, c_out, 3, size)
            c_in = c_out
        size //= 2
    by_hand += counts.linear_macs(25088, 4096) + counts.linear_macs(4096, 4096) + counts.linear_macs(4096, 1000)
    assert prof.total_macs == by_hand


class Branchy(nn.Module):
    """Two branches of different depth, concatenated, plus a shortcut."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b1 = nn.Conv2d(3, 4, 3, padding=1)
        self.b2 = nn.Conv2d(4, 4, 3, padding=1)
        self.short = nn.Conv2d(3, 8, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        y = torch.cat([self.a(x), self.b2(self.b1(x))], dim=1)
        y = y + self.short(x)
        return self.fc(torch.flatten(self.pool(y), 1))


def test_branches_take_the_widest_field():
    m = Branchy()
    prof = cvlib.profile(m, 16)
    assert prof.traced
    assert prof["a"].rf == (1, 1)
    assert prof["b2"].rf == (5, 5)
    # After the concat and the shortcut the map's field is the widest branch (5); global pooling of a
    # 16x16 map adds 15 more pixels.
    assert prof["pool"].rf == (5 + 15, 5 + 15)
    assert prof.total_params == n_params(m)


def test_grouped_dilated_and_pooling_layers():
    m = nn.Sequential(
        nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.AvgPool2d(2), nn.Dropout(0.5), nn.Conv2d(8, 16, 1),
    )
    prof = cvlib.profile(m, (8, 33, 33))
    assert prof["0"].macs == counts.conv2d_macs(8, 8, 3, 33, groups=8)
    assert prof["0"].flops == counts.conv2d_flops(8, 8, 3, 33, bias=False, groups=8)
    assert prof["1"].params == 16
    assert prof["3"].output_shape == (8, 16, 16)  # ceil mode
    chain = [RFLayer("0", 3, 1, 2, 2), RFLayer("3", 3, 2), RFLayer("4", 2, 2), RFLayer("6", 1)]
    assert prof["6"].rf[0] == rf_bottom_up(chain)[-1].size
    assert prof.total_params == n_params(m)


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3)
        self.c2 = nn.Conv2d(4, 4, 3)

    def forward(self, x):
        x = self.c1(x)
        if x.sum() > -1e9:  # data-dependent branch: torch.fx cannot trace it
            x = self.c2(x)
        return x


def test_falls_back_to_hooks():
    prof = cvlib.profile(Untraceable(), 10)
    assert not prof.traced
    assert [r.name for r in prof] == ["c1", "c2"]
    assert prof["c2"].rf == (5, 5)


def test_shared_parameters_counted_once_and_outside_params_reported():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.scale = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.conv(self.conv(x)) * self.scale

    m = Shared()
    prof = cvlib.profile(m, 8)
    assert prof.total_params == n_params(m) == 84 + 1
    assert prof.extra_params == 1


def test_text_and_html():
    prof = cvlib.profile(models.build("vgg16"), 224)
    text = str(prof)
    assert "features.conv5_3" in text and "138,357,544" in text
    assert prof._repr_html_().count("<tr>") == len(prof.rows) + 2


def test_restores_training_mode():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5))
    m.train()
    cvlib.profile(m, 32)
    assert m.training


@pytest.mark.parametrize("size", [0, (3, 0, 4), (1, 2, 3, 4)])
def test_bad_input_size(size):
    with pytest.raises(ValueError, match="input_size"):
        cvlib.profile(nn.Conv2d(3, 1, 1), size)


def test_meta_device_profiles_from_shapes_alone():
    with torch.device("meta"):
        m = models.build("vgg16")
    prof = cvlib.profile(m, 224)
    real = cvlib.profile(models.build("vgg16"), 224)
    assert (prof.total_params, prof.total_macs) == (real.total_params, real.total_macs)
    assert [r.output_shape for r in prof] == [r.output_shape for r in real]
    assert cvlib.profile(m.features, 512)["pool5"].output_shape == (512, 16, 16)


def test_a_single_layer_is_one_row():
    prof = cvlib.profile(nn.Conv2d(3, 8, 3, padding=1), 8)
    assert [r.name for r in prof] == ["conv2d"]
    assert prof.total_macs == counts.conv2d_macs(3, 8, 3, 8) and prof["conv2d"].rf == (3, 3)


# ---------------------------------------------------------------- the cache of traced graphs


def _table(prof: cvlib.Profile) -> tuple:
    return [dataclasses.astuple(r) for r in prof], prof.input_shape, prof.traced, prof.extra_params, str(prof)


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "densenet121", "googlenet", "mobilenet_v2"])
def test_a_cached_graph_gives_the_same_profile(name):
    with torch.device("meta"):
        a, b = models.build(name), models.build(name)
    profiler._PLANS.clear()
    first = cvlib.profile(a, 224)  # traced
    assert len(profiler._PLANS) == 1
    again = cvlib.profile(a, 224)  # the cached graph, the same model
    other = cvlib.profile(b, 224)  # the cached graph, another model of the same structure
    assert len(profiler._PLANS) == 1
    assert _table(first) == _table(again) == _table(other)


class Repeat(nn.Module):
    """``forward`` reads a plain attribute: the traced graph depends on it."""

    def __init__(self, times):
        super().__init__()
        self.times = times
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        for _ in range(self.times):
            x = self.conv(x)
        return self.fc(x.view(x.size(0), x.size(1), -1).mean(-1))


def test_a_changed_model_is_traced_again():
    m = Repeat(2)
    assert [r.name for r in cvlib.profile(m, 8)] == ["conv", "conv", "fc"]
    m.times = 3
    assert [r.name for r in cvlib.profile(m, 8)] == ["conv", "conv", "conv", "fc"]
    assert [r.name for r in cvlib.profile(Repeat(1), 8)] == ["conv", "fc"]
    m.fc = nn.Linear(3, 5)
    assert cvlib.profile(m, 8)["fc"].output_shape == (5,)
    m.conv = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.ReLU())
    assert [r.name for r in cvlib.profile(m, 8)][:2] == ["conv.0", "conv.1"]
    assert cvlib.profile(m, 8)["fc"].rf == (1 + 3 * 2 + 7, 1 + 3 * 2 + 7)  # three 3×3 convs, then the mean


def test_hooks_and_tensor_attributes_are_honoured_on_every_call():
    class Hooked(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
            self.head = nn.Conv2d(4, 4, 3)
            self.mean = torch.full((1,), 0.5)  # a tensor attribute, read by forward

        def forward(self, x):
            return self.head(self.body(x - self.mean))

    m = Hooked()
    assert cvlib.profile(m, 16)["head"].input_shape == (4, 14, 14)
    handle = m.body.register_forward_hook(lambda module, args, out: torch.nn.functional.max_pool2d(out, 2))
    for _ in range(2):
        assert cvlib.profile(m, 16)["head"].input_shape == (4, 7, 7)
    handle.remove()
    assert cvlib.profile(m, 16)["head"].input_shape == (4, 14, 14)


def test_the_cache_keeps_no_model_alive():
    m = models.build("resnet18")
    cvlib.profile(m, 64)
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_lazy_layers_are_counted_once_they_exist():
    m = nn.Sequential(nn.LazyConv2d(4, 3), nn.Flatten(), nn.LazyLinear(2))
    prof = cvlib.profile(m, 6)
    assert prof.total_params == n_params(m) == (3 * 9 + 1) * 4 + (4 * 16 + 1) * 2
    assert prof.extra_params == 0
