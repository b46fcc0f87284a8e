"""VGG (Simonyan & Zisserman, 2014): the paper's six configurations as one data table, one builder each.

Every convolution is 3×3, stride 1, padding 1, except the three 1×1 convolutions of configuration C; every
pooling is 2×2 max pooling with stride 2; the head is FC-4096, FC-4096, FC-1000, with ReLU and dropout
0.5 after the first two. Configuration A-LRN adds local response normalisation (:mod:`cvlib.nn.lrn`, with
AlexNet's ``k=2, n=5, α=1e-4, β=0.75``) after the first convolution of A. Layers are named as in the
paper and the notes (``conv3_2``, ``norm1``, ``pool4``, ``fc6``) so a profile row can be matched to a
line of the notes.

The convolutions keep the side of the map (``out = (in + 2·1 − 3)/1 + 1 = in``), and each of the five
poolings halves it (``out = ⌊(in − 2)/2⌋ + 1 = ⌊in/2⌋``), so a 224×224 input reaches ``pool5`` as 7×7×512
and ``fc6`` sees ``7·7·512 = 25088`` inputs.

**Dense evaluation** (§3.2 of the paper). :func:`to_fully_convolutional` rewrites ``fc6`` as a 7×7
convolution and ``fc7``, ``fc8`` as 1×1 convolutions with the same weights. On a ``Q×Q`` input the
network then returns a class score map of side ``⌊Q/32⌋ − 6`` (:func:`score_map_size`); averaging it over
its positions (the paper's "sum-pooling") gives one score vector per image. At ``Q = 224`` the map is
1×1 and equals the output of the fully connected network.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Union

import torch
from torch import nn

from cvlib._validate import check_positive_int, check_probability
from cvlib.analysis.shapes import conv_output_size
from cvlib.models.registry import register_model
from cvlib.nn.lrn import LocalResponseNorm

# trunk_sizes is public but not listed: cvlib.models re-exports every __all__ into one namespace, and
# cvlib.models.alexnet has its own trunk_sizes. Import it from cvlib.models.vgg.
__all__ = ["VGG", "VGG_CONFIGS", "FullyConvVGG", "to_fully_convolutional", "score_map_size", "trunk_sizes",
           "vgg11", "vgg11_lrn", "vgg13", "vgg16", "vgg16_c", "vgg19"]

# A layer of a block: the output channels of a 3×3 convolution, (channels, kernel) for another kernel
# size, or "LRN" for a local response normalisation after the convolution before it.
LayerSpec = Union[int, tuple[int, int], str]

# Simonyan & Zisserman, Table 1: one column per configuration, one list per block (closed by a pooling).
VGG_CONFIGS: dict[str, list[list[LayerSpec]]] = {
    "A": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "A-LRN": [[64, "LRN"], [128], [256, 256], [512, 512], [512, 512]],
    "B": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "C": [[64, 64], [128, 128], [256, 256, (256, 1)], [512, 512, (512, 1)], [512, 512, (512, 1)]],
    "D": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "E": [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
}

POOL_KERNEL = POOL_STRIDE = 2
HEAD_SIDE = 7  # side of pool5 at 224×224, the window fc6 sees


def _conv_spec(spec: LayerSpec) -> tuple[int, int] | None:
    """``(channels, kernel)`` of a convolution spec, ``None`` for "LRN"; ``ValueError`` otherwise."""
    if spec == "LRN":
        return None
    c, k = spec if isinstance(spec, tuple) else (spec, 3)
    for v in (c, k):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"a layer must be a positive channel count, (channels, kernel) or 'LRN'; got {spec!r}")
    if k % 2 == 0:
        raise ValueError(f"kernel sizes must be odd so that padding k // 2 keeps the map size; got {spec!r}")
    return c, k


def _resolve(config: str | list[list[LayerSpec]]) -> list[list[LayerSpec]]:
    if isinstance(config, str):
        try:
            return VGG_CONFIGS[config]
        except KeyError:
            raise ValueError(f"unknown VGG configuration {config!r}; known: {', '.join(VGG_CONFIGS)}") from None
    if not config or any(not block for block in config):
        raise ValueError("a configuration is a non-empty list of non-empty blocks")
    for block in config:
        if _conv_spec(block[0]) is None:
            raise ValueError("'LRN' must follow a convolution, not open a block")
        for spec in block:
            _conv_spec(spec)
    return config


class VGG(nn.Module):
    """A VGG network: blocks of convolutions (each with ReLU), each block closed by 2×2/2 max pooling,
    then FC-``fc_width``, FC-``fc_width``, FC-``num_classes``.

    ``config`` is a key of :data:`VGG_CONFIGS` or a table in the same form. ``fc6`` expects the 7×7 map
    that five poolings make of a 224×224 input.
    """

    input_size = 224
    in_channels = 3

    def __init__(self, config: str | list[list[LayerSpec]] = "D", num_classes: int = 1000,
                 dropout: float = 0.5, fc_width: int = 4096) -> None:
        super().__init__()
        config = _resolve(config)
        num_classes = check_positive_int("num_classes", num_classes)
        fc_width = check_positive_int("fc_width", fc_width)
        dropout = check_probability("dropout", dropout, allow_one=False)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = self.in_channels
        for b, block in enumerate(config, start=1):
            i = 0
            for spec in block:
                conv = _conv_spec(spec)
                if conv is None:
                    layers[f"norm{b}" if i == 1 else f"norm{b}_{i}"] = LocalResponseNorm()
                    continue
                i += 1
                c_out, k = conv
                layers[f"conv{b}_{i}"] = nn.Conv2d(c_in, c_out, kernel_size=k, padding=k // 2)
                layers[f"relu{b}_{i}"] = nn.ReLU(inplace=True)
                c_in = c_out
            layers[f"pool{b}"] = nn.MaxPool2d(kernel_size=POOL_KERNEL, stride=POOL_STRIDE)
        self.features = nn.Sequential(layers)
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc6", nn.Linear(c_in * HEAD_SIDE * HEAD_SIDE, fc_width)), ("relu6", nn.ReLU(inplace=True)),
            ("drop6", nn.Dropout(dropout)),
            ("fc7", nn.Linear(fc_width, fc_width)), ("relu7", nn.ReLU(inplace=True)), ("drop7", nn.Dropout(dropout)),
            ("fc8", nn.Linear(fc_width, num_classes)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# ------------------------------------------------------------------------------------- dense evaluation


class FullyConvVGG(nn.Module):
    """VGG with its FC layers as convolutions: ``fc6`` 7×7, ``fc7`` and ``fc8`` 1×1 (paper, §3.2).

    ``forward`` returns the class score map ``(N, classes, h, w)``; :meth:`class_scores` averages it over
    the ``h·w`` positions. Made by :func:`to_fully_convolutional`.
    """

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

    def class_scores(self, x: torch.Tensor) -> torch.Tensor:
        """One score vector per image: the score map averaged over its positions, ``(N, classes)``."""
        return self(x).mean(dim=(2, 3))


def _as_conv(fc: nn.Linear, in_channels: int, kernel: int) -> nn.Conv2d:
    """A convolution computing ``fc`` on every ``kernel × kernel × in_channels`` window.

    ``nn.Flatten`` orders the inputs (channel, row, column), which is the memory order of a convolution
    weight ``(out, in, kh, kw)``: the weight matrix is reshaped, not permuted.
    """
    conv = nn.Conv2d(in_channels, fc.out_features, kernel_size=kernel, bias=fc.bias is not None,
                     device=fc.weight.device, dtype=fc.weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(fc.weight.reshape(fc.out_features, in_channels, kernel, kernel))
        if fc.bias is not None:
            conv.bias.copy_(fc.bias)
    return conv


def to_fully_convolutional(model: VGG) -> FullyConvVGG:
    """Rewrite ``model``'s head as convolutions with the same weights (``model`` is left unchanged).

    ``fc6`` (``7·7·C → n``) becomes a 7×7 convolution with ``C`` input channels, ``fc7`` and ``fc8`` 1×1
    convolutions. The trunk is copied, so the result does not share parameters with ``model``; it keeps
    ``model``'s train/eval mode.
    """
    head = getattr(model, "classifier", None)
    names = ("fc6", "fc7", "fc8")
    if not isinstance(getattr(model, "features", None), nn.Sequential) or not isinstance(head, nn.Sequential) \
            or not all(isinstance(getattr(head, n, None), nn.Linear) for n in names):
        raise ValueError("expected a VGG: a `features` Sequential and a `classifier` Sequential with Linear "
                         "layers fc6, fc7 and fc8")
    fc6 = head.fc6
    if fc6.in_features % (HEAD_SIDE * HEAD_SIDE):
        raise ValueError(f"fc6 must see a {HEAD_SIDE}×{HEAD_SIDE} map: its {fc6.in_features} inputs are not "
                         f"a multiple of {HEAD_SIDE * HEAD_SIDE}")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for name, module in head.named_children():
        if name == "flatten":
            continue
        if name == "fc6":
            layers[name] = _as_conv(module, fc6.in_features // (HEAD_SIDE * HEAD_SIDE), HEAD_SIDE)
        elif isinstance(module, nn.Linear):
            layers[name] = _as_conv(module, module.in_features, 1)
        else:
            layers[name] = copy.deepcopy(module)
    dense = FullyConvVGG(copy.deepcopy(model.features), nn.Sequential(layers))
    return dense.train(model.training)


def trunk_sizes(input_size: int = 224, config: str | list[list[LayerSpec]] = "D") -> list[tuple[str, int]]:
    """Side of the square map after every convolution and pooling of ``config`` for an ``input_size`` input.

    Each step is :func:`cvlib.analysis.shapes.conv_output_size`: a ``k×k`` convolution with padding ``k // 2`` and
    stride 1 keeps the side, a 2×2/2 pooling takes ``⌊in/2⌋``.
    """
    size = input_size
    sizes: list[tuple[str, int]] = []
    for b, block in enumerate(_resolve(config), start=1):
        convs = [c for c in map(_conv_spec, block) if c is not None]
        for i, (_, k) in enumerate(convs, start=1):
            size = conv_output_size(size, k, 1, k // 2)
            sizes.append((f"conv{b}_{i}", size))
        if size < POOL_KERNEL:
            raise ValueError(f"input_size {input_size} is too small: the map is {size}×{size} before pool{b}, "
                             f"smaller than the {POOL_KERNEL}×{POOL_KERNEL} window")
        size = conv_output_size(size, POOL_KERNEL, POOL_STRIDE)
        sizes.append((f"pool{b}", size))
    return sizes


def score_map_size(input_size: int) -> int:
    """Side of the class score map of :func:`to_fully_convolutional` for an ``input_size`` input.

    ``pool5`` has side ``⌊input/32⌋``; the 7×7 ``fc6`` without padding leaves ``⌊input/32⌋ − 7 + 1``;
    the 1×1 ``fc7``, ``fc8`` keep it. The same for every configuration. Needs ``input_size >= 224``.
    """
    if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < 32 * HEAD_SIDE:
        raise ValueError(f"input_size must be an integer >= {32 * HEAD_SIDE} (pool5 must be at least "
                         f"{HEAD_SIDE}×{HEAD_SIDE} for the 7×7 fc6); got {input_size!r}")
    pool5 = trunk_sizes(input_size)[-1][1]
    return conv_output_size(conv_output_size(conv_output_size(pool5, HEAD_SIDE), 1), 1)


# ------------------------------------------------------------------------------------------- builders

# Table 2 gives the parameters in millions, rounded to the nearest million; the paper states no
# multiply-adds (the 15.3 and 19.6 billion FLOPs often quoted for D and E are He et al.'s, 2016).
# torchvision builds A, B, D and E with the same layers (plus an adaptive pooling to 7×7 that is the
# identity at 224×224); it has no A-LRN and no C.


@register_model("vgg11", paper="simonyan2015very", input_size=224,
                paper_params=133_000_000, params_rtol=0.5 / 133, source="Table 2",
                library="torchvision.models.vgg11", library_params=132_863_336)
def vgg11(num_classes: int = 1000) -> VGG:
    """Configuration A (11 weight layers: 8 convolutions + 3 FC; 132,863,336 parameters, Table 2: 133 M)."""
    return VGG("A", num_classes)


@register_model("vgg11_lrn", paper="simonyan2015very", input_size=224,
                paper_params=133_000_000, params_rtol=0.5 / 133, source="Table 2")
def vgg11_lrn(num_classes: int = 1000) -> VGG:
    """Configuration A-LRN: A with local response normalisation (``norm1``) after ``conv1_1`` and its ReLU.

    The paper takes the LRN parameters of Krizhevsky et al. (2012); LRN has none to learn, so the count is
    A's. torchvision has no such model (its ``vgg11_bn`` uses batch normalisation, a later method).
    """
    return VGG("A-LRN", num_classes)


@register_model("vgg13", paper="simonyan2015very", input_size=224,
                paper_params=133_000_000, params_rtol=0.5 / 133, source="Table 2",
                library="torchvision.models.vgg13", library_params=133_047_848)
def vgg13(num_classes: int = 1000) -> VGG:
    """Configuration B (13 weight layers: 10 convolutions + 3 FC; 133,047,848 parameters)."""
    return VGG("B", num_classes)


@register_model("vgg16_c", paper="simonyan2015very", input_size=224,
                paper_params=134_000_000, params_rtol=0.5 / 134, source="Table 2")
def vgg16_c(num_classes: int = 1000) -> VGG:
    """Configuration C (16 weight layers; the last convolution of blocks 3–5 is 1×1; 133,638,952 parameters).

    The "VGG-16" of common use (torchvision's ``vgg16``) is configuration D, not this one.
    """
    return VGG("C", num_classes)


@register_model("vgg16", paper="simonyan2015very", input_size=224,
                paper_params=138_000_000, params_rtol=0.5 / 138, source="Table 2",
                library="torchvision.models.vgg16", library_params=138_357_544)
def vgg16(num_classes: int = 1000) -> VGG:
    """Configuration D, "VGG-16" (13 convolutions + 3 FC layers, 138,357,544 parameters).

    torchvision's ``vgg16`` has the same layers and parameter count, plus an adaptive average pooling to
    7×7 between ``pool5`` and the head: the identity at 224×224, and on a larger input it averages
    ``pool5`` down to 7×7 instead of evaluating the head densely.
    """
    return VGG("D", num_classes)


@register_model("vgg19", paper="simonyan2015very", input_size=224,
                paper_params=144_000_000, params_rtol=0.5 / 144, source="Table 2",
                library="torchvision.models.vgg19", library_params=143_667_240)
def vgg19(num_classes: int = 1000) -> VGG:
    """Configuration E, "VGG-19" (16 convolutions + 3 FC layers, 143,667,240 parameters)."""
    return VGG("E", num_classes)
