"""ResNet (He et al., 2016): residual blocks, shortcut options A/B/C, the five ImageNet depths, and the
pre-activation unit of He et al. (2016b).

A residual block computes ``y = relu(F(x) + shortcut(x))``: the stacked layers learn the residual
``F(x) = H(x) − x`` and the shortcut carries ``x`` past them. Two blocks (the paper's Figure 5):

- :class:`BasicBlock` (ResNet-18/34): 3×3 conv − BN − ReLU − 3×3 conv − BN, width ``w`` in and out;
- :class:`Bottleneck` (ResNet-50/101/152): 1×1 conv to ``w`` − 3×3 conv at ``w`` − 1×1 conv to ``4w``,
  each followed by BN (and ReLU but the last). The first 1×1 *reduces* a ``4w``-channel input to a
  quarter, the last one *restores* it.

When a block halves the map (stride 2) or changes the channels, ``x`` and ``F(x)`` have different shapes
and the shortcut must adapt ``x`` (the paper's §3.3, compared in Table 3):

- **A** — identity with stride-2 subsampling and zero-padded extra channels: no parameters;
- **B** — a projection (1×1 conv, stride ``s``, + BN) only where the shape changes, identity elsewhere;
- **C** — a projection on every block.

The ImageNet networks use B. The CIFAR networks of §4.2 (``6n + 2`` layers, 16/32/64 filters) use A.

**Where the stride sits.** In the paper's bottleneck (and its released Caffe models) the stride-2 of a
downsampling block is on the *first 1×1* convolution ("v1"). torchvision puts it on the *3×3*
convolution ("ResNet v1.5"): the same parameters, but the first 1×1 then runs at the input resolution,
which costs more multiply-adds. ``stride_on_3x3=False`` (the default) is the paper, ``True`` is v1.5.

**Pre-activation** (He et al., 2016b, Figure 4(e)): BN − ReLU − conv − BN − ReLU − conv, and the addition
is the block's output with no ReLU after it, so the shortcut path is a pure identity from block to block.
The first unit takes its activation from the stem (conv1 − BN − ReLU) and the network closes with one
more BN − ReLU before the pooling. Projections in pre-activation blocks are a bare 1×1 conv applied to
the activated input, as in the authors' released code (which also keeps the bottleneck's stride on its
first 1×1 convolution).

Layers are named after the paper's Table 1: ``conv1`` (7×7/2), ``maxpool`` (3×3/2), stages ``conv2_x`` …
``conv5_x`` of blocks ``0, 1, …``, ``avgpool``, ``fc``; inside a block ``conv1``, ``bn1``, ``relu1`` …,
``shortcut`` and the ReLU after the addition, ``relu_out``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal, NamedTuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from cvlib._validate import check_bool, check_choice, check_int, check_positive_int
from cvlib.models.registry import register_model

__all__ = [
    "ZeroPadShortcut",
    "BasicBlock",
    "Bottleneck",
    "PreActBasicBlock",
    "PreActBottleneck",
    "ResNetSpec",
    "RESNET_CONFIGS",
    "STAGE_WIDTHS",
    "ResNet",
    "CifarResNet",
    "make_shortcut",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet50_v1_5",
    "preact_resnet18",
    "preact_resnet50",
    "resnet20_cifar",
    "resnet110_cifar",
    "resnet1202_cifar",
]

Shortcut = Literal["A", "B", "C"]
SHORTCUTS = ("A", "B", "C")


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution, padding 1, no bias (BN follows)."""
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


def conv1x1(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution, no bias."""
    return nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)


# ------------------------------------------------------------------------------------------ shortcuts


class ZeroPadShortcut(nn.Module):
    """Option A: ``x`` subsampled with ``stride`` (every ``stride``-th row and column, as a 1×1 stride-2
    window would) and padded with ``out_channels − in_channels`` channels of zeros. No parameters."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        out_channels = check_positive_int("out_channels", out_channels)
        stride = check_int("stride", stride, 1, 2)
        if out_channels < in_channels:
            raise ValueError(f"zero padding can only add channels: out_channels={out_channels} < "
                             f"in_channels={in_channels}; use a projection (option B or C)")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C front, C back).
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))


def make_shortcut(in_channels: int, out_channels: int, stride: int, option: Shortcut = "B",
                  batchnorm: bool = True) -> nn.Module | None:
    """The shortcut of a block whose residual maps ``in_channels`` to ``out_channels`` with ``stride``.

    ``None`` means the identity. A: :class:`ZeroPadShortcut` where the shape changes; B: a projection
    (1×1 conv with ``stride``, then BN if ``batchnorm``) where the shape changes; C: a projection always.
    """
    check_choice("shortcut", option, SHORTCUTS)
    in_channels = check_positive_int("in_channels", in_channels)
    out_channels = check_positive_int("out_channels", out_channels)
    stride = check_int("stride", stride, 1, 2)
    batchnorm = check_bool("batchnorm", batchnorm)
    changes = stride != 1 or in_channels != out_channels
    if option == "C" or (option == "B" and changes):
        layers: OrderedDict[str, nn.Module] = OrderedDict(conv=conv1x1(in_channels, out_channels, stride))
        if batchnorm:
            layers["bn"] = nn.BatchNorm2d(out_channels)
        return nn.Sequential(layers)
    if option == "A" and changes:
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return None


# --------------------------------------------------------------------------------------------- blocks


class BasicBlock(nn.Module):
    """Two 3×3 convolutions (the paper's Figure 5, left): ``relu(BN(conv(relu(BN(conv(x))))) + x)``.

    ``width`` is the number of filters of both convolutions; the stride sits on the first one.
    """

    expansion = 1
    preact = False

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: Shortcut = "B") -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        width = check_positive_int("width", width)
        stride = check_int("stride", stride, 1, 2)
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.shortcut = make_shortcut(in_channels, width, stride, shortcut)
        self.relu_out = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu_out(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce − 3×3 − 1×1 restore (the paper's Figure 5, right), output ``4·width`` channels.

    ``stride_on_3x3=False`` puts the stride on the first 1×1 convolution, as in the paper ("v1");
    ``True`` puts it on the 3×3 convolution, as torchvision does ("v1.5"). Both have the same parameters.
    """

    expansion = 4
    preact = False

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: Shortcut = "B",
                 stride_on_3x3: bool = False) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        width = check_positive_int("width", width)
        stride = check_int("stride", stride, 1, 2)
        out_channels = width * self.expansion
        s1, s3 = (1, stride) if check_bool("stride_on_3x3", stride_on_3x3) else (stride, 1)
        self.conv1 = conv1x1(in_channels, width, s1)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width, s3)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = make_shortcut(in_channels, out_channels, stride, shortcut)
        self.relu_out = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu_out(out + identity)


class PreActBasicBlock(nn.Module):
    """The pre-activation unit (He et al., 2016b, Figure 4(e)): ``x + conv(relu(BN(conv(relu(BN(x))))))``.

    No ReLU after the addition. ``activate_input=False`` drops the first BN − ReLU for the unit that
    follows the stem, whose conv1 − BN − ReLU already activated the input. A projection (option B or C;
    no BN) is applied to the activated input.
    """

    expansion = 1
    preact = True

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: Shortcut = "B",
                 activate_input: bool = True) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        width = check_positive_int("width", width)
        stride = check_int("stride", stride, 1, 2)
        self.activate_input = activate_input = check_bool("activate_input", activate_input)
        if activate_input:
            self.bn1 = nn.BatchNorm2d(in_channels)
            self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.shortcut = make_shortcut(in_channels, width, stride, shortcut, batchnorm=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.relu1(self.bn1(x)) if self.activate_input else x
        identity = x if self.shortcut is None else self.shortcut(act)
        out = self.conv1(act)
        out = self.conv2(self.relu2(self.bn2(out)))
        return out + identity


class PreActBottleneck(nn.Module):
    """The pre-activation bottleneck: BN − ReLU − 1×1 − BN − ReLU − 3×3 − BN − ReLU − 1×1, plus ``x``.

    As in the authors' released code for the pre-activation paper, the stride sits on the first 1×1
    convolution (``stride_on_3x3=True`` moves it to the 3×3). ``activate_input`` and the projection as in
    :class:`PreActBasicBlock`.
    """

    expansion = 4
    preact = True

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut: Shortcut = "B",
                 stride_on_3x3: bool = False, activate_input: bool = True) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        width = check_positive_int("width", width)
        stride = check_int("stride", stride, 1, 2)
        out_channels = width * self.expansion
        s1, s3 = (1, stride) if check_bool("stride_on_3x3", stride_on_3x3) else (stride, 1)
        self.activate_input = activate_input = check_bool("activate_input", activate_input)
        if activate_input:
            self.bn1 = nn.BatchNorm2d(in_channels)
            self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = conv1x1(in_channels, width, s1)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width, s3)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu3 = nn.ReLU(inplace=True)
        self.conv3 = conv1x1(width, out_channels)
        self.shortcut = make_shortcut(in_channels, out_channels, stride, shortcut, batchnorm=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.relu1(self.bn1(x)) if self.activate_input else x
        identity = x if self.shortcut is None else self.shortcut(act)
        out = self.conv1(act)
        out = self.conv2(self.relu2(self.bn2(out)))
        out = self.conv3(self.relu3(self.bn3(out)))
        return out + identity


Block = Union[type[BasicBlock], type[Bottleneck], type[PreActBasicBlock], type[PreActBottleneck]]
BLOCKS: dict[str, Block] = {"basic": BasicBlock, "bottleneck": Bottleneck,
                            "preact_basic": PreActBasicBlock, "preact_bottleneck": PreActBottleneck}

# ------------------------------------------------------------------------------------ configurations


class ResNetSpec(NamedTuple):
    """One column of the paper's Table 1: the block type and the number of blocks in conv2_x … conv5_x."""

    block: str
    blocks: tuple[int, int, int, int]

    @property
    def depth(self) -> int:
        """Weight layers: the stem, 2 or 3 per block, and the fc layer (projections not counted)."""
        per_block = 2 if self.block in ("basic", "preact_basic") else 3
        return 1 + per_block * sum(self.blocks) + 1


# He et al. (2016), Table 1.
RESNET_CONFIGS: dict[int, ResNetSpec] = {
    18: ResNetSpec("basic", (2, 2, 2, 2)),
    34: ResNetSpec("basic", (3, 4, 6, 3)),
    50: ResNetSpec("bottleneck", (3, 4, 6, 3)),
    101: ResNetSpec("bottleneck", (3, 4, 23, 3)),
    152: ResNetSpec("bottleneck", (3, 8, 36, 3)),
}
# Filters of conv2_x … conv5_x (the bottleneck's inner width; its output is 4× that). Each stage after the
# first halves the map with stride 2 in its first block and doubles the width.
STAGE_WIDTHS = (64, 128, 256, 512)
STAGE_NAMES = ("conv2_x", "conv3_x", "conv4_x", "conv5_x")


def _make_stage(block: Block, in_channels: int, width: int, n: int, stride: int, shortcut: Shortcut,
                **block_kwargs) -> tuple[nn.Sequential, int]:
    """``n`` blocks; the first has ``stride`` and takes ``in_channels``. Returns the stage and its output
    channels."""
    layers = []
    for i in range(n):
        kwargs = dict(block_kwargs)
        if i > 0:
            kwargs.pop("activate_input", None)
        layers.append(block(in_channels, width, stride if i == 0 else 1, shortcut, **kwargs))
        in_channels = width * block.expansion
    return nn.Sequential(*layers), in_channels


class ResNet(nn.Module):
    """An ImageNet ResNet: conv1 7×7/2 (64) − BN − ReLU − max pool 3×3/2, four stages, global average
    pooling, fc.

    ``block`` is ``"basic"``, ``"bottleneck"``, ``"preact_basic"`` or ``"preact_bottleneck"``; ``blocks``
    the number of blocks per stage; ``shortcut`` the paper's option A, B or C. ``stride_on_3x3`` (bottleneck
    only) moves the stride from the first 1×1 to the 3×3 convolution (v1.5). A pre-activation network
    takes its first activation from the stem and adds ``bn_final`` − ``relu_final`` before the pooling.
    """

    input_size = 224
    in_channels = 3

    def __init__(self, block: str = "basic", blocks: Sequence[int] = (2, 2, 2, 2), num_classes: int = 1000,
                 shortcut: Shortcut = "B", stride_on_3x3: bool = False,
                 widths: Sequence[int] = STAGE_WIDTHS) -> None:
        super().__init__()
        check_choice("block", block, BLOCKS)
        check_choice("shortcut", shortcut, SHORTCUTS)
        blocks, widths = tuple(blocks), tuple(widths)
        if len(blocks) != 4 or len(widths) != 4:
            raise ValueError(f"blocks and widths need one entry per stage (conv2_x … conv5_x), 4 each; got "
                             f"{len(blocks)} and {len(widths)}")
        num_classes = check_positive_int("num_classes", num_classes)
        blocks = tuple(check_positive_int(f"blocks[{i}]", b) for i, b in enumerate(blocks))
        widths = tuple(check_positive_int(f"widths[{i}]", w) for i, w in enumerate(widths))
        if check_bool("stride_on_3x3", stride_on_3x3) and block not in ("bottleneck", "preact_bottleneck"):
            raise ValueError(f"stride_on_3x3 applies to bottleneck blocks only; the {block!r} block's stride "
                             "is already on its first 3×3 convolution")
        block_cls = BLOCKS[block]
        self.spec = ResNetSpec(block, blocks)  # type: ignore[arg-type]
        self.shortcut_option = shortcut
        self.conv1 = nn.Conv2d(self.in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        c = 64
        for i, (name, width, n) in enumerate(zip(STAGE_NAMES, widths, blocks)):
            kwargs: dict = {}
            if block in ("bottleneck", "preact_bottleneck"):
                kwargs["stride_on_3x3"] = stride_on_3x3
            if block_cls.preact and i == 0:
                kwargs["activate_input"] = False
            stage, c = _make_stage(block_cls, c, width, n, 1 if i == 0 else 2, shortcut, **kwargs)
            self.add_module(name, stage)
        self.preact = block_cls.preact
        if self.preact:
            self.bn_final = nn.BatchNorm2d(c)
            self.relu_final = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, num_classes)
        self.out_channels = c
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.conv5_x(self.conv4_x(self.conv3_x(self.conv2_x(x))))
        if self.preact:
            x = self.relu_final(self.bn_final(x))
        return self.fc(self.flatten(self.avgpool(x)))


class CifarResNet(nn.Module):
    """The CIFAR-10 networks of the paper's §4.2: ``6n + 2`` weight layers.

    conv 3×3 (16) − BN − ReLU, three stages of ``n`` basic blocks with 16, 32, 64 filters on 32×32,
    16×16, 8×8 maps (the first block of stages 2 and 3 has stride 2), global average pooling, fc-10.
    The paper uses option A ("identity shortcuts in all cases"), so a residual net has exactly the
    parameters of its plain counterpart.
    """

    input_size = 32
    in_channels = 3

    def __init__(self, n: int, num_classes: int = 10, shortcut: Shortcut = "A") -> None:
        super().__init__()
        n = check_positive_int("n", n)
        num_classes = check_positive_int("num_classes", num_classes)
        check_choice("shortcut", shortcut, SHORTCUTS)
        self.n = n
        self.conv1 = conv3x3(self.in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        c = 16
        for i, width in enumerate((16, 32, 64)):
            stage, c = _make_stage(BasicBlock, c, width, n, 1 if i == 0 else 2, shortcut)
            self.add_module(f"stage{i + 1}", stage)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, num_classes)

    @property
    def depth(self) -> int:
        """``6n + 2``: the first convolution, ``2n`` per stage, the fc layer."""
        return 6 * self.n + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.fc(self.flatten(self.avgpool(x)))


# ------------------------------------------------------------------------------------------- builders


# Table 1 of He et al. (2016) gives the multiply-adds ("FLOPs") of the ImageNet networks, no parameter
# counts; Table 6 the parameters of the CIFAR-10 networks, no multiply-adds. torchvision's resnet18 and
# resnet34 are these networks; its resnet50/101/152 are v1.5 (stride on the 3×3), so only
# resnet50_v1_5 claims its count: the paper's v1 has the same parameters but not the same network.
# The pre-activation paper (He et al., 2016b) states no figure for 18 or 50 layers.


def _resnet(depth: int, **kwargs) -> ResNet:
    spec = RESNET_CONFIGS[depth]
    return ResNet(spec.block, spec.blocks, **kwargs)


@register_model("resnet18", paper="he2016deep", input_size=224,
                paper_macs=1_800_000_000, macs_rtol=0.05 / 1.8, source="Table 1",
                library="torchvision.models.resnet18", library_params=11_689_512)
def resnet18(num_classes: int = 1000, shortcut: Shortcut = "B") -> ResNet:
    """ResNet-18 (basic blocks 2-2-2-2). 11,689,512 parameters with option B, as torchvision's."""
    return _resnet(18, num_classes=num_classes, shortcut=shortcut)


@register_model("resnet34", paper="he2016deep", input_size=224,
                paper_macs=3_600_000_000, macs_rtol=0.05 / 3.6, source="Table 1",
                macs_differ="3,663,761,408 with option B is 3.66 G: Table 1's 3.6 is the cost without "
                            "projection shortcuts (option A, 3,644,493,824: the plain 34-layer baseline §3.3 "
                            "calls 3.6 billion) or 3.66 rounded down",
                library="torchvision.models.resnet34", library_params=21_797_672)
def resnet34(num_classes: int = 1000, shortcut: Shortcut = "B") -> ResNet:
    """ResNet-34 (basic blocks 3-4-6-3), the paper's main comparison with plain-34 and VGG-19.

    21,797,672 parameters with option B (torchvision's count). Table 3 compares options A, B and C.
    """
    return _resnet(34, num_classes=num_classes, shortcut=shortcut)


@register_model("resnet50", paper="he2016deep", input_size=224,
                paper_macs=3_800_000_000, macs_rtol=0.05 / 3.8, source="Table 1",
                macs_differ="3,857,973,248 is 3.86 G, printed 3.8: rounded down; leaving out the fc layer "
                            "(3.856 G) or the projection shortcuts (3.50 G) does not give 3.8 either")
def resnet50(num_classes: int = 1000, shortcut: Shortcut = "B", stride_on_3x3: bool = False) -> ResNet:
    """ResNet-50 (bottlenecks 3-4-6-3), the paper's v1: stride on the first 1×1 of a downsampling block.

    torchvision's ``resnet50`` is v1.5 (stride on the 3×3, :func:`resnet50_v1_5`): same 25,557,032
    parameters, more multiply-adds.
    """
    return _resnet(50, num_classes=num_classes, shortcut=shortcut, stride_on_3x3=stride_on_3x3)


@register_model("resnet50_v1_5", paper="he2016deep", input_size=224,
                library="torchvision.models.resnet50", library_params=25_557_032)
def resnet50_v1_5(num_classes: int = 1000, shortcut: Shortcut = "B") -> ResNet:
    """ResNet-50 "v1.5" as in torchvision: the stride of a downsampling bottleneck on its 3×3 convolution."""
    return _resnet(50, num_classes=num_classes, shortcut=shortcut, stride_on_3x3=True)


@register_model("resnet101", paper="he2016deep", input_size=224,
                paper_macs=7_600_000_000, macs_rtol=0.05 / 7.6, source="Table 1")
def resnet101(num_classes: int = 1000, shortcut: Shortcut = "B", stride_on_3x3: bool = False) -> ResNet:
    """ResNet-101 (bottlenecks 3-4-23-3), paper's v1 (torchvision: v1.5, 44,549,160 parameters either way)."""
    return _resnet(101, num_classes=num_classes, shortcut=shortcut, stride_on_3x3=stride_on_3x3)


@register_model("resnet152", paper="he2016deep", input_size=224,
                paper_macs=11_300_000_000, macs_rtol=0.05 / 11.3, source="Table 1")
def resnet152(num_classes: int = 1000, shortcut: Shortcut = "B", stride_on_3x3: bool = False) -> ResNet:
    """ResNet-152 (bottlenecks 3-8-36-3), paper's v1 (torchvision: v1.5, 60,192,808 parameters either way)."""
    return _resnet(152, num_classes=num_classes, shortcut=shortcut, stride_on_3x3=stride_on_3x3)


@register_model("preact_resnet18", paper="he2016identity", input_size=224)
def preact_resnet18(num_classes: int = 1000, shortcut: Shortcut = "B") -> ResNet:
    """ResNet-18 with pre-activation units (He et al., 2016b).

    The pre-activation paper reports ImageNet results for 152 and 200 layers; 18 layers is the small
    member of the same family (as in common re-implementations). Its projections have no BN, and the
    first unit's BN − ReLU is the stem's, so it has slightly fewer parameters than :func:`resnet18`.
    """
    return ResNet("preact_basic", RESNET_CONFIGS[18].blocks, num_classes, shortcut)


@register_model("preact_resnet50", paper="he2016identity", input_size=224)
def preact_resnet50(num_classes: int = 1000, shortcut: Shortcut = "B") -> ResNet:
    """ResNet-50 with pre-activation bottlenecks (He et al., 2016b), stride on the first 1×1 as in v1."""
    return ResNet("preact_bottleneck", RESNET_CONFIGS[50].blocks, num_classes, shortcut)


@register_model("resnet20_cifar", paper="he2016deep", input_size=32, num_classes=10,
                paper_params=270_000, params_rtol=0.005 / 0.27, source="Table 6")
def resnet20_cifar(num_classes: int = 10, shortcut: Shortcut = "A") -> CifarResNet:
    """The paper's 20-layer CIFAR-10 ResNet (n = 3, option A; Table 6: 0.27 M parameters)."""
    return CifarResNet(3, num_classes, shortcut)


@register_model("resnet110_cifar", paper="he2016deep", input_size=32, num_classes=10,
                paper_params=1_700_000, params_rtol=0.05 / 1.7, source="Table 6")
def resnet110_cifar(num_classes: int = 10, shortcut: Shortcut = "A") -> CifarResNet:
    """The paper's 110-layer CIFAR-10 ResNet (n = 18, option A; Table 6: 1.7 M parameters)."""
    return CifarResNet(18, num_classes, shortcut)


@register_model("resnet1202_cifar", paper="he2016deep", input_size=32, num_classes=10,
                paper_params=19_400_000, params_rtol=0.05 / 19.4, source="Table 6")
def resnet1202_cifar(num_classes: int = 10, shortcut: Shortcut = "A") -> CifarResNet:
    """The paper's 1202-layer CIFAR-10 ResNet (n = 200, option A; Table 6: 19.4 M parameters, 7.93 %
    error, worse than the 110-layer network's 6.43 %, which the paper attributes to overfitting)."""
    return CifarResNet(200, num_classes, shortcut)
