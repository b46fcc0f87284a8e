"""VGG (Simonyan & Zisserman, 2014): configurations as data, one builder per configuration.

Every convolution is 3×3, stride 1, padding 1 (configuration C also has 1×1 convolutions); every pooling
is 2×2 max pooling with stride 2; the head is FC-4096, FC-4096, FC-1000 with ReLU and dropout 0.5 after
the first two. Layers are named as in the paper and the notes (``conv3_2``, ``pool4``, ``fc6``) so a
profile row can be matched to a line of the notes.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from .registry import register_model

__all__ = ["VGG", "VGG_CONFIGS", "vgg11", "vgg13", "vgg16", "vgg16_c", "vgg19"]

# One list per block: the output channels of each convolution, with (channels, 1) for a 1×1 convolution.
VGG_CONFIGS: dict[str, list[list[int | tuple[int, int]]]] = {
    "A": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "B": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "C": [[64, 64], [128, 128], [256, 256, (256, 1)], [512, 512, (512, 1)], [512, 512, (512, 1)]],
    "D": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "E": [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
}


class VGG(nn.Module):
    """A VGG network: five blocks of convolutions, each closed by a 2×2 max pooling, then three FC layers."""

    def __init__(self, config: list[list[int | tuple[int, int]]], num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = 3
        for b, block in enumerate(config, start=1):
            for i, spec in enumerate(block, start=1):
                c_out, k = spec if isinstance(spec, tuple) else (spec, 3)
                layers[f"conv{b}_{i}"] = nn.Conv2d(c_in, c_out, kernel_size=k, padding=k // 2)
                layers[f"relu{b}_{i}"] = nn.ReLU(inplace=True)
                c_in = c_out
            layers[f"pool{b}"] = nn.MaxPool2d(kernel_size=2, stride=2)
        self.features = nn.Sequential(layers)
        self.classifier = nn.Sequential(OrderedDict([
            ("flatten", nn.Flatten()),
            ("fc6", nn.Linear(c_in * 7 * 7, 4096)), ("relu6", nn.ReLU(inplace=True)),
            ("drop6", nn.Dropout(dropout)),
            ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU(inplace=True)), ("drop7", nn.Dropout(dropout)),
            ("fc8", nn.Linear(4096, num_classes)),
        ]))

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model("vgg11")
def vgg11(num_classes: int = 1000) -> VGG:
    """Configuration A (11 weight layers)."""
    return VGG(VGG_CONFIGS["A"], num_classes)


@register_model("vgg13")
def vgg13(num_classes: int = 1000) -> VGG:
    """Configuration B (13 weight layers)."""
    return VGG(VGG_CONFIGS["B"], num_classes)


@register_model("vgg16_c")
def vgg16_c(num_classes: int = 1000) -> VGG:
    """Configuration C (16 weight layers, the last convolution of blocks 3–5 is 1×1)."""
    return VGG(VGG_CONFIGS["C"], num_classes)


@register_model("vgg16")
def vgg16(num_classes: int = 1000) -> VGG:
    """Configuration D, "VGG-16" (13 convolutions + 3 FC layers, 138,357,544 parameters)."""
    return VGG(VGG_CONFIGS["D"], num_classes)


@register_model("vgg19")
def vgg19(num_classes: int = 1000) -> VGG:
    """Configuration E, "VGG-19" (16 convolutions + 3 FC layers)."""
    return VGG(VGG_CONFIGS["E"], num_classes)
