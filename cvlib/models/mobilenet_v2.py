"""MobileNet V2 (Sandler et al., 2018): inverted residual blocks with linear bottlenecks.

**The block** (the paper's Table 1), from ``k`` to ``k'`` channels with stride ``s`` and expansion
factor ``t``::

    h×w×k     → 1×1 conv (expansion)       + BN + ReLU6  → h×w×tk
    h×w×tk    → 3×3 depthwise conv, stride s + BN + ReLU6 → h/s×w/s×tk
    h/s×w/s×tk → 1×1 conv (projection)      + BN          → h/s×w/s×k'      (linear: no activation)

and ``y = x + F(x)`` when the block keeps the shape of its input, i.e. when ``s = 1`` **and** ``k = k'``;
otherwise ``y = F(x)``. The shortcut joins the narrow ends (the "bottlenecks"), the reverse of a ResNet
bottleneck, whose shortcut joins the wide ends around a narrow middle: hence "inverted residual".
Multiply-adds of a block (paper, §3.3): ``h·w·k·t·(k + 3²) + (h/s)·(w/s)·k·t·k'`` — which for ``s = 1``
is the paper's ``h·w·k·t·(k + 3² + k')``.

With ``t = 1`` the expansion would be a ``k → k`` 1×1 convolution; as in the reference TensorFlow
implementation and torchvision, the block then has no expansion layer (its depthwise convolution works on
the input directly). The paper uses ``t = 1`` only in the first bottleneck.

**The network** is the paper's Table 2 (:data:`MOBILENET_V2_CONFIG`, one ``(t, c, n, s)`` row per
sequence of ``n`` blocks; only the first block of a sequence has stride ``s``): a 3×3/2 convolution with
32 filters, 17 bottleneck blocks, a 1×1 convolution to 1280 channels, global average pooling (the
paper's "avgpool 7x7" at 224×224) and a 1000-way classifier (the paper's last "conv2d 1x1, k", which on a
1×1 map is a fully connected layer). Every convolution has BatchNorm and no bias.

Layers are named after Table 2: ``features.conv1``, the sequences ``features.bottleneck1`` …
``bottleneck7`` (blocks ``0, 1, …``; inside a block ``expand``, ``bn1``, ``relu1``, ``depthwise``, ``bn2``,
``relu2``, ``project``, ``bn3``), ``features.conv2``, ``avgpool``, ``classifier.fc``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn

from cvlib._validate import check_int, check_positive_int, check_probability, check_real
from cvlib.models.registry import register_model
from cvlib.nn.blocks import make_divisible

# make_divisible is public but not listed: cvlib.models re-exports every __all__ into one namespace, and
# the name is generic. Import it from cvlib.models.mobilenet_v2.
__all__ = ["MobileNetV2Row", "MOBILENET_V2_CONFIG", "STEM_CHANNELS", "LAST_CHANNELS", "InvertedResidual", "MobileNetV2", "mobilenet_v2"]


class MobileNetV2Row(NamedTuple):
    """One row of the paper's Table 2: expansion factor ``t``, output channels ``c``, repeats ``n``,
    stride ``s`` of the first block."""

    t: float
    c: int
    n: int
    s: int


# Sandler et al. (2018), Table 2 (the bottleneck rows), width multiplier 1.0.
MOBILENET_V2_CONFIG: list[MobileNetV2Row] = [
    MobileNetV2Row(1, 16, 1, 1),
    MobileNetV2Row(6, 24, 2, 2),
    MobileNetV2Row(6, 32, 3, 2),
    MobileNetV2Row(6, 64, 4, 2),
    MobileNetV2Row(6, 96, 3, 1),
    MobileNetV2Row(6, 160, 3, 2),
    MobileNetV2Row(6, 320, 1, 1),
]
STEM_CHANNELS = 32  # Table 2, first conv2d
LAST_CHANNELS = 1280  # Table 2, conv2d 1x1 before the pooling


class InvertedResidual(nn.Module):
    """An inverted residual block with a linear bottleneck (the paper's Table 1 and Figure 3b).

    ``in_channels`` → ``round(t · in_channels)`` (1×1, BN, ReLU6) → depthwise 3×3 with ``stride`` (BN,
    ReLU6) → ``out_channels`` (1×1, BN, no activation). For ``t = 1`` the expansion layer is left out.
    The input is added to the output when ``stride == 1`` and ``in_channels == out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 expand_ratio: float = 6) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        out_channels = check_positive_int("out_channels", out_channels)
        stride = check_int("stride", stride, 1, 2)
        expand_ratio = check_real("expand_ratio", expand_ratio, 0, low_open=True)
        hidden = int(round(in_channels * expand_ratio))
        if hidden < 1:
            raise ValueError(f"expand_ratio={expand_ratio} leaves no channel inside the block "
                             f"(round({in_channels} · {expand_ratio}) = {hidden}); it must give at least 1")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.expand_ratio, self.hidden_channels = stride, expand_ratio, hidden
        self.use_shortcut = stride == 1 and in_channels == out_channels
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        if expand_ratio != 1:
            layers["expand"] = nn.Conv2d(in_channels, hidden, 1, bias=False)
            layers["bn1"] = nn.BatchNorm2d(hidden)
            layers["relu1"] = nn.ReLU6(inplace=True)
        layers["depthwise"] = nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden,
                                        bias=False)
        layers["bn2"] = nn.BatchNorm2d(hidden)
        layers["relu2"] = nn.ReLU6(inplace=True)
        layers["project"] = nn.Conv2d(hidden, out_channels, 1, bias=False)
        layers["bn3"] = nn.BatchNorm2d(out_channels)  # linear bottleneck: no activation after it
        for name, layer in layers.items():
            self.add_module(name, layer)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """``F(x)``: the three layers without the shortcut."""
        for layer in self.children():
            x = layer(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_shortcut:
            return x + self.residual(x)
        return self.residual(x)

    def extra_repr(self) -> str:
        return (f"{self.in_channels} -> {self.hidden_channels} -> {self.out_channels}, stride={self.stride}, "
                f"t={self.expand_ratio:g}, shortcut={self.use_shortcut}")


class MobileNetV2(nn.Module):
    """MobileNet V2 from a Table-2-style config: stem, bottleneck sequences, 1×1 conv, pooling, classifier.

    ``width_mult`` scales every width (rounded by :func:`make_divisible`); the last 1×1 convolution is
    scaled only for ``width_mult > 1`` (paper, §4: "for multipliers less than one, we apply width
    multiplier to all layers except the very last convolutional layer"). ``dropout`` is applied before
    the classifier (the paper trains "with dropout" without saying where; 0.2 is torchvision's rate).
    """

    input_size = 224
    in_channels = 3

    def __init__(self, config: list[MobileNetV2Row] | None = None, width_mult: float = 1.0,
                 num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        config = MOBILENET_V2_CONFIG if config is None else config
        if not config:
            raise ValueError("config must list at least one (t, c, n, s) row")
        width_mult = check_real("width_mult", width_mult, 0, low_open=True)
        num_classes = check_positive_int("num_classes", num_classes)
        dropout = check_probability("dropout", dropout, allow_one=False)
        self.width_mult = width_mult
        c_in = make_divisible(STEM_CHANNELS * width_mult)
        layers: OrderedDict[str, nn.Module] = OrderedDict([
            ("conv1", nn.Conv2d(self.in_channels, c_in, 3, stride=2, padding=1, bias=False)),
            ("bn1", nn.BatchNorm2d(c_in)),
            ("relu1", nn.ReLU6(inplace=True)),
        ])
        for i, row in enumerate(config, start=1):
            if len(row) != 4:
                raise ValueError(f"row {i} of config must be (t, c, n, s), got {row!r}")
            row = MobileNetV2Row(*row)
            check_positive_int(f"c of row {i}", row.c)
            check_positive_int(f"n of row {i}", row.n)
            c_out = make_divisible(row.c * width_mult)
            blocks = []
            for j in range(row.n):
                blocks.append(InvertedResidual(c_in, c_out, row.s if j == 0 else 1, row.t))
                c_in = c_out
            layers[f"bottleneck{i}"] = nn.Sequential(*blocks)
        self.last_channels = make_divisible(LAST_CHANNELS * max(1.0, width_mult))
        layers["conv2"] = nn.Conv2d(c_in, self.last_channels, 1, bias=False)
        layers["bn2"] = nn.BatchNorm2d(self.last_channels)
        layers["relu2"] = nn.ReLU6(inplace=True)
        self.features = nn.Sequential(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("dropout", nn.Dropout(dropout)),
            ("fc", nn.Linear(self.last_channels, num_classes)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


@register_model("mobilenet_v2", paper="sandler2018mobilenetv2", input_size=224,
                paper_params=3_400_000, params_rtol=0.05 / 3.4, paper_macs=300_000_000, macs_rtol=0.5 / 300,
                source="Table 4",
                params_differ="3,504,872 with BatchNorm's 34,112 scales and shifts is 3.5 M; the convolution "
                              "and classifier weights alone are 3,470,760, which the paper cuts to 3.4",
                macs_differ="a round figure: the network does 300,774,272 multiply-adds, 299,494,272 "
                            "without the classifier; neither rounds to 300 M",
                library="torchvision.models.mobilenet_v2", library_params=3_504_872)
def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0) -> MobileNetV2:
    """MobileNet V2, width 1.0, 224×224: Table 2 of Sandler et al. (2018); 3,504,872 parameters.

    The paper reports "3.4M" parameters and 300M multiply-adds. The count here (the same as torchvision's
    ``mobilenet_v2``) includes 34,112 BatchNorm scales and shifts; the convolution and classifier weights
    alone are 3,470,760 (the reference TensorFlow release lists 3.47M), so the paper's 3.4 is 3.47 cut,
    not rounded, to one decimal. The paper's text speaks of "19 residual bottleneck layers"; its Table 2,
    built here, has 17. The paper's training adds dropout; where, it does not say (here: before ``fc``).
    """
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult)
