"""``cvlib.profile``: a layer-by-layer table of any ``torch.nn.Module`` from one forward pass.

For every leaf layer the table gives input and output shape, parameters, MACs, FLOPs (the notes'
convention: ``(2n − 1 + [bias])`` per output, i.e. ``2 × MACs`` with a bias), and the receptive field and
jump of its output in input pixels.

The network is traced with ``torch.fx`` and run once through an interpreter that follows the real data
flow, so the receptive field through a block that concatenates branches (Inception, DenseNet) or adds a
shortcut (ResNet) is the largest over the branches that feed it. Flattening a feature map makes every
following unit see the whole map: its field becomes ``r + (a − 1)·j`` for a map of side ``a``. Models
that ``torch.fx`` cannot trace are profiled with forward hooks instead, in the order the layers run,
which is exact for plain chains.

Custom layers can teach the profiler their MACs with :func:`register_macs`.
"""

from __future__ import annotations

import html
import math
import operator
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx
from torch import nn

from cvlib.analysis.counts import conv2d_flops, conv2d_macs, linear_flops, linear_macs
from cvlib.analysis.tracing import trace
from cvlib.analysis.receptive_field import RFLayer, RFState, window_of

__all__ = ["LayerRow", "Profile", "profile", "register_macs"]

Axis2 = tuple[RFState, RFState]
_INPUT: Axis2 = (RFState(1, 1, 0.0), RFState(1, 1, 0.0))

# ---------------------------------------------------------------------------------------------- counting

_MAC_COUNTERS: dict[type, Callable[[nn.Module, torch.Tensor, torch.Tensor], int]] = {}


def register_macs(module_type: type) -> Callable:
    """Decorator: ``fn(module, input, output) -> MACs`` for layers of ``module_type`` (batch of one)."""

    def wrap(fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], int]) -> Callable:
        _MAC_COUNTERS[module_type] = fn
        return fn

    return wrap


def _macs_and_flops(module: nn.Module, x: torch.Tensor | None, y: torch.Tensor) -> tuple[int, int]:
    if isinstance(module, nn.Conv2d):
        kw = dict(in_channels=module.in_channels, out_channels=module.out_channels,
                  kernel_size=module.kernel_size, output_size=tuple(y.shape[-2:]), groups=module.groups)
        return conv2d_macs(**kw), conv2d_flops(**kw, bias=module.bias is not None)
    if isinstance(module, nn.Linear):
        vectors = y.numel() // module.out_features
        return (vectors * linear_macs(module.in_features, module.out_features),
                vectors * linear_flops(module.in_features, module.out_features, module.bias is not None))
    for klass in type(module).__mro__:
        if klass in _MAC_COUNTERS:
            macs = int(_MAC_COUNTERS[klass](module, x, y))
            return macs, 2 * macs
    return 0, 0


# ----------------------------------------------------------------------------------- receptive field


def _window(module: nn.Module, in_hw: Sequence[int], out_hw: Sequence[int]) -> Sequence[RFLayer] | None:
    """The sliding window of ``module`` along each spatial axis, or ``None`` if it has none."""
    window = window_of(type(module).__name__, module)
    if window is not None:
        return window
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        layers = []
        for a, n in zip(in_hw, out_hw):
            # Bin i spans [floor(i·a/n), ceil((i+1)·a/n)); use the widest bin and the mean step.
            k = max(math.ceil((i + 1) * a / n) - (i * a) // n for i in range(n))
            layers.append(RFLayer(type(module).__name__, k, max(a // n, 1), 0))
        return layers
    return None


def _merge(states: list[Axis2]) -> Axis2:
    """Receptive field of a map computed from several maps: the widest field over the inputs."""
    return tuple(max((s[axis] for s in states), key=lambda st: (st.size, st.jump)) for axis in range(2))  # type: ignore[return-value]


def _flatten_state(state: Axis2, hw: Sequence[int]) -> Axis2:
    """A unit that sees a whole ``h × w`` map sees ``r + (a − 1)·j`` input pixels along each axis."""
    return tuple(RFState(st.size + (a - 1) * st.jump, st.jump * a, st.start + (a - 1) / 2 * st.jump)
                 for st, a in zip(state, hw))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------- table


@dataclass
class LayerRow:
    """One leaf layer of a profiled network."""

    name: str
    type: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    rf: tuple[int, int] | None
    jump: tuple[int, int] | None
    start: tuple[float, float] | None

    @staticmethod
    def _fmt_pair(v: tuple | None) -> str:
        if v is None:
            return "-"
        a, b = v
        fmt = (lambda t: f"{t:g}") if isinstance(a, float) else str
        return fmt(a) if a == b else f"{fmt(a)}×{fmt(b)}"

    def cells(self) -> list[str]:
        shape = lambda s: "×".join(map(str, s))  # noqa: E731
        return [self.name, self.type, shape(self.input_shape), shape(self.output_shape),
                f"{self.params:,}", f"{self.macs:,}", f"{self.flops:,}",
                self._fmt_pair(self.rf), self._fmt_pair(self.jump)]


_HEADER = ["layer", "type", "input", "output", "params", "MACs", "FLOPs", "RF", "jump"]


@dataclass
class Profile:
    """The result of :func:`profile`: ``rows`` plus totals, printable as text and as HTML."""

    rows: list[LayerRow]
    input_shape: tuple[int, ...]
    traced: bool
    extra_params: int = 0
    _by_name: dict[str, LayerRow] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {r.name: r for r in self.rows}

    @property
    def total_params(self) -> int:
        """Parameters of the whole model (each shared tensor once)."""
        return sum(r.params for r in self.rows) + self.extra_params

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self) -> int:
        return sum(r.flops for r in self.rows)

    def __getitem__(self, name: str) -> LayerRow:
        return self._by_name[name]

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def _table(self) -> list[list[str]]:
        body = [r.cells() for r in self.rows]
        if self.extra_params:
            body.append(["(parameters outside leaf layers)", "", "", "", f"{self.extra_params:,}",
                         "0", "0", "", ""])
        total = ["total", "", "×".join(map(str, self.input_shape)), "", f"{self.total_params:,}",
                 f"{self.total_macs:,}", f"{self.total_flops:,}", "", ""]
        return body + [total]

    def __str__(self) -> str:
        table = [_HEADER] + self._table()
        widths = [max(len(row[i]) for row in table) for i in range(len(_HEADER))]
        right = {4, 5, 6, 7, 8}
        lines = []
        for n, row in enumerate(table):
            cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
            if n == 0 or n == len(table) - 2:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in _HEADER)
        rows = []
        for n, row in enumerate(self._table()):
            tag = "th" if n == len(self.rows) + bool(self.extra_params) else "td"
            rows.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in row) + "</tr>")
        return ('<div class="cvlib-profile" style="overflow-x:auto"><table>'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


# ------------------------------------------------------------------------------------------ tracing


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


class _Recorder:
    """Shared bookkeeping: receptive-field state per tensor and one row per leaf-module call."""

    def __init__(self) -> None:
        self.rows: list[LayerRow] = []
        self.seen_params: set[int] = set()

    def own_params(self, module: nn.Module) -> int:
        n = 0
        for p in module.parameters():
            if id(p) not in self.seen_params:
                self.seen_params.add(id(p))
                n += p.numel()
        return n

    def step(self, name: str, module: nn.Module, x: torch.Tensor | None, state: Axis2 | None,
             y: torch.Tensor) -> Axis2 | None:
        """Record one leaf call and return the receptive-field state of its output."""
        out_state = self.propagate(module, x, state, y)
        macs, flops = _macs_and_flops(module, x, y)
        rf = jump = start = None
        if out_state is not None:
            rf = (out_state[0].size, out_state[1].size)
            jump = (out_state[0].jump, out_state[1].jump)
            start = (out_state[0].start, out_state[1].start)
        self.rows.append(LayerRow(
            name=name, type=type(module).__name__,
            input_shape=tuple(x.shape[1:]) if x is not None else (),
            output_shape=tuple(y.shape[1:]), params=self.own_params(module),
            macs=macs, flops=flops, rf=rf, jump=jump, start=start))
        return out_state

    @staticmethod
    def propagate(module: nn.Module, x: torch.Tensor | None, state: Axis2 | None,
                  y: torch.Tensor) -> Axis2 | None:
        if state is None or x is None:
            return state
        if x.dim() == 4 and y.dim() == 4:
            window = _window(module, x.shape[-2:], y.shape[-2:])
            if window is not None:
                return (state[0].then(window[0]), state[1].then(window[1]))
            return state
        if x.dim() == 4 and y.dim() < 4:  # nn.Flatten and friends
            return _flatten_state(state, x.shape[-2:])
        return state


class _Interpreter(torch.fx.Interpreter):
    def __init__(self, gm: torch.fx.GraphModule, recorder: _Recorder) -> None:
        super().__init__(gm)
        self.recorder = recorder
        self.states: dict[str, Axis2 | None] = {}

    def run_node(self, n: torch.fx.Node) -> Any:
        result = super().run_node(n)
        inputs = [a for a in n.all_input_nodes]
        in_states = [self.states.get(a.name) for a in inputs]
        if n.op == "placeholder":
            self.states[n.name] = _INPUT
        elif n.op == "call_module":
            module = self.module.get_submodule(n.target)
            args = self.fetch_args_kwargs_from_env(n)[0]
            x = next(iter(_tensors(args)), None)
            self.states[n.name] = self.recorder.step(n.target, module, x,
                                                     in_states[0] if in_states else None, result)
        else:
            known = [s for s in in_states if s is not None]
            state = _merge(known) if known else None
            # A functional flatten / view that collapses a 4-D map.
            if state is not None and isinstance(result, torch.Tensor) and result.dim() < 4:
                src = [self.env[a] for a in inputs if isinstance(self.env.get(a), torch.Tensor)]
                maps = [t for t in src if t.dim() == 4]
                if maps and n.target not in (operator.getitem,):
                    state = _flatten_state(state, maps[0].shape[-2:])
            self.states[n.name] = state
        return result


def _profile_with_hooks(model: nn.Module, x: torch.Tensor, recorder: _Recorder) -> None:
    state: list[Axis2 | None] = [_INPUT]
    handles = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module: nn.Module, args: tuple, output: Any) -> None:
        inp = next(iter(_tensors(args)), None)
        out = next(iter(_tensors(output)), None)
        if out is not None:
            state[0] = recorder.step(names[module], module, inp, state[0], out)

    for m in model.modules():
        if len(list(m.children())) == 0:
            handles.append(m.register_forward_hook(hook))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()


def _input_shape(input_size: int | Sequence[int], channels: int) -> tuple[int, ...]:
    if isinstance(input_size, int):
        shape: tuple[int, ...] = (channels, input_size, input_size)
    else:
        shape = tuple(int(s) for s in input_size)
        if len(shape) == 2:
            shape = (channels, *shape)
    if len(shape) != 3 or any(s < 1 for s in shape):
        raise ValueError(f"input_size must be a positive int, (H, W) or (C, H, W); got {input_size!r}")
    return shape


def profile(model: nn.Module, input_size: int | Sequence[int] = 224, channels: int = 3) -> Profile:
    """Profile ``model`` on one input of ``input_size`` (an int, ``(H, W)`` or ``(C, H, W)``).

    The model runs once, in eval mode (restored afterwards), with gradients off, on a batch of one, on
    the device of its parameters. A model built on the ``meta`` device (``with torch.device("meta"):``)
    is profiled from shapes alone, without computing anything — handy for large inputs.
    """
    shape = _input_shape(input_size, channels)
    if len(list(model.children())) == 0:  # a single layer: profile it as a one-layer network
        model = nn.Sequential(OrderedDict([(type(model).__name__.lower(), model)]))
    was_training = model.training
    model.eval()
    recorder = _Recorder()
    tensors = [*model.parameters(), *model.buffers()]
    x = torch.zeros(1, *shape, device=tensors[0].device if tensors else None)
    traced = True
    try:
        with torch.no_grad():
            try:
                graph = trace(model)
                gm = torch.fx.GraphModule(model, graph)
            except Exception:  # data-dependent control flow: fall back to hooks
                traced = False
                _profile_with_hooks(model, x, recorder)
            else:
                _Interpreter(gm, recorder).run(x)
    finally:
        model.train(was_training)
    total = sum(p.numel() for p in model.parameters())
    counted = sum(r.params for r in recorder.rows)
    return Profile(rows=recorder.rows, input_shape=shape, traced=traced, extra_params=total - counted)
