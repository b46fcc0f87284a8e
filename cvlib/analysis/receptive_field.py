"""Receptive field (感受野) of a chain of convolution and pooling layers, computed two ways.

Top-down, as in the notes: start from the layer of interest with ``r = k`` and walk towards the input with

    r_i = s_i · (r_{i+1} − 1) + k_i

Bottom-up, carrying three numbers per feature map — receptive field ``r``, jump ``j`` (the distance in
input pixels between two neighbouring output pixels) and ``start`` (the input coordinate of the centre of
the first output pixel, counting padding):

    r_out = r_in + (k − 1) · j_in
    j_out = j_in · s
    start_out = start_in + ((k − 1) / 2 − p_before) · j_in

With dilation ``d`` every ``k`` above is the kernel extent ``d·(k − 1) + 1``. Padding changes only where
the field sits (``start``), never its size. Input pixels have centres at ``0, 1, 2, …``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from cvlib._validate import check_int, check_pair
from cvlib.analysis.shapes import effective_kernel

__all__ = ["RFLayer", "RFState", "rf_top_down", "rf_bottom_up", "rf_window", "window_of", "chain_of",
           "register_window"]


@dataclass(frozen=True)
class RFLayer:
    """One sliding-window layer along one axis: kernel, stride, padding before, dilation.

    All four are integers (Python or NumPy; stored as ``int``): a fractional stride or padding, a
    ``bool`` or a string raises ``ValueError`` naming the field and the layer."""

    name: str
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1

    def __post_init__(self) -> None:
        for field, minimum in (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            value = check_int(f"{field} of layer {self.name!r}", getattr(self, field), minimum)
            object.__setattr__(self, field, value)  # frozen: store the cleaned int

    @property
    def extent(self) -> int:
        """Kernel extent ``d·(k − 1) + 1``."""
        return effective_kernel(self.kernel, self.dilation)


@dataclass(frozen=True)
class RFState:
    """Receptive field ``size``, ``jump`` and ``start`` (centre of the first output pixel) of a feature map."""

    size: int
    jump: int
    start: float

    def then(self, layer: RFLayer) -> "RFState":
        """The state after one more layer (the bottom-up recurrence)."""
        k = layer.extent
        return RFState(
            size=self.size + (k - 1) * self.jump,
            jump=self.jump * layer.stride,
            start=self.start + ((k - 1) / 2 - layer.padding) * self.jump,
        )


INPUT = RFState(size=1, jump=1, start=0.0)


def _layer_list(layers: Sequence[RFLayer]) -> list[RFLayer]:
    """``layers`` as a list, if it is a non-empty sequence of :class:`RFLayer`."""
    layers = list(layers)
    if len(layers) == 0:
        raise ValueError("layers must hold at least one layer, got none")
    for i, layer in enumerate(layers):
        if not isinstance(layer, RFLayer):
            raise ValueError(f"layers[{i}] must be an RFLayer, got {type(layer).__name__}")
    return layers


def rf_top_down(layers: Sequence[RFLayer]) -> list[int]:
    """The notes' top-down recurrence over ``layers`` (ordered input → output).

    Returns one value per layer, ordered from the last layer down to the first, exactly as the notes list
    them: element ``m`` is ``r`` after stepping down through the top ``m + 1`` layers. The last element is
    the receptive field of one pixel of the last layer's output, in input pixels.
    """
    layers = _layer_list(layers)
    values: list[int] = []
    r = 1
    for layer in reversed(layers):
        r = layer.stride * (r - 1) + layer.extent
        values.append(r)
    return values


def rf_bottom_up(layers: Sequence[RFLayer], start: RFState = INPUT) -> list[RFState]:
    """The bottom-up recurrence: the :class:`RFState` after each layer, ordered input → output."""
    layers = _layer_list(layers)
    states: list[RFState] = []
    state = start
    for layer in layers:
        state = state.then(layer)
        states.append(state)
    return states


def rf_window(state: RFState, index: int) -> tuple[float, float, float]:
    """``(first, centre, last)`` input coordinates covered by output pixel ``index`` of a feature map.

    ``centre = start + index·jump`` and the field spans ``centre ± (size − 1)/2``; coordinates below 0 or
    past the image lie in the padding.
    """
    index = check_int("index", index, 0)
    centre = state.start + index * state.jump
    half = (state.size - 1) / 2
    return (centre - half, centre, centre + half)


_WINDOW_TYPES: tuple[type, ...] = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def register_window(module_type: type) -> type:
    """Class decorator: layers of ``module_type`` slide a window given by their ``kernel_size``,
    ``stride`` and ``padding`` attributes (and ``dilation`` if present), like torch's convolutions."""
    global _WINDOW_TYPES
    _WINDOW_TYPES = (*_WINDOW_TYPES, module_type)
    return module_type


def window_of(name: str, module: nn.Module) -> tuple[RFLayer, RFLayer] | None:
    """The sliding window of a convolution or pooling layer along (height, width); ``None`` otherwise."""
    if not isinstance(module, _WINDOW_TYPES):
        return None
    k = check_pair(f"{name}.kernel_size", module.kernel_size, 1)
    s = check_pair(f"{name}.stride", module.stride if module.stride is not None else module.kernel_size, 1)
    d = check_pair(f"{name}.dilation", getattr(module, "dilation", 1), 1)
    pad = module.padding
    if isinstance(pad, str):  # 'same' / 'valid' convolutions
        pad = tuple(((k[i] - 1) * d[i]) // 2 if pad == "same" else 0 for i in range(2))
    p = check_pair(f"{name}.padding", pad, 0)
    return (RFLayer(name, k[0], s[0], p[0], d[0]), RFLayer(name, k[1], s[1], p[1], d[1]))


def chain_of(model: nn.Module, until: str | None = None) -> list[RFLayer]:
    """The convolution and pooling layers of a *chain* network, in registration order, along the height.

    Stops after the layer named ``until`` (its name as in ``model.named_modules()``). Only meaningful
    for networks without branches; :func:`cvlib.profile` follows branches.
    """
    chain: list[RFLayer] = []
    for name, module in model.named_modules():
        window = window_of(name, module)
        if window is not None:
            chain.append(window[0])
        if until is not None and name == until:
            return chain
    if until is not None:
        raise ValueError(f"no layer named {until!r} in the model")
    return chain
