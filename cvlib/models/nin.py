"""Network in Network (Lin, Chen & Yan, 2014): the MLPConv block and the CIFAR-10 model.

**MLPConv.** A convolution slides one linear filter per output channel over the input; an MLPConv layer
slides a small multilayer perceptron instead. For the ``k×k×C`` input patch ``x_ij`` at position
``(i, j)`` (the paper's Eq. 2, with ReLU units)::

    f1_ij = ReLU(W1 · x_ij + b1)        a k×k convolution, C → n1 channels
    f2_ij = ReLU(W2 · f1_ij + b2)       a 1×1 convolution, n1 → n2
    f3_ij = ReLU(W3 · f2_ij + b3)       a 1×1 convolution, n2 → n3

The same weights are used at every position. The second and third layers see one pixel's channel
vector only: they are fully connected layers applied per pixel, i.e. 1×1 convolutions, which the paper
calls *cascaded cross channel parametric pooling* (CCCP). :class:`MLPConv` builds the block from
``nn.Conv2d`` layers; :meth:`MLPConv.as_mlp` returns the same function as an ``nn.Sequential`` of
``Linear``/``ReLU`` layers acting on one flattened patch, and :func:`slide_mlp` slides any such MLP over
an image (``F.unfold`` cuts the patches), so the two descriptions can be compared number for number.

**NIN for CIFAR-10.** :data:`NIN_CONFIGS` holds the model released with the paper as a data table:
three MLPConv blocks of widths 192-160-96, 192-192-192 and 192-192-10 whose first convolutions are
5×5 (padding 2), 5×5 (padding 2) and 3×3 (padding 1); a 3×3, stride-2 max pooling and dropout 0.5 after
the first two blocks; then global average pooling (GAP) of the ten class maps. Layer names follow the
released definition (``conv1, cccp1, cccp2, …, cccp6``). The released definitions (cuda-convnet and
Caffe) round the pooled size up, ``⌈(32 − 3)/2⌉ + 1 = 16``, so the poolings here use ``ceil_mode=True``
and a 32×32 input gives maps of 32, 16 and 8 pixels (:func:`nin_sizes`); PyTorch's default rounding
would give 15 and 7.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cvlib._validate import check_int, check_positive_int, check_probability
from cvlib.analysis.shapes import conv_output_size
from cvlib.models.registry import register_model

__all__ = ["MLPConv", "NIN", "NIN_CONFIGS", "nin_sizes", "slide_mlp", "nin_cifar10"]

# One MLPConv block: (kernel of its first convolution, padding, widths (first conv, cccp, cccp)).
BlockSpec = tuple[int, int, tuple[int, ...]]

# The CIFAR-10 model released with the paper (layer widths of conv1/cccp1/cccp2, conv2/cccp3/cccp4,
# conv3/cccp5/cccp6). The last width is the number of classes.
NIN_CONFIGS: dict[str, list[BlockSpec]] = {
    "cifar10": [(5, 2, (192, 160, 96)), (5, 2, (192, 192, 192)), (3, 1, (192, 192, 10))],
}

POOL_KERNEL, POOL_STRIDE = 3, 2
DROPOUT = 0.5


class MLPConv(nn.Module):
    """An MLPConv block: a ``kernel_size × kernel_size`` convolution then ``len(widths) − 1`` 1×1
    convolutions (CCCP layers), each followed by ReLU.

    ``widths`` are the output channels of the layers, first convolution first (the paper's CIFAR-10
    blocks have three). ``names`` name the convolutions (default ``conv, cccp1, cccp2, …``); each ReLU is
    named after its convolution with ``_relu`` appended.
    """

    def __init__(self, in_channels: int, widths: Sequence[int], kernel_size: int, padding: int = 0,
                 names: Sequence[str] | None = None) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        padding = check_int("padding", padding, 0)
        widths = tuple(widths)
        if not widths:
            raise ValueError("widths must list at least one layer (the first convolution)")
        widths = tuple(check_positive_int(f"widths[{i}]", w) for i, w in enumerate(widths))
        if names is None:
            names = ("conv", *(f"cccp{i}" for i in range(1, len(widths))))
        names = tuple(names)
        if len(names) != len(widths) or len(set(names)) != len(names):
            raise ValueError(f"names must be {len(widths)} distinct names, one per width; got {names!r}")
        self.kernel_size, self.padding, self.widths, self.names = kernel_size, padding, widths, names
        self.in_channels = in_channels
        c_in = in_channels
        for i, (name, width) in enumerate(zip(names, widths)):
            k, p = (kernel_size, padding) if i == 0 else (1, 0)
            self.add_module(name, nn.Conv2d(c_in, width, kernel_size=k, padding=p))
            self.add_module(f"{name}_relu", nn.ReLU(inplace=True))
            c_in = width

    def convs(self) -> list[nn.Conv2d]:
        """The block's convolutions, first (``k×k``) to last (1×1)."""
        return [getattr(self, n) for n in self.names]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.names:
            x = getattr(self, f"{name}_relu")(getattr(self, name)(x))
        return x

    def as_mlp(self) -> nn.Sequential:
        """The block as one MLP on a flattened ``C·k·k`` patch, with copies of the block's weights.

        The first ``Linear`` takes the patch in ``(channel, row, column)`` order, the memory order of a
        convolution weight ``(out, in, k, k)`` and of ``F.unfold``, so its weight is the convolution
        weight reshaped to ``(out, C·k·k)``; every 1×1 convolution becomes a ``Linear`` with weight
        ``(out, in)``. ReLU after every layer, as in the block.
        """
        layers: list[nn.Module] = []
        for conv in self.convs():
            fc = nn.Linear(conv.weight[0].numel(), conv.out_channels,
                           device=conv.weight.device, dtype=conv.weight.dtype)
            with torch.no_grad():
                fc.weight.copy_(conv.weight.reshape(conv.out_channels, -1))
                fc.bias.copy_(conv.bias)
            layers += [fc, nn.ReLU()]
        return nn.Sequential(*layers)


def slide_mlp(mlp: nn.Module, x: torch.Tensor, kernel_size: int = 1, padding: int = 0) -> torch.Tensor:
    """Apply ``mlp`` to every ``kernel_size × kernel_size`` patch of ``x`` (stride 1): the paper's
    "micro network slid over the input".

    ``y[n, :, i, j] = mlp(x[n, :, i:i+k, j:j+k].flatten())`` after zero padding ``padding`` on every
    side, for an ``(N, C, H, W)`` input; the patch is flattened in ``(channel, row, column)`` order.
    ``mlp`` maps ``(…, C·k·k)`` to ``(…, D)``; the result is ``(N, D, H_out, W_out)`` with
    ``H_out = H + 2·padding − k + 1``. With ``kernel_size=1`` this is an MLP applied at every pixel.
    """
    if x.dim() != 4:
        raise ValueError(f"x must be an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    kernel_size = check_positive_int("kernel_size", kernel_size)
    padding = check_int("padding", padding, 0)
    n, c, h, w = x.shape
    h_out = conv_output_size(h, kernel_size, 1, padding)  # ValueError if the kernel does not fit
    w_out = conv_output_size(w, kernel_size, 1, padding)
    first = next((m for m in mlp.modules() if isinstance(m, nn.Linear)), None)
    if first is not None and first.in_features != c * kernel_size * kernel_size:
        raise ValueError(f"the MLP's first Linear takes {first.in_features} inputs, but a "
                         f"{kernel_size}×{kernel_size} patch of {c} channels has {c * kernel_size ** 2}")
    patches = F.unfold(x, kernel_size, padding=padding)  # (N, C·k·k, H_out·W_out)
    y = mlp(patches.transpose(1, 2))  # (N, H_out·W_out, D)
    return y.transpose(1, 2).reshape(n, -1, h_out, w_out)


def _resolve(config: str | Sequence[BlockSpec]) -> list[BlockSpec]:
    if isinstance(config, str):
        try:
            return NIN_CONFIGS[config]
        except KeyError:
            raise ValueError(f"unknown NIN configuration {config!r}; known: {', '.join(NIN_CONFIGS)}") from None
    config = list(config)
    if not config:
        raise ValueError("a configuration is a non-empty list of (kernel, padding, widths) blocks")
    for block in config:
        if not isinstance(block, tuple) or len(block) != 3:
            raise ValueError(f"a block is (kernel, padding, widths), got {block!r}")
    return config


def nin_sizes(input_size: int = 32, config: str | Sequence[BlockSpec] = "cifar10") -> list[tuple[str, int]]:
    """Side of the square map after every MLPConv block and pooling, for an ``input_size`` input.

    A block's first convolution gives ``in + 2p − k + 1`` (the 1×1 layers keep the side); each pooling
    between blocks gives ``⌈(in − 3)/2⌉ + 1`` (:func:`cvlib.analysis.shapes.conv_output_size`, ``ceil_mode``),
    and global average pooling gives 1.
    """
    input_size = check_positive_int("input_size", input_size)
    blocks = _resolve(config)
    size, sizes = input_size, []
    for b, (k, p, _) in enumerate(blocks, start=1):
        size = conv_output_size(size, k, 1, p)
        sizes.append((f"mlpconv{b}", size))
        if b < len(blocks):
            size = conv_output_size(size, POOL_KERNEL, POOL_STRIDE, ceil_mode=True)
            sizes.append((f"pool{b}", size))
    sizes.append(("gap", 1))
    return sizes


class NIN(nn.Sequential):
    """Network in Network: MLPConv blocks with 3×3/2 pooling and dropout between them, then global
    average pooling of the last block's maps, one map per class.

    ``config`` is a key of :data:`NIN_CONFIGS` or a table in the same form; ``num_classes`` replaces
    the last width. ``pools`` gives the kind of each pooling between blocks, ``"max"`` or ``"avg"``.
    The output is ``(N, num_classes)`` class scores (apply softmax for probabilities). Children are
    ``mlpconv1, pool1, drop1, mlpconv2, …, gap, flatten``; the convolutions inside are named
    ``conv1, cccp1, cccp2, conv2, cccp3, …`` as in the released model.
    """

    input_size = 32
    in_channels = 3

    def __init__(self, config: str | Sequence[BlockSpec] = "cifar10", num_classes: int = 10,
                 dropout: float = DROPOUT, pools: Sequence[str] | None = None, in_channels: int = 3) -> None:
        blocks = _resolve(config)
        num_classes = check_positive_int("num_classes", num_classes)
        in_channels = check_positive_int("in_channels", in_channels)
        dropout = check_probability("dropout", dropout, allow_one=False)
        pools = tuple(pools) if pools is not None else ("max",) * (len(blocks) - 1)
        if len(pools) != len(blocks) - 1 or any(p not in ("max", "avg") for p in pools):
            raise ValueError(f"pools must give 'max' or 'avg' for each of the {len(blocks) - 1} poolings "
                             f"between blocks, got {pools!r}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in, n_cccp = in_channels, 0
        for b, (k, p, widths) in enumerate(blocks, start=1):
            widths = tuple(widths)
            if b == len(blocks):
                widths = widths[:-1] + (num_classes,)
            names = (f"conv{b}", *(f"cccp{n_cccp + i}" for i in range(1, len(widths))))
            n_cccp += len(widths) - 1
            layers[f"mlpconv{b}"] = MLPConv(c_in, widths, k, p, names)
            c_in = widths[-1]
            if b < len(blocks):
                pool = nn.MaxPool2d if pools[b - 1] == "max" else nn.AvgPool2d
                layers[f"pool{b}"] = pool(POOL_KERNEL, POOL_STRIDE, ceil_mode=True)
                layers[f"drop{b}"] = nn.Dropout(dropout)
        layers["gap"] = nn.AdaptiveAvgPool2d(1)
        layers["flatten"] = nn.Flatten()
        super().__init__(layers)
        self.in_channels = in_channels

    def class_maps(self, x: torch.Tensor) -> torch.Tensor:
        """The last block's output, ``(N, classes, h, w)``: one map per class, before GAP."""
        for name, module in self.named_children():
            if name == "gap":
                return x
            x = module(x)
        raise AssertionError("a NIN ends with gap")  # pragma: no cover


# The paper states no parameter or multiply-add count for its CIFAR-10 model, and no well-known library
# builds it.
@register_model("nin_cifar10", paper="lin2014network", input_size=32, num_classes=10)
def nin_cifar10(num_classes: int = 10, pool2: str = "max") -> NIN:
    """The CIFAR-10 NIN released with the paper: 966,986 parameters for 10 classes, 32×32×3 input.

    Widths, kernels and paddings are those of the authors' cuda-convnet definition and of the Caffe
    Model Zoo model (``conv1`` 192 5×5, ``cccp1`` 160, ``cccp2`` 96; ``conv2`` 192 5×5, ``cccp3``,
    ``cccp4`` 192; ``conv3`` 192 3×3, ``cccp5`` 192, ``cccp6`` 10), with a ReLU after every layer,
    ``cccp6`` included. The paper's text says max pooling after each block, as the cuda-convnet
    definition has; the Caffe Model Zoo version averages in ``pool2`` (``pool2="avg"``). Both round the
    pooled size up (``ceil_mode=True`` here). Some PyTorch ports pad the poolings by 1 instead, which
    gives the same 16 and 8 pixel maps.
    """
    return NIN("cifar10", num_classes=num_classes, pools=("max", pool2))
