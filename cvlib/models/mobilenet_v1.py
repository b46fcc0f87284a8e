"""MobileNet V1 (Howard et al., 2017): depthwise separable convolutions, the body of Table 1 as data,
the width multiplier α and the resolution multiplier ρ.

**Depthwise separable convolution.** A standard ``D_k×D_k`` convolution from ``M`` to ``N`` channels on a
``D_F×D_F`` output map costs (the paper's Eq. 2 and 4)::

    standard:   D_k·D_k·M·N·D_F·D_F                 multiply-adds,  D_k·D_k·M·N   weights
    separable:  D_k·D_k·M·D_F·D_F + M·N·D_F·D_F     multiply-adds,  D_k·D_k·M + M·N weights

The first term is the *depthwise* convolution (one ``D_k×D_k`` filter per input channel,
``groups = M``), the second the *pointwise* 1×1 convolution that mixes the channels. Their ratio is
(Eq. 5) ``1/N + 1/D_k²`` for both costs.
:class:`DepthwiseSeparable` is the block of the paper's Figure 3: 3×3 depthwise conv → BN → ReLU →
1×1 conv → BN → ReLU. The paper uses ReLU; TensorFlow's reference implementation (``mobilenet_v1.py``
of tensorflow/models, ``mobilenet_v1_arg_scope``) and Keras use ReLU6, so ``activation="relu6"`` is
offered.

**The body.** :data:`MOBILENET_V1_BODY` is Table 1 of the paper: a full 3×3 convolution with stride 2,
thirteen depthwise separable blocks (the stride sits in the depthwise convolution), global average
pooling and one fully connected layer. Downsampling is done only by five stride-2 layers; there is no max
pooling. Table 1 prints the second-to-last depthwise convolution (``block13``) as "Conv dw / s2", yet
lists 7×7×1024 as the input of both it and the next layer and closes with a 7×7 average pooling: the
stride must be 1, as in the reference implementation, and it is 1 here. Counting depthwise and pointwise
convolutions separately the network has 28 weight layers (27 convolutions and the FC layer).

**Multipliers.** The width multiplier α turns every layer's ``M`` and ``N`` into ``αM`` and ``αN`` (the
paper keeps α ∈ (0, 1]); :func:`scaled_channels` rounds ``α·c`` down and never goes below 8 channels, as
the reference implementation does (for α ∈ {1, 0.75, 0.5, 0.25} every width is an exact integer ≥ 8,
so the rounding never acts). The resolution multiplier ρ is set through the input resolution (224, 192,
160, 128 for ρ = 1, 6/7, 5/7, 4/7); it changes the cost but not the parameters. The pooling is global
(``AdaptiveAvgPool2d(1)``), which at 224 is the paper's 7×7 average pooling and at other resolutions
pools whatever map remains.

The cost formulas (:func:`cvlib.nn.conv.separable.separable_costs`, ``separable_ratio``), the depthwise
step from scratch (``depthwise_conv2d``), spatial separability (``separate_kernel``) and the fixed-point
quantiser of the ReLU6 argument (:func:`cvlib.nn.quantize.quantize_unsigned`) live in :mod:`cvlib.nn`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from cvlib._validate import check_bool, check_choice, check_int, check_positive_int, check_real
from cvlib.models.registry import register_model

__all__ = ["MobileNetV1", "MOBILENET_V1_BODY", "DepthwiseSeparable", "mobilenet_v1", "mobilenet_v1_075",
           "mobilenet_v1_050", "mobilenet_v1_025", "mobilenet_v1_conv", "body_table", "scaled_channels"]

# Table 1 of the paper, one row per layer of the body: (name, kind, stride, output channels at α = 1).
# "conv" is a full 3×3 convolution; "dws" a depthwise separable block (3×3 depthwise with the stride,
# then 1×1 pointwise to the output channels). block13 is printed "s2" in Table 1; see the module docstring.
BodyRow = tuple[str, Literal["conv", "dws"], int, int]
MOBILENET_V1_BODY: list[BodyRow] = [
    ("conv1", "conv", 2, 32),
    ("block1", "dws", 1, 64),
    ("block2", "dws", 2, 128),
    ("block3", "dws", 1, 128),
    ("block4", "dws", 2, 256),
    ("block5", "dws", 1, 256),
    ("block6", "dws", 2, 512),
    ("block7", "dws", 1, 512),
    ("block8", "dws", 1, 512),
    ("block9", "dws", 1, 512),
    ("block10", "dws", 1, 512),
    ("block11", "dws", 1, 512),
    ("block12", "dws", 2, 1024),
    ("block13", "dws", 1, 1024),
]

KERNEL = 3
BASE_RESOLUTION = 224
MIN_CHANNELS = 8
ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}

# ------------------------------------------------------------------------------------------ validation


def _activation(name: str) -> type[nn.Module]:
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]


def scaled_channels(channels: int, width_multiplier: float) -> int:
    """``max(⌊α·channels⌋, 8)``: a layer's width under the width multiplier α (the reference rounding)."""
    channels = check_positive_int("channels", channels)
    # The paper uses α = 1, 0.75, 0.5, 0.25.
    width_multiplier = check_real("width_multiplier", width_multiplier, 0, low_open=True)
    return max(int(channels * width_multiplier), MIN_CHANNELS)


def _check_body(body: Sequence[BodyRow]) -> Sequence[BodyRow]:
    if not body:
        raise ValueError("a body is a non-empty list of rows (name, kind, stride, channels)")
    names = set()
    for row in body:
        if not isinstance(row, tuple) or len(row) != 4:
            raise ValueError(f"a body row is (name, kind, stride, channels); got {row!r}")
        name, kind, stride, channels = row
        if kind not in ("conv", "dws") or stride not in (1, 2) or name in names:
            raise ValueError(f"in row {row!r}: kind must be 'conv' or 'dws', stride 1 or 2, names unique")
        check_positive_int(f"channels of {name}", channels)
        names.add(name)
    if body[0][1] != "conv":
        raise ValueError(f"the first row of a body must be the full 'conv' layer; got {body[0]!r}")
    return body


# -------------------------------------------------------------------------------------- the two layers


class DepthwiseSeparable(nn.Module):
    """The paper's Figure 3 (right): 3×3 depthwise conv → BN → act, 1×1 pointwise conv → BN → act.

    ``dw`` has ``groups = in_channels`` (one 3×3 filter per channel) and carries the stride; ``pw`` mixes
    the channels. Neither has a bias, since BatchNorm follows. ``activation`` is ``"relu"`` (the paper) or
    ``"relu6"`` (TensorFlow's and Keras' implementations).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 activation: str = "relu") -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        out_channels = check_positive_int("out_channels", out_channels)
        stride = check_int("stride", stride, 1, 2)
        act = _activation(activation)
        self.dw = nn.Conv2d(in_channels, in_channels, KERNEL, stride, padding=KERNEL // 2,
                            groups=in_channels, bias=False)
        self.dw_bn = nn.BatchNorm2d(in_channels)
        self.dw_act = act(inplace=True)
        self.pw = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pw_bn = nn.BatchNorm2d(out_channels)
        self.pw_act = act(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dw_act(self.dw_bn(self.dw(x)))
        return self.pw_act(self.pw_bn(self.pw(x)))


class _FullConv(nn.Module):
    """A standard 3×3 convolution → BN → act, in place of a :class:`DepthwiseSeparable` block (Table 4's
    "Conv MobileNet")."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, activation: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, KERNEL, stride, padding=KERNEL // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = _activation(activation)(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


# ------------------------------------------------------------------------------------------ the model


class MobileNetV1(nn.Module):
    """MobileNet V1 from :data:`MOBILENET_V1_BODY`: ``features`` (conv1 and block1…block13), then
    ``avgpool`` (global), ``flatten`` and ``fc`` (``⌊1024α⌋ → num_classes``). Returns logits; the paper's
    softmax belongs to the loss.

    ``width_multiplier`` is α; ``resolution`` the input side (ρ = resolution / 224), stored as
    ``input_size`` so that ``python -m cvlib profile`` uses it. ``separable=False`` replaces every block
    by a full 3×3 convolution with the same stride and widths (the paper's "Conv MobileNet", Table 4).
    ``body`` is a table in the form of :data:`MOBILENET_V1_BODY` (default: that table); its first row
    must be the full convolution.
    """

    in_channels = 3

    def __init__(self, num_classes: int = 1000, width_multiplier: float = 1.0, resolution: int = BASE_RESOLUTION,
                 activation: str = "relu", separable: bool = True,
                 body: Sequence[BodyRow] | None = None) -> None:
        super().__init__()
        num_classes = check_positive_int("num_classes", num_classes)
        resolution = check_positive_int("resolution", resolution)
        separable = check_bool("separable", separable)
        act = _activation(activation)
        body = _check_body(MOBILENET_V1_BODY if body is None else body)
        self.width_multiplier = width_multiplier
        self.input_size = resolution
        self.resolution_multiplier = resolution / BASE_RESOLUTION
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = self.in_channels
        for name, kind, stride, channels in body:
            c_out = scaled_channels(channels, width_multiplier)
            if kind == "conv":
                layers[name] = nn.Conv2d(c_in, c_out, KERNEL, stride, padding=KERNEL // 2, bias=False)
                layers[f"{name}_bn"] = nn.BatchNorm2d(c_out)
                layers[f"{name}_act"] = act(inplace=True)
            elif separable:
                layers[name] = DepthwiseSeparable(c_in, c_out, stride, activation)
            else:
                layers[name] = _FullConv(c_in, c_out, stride, activation)
            c_in = c_out
        self.features = nn.Sequential(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.avgpool(self.features(x))))


def body_table(width_multiplier: float = 1.0, resolution: int = BASE_RESOLUTION, num_classes: int = 1000,
               body: Sequence[BodyRow] | None = None) -> list[tuple[str, str, str]]:
    """The rows of the paper's Table 1 — ``(type / stride, filter shape, input size)`` — regenerated from
    :data:`MOBILENET_V1_BODY` for any α and resolution.

    Each 3×3 layer with padding 1 maps a side ``a`` to ``⌊(a + 2 − 3)/s⌋ + 1`` (``⌈a/2⌉`` for ``s = 2``).
    ``block13`` reads "s1" (Table 1 prints "s2").
    """
    resolution = check_positive_int("resolution", resolution)
    num_classes = check_positive_int("num_classes", num_classes)
    rows: list[tuple[str, str, str]] = []
    side, c_in = resolution, MobileNetV1.in_channels
    for _, kind, stride, channels in _check_body(MOBILENET_V1_BODY if body is None else body):
        c_out = scaled_channels(channels, width_multiplier)
        if kind == "conv":
            rows.append((f"Conv / s{stride}", f"3×3×{c_in}×{c_out}", f"{side}×{side}×{c_in}"))
        else:
            rows.append((f"Conv dw / s{stride}", f"3×3×{c_in} dw", f"{side}×{side}×{c_in}"))
        side = (side - 1) // stride + 1
        if kind == "dws":
            rows.append(("Conv / s1", f"1×1×{c_in}×{c_out}", f"{side}×{side}×{c_in}"))
        c_in = c_out
    rows.append(("Avg Pool / s1", f"Pool {side}×{side}", f"{side}×{side}×{c_in}"))
    rows.append(("FC / s1", f"{c_in}×{num_classes}", f"1×1×{c_in}"))
    rows.append(("Softmax / s1", "Classifier", f"1×1×{num_classes}"))
    return rows


# -------------------------------------------------------------------------------------------- builders

# Tables 4 and 6 of the paper give parameters in millions to one decimal and multiply-adds in millions.
# torchvision has no MobileNet V1; Keras' MobileNet uses ReLU6 (the paper: ReLU) and a 1×1 convolution
# with dropout as classifier, so no library count is claimed.


@register_model("mobilenet_v1", paper="howard2017mobilenets", input_size=224,
                paper_params=4_200_000, params_rtol=0.05 / 4.2, paper_macs=569_000_000, macs_rtol=0.5 / 569,
                source="Tables 4, 6")
def mobilenet_v1(num_classes: int = 1000, width_multiplier: float = 1.0, resolution: int = BASE_RESOLUTION,
                 activation: str = "relu") -> MobileNetV1:
    """1.0 MobileNet-224 (Table 1): 4,231,976 parameters with BatchNorm and the FC bias, 4,209,088
    weights (the paper's 4.2 M), 568,740,352 multiply-adds (569 M).

    Any α and resolution of Tables 6–7 through the arguments. The paper's blocks use ReLU; TensorFlow's
    reference implementation and Keras use ReLU6 (``activation="relu6"``). torchvision has no MobileNet V1.
    TensorFlow's released checkpoints have 1001 classes (a background class) and a 1×1 convolution as
    the classifier, which is the same layer as ``fc`` on the pooled 1×1 map.
    """
    return MobileNetV1(num_classes, width_multiplier, resolution, activation)


@register_model("mobilenet_v1_075", paper="howard2017mobilenets", input_size=224,
                paper_params=2_600_000, params_rtol=0.05 / 2.6, paper_macs=325_000_000, macs_rtol=0.5 / 325,
                source="Table 6")
def mobilenet_v1_075(num_classes: int = 1000, resolution: int = BASE_RESOLUTION,
                     activation: str = "relu") -> MobileNetV1:
    """0.75 MobileNet-224 (Table 6: 2.6 M parameters, 325 M multiply-adds)."""
    return MobileNetV1(num_classes, 0.75, resolution, activation)


@register_model("mobilenet_v1_050", paper="howard2017mobilenets", input_size=224,
                paper_params=1_300_000, params_rtol=0.05 / 1.3, paper_macs=149_000_000, macs_rtol=0.5 / 149,
                source="Table 6")
def mobilenet_v1_050(num_classes: int = 1000, resolution: int = BASE_RESOLUTION,
                     activation: str = "relu") -> MobileNetV1:
    """0.5 MobileNet-224 (Table 6: 1.3 M parameters, 149 M multiply-adds)."""
    return MobileNetV1(num_classes, 0.5, resolution, activation)


@register_model("mobilenet_v1_025", paper="howard2017mobilenets", input_size=224,
                paper_params=500_000, params_rtol=0.05 / 0.5, paper_macs=41_000_000, macs_rtol=0.5 / 41,
                source="Table 6")
def mobilenet_v1_025(num_classes: int = 1000, resolution: int = BASE_RESOLUTION,
                     activation: str = "relu") -> MobileNetV1:
    """0.25 MobileNet-224 (Table 6: 0.5 M parameters, 41 M multiply-adds)."""
    return MobileNetV1(num_classes, 0.25, resolution, activation)


@register_model("mobilenet_v1_conv", paper="howard2017mobilenets", input_size=224,
                paper_params=29_300_000, params_rtol=0.05 / 29.3, paper_macs=4_866_000_000, macs_rtol=0.5 / 4866,
                source="Table 4",
                macs_differ="4,867,293,184 is 4867 M, printed 4866; without the FC layer it would be "
                            "4866.27 M, but the 569 M of the separable network needs the FC layer: "
                            "no one counting rule gives both (a 0.03 % gap)")
def mobilenet_v1_conv(num_classes: int = 1000, activation: str = "relu") -> MobileNetV1:
    """"Conv MobileNet" of Table 4: the same body with full 3×3 convolutions instead of depthwise
    separable blocks (29.3 M parameters, 4866 M multiply-adds in the paper)."""
    return MobileNetV1(num_classes, activation=activation, separable=False)
