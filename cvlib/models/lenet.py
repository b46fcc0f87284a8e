"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998): the paper's network and the common modern variant.

The paper's LeNet-5 (Section II-B), on a 32×32×1 input, layer by layer (``f`` is the activation)::

    c1      convolution 6@5×5                                       → 6@28×28,  f
    s2      trainable 2×2 subsampling: coefficient · Σ window + bias → 6@14×14,  f
    c3      convolution 16@5×5, partial connections (Table I)        → 16@10×10, f
    s4      trainable 2×2 subsampling                                → 16@5×5,   f
    c5      convolution 120@5×5                                      → 120@1×1,  f
    f6      fully connected 84                                       → 84,       f
    output  10 Euclidean RBF units  y_i = Σ_j (x_j − w_ij)²           → 10

with the scaled hyperbolic tangent ``f(a) = A·tanh(S·a)``, ``A = 1.7159``, ``S = 2/3``. The RBF
prototypes ``w_i`` are fixed ±1 vectors of 84 = 7×12 components, each a stylised bitmap of a digit; the
paper drew them from a character set, :data:`DIGIT_BITMAPS` are this module's own drawings. They are a
buffer, not a parameter: nothing in the output layer is trained, so the model has the paper's 60,000
trainable parameters and the 840 prototype components are counted apart.

The "modern" LeNet-5 most courses and libraries use instead has ReLU, 2×2 max pooling without
parameters, a fully connected C3 (every C3 map sees all six S2 maps) and a plain linear output layer
trained with softmax cross-entropy. Both builders name their layers ``c1 … output`` so profile rows
line up with the paper's layer names.

Where this module departs from the paper: weights start from torch's default rule (C3 with each map's
own fan-in), each subsampling coefficient starts at 1, and the prototypes are this module's bitmaps.
The custom layers register their MACs with :func:`cvlib.profile`; its receptive-field column does not
follow them (it knows torch's convolution and pooling windows only).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cvlib._validate import check_bool, check_positive_int, check_real
from cvlib.analysis.profiler import profile, register_macs
from cvlib.analysis.receptive_field import register_window
from cvlib.models.registry import register_model

__all__ = [
    "C3_TABLE",
    "DIGIT_BITMAPS",
    "LENET5_LAYERS",
    "LeNet5",
    "MaskedConv2d",
    "RBFOutput",
    "ScaledTanh",
    "TrainableSubsampling",
    "connection_matrix",
    "layer_connections",
    "lenet5",
    "lenet5_modern",
    "paper_input_scale",
    "rbf_loss",
    "rbf_prototypes",
]

# Table I of the paper: for each of the 16 C3 maps, the S2 maps it reads. Maps 0–5 read three
# contiguous S2 maps, 6–11 four contiguous ones (cyclically), 12–14 four non-contiguous ones, 15 all six.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# The layers of LeNet-5 as data: (name, kind, output maps or units, kernel or window).
LENET5_LAYERS: tuple[tuple[str, str, int, int], ...] = (
    ("c1", "conv", 6, 5),
    ("s2", "subsample", 6, 2),
    ("c3", "conv", 16, 5),
    ("s4", "subsample", 16, 2),
    ("c5", "conv", 120, 5),
    ("f6", "fc", 84, 1),
    ("output", "out", 10, 1),
)

# Stylised 7-wide, 12-high bitmaps of the ten digits ('#' = +1, '.' = −1), the RBF prototypes.
DIGIT_BITMAPS: tuple[tuple[str, ...], ...] = (
    (".......", "..###..", ".#...#.", "#.....#", "#.....#", "#.....#",
     "#.....#", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    (".......", "...#...", "..##...", ".#.#...", "...#...", "...#...",
     "...#...", "...#...", "...#...", "...#...", ".#####.", "......."),
    (".......", "..###..", ".#...#.", "#.....#", "......#", ".....#.",
     "....#..", "...#...", "..#....", ".#.....", "#######", "......."),
    (".......", ".####..", "#....#.", "......#", ".....#.", "..###..",
     ".....#.", "......#", "......#", "#....#.", ".####..", "......."),
    (".......", ".....#.", "....##.", "...#.#.", "..#..#.", ".#...#.",
     "#....#.", "#######", ".....#.", ".....#.", ".....#.", "......."),
    (".......", "#######", "#......", "#......", "#####..", ".....#.",
     "......#", "......#", "......#", "#....#.", ".####..", "......."),
    (".......", "...###.", "..#....", ".#.....", "#......", "#.###..",
     "##...#.", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    (".......", "#######", "......#", ".....#.", "....#..", "....#..",
     "...#...", "...#...", "..#....", "..#....", "..#....", "......."),
    (".......", "..###..", ".#...#.", "#.....#", ".#...#.", "..###..",
     ".#...#.", "#.....#", "#.....#", ".#...#.", "..###..", "......."),
    (".......", "..###..", ".#...#.", "#.....#", "#.....#", ".#...##",
     "..###.#", "......#", ".....#.", "....#..", ".###...", "......."),
)


def rbf_prototypes(bitmaps: Sequence[Sequence[str]] = DIGIT_BITMAPS) -> torch.Tensor:
    """The RBF parameter vectors: one row of ±1 per bitmap (``'#'`` → +1, ``'.'`` → −1), row by row.

    All bitmaps must have the same size and contain only ``'#'`` and ``'.'``.
    """
    if len(bitmaps) == 0:
        raise ValueError("need at least one bitmap")
    shape = (len(bitmaps[0]), len(bitmaps[0][0]) if len(bitmaps[0]) else 0)
    rows = []
    for n, bitmap in enumerate(bitmaps):
        if len(bitmap) != shape[0] or any(len(line) != shape[1] for line in bitmap) or shape[1] == 0:
            raise ValueError(f"bitmap {n} is not {shape[0]}×{shape[1]} like bitmap 0 (and non-empty)")
        text = "".join(bitmap)
        if set(text) - {"#", "."}:
            bad = sorted(set(text) - {"#", "."})
            raise ValueError(f"bitmap {n} may contain only '#' and '.', found {bad}")
        rows.append([1.0 if c == "#" else -1.0 for c in text])
    return torch.tensor(rows)


def connection_matrix(table: Sequence[Sequence[int]] = C3_TABLE, in_channels: int = 6) -> torch.Tensor:
    """Boolean ``(in_channels, out_maps)`` matrix: entry ``(n, m)`` is True when map ``m`` reads input ``n``.

    Laid out as the paper's Table I (rows: S2 maps, columns: C3 maps).
    """
    in_channels = check_positive_int("in_channels", in_channels)
    matrix = torch.zeros(in_channels, len(table), dtype=torch.bool)
    for m, inputs in enumerate(table):
        if len(inputs) == 0:
            raise ValueError(f"output map {m} reads no input map; every map needs at least one")
        if len(set(inputs)) != len(inputs):
            raise ValueError(f"output map {m} lists an input map twice: {tuple(inputs)}")
        for n in inputs:
            if not 0 <= n < in_channels:
                raise ValueError(f"output map {m} reads input map {n}; allowed are 0..{in_channels - 1}")
            matrix[n, m] = True
    return matrix


class ScaledTanh(nn.Module):
    """The paper's squashing function ``f(a) = A·tanh(S·a)`` with ``A = 1.7159``, ``S = 2/3``.

    With these constants ``f(±1) = ±1`` and the second derivative of ``f`` peaks near ``a = ±1``
    (the paper's Appendix A).
    """

    def __init__(self, amplitude: float = 1.7159, slope: float = 2.0 / 3.0) -> None:
        super().__init__()
        self.amplitude = check_real("amplitude", amplitude, 0, low_open=True)
        self.slope = check_real("slope", slope, 0, low_open=True)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * a)

    def extra_repr(self) -> str:
        return f"A={self.amplitude}, S={self.slope:.4g}"


@register_window
class TrainableSubsampling(nn.Module):
    """The paper's subsampling layer: ``y_c = w_c · Σ_{window} x_c + b_c`` over non-overlapping windows.

    One trainable coefficient ``w_c`` and one trainable bias ``b_c`` per map (``2·C`` parameters); the
    activation is a separate layer. A ``k × k`` window with stride ``k``: it equals ``k²·w_c`` times
    average pooling, plus ``b_c``. Rows or columns left over by an odd size are dropped, as pooling does.
    Each output is wired to ``k²`` inputs and the bias: ``k² + 1`` connections.
    """

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        channels = check_positive_int("channels", channels)
        kernel_size = check_positive_int("kernel_size", kernel_size)
        self.channels, self.kernel_size, self.stride, self.padding = channels, kernel_size, kernel_size, 0
        # Start as the plain window sum (w = 1, b = 0); training moves each map's coefficient and bias.
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"expected an (N, {self.channels}, H, W) tensor, got shape {tuple(x.shape)}")
        k = self.kernel_size
        _, c, h, w = x.shape
        if h < k or w < k:
            raise ValueError(f"input {h}×{w} is smaller than the {k}×{k} window")
        x = x[:, :, : h - h % k, : w - w % k]
        # The window sums as a sum of k² strided views: view (i, j) holds input (k·r + i, k·s + j)
        # of window (r, s).
        sums = sum(x[:, :, i::k, j::k] for i in range(k) for j in range(k))
        return sums * self.weight.view(1, c, 1, 1) + self.bias.view(1, c, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size={self.kernel_size}"


@register_window
class MaskedConv2d(nn.Module):
    """A convolution in which output map ``m`` reads only the input maps ``table[m]``.

    ``y_m = b_m + Σ_{n ∈ table[m]} W_{m,n} ⋆ x_n``. Only the connected ``k × k`` kernels exist as
    parameters (``Σ_m |table[m]|·k² + C_out``); :meth:`dense_weight` scatters them into a full
    ``(C_out, C_in, k, k)`` weight whose missing kernels are zero — the mask — for ``F.conv2d``.
    Stride 1, no padding, as in LeNet-5.
    """

    def __init__(self, in_channels: int, kernel_size: int, table: Sequence[Sequence[int]]) -> None:
        super().__init__()
        kernel_size = check_positive_int("kernel_size", kernel_size)
        mask = connection_matrix(table, in_channels)  # validates the table
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        self.stride, self.padding = 1, 0
        self.table = tuple(tuple(t) for t in table)
        out_idx = torch.tensor([m for m, inputs in enumerate(self.table) for _ in inputs])
        in_idx = torch.tensor([n for inputs in self.table for n in inputs])
        self.register_buffer("out_index", out_idx, persistent=False)
        self.register_buffer("in_index", in_idx, persistent=False)
        self.register_buffer("mask", mask.t().contiguous(), persistent=False)  # (C_out, C_in)
        # Initialised like torch's Conv2d, U(±1/√fan_in), with each map's own fan-in |table[m]|·k².
        bound = 1.0 / (mask.sum(0).float() * kernel_size ** 2).sqrt()
        self.weight = nn.Parameter((torch.rand(len(in_idx), kernel_size, kernel_size) * 2 - 1)
                                   * bound[out_idx].view(-1, 1, 1))
        self.bias = nn.Parameter((torch.rand(self.out_channels) * 2 - 1) * bound)

    def dense_weight(self) -> torch.Tensor:
        """The ``(C_out, C_in, k, k)`` weight, zero where the table has no connection."""
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels, self.in_channels, k, k)
        return dense.index_put((self.out_index, self.in_index), self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"connections={len(self.in_index)} of {self.in_channels * self.out_channels}")


class RBFOutput(nn.Module):
    """Euclidean radial basis function units: ``y_i = Σ_j (x_j − w_ij)²`` with fixed prototypes ``w_i``.

    The prototypes are a buffer, not a parameter, so they are never trained. A small ``y_i`` means the
    input is close to class ``i``'s prototype; the prediction is ``argmin_i y_i``.
    """

    def __init__(self, prototypes: torch.Tensor) -> None:
        super().__init__()
        if prototypes.dim() != 2:
            raise ValueError(f"prototypes must be (classes, features), got shape {tuple(prototypes.shape)}")
        self.register_buffer("prototypes", prototypes.clone().float())
        self.in_features, self.out_features = prototypes.shape[1], prototypes.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"expected an (N, {self.in_features}) tensor, got shape {tuple(x.shape)}")
        return (x.unsqueeze(1) - self.prototypes.unsqueeze(0)).pow(2).sum(-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features} (fixed)"


def rbf_loss(penalties: torch.Tensor, target: torch.Tensor, j: float = math.inf) -> torch.Tensor:
    """The paper's maximum a posteriori criterion (its equation 9), averaged over the batch:

    ``E = y_D + log(e^{−j} + Σ_i e^{−y_i})``, where ``y_D`` is the penalty of the correct class. The
    ``e^{−j}`` term (a "rubbish" class of constant penalty ``j > 0``) keeps penalties from all
    collapsing; with ``j = ∞`` the criterion is softmax cross-entropy on ``−y``.
    """
    if penalties.dim() != 2:
        raise ValueError(f"penalties must be (N, classes), got shape {tuple(penalties.shape)}")
    j = check_real("j", j, 0, low_open=True, allow_inf=True)
    correct = penalties.gather(1, target.view(-1, 1)).squeeze(1)
    logits = -penalties
    if math.isfinite(j):
        logits = torch.cat([logits, logits.new_full((len(logits), 1), -j)], dim=1)
    return (correct + torch.logsumexp(logits, dim=1)).mean()


def paper_input_scale(x: torch.Tensor, max_value: float) -> torch.Tensor:
    """Map pixel intensities ``0..max_value`` (0 = background) to the paper's ``−0.1..1.175``.

    The paper sets the background (white) to −0.1 and the ink (black) to 1.175, so that the mean input
    is roughly 0 and the variance roughly 1.
    """
    max_value = check_real("max_value", max_value, 0, low_open=True)
    return -0.1 + x / max_value * 1.275


class LeNet5(nn.Sequential):
    """LeNet-5 built from :data:`LENET5_LAYERS`; ``faithful`` picks the paper's or the modern variant."""

    input_size = 32
    in_channels = 1

    def __init__(self, faithful: bool = True, num_classes: int = 10) -> None:
        faithful = check_bool("faithful", faithful)
        num_classes = check_positive_int("num_classes", num_classes)
        if faithful and num_classes != len(DIGIT_BITMAPS):
            raise ValueError(f"the faithful LeNet-5 has {len(DIGIT_BITMAPS)} RBF prototypes (digits); "
                             f"num_classes must be {len(DIGIT_BITMAPS)}, got {num_classes}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = self.in_channels
        for i, (name, kind, width, k) in enumerate(LENET5_LAYERS, start=1):
            act = ScaledTanh() if faithful else nn.ReLU()
            if kind == "conv":
                if name == "c3" and faithful:
                    layers[name] = MaskedConv2d(c_in, k, C3_TABLE)
                else:
                    layers[name] = nn.Conv2d(c_in, width, k)
            elif kind == "subsample":
                layers[name] = TrainableSubsampling(c_in, k) if faithful else nn.MaxPool2d(k, k)
                if not faithful:
                    act = None  # ReLU then max pooling: no second activation
            elif kind == "fc":
                layers[name] = nn.Linear(c_in, width)
            else:  # output
                layers[name] = (RBFOutput(rbf_prototypes()) if faithful else nn.Linear(c_in, num_classes))
                act = None
            if act is not None:
                layers[f"act{i}"] = act
            if name == "c5":
                layers["flatten"] = nn.Flatten()
            c_in = width
        super().__init__(layers)
        self.faithful = faithful

    def __getitem__(self, idx):
        """A slice is a plain ``nn.Sequential`` of the same layers (not a new LeNet5)."""
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)


# Section II-B counts every layer's trainable parameters and connections; they add up to the 60,000
# parameters it states. Its 340,908 connections are not multiply-adds (every bias counts as one
# connection), so no MAC figure is given. The modern variant is not the paper's network: no paper
# figures. No well-known library builds either.
@register_model("lenet5", paper="lecun1998gradient", input_size=32, in_channels=1, num_classes=10,
                paper_params=60_000, params_rtol=0.5 / 60_000, source="§II-B")
def lenet5() -> LeNet5:
    """The paper's LeNet-5: scaled tanh, trainable subsampling, Table I's partial C3, fixed RBF output.

    60,000 trainable parameters and 340,908 connections (the paper's counts); the 840 RBF prototype
    components are a fixed buffer. Common implementations (and most courses) differ: ReLU or plain tanh,
    average or max pooling without parameters, a fully connected C3, and a linear softmax output — see
    :func:`lenet5_modern`. Initialisation and prototypes are not the paper's (see the module docstring).
    """
    return LeNet5(faithful=True)


@register_model("lenet5_modern", paper="lecun1998gradient", input_size=32, in_channels=1, num_classes=10)
def lenet5_modern(num_classes: int = 10) -> LeNet5:
    """The usual modern LeNet-5: ReLU, 2×2 max pooling, a fully connected C3, a linear output layer.

    Not the paper's network: pooling has no parameters, C3 has 2,416 parameters instead of 1,516, and the
    output is ``Linear(84, 10)`` (850 parameters) trained with softmax cross-entropy; 61,706 in total.
    """
    return LeNet5(faithful=False, num_classes=num_classes)


def layer_connections(model: nn.Module, input_size: int = 32, channels: int = 1) -> dict[str, int]:
    """Connections of every layer that computes a weighted sum, as the paper counts them.

    A connection joins an output unit to one of its inputs or to its bias, so a layer has
    ``MACs + (number of outputs if it has a bias)`` connections; MACs come from :func:`cvlib.profile`
    (which knows the custom layers' MACs registered below). Layers without MACs are left out.
    """
    prof = profile(model, input_size, channels=channels)
    out: dict[str, int] = {}
    for row in prof:
        if row.macs == 0:
            continue
        has_bias = getattr(model.get_submodule(row.name), "bias", None) is not None
        out[row.name] = row.macs + (math.prod(row.output_shape) if has_bias else 0)
    return out


# --------------------------------------------------------------------------- MACs for the profiler


@register_macs(MaskedConv2d)
def _masked_conv_macs(module: MaskedConv2d, x: torch.Tensor, y: torch.Tensor) -> int:
    """Only the connected kernels multiply: ``(Σ_m |table[m]|)·k²·H_out·W_out``."""
    return module.weight.numel() * y.shape[-2] * y.shape[-1]


@register_macs(TrainableSubsampling)
def _subsampling_macs(module: TrainableSubsampling, x: torch.Tensor, y: torch.Tensor) -> int:
    """Each output accumulates its ``k²`` inputs (the coefficient then scales the sum once)."""
    return module.kernel_size ** 2 * y[0].numel()


@register_macs(RBFOutput)
def _rbf_macs(module: RBFOutput, x: torch.Tensor, y: torch.Tensor) -> int:
    """One subtract-square-accumulate per input and prototype: ``classes · features``."""
    return module.prototypes.numel()
