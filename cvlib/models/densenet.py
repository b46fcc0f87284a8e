"""DenseNet (Huang et al., 2017): dense blocks, transition layers and the ImageNet DenseNet-BC networks.

**Dense connectivity.** Inside a dense block layer ``ℓ`` receives the concatenation of the block input
and of every earlier layer's output, ``x_ℓ = H_ℓ([x_0, x_1, …, x_{ℓ−1}])``, so an ``L``-layer block has
``1 + 2 + … + L = L(L+1)/2`` direct connections. Every ``H_ℓ`` adds ``k`` channels (the growth rate): layer
``ℓ`` sees ``k_0 + (ℓ − 1)·k`` channels and the block hands ``k_0 + L·k`` to what follows.

**The layers.** ``H_ℓ`` is BN-ReLU-Conv(3×3) producing ``k`` maps; with the bottleneck (DenseNet-B) it is
BN-ReLU-Conv(1×1) producing ``4k`` maps, then BN-ReLU-Conv(3×3) producing ``k``. A transition layer between
two blocks is BN-ReLU-Conv(1×1)-AvgPool(2×2, stride 2) and turns the ``m`` maps of the block before it into
``⌊θ·m⌋``, ``0 < θ ≤ 1`` (DenseNet-C for ``θ < 1``; DenseNet-BC with the bottleneck too; the paper uses
``θ = 0.5``).

**The ImageNet networks** (the paper's Table 1, kept as data in :data:`DENSENET_CONFIGS`): ``k = 32``, a stem
of a 7×7/2 convolution with ``2k`` filters (BN-ReLU after it) and a 3×3/2 max pooling (224 → 112 → 56),
four dense blocks at 56, 28, 14 and 7 pixels separated by three transitions with ``θ = 0.5``, then BN-ReLU,
global average pooling and one fully connected layer. Convolutions have no bias (BatchNorm follows or
precedes every one of them). The final BN-ReLU before the pooling is not a row of Table 1; it is in the
authors' code and in torchvision, and it is what the ``BN-ReLU-Conv`` order needs to normalise the last
block's output.

Layers are named after the paper's rows: ``conv1``, ``pool1``, ``denseblock2.denselayer5.conv_3x3``,
``transition3.conv``, ``fc``. :func:`dense_connections` counts the direct connections of a block from its
traced graph; :func:`saved_activation_bytes` measures the feature maps that a training forward pass keeps
for the backward pass, the memory cost of the concatenations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.fx
from torch import nn

from cvlib._validate import check_bool, check_positive_int, check_probability, check_real
from cvlib.analysis import counts
from cvlib.analysis.tracing import trace
from cvlib.analysis.shapes import conv_output_size
from cvlib.models.registry import register_model

__all__ = [
    "DENSENET_CONFIGS",
    "GROWTH_RATE",
    "BOTTLENECK_WIDTH",
    "COMPRESSION",
    "DenseLayer",
    "DenseBlock",
    "Transition",
    "DenseNet",
    "transition_channels",
    "channel_plan",
    "densenet_counts",
    "dense_connections",
    "saved_activation_bytes",
    "naive_saved_channels",
    "densenet121",
    "densenet169",
    "densenet201",
    "densenet264",
]

# Huang et al. (2017), Table 1: layers per dense block of the ImageNet DenseNet-BC networks, all with k = 32.
DENSENET_CONFIGS: dict[str, tuple[int, int, int, int]] = {
    "densenet121": (6, 12, 24, 16),
    "densenet169": (6, 12, 32, 32),
    "densenet201": (6, 12, 48, 32),
    "densenet264": (6, 12, 64, 48),
}
GROWTH_RATE = 32  # k
BOTTLENECK_WIDTH = 4  # the 1×1 convolution of DenseNet-B produces 4k maps
COMPRESSION = 0.5  # θ of DenseNet-C / -BC


def _compression(theta: object) -> float:
    """θ of DenseNet-C: a real number in (0, 1]."""
    return check_real("compression", theta, 0, 1, low_open=True)


def transition_channels(in_channels: int, compression: float = COMPRESSION) -> int:
    """Output channels of a transition layer: ``⌊θ·m⌋`` for ``m`` input channels, ``0 < θ ≤ 1``.

    The product is rounded to 9 decimals before the floor, so that e.g. ``0.29·100`` gives 29 and not the
    28 that binary floating point (28.999…) would. Raises ``ValueError`` if the result would be 0.
    """
    in_channels = check_positive_int("in_channels", in_channels)
    compression = _compression(compression)
    out = math.floor(round(compression * in_channels, 9))
    if out < 1:
        raise ValueError(f"compression θ={compression} leaves no channel of {in_channels} (⌊θ·m⌋ = 0)")
    return out


# ----------------------------------------------------------------------------------------------- layers


class DenseLayer(nn.Module):
    """One layer ``H_ℓ`` of a dense block: concatenate the inputs, then BN-ReLU-Conv.

    With ``bottleneck=True`` (DenseNet-B): BN-ReLU-Conv 1×1 to ``bn_size·k`` maps, then BN-ReLU-Conv 3×3
    (padding 1) to ``k`` maps. Without: BN-ReLU-Conv 3×3 to ``k`` maps. ``forward`` takes the list of the
    block's feature maps so far, ``[x_0, …, x_{ℓ−1}]`` (or one tensor), and returns ``x_ℓ``.

    ``memory_efficient=True`` recomputes the concatenation, the first BN-ReLU and the first convolution
    during the backward pass instead of storing them (:class:`_Recompute`, gradient checkpointing); it acts
    only when training with gradients on, and changes no result.
    """

    def __init__(self, in_channels: int, growth_rate: int = GROWTH_RATE, bottleneck: bool = True,
                 bn_size: int = BOTTLENECK_WIDTH, drop_rate: float = 0.0, memory_efficient: bool = False) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        growth_rate = check_positive_int("growth_rate", growth_rate)
        bn_size = check_positive_int("bn_size", bn_size)
        drop_rate = check_probability("drop_rate", drop_rate, allow_one=False)
        bottleneck = check_bool("bottleneck", bottleneck)
        memory_efficient = check_bool("memory_efficient", memory_efficient)
        self.in_channels, self.growth_rate, self.bottleneck = in_channels, growth_rate, bottleneck
        self.memory_efficient = memory_efficient
        if bottleneck:
            width = bn_size * growth_rate
            self.norm_1x1 = nn.BatchNorm2d(in_channels)
            self.relu_1x1 = nn.ReLU(inplace=True)
            self.conv_1x1 = nn.Conv2d(in_channels, width, 1, bias=False)
        else:
            width = in_channels
        self.norm_3x3 = nn.BatchNorm2d(width)
        self.relu_3x3 = nn.ReLU(inplace=True)
        self.conv_3x3 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(drop_rate) if drop_rate > 0 else None

    def _first(self, *features: torch.Tensor) -> torch.Tensor:
        """Concatenation, BN-ReLU and the first convolution (the part whose size grows with ℓ)."""
        x = torch.cat(features, 1) if len(features) > 1 else features[0]
        if self.bottleneck:
            return self.conv_1x1(self.relu_1x1(self.norm_1x1(x)))
        return self.conv_3x3(self.relu_3x3(self.norm_3x3(x)))

    def forward(self, features: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        feats = (features,) if isinstance(features, torch.Tensor) else tuple(features)
        if self.memory_efficient and self.training and torch.is_grad_enabled():
            y = _Recompute.apply(self, *feats)
        else:
            y = self._first(*feats)
        if self.bottleneck:
            y = self.conv_3x3(self.relu_3x3(self.norm_3x3(y)))
        if self.dropout is not None:
            y = self.dropout(y)
        return y


class _Recompute(torch.autograd.Function):
    """Gradient checkpointing of :meth:`DenseLayer._first`: keep only its inputs, recompute it backwards.

    The forward pass runs without building a graph and saves just the input feature maps ``x_0 … x_{ℓ−1}``
    (which exist anyway); the backward pass runs the part again with gradients on, back-propagates through
    it (the parameters' gradients accumulate as usual) and returns the inputs' gradients. BatchNorm's
    running statistics are restored after the second run, so they are updated once, as without it. As
    with PyTorch's reentrant checkpoint, parameter gradients reach ``.grad`` through ``backward()``, not
    through ``torch.autograd.grad``.
    """

    @staticmethod
    def forward(ctx, layer: DenseLayer, *features: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.layer = layer
        ctx.save_for_backward(*features)
        with torch.no_grad():
            return layer._first(*features)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        inputs = [t.detach().requires_grad_(t.requires_grad) for t in ctx.saved_tensors]
        buffers = {name: b.clone() for name, b in ctx.layer.named_buffers()}
        with torch.enable_grad():
            out = ctx.layer._first(*inputs)
        torch.autograd.backward(out, grad)
        with torch.no_grad():  # after the backward pass, which needs the buffers as they were
            for name, b in ctx.layer.named_buffers():
                b.copy_(buffers[name])
        return (None, *[t.grad if t.requires_grad else None for t in inputs])


class DenseBlock(nn.Module):
    """``num_layers`` :class:`DenseLayer` s (``denselayer1`` …); layer ``ℓ`` sees ``in_channels + (ℓ−1)·k``
    channels and the block returns the concatenation ``[x_0, …, x_L]`` of ``in_channels + L·k`` channels."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int = GROWTH_RATE, bottleneck: bool = True,
                 bn_size: int = BOTTLENECK_WIDTH, drop_rate: float = 0.0, memory_efficient: bool = False) -> None:
        super().__init__()
        num_layers = check_positive_int("num_layers", num_layers)
        in_channels = check_positive_int("in_channels", in_channels)
        growth_rate = check_positive_int("growth_rate", growth_rate)
        self.in_channels, self.growth_rate, self.num_layers = in_channels, growth_rate, num_layers
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(in_channels + i * growth_rate, growth_rate, bottleneck,
                                                             bn_size, drop_rate, memory_efficient))

    @property
    def out_channels(self) -> int:
        return self.in_channels + self.num_layers * self.growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.children():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Module):
    """BN-ReLU-Conv 1×1 to ``⌊θ·m⌋`` channels, then 2×2 average pooling with stride 2."""

    def __init__(self, in_channels: int, compression: float = COMPRESSION) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = transition_channels(in_channels, compression)
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, self.out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(self.relu(self.norm(x))))


# ---------------------------------------------------------------------------------------------- network


class DenseNet(nn.Module):
    """A DenseNet for ImageNet-sized inputs (the paper's Table 1 layout).

    ``block_layers`` gives the layers of each dense block (a key of :data:`DENSENET_CONFIGS` or a
    sequence); the stem has ``init_features`` (default ``2k``) 7×7/2 filters; ``bottleneck`` and
    ``compression`` select DenseNet, -B, -C or -BC. A transition follows every block but the last.
    """

    input_size = 224
    in_channels = 3

    def __init__(self, block_layers: str | Sequence[int] = "densenet121", growth_rate: int = GROWTH_RATE,
                 init_features: int | None = None, bottleneck: bool = True, bn_size: int = BOTTLENECK_WIDTH,
                 compression: float = COMPRESSION, drop_rate: float = 0.0, num_classes: int = 1000,
                 memory_efficient: bool = False) -> None:
        super().__init__()
        blocks = _resolve(block_layers)
        init_features = 2 * growth_rate if init_features is None else init_features
        growth_rate = check_positive_int("growth_rate", growth_rate)
        init_features = check_positive_int("init_features", init_features)
        num_classes = check_positive_int("num_classes", num_classes)
        _compression(compression)
        self.block_layers, self.growth_rate = blocks, growth_rate
        self.conv1 = nn.Conv2d(3, init_features, 7, stride=2, padding=3, bias=False)
        self.norm1 = nn.BatchNorm2d(init_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=1)
        c = init_features
        for b, n in enumerate(blocks, start=1):
            block = DenseBlock(n, c, growth_rate, bottleneck, bn_size, drop_rate, memory_efficient)
            self.add_module(f"denseblock{b}", block)
            c = block.out_channels
            if b < len(blocks):
                transition = Transition(c, compression)
                self.add_module(f"transition{b}", transition)
                c = transition.out_channels
        self.norm_final = nn.BatchNorm2d(c)
        self.relu_final = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, num_classes)
        self.num_features = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.norm1(self.conv1(x))))
        for b in range(1, len(self.block_layers) + 1):
            x = getattr(self, f"denseblock{b}")(x)
            if b < len(self.block_layers):
                x = getattr(self, f"transition{b}")(x)
        x = self.avgpool(self.relu_final(self.norm_final(x)))
        return self.fc(self.flatten(x))


def _resolve(block_layers: str | Sequence[int]) -> tuple[int, ...]:
    if isinstance(block_layers, str):
        try:
            return DENSENET_CONFIGS[block_layers]
        except KeyError:
            raise ValueError(f"unknown DenseNet configuration {block_layers!r}; known: "
                             f"{', '.join(DENSENET_CONFIGS)}") from None
    blocks = tuple(block_layers)
    if not blocks:
        raise ValueError("block_layers must list at least one dense block")
    return tuple(check_positive_int(f"block_layers[{i}]", n) for i, n in enumerate(blocks))


# ------------------------------------------------------------------------------------ counting by formula


def channel_plan(block_layers: str | Sequence[int] = "densenet121", growth_rate: int = GROWTH_RATE,
                 init_features: int | None = None, compression: float = COMPRESSION) -> list[tuple[str, int, int]]:
    """``(stage, channels in, channels out)`` for the stem, every dense block and transition.

    A block adds ``n·k`` channels (``c → c + n·k``); a transition keeps ``⌊θ·c⌋``.
    """
    blocks = _resolve(block_layers)
    growth_rate = check_positive_int("growth_rate", growth_rate)
    c = check_positive_int("init_features", 2 * growth_rate if init_features is None else init_features)
    plan = [("conv1", 3, c)]
    for b, n in enumerate(blocks, start=1):
        plan.append((f"denseblock{b}", c, c + n * growth_rate))
        c += n * growth_rate
        if b < len(blocks):
            out = transition_channels(c, compression)
            plan.append((f"transition{b}", c, out))
            c = out
    return plan


def densenet_counts(block_layers: str | Sequence[int] = "densenet121", growth_rate: int = GROWTH_RATE,
                    init_features: int | None = None, bn_size: int = BOTTLENECK_WIDTH,
                    compression: float = COMPRESSION, num_classes: int = 1000,
                    input_size: int = 224) -> tuple[int, int]:
    """``(parameters, MACs)`` of a DenseNet-BC by the formulas of :mod:`cvlib.analysis.counts`, without building it.

    Per dense layer seeing ``c`` channels on an ``s×s`` map: BN ``2c`` + conv 1×1 ``c·4k`` + BN ``2·4k`` +
    conv 3×3 ``9·4k·k`` parameters; MACs ``s²·(c·4k + 9·4k·k)``. Per transition: BN ``2m`` + conv
    ``m·⌊θm⌋``, MACs on the map before pooling. Stem: conv 7×7 ``49·3·2k`` + BN; classifier: final BN and
    ``(C + 1)·classes``. Map sides follow :func:`cvlib.analysis.shapes.conv_output_size`.
    """
    blocks = _resolve(block_layers)
    growth_rate = check_positive_int("growth_rate", growth_rate)
    bn_size = check_positive_int("bn_size", bn_size)
    num_classes = check_positive_int("num_classes", num_classes)
    input_size = check_positive_int("input_size", input_size)
    k, width = growth_rate, bn_size * growth_rate
    c = 2 * k if init_features is None else init_features
    side = conv_output_size(input_size, 7, 2, 3)
    params = counts.conv2d_params(3, c, 7, bias=False) + counts.batchnorm_params(c)
    macs = counts.conv2d_macs(3, c, 7, side)
    side = conv_output_size(side, 3, 2, 1)
    for b, n in enumerate(blocks, start=1):
        for _ in range(n):
            params += (counts.batchnorm_params(c) + counts.conv2d_params(c, width, 1, bias=False)
                       + counts.batchnorm_params(width) + counts.conv2d_params(width, k, 3, bias=False))
            macs += counts.conv2d_macs(c, width, 1, side) + counts.conv2d_macs(width, k, 3, side)
            c += k
        if b < len(blocks):
            out = transition_channels(c, compression)
            params += counts.batchnorm_params(c) + counts.conv2d_params(c, out, 1, bias=False)
            macs += counts.conv2d_macs(c, out, 1, side)
            c, side = out, conv_output_size(side, 2, 2)
    params += counts.batchnorm_params(c) + counts.linear_params(c, num_classes)
    macs += counts.linear_macs(c, num_classes)
    return params, macs


# ------------------------------------------------------------------------------------ the block's graph


def dense_connections(block: nn.Module, include_output: bool = False) -> list[tuple[str, str]]:
    """The direct connections of a block, read from its ``torch.fx`` graph, as ``(source, target)`` names.

    Every :class:`DenseLayer` call is a node; the sources are the block input (``"input"``) and the
    layers. A connection is a source tensor that reaches a layer through operations without weights only
    (concatenation, indexing) — the paper's "direct connection". With ``include_output`` the block's
    output counts as one more target (``"output"``), as the next layer (the transition) would.
    """
    graph = trace(block, leaves=(DenseLayer,))
    names: dict[torch.fx.Node, str] = {}
    for node in graph.nodes:
        if node.op == "placeholder":
            names[node] = "input"
        elif node.op == "call_module" and isinstance(block.get_submodule(node.target), DenseLayer):
            names[node] = str(node.target)

    def sources(node: torch.fx.Node) -> list[str]:
        found: list[str] = []
        for arg in node.all_input_nodes:
            for name in ([names[arg]] if arg in names else sources(arg)):
                if name not in found:
                    found.append(name)
        return found

    edges: list[tuple[str, str]] = []
    for node in graph.nodes:
        if node in names and node.op != "placeholder":
            edges += [(s, names[node]) for s in sources(node)]
        elif node.op == "output" and include_output:
            edges += [(s, "output") for s in sources(node)]
    return edges


# ------------------------------------------------------------------------------------------------ memory


def saved_activation_bytes(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Bytes of the feature maps a forward pass of ``model`` keeps for its backward pass.

    Runs ``model(*inputs)`` with gradients on under :func:`torch.autograd.graph.saved_tensors_hooks`, the
    inputs requiring gradients as if they came from earlier layers of a network, and adds up the tensors
    autograd saves that are 4-D feature maps (``N×C×H×W``) and not parameters or buffers; a storage saved
    by several operations (a ReLU's output that the next convolution also saves) counts once. Per-channel
    statistics, weights and shapes are left out.
    """
    own = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen: dict[tuple[int, int, tuple[int, ...]], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if t.dim() == 4 and ptr not in own:
            seen[(ptr, t.storage_offset(), tuple(t.shape))] = t.numel() * t.element_size()
        return t

    leaves = [x.detach().requires_grad_(x.is_floating_point()) for x in inputs]
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(*leaves)
    return sum(seen.values())


def naive_saved_channels(num_layers: int, in_channels: int, growth_rate: int = GROWTH_RATE,
                         bn_size: int = BOTTLENECK_WIDTH) -> int:
    """Channels of the feature maps a naive DenseNet-B block keeps for the backward pass (per pixel).

    Layer ``ℓ`` concatenates ``c_ℓ = k_0 + (ℓ−1)·k`` channels into a new tensor; BatchNorm keeps it and
    the convolution keeps the BN-ReLU output of the same size, then the same two for the ``bn_size·k``
    maps of the bottleneck: ``Σ_ℓ (2·c_ℓ + 2·bn_size·k) = 2·L·k_0 + k·L(L−1) + 2·bn_size·k·L`` — quadratic
    in ``L`` through the concatenations.
    """
    num_layers = check_positive_int("num_layers", num_layers)
    in_channels = check_positive_int("in_channels", in_channels)
    growth_rate = check_positive_int("growth_rate", growth_rate)
    bn_size = check_positive_int("bn_size", bn_size)
    L, k = num_layers, growth_rate
    return 2 * L * in_channels + k * L * (L - 1) + 2 * bn_size * k * L


# ------------------------------------------------------------------------------------------- builders

# The paper gives no table of parameters or multiply-adds for the ImageNet networks (Figure 3 plots
# them as points); its text states "a DenseNet-201 with 20M parameters". torchvision's densenet121/169/201
# are these networks, layer for layer; it has no densenet264.


@register_model("densenet121", paper="huang2017densely", input_size=224,
                library="torchvision.models.densenet121", library_params=7_978_856)
def densenet121(num_classes: int = 1000, memory_efficient: bool = False) -> DenseNet:
    """DenseNet-121 (k = 32, blocks 6-12-24-16): 7,978,856 parameters, the count torchvision documents.

    torchvision's ``densenet121`` has the same layers; like the authors' code (and unlike the rows of
    Table 1) both put a BN-ReLU before the global pooling.
    """
    return DenseNet("densenet121", num_classes=num_classes, memory_efficient=memory_efficient)


@register_model("densenet169", paper="huang2017densely", input_size=224,
                library="torchvision.models.densenet169", library_params=14_149_480)
def densenet169(num_classes: int = 1000, memory_efficient: bool = False) -> DenseNet:
    """DenseNet-169 (k = 32, blocks 6-12-32-32): 14,149,480 parameters, as torchvision documents."""
    return DenseNet("densenet169", num_classes=num_classes, memory_efficient=memory_efficient)


@register_model("densenet201", paper="huang2017densely", input_size=224,
                paper_params=20_000_000, params_rtol=0.5 / 20, source="§4.4",
                library="torchvision.models.densenet201", library_params=20_013_928)
def densenet201(num_classes: int = 1000, memory_efficient: bool = False) -> DenseNet:
    """DenseNet-201 (k = 32, blocks 6-12-48-32): 20,013,928 parameters, as torchvision documents."""
    return DenseNet("densenet201", num_classes=num_classes, memory_efficient=memory_efficient)


@register_model("densenet264", paper="huang2017densely", input_size=224)
def densenet264(num_classes: int = 1000, memory_efficient: bool = False) -> DenseNet:
    """DenseNet-264 (k = 32, blocks 6-12-64-48, as in Table 1 of the paper).

    Counted the way the other names are (convolutions + the classifier), these blocks give 265 layers,
    not 264. torchvision has no ``densenet264``.
    """
    return DenseNet("densenet264", num_classes=num_classes, memory_efficient=memory_efficient)
