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

Cost: the interpreter is a flat loop over the graph's nodes that makes the same calls as the model's own
``forward``, and the counts and windows of a layer configuration are computed once and kept. The traced
graph is kept too, for the next call on a network of the same structure: the same module classes under
the same names, with the same attributes (all that ``forward`` can read while it is traced), whether it
is the same model or a new one. A network is traced on every call when one of its modules holds an
attribute that cannot be compared by value (a tensor, a module outside ``_modules``, a bound method or
closure), when a module with children has hooks, or when a module class overrides ``parameters``,
``train`` or the like. ``benchmarks/profile_overhead.py`` measures the cost against a bare forward pass.

Custom layers can teach the profiler their MACs with :func:`register_macs`.
"""

from __future__ import annotations

import dataclasses
import enum
import html
import math
import operator
import types
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx
from torch import nn
from torch.fx.node import map_aggregate
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.modules import module as _module_globals

from cvlib.analysis.counts import conv2d_flops, conv2d_macs, linear_flops, linear_macs
from cvlib.analysis.tracing import trace
from cvlib.analysis import receptive_field
from cvlib.analysis.receptive_field import RFLayer, window_of

__all__ = ["LayerRow", "Profile", "profile", "register_macs"]

# The receptive-field state of a feature map: per axis (height, width) the three numbers of
# :class:`~cvlib.analysis.receptive_field.RFState` — ``(size, jump, start)`` — as plain tuples, which are
# much cheaper to build than the frozen dataclass; the arithmetic below is ``RFState.then``'s, term for term.
Axis = tuple[int, int, float]
Axis2 = tuple[Axis, Axis]
_INPUT: Axis2 = ((1, 1, 0.0), (1, 1, 0.0))

# ---------------------------------------------------------------------------------------------- counting

_MAC_COUNTERS: dict[type, Callable[[nn.Module, torch.Tensor, torch.Tensor], int]] = {}


def register_macs(module_type: type) -> Callable:
    """Decorator: ``fn(module, input, output) -> MACs`` for layers of ``module_type`` (batch of one)."""

    def wrap(fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], int]) -> Callable:
        _MAC_COUNTERS[module_type] = fn
        return fn

    return wrap


# The count formulas are pure functions of their arguments, and networks repeat the same layer many
# times: their results are kept by argument (a layer whose arguments do not hash is counted directly).
_COUNTS: dict[tuple, tuple[int, int]] = {}
_MEMO_SIZE = 4096


def _conv_counts(in_channels: int, out_channels: int, kernel_size: Any, output_size: tuple, groups: int,
                 bias: bool) -> tuple[int, int]:
    kw = dict(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size,
              output_size=output_size, groups=groups)
    return conv2d_macs(**kw), conv2d_flops(**kw, bias=bias)


def _linear_counts(in_features: int, out_features: int, bias: bool) -> tuple[int, int]:
    return linear_macs(in_features, out_features), linear_flops(in_features, out_features, bias)


def _memo(fn: Callable[..., tuple[int, int]], *args: Any) -> tuple[int, int]:
    key = (fn, *args)
    try:
        return _COUNTS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable argument
        return fn(*args)
    if len(_COUNTS) >= _MEMO_SIZE:
        _COUNTS.clear()
    value = _COUNTS[key] = fn(*args)
    return value


def _macs_and_flops(module: nn.Module, x: torch.Tensor | None, y: torch.Tensor) -> tuple[int, int]:
    if isinstance(module, nn.Conv2d):
        return _memo(_conv_counts, module.in_channels, module.out_channels, module.kernel_size,
                     tuple(y.shape[-2:]), module.groups, module.bias is not None)
    if isinstance(module, nn.Linear):
        vectors = y.numel() // module.out_features
        macs, flops = _memo(_linear_counts, module.in_features, module.out_features, module.bias is not None)
        return vectors * macs, vectors * flops
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


# A window along one axis as the recurrence uses it: (extent − 1, stride, padding before).
Step = tuple[int, int, int]
_WINDOWS: dict[tuple, tuple[Step, Step]] = {}


def _steps(module: nn.Module, in_hw: Sequence[int], out_hw: Sequence[int]) -> tuple[Step, ...] | None:
    """:func:`_window` of ``module`` as one :data:`Step` per axis. The windows of the layers that
    :func:`~cvlib.analysis.receptive_field.window_of` knows depend on their ``kernel_size``, ``stride``,
    ``padding`` and ``dilation`` alone, and are kept by those."""
    window_types = getattr(receptive_field, "_WINDOW_TYPES", None)
    key = None
    if window_types is not None and isinstance(module, window_types):
        try:
            key = (type(module), window_types, module.kernel_size, module.stride, module.padding,
                   getattr(module, "dilation", 1))
            return _WINDOWS[key]
        except KeyError:
            pass
        except (TypeError, AttributeError):  # unhashable, or missing: window_of says what is wrong
            key = None
    window = _window(module, in_hw, out_hw)
    if window is None:
        return None
    steps = tuple((layer.extent - 1, layer.stride, layer.padding) for layer in window)
    if key is not None:
        if len(_WINDOWS) >= _MEMO_SIZE:
            _WINDOWS.clear()
        _WINDOWS[key] = steps  # type: ignore[assignment]
    return steps


def _then(st: Axis, step: Step) -> Axis:
    """``RFState.then``: the state after one more sliding window."""
    k1, stride, padding = step
    size, jump, start = st
    return (size + k1 * jump, jump * stride, start + (k1 / 2 - padding) * jump)


_SIZE_JUMP = operator.itemgetter(0, 1)


def _merge(states: list[Axis2]) -> Axis2:
    """Receptive field of a map computed from several maps: the widest field over the inputs."""
    if len(states) == 1:
        return states[0]
    return tuple(max((s[axis] for s in states), key=_SIZE_JUMP) for axis in range(2))  # type: ignore[return-value]


def _flatten_state(state: Axis2, hw: Sequence[int]) -> Axis2:
    """A unit that sees a whole ``h × w`` map sees ``r + (a − 1)·j`` input pixels along each axis."""
    return tuple((size + (a - 1) * jump, jump * a, start + (a - 1) / 2 * jump)
                 for (size, jump, start), a in zip(state, hw))  # type: ignore[return-value]


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


# ------------------------------------------------------------------------------------------ recording


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _first_tensor(args: tuple) -> torch.Tensor | None:
    if args and isinstance(args[0], torch.Tensor):
        return args[0]
    return next(iter(_tensors(args)), None)


# Methods that, when a module class keeps nn.Module's own, let the profiler read a module's parameters,
# buffers and training flags straight from its dictionaries instead of through the generic walks.
_PLAIN_METHODS = ("parameters", "named_parameters", "buffers", "named_buffers", "_named_members",
                  "named_modules", "children", "named_children", "modules", "train", "eval")
_PLAIN_TYPES: dict[type, bool] = {}


def _plain(klass: type) -> bool:
    plain = _PLAIN_TYPES.get(klass)
    if plain is None:
        plain = _PLAIN_TYPES[klass] = all(getattr(klass, m, None) is getattr(nn.Module, m)
                                          for m in _PLAIN_METHODS)
    return plain


class _Recorder:
    """Shared bookkeeping: receptive-field state per tensor and one row per leaf-module call."""

    def __init__(self) -> None:
        self.rows: list[LayerRow] = []
        self.seen_params: set[int] = set()

    def own_params(self, module: nn.Module) -> int:
        # A leaf of a plain class: its parameters are its own dictionary's (``parameters()`` walks just it).
        params = (module._parameters.values() if not module._modules and _plain(type(module))
                  else module.parameters())
        n = 0
        seen = self.seen_params
        for p in params:
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
        return n

    def step(self, name: str, module: nn.Module, x: torch.Tensor | None, state: Axis2 | None,
             y: torch.Tensor) -> Axis2 | None:
        """Record one leaf call and return the receptive-field state of its output."""
        out_state = self.propagate(module, x, state, y)
        macs, flops = _macs_and_flops(module, x, y)
        rf = jump = start = None
        if out_state is not None:
            (r0, j0, s0), (r1, j1, s1) = out_state
            rf, jump, start = (r0, r1), (j0, j1), (s0, s1)
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
            steps = _steps(module, x.shape[-2:], y.shape[-2:])
            if steps is not None:
                return (_then(state[0], steps[0]), _then(state[1], steps[1]))
            return state
        if x.dim() == 4 and y.dim() < 4:  # nn.Flatten and friends
            return _flatten_state(state, x.shape[-2:])
        return state


# ---------------------------------------------------------------------------------- the traced graph
#
# A traced graph is compiled once into a flat list of steps that refer to values by position (no fx
# Node, no GraphModule, so a cached plan keeps no module or tensor alive), and run by a loop that does
# what ``torch.fx.Interpreter`` does — the same calls with the same arguments, each value dropped after
# its last use — with the profiler's bookkeeping inline.

_PLACEHOLDER, _GET_ATTR, _CALL_MODULE, _CALL_FUNCTION, _CALL_METHOD, _OUTPUT = range(6)
_OPS = {"placeholder": _PLACEHOLDER, "get_attr": _GET_ATTR, "call_module": _CALL_MODULE,
        "call_function": _CALL_FUNCTION, "call_method": _CALL_METHOD, "output": _OUTPUT}
_NO_ARGS, _ONE_NODE, _FLAT, _NESTED = range(4)
_ATOMS = (int, float, bool, str, complex, type(None), type(Ellipsis), torch.dtype, torch.device,
          torch.memory_format, torch.layout)


class _Ref:
    """Stands for the value of node ``i`` in a compiled argument structure."""

    __slots__ = ("i",)

    def __init__(self, i: int) -> None:
        self.i = i


def _compile_args(args: Any, index: dict[torch.fx.Node, int]) -> tuple[int, Any]:
    if not args:
        return (_NO_ARGS, None)
    if isinstance(args, tuple):
        if len(args) == 1 and isinstance(args[0], torch.fx.Node):
            return (_ONE_NODE, index[args[0]])
        if all(isinstance(a, (torch.fx.Node, *_ATOMS)) for a in args):
            template = tuple(None if isinstance(a, torch.fx.Node) else a for a in args)
            slots = tuple((p, index[a]) for p, a in enumerate(args) if isinstance(a, torch.fx.Node))
            return (_FLAT, (template, slots))
    # Lists, dicts, slices and other containers: rebuilt by map_aggregate as the interpreter does.
    return (_NESTED, torch.fx.node.map_arg(args, lambda n: _Ref(index[n])))


@dataclass
class _Plan:
    steps: list[tuple]
    codegen: Any
    get_attrs: list[str]


def _compile(graph: torch.fx.Graph) -> _Plan:
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    # After node i, drop the values whose last use it is (torch.fx.Interpreter's garbage collection).
    drop: list[list[int]] = [[] for _ in nodes]
    seen: set[torch.fx.Node] = set()
    for node in reversed(nodes):
        for n in node.all_input_nodes:
            if n not in seen:
                seen.add(n)
                drop[index[node]].append(index[n])
    steps = []
    for i, node in enumerate(nodes):
        inputs = tuple(index[a] for a in node.all_input_nodes)
        steps.append((_OPS[node.op], node.target, *_compile_args(node.args, index),
                      *_compile_args(node.kwargs, index), inputs, tuple(drop[i]),
                      node.target is operator.getitem, node.name))
    return _Plan(steps, graph._codegen, [str(n.target) for n in nodes if n.op == "get_attr"])


def _fetch_attr(root: nn.Module, target: str) -> Any:
    value: Any = root
    atoms = target.split(".")
    for i, atom in enumerate(atoms):
        if not hasattr(value, atom):
            raise RuntimeError(f"Node referenced nonexistent target {'.'.join(atoms[: i + 1])}")
        value = getattr(value, atom)
    return value


def _run(plan: _Plan, model: nn.Module, modules: dict[str, nn.Module], x: torch.Tensor,
         recorder: _Recorder) -> None:
    """Run the compiled graph on ``x``, recording every leaf call."""
    steps = plan.steps
    env: list[Any] = [None] * len(steps)
    states: list[Axis2 | None] = [None] * len(steps)
    args_iter = iter(plan.codegen.process_inputs(x))
    tensor = torch.Tensor

    def load(a: Any) -> Any:
        return env[a.i] if type(a) is _Ref else a

    for i, (op, target, a_kind, a_data, k_kind, k_data, inputs, drop, getitem, name) in enumerate(steps):
        if a_kind == _ONE_NODE:
            args: Any = (env[a_data],)
        elif a_kind == _NO_ARGS:
            args = ()
        elif a_kind == _FLAT:
            template, slots = a_data
            filled = list(template)
            for p, j in slots:
                filled[p] = env[j]
            args = tuple(filled)
        else:
            args = map_aggregate(a_data, load)
        kwargs = {} if k_kind == _NO_ARGS else map_aggregate(k_data, load)  # kwargs: a dict, so _NESTED
        try:
            if op == _CALL_MODULE:
                module = modules.get(target)
                if module is None:
                    module = _fetch_attr(model, target)
                result = module(*args, **kwargs)
                states[i] = recorder.step(target, module, _first_tensor(args),
                                          states[inputs[0]] if inputs else None, result)
            elif op == _PLACEHOLDER:
                if target.startswith("*"):
                    result = list(args_iter)
                else:
                    try:
                        result = next(args_iter)
                    except StopIteration as stop:
                        if not args:
                            raise RuntimeError(f"Expected positional argument for parameter {target}, "
                                               "but one was not passed in!") from stop
                        result = args[0]
                states[i] = _INPUT
            elif op == _OUTPUT:
                return
            else:
                if op == _CALL_FUNCTION:
                    result = target(*args, **kwargs)
                elif op == _CALL_METHOD:
                    self_obj, *tail = args
                    result = getattr(self_obj, target)(*tail, **kwargs)
                else:
                    result = _fetch_attr(model, target)
                known = [s for s in (states[j] for j in inputs) if s is not None]
                state = _merge(known) if known else None
                # A functional flatten / view that collapses a 4-D map.
                if state is not None and isinstance(result, tensor) and result.dim() < 4 and not getitem:
                    maps = [t for t in (env[j] for j in inputs) if isinstance(t, tensor) and t.dim() == 4]
                    if maps:
                        state = _flatten_state(state, maps[0].shape[-2:])
                states[i] = state
        except Exception as error:
            error.add_note(f"While cvlib.profile was executing node {name} (target {target})")
            raise
        env[i] = result
        for j in drop:
            env[j] = None


# ------------------------------------------------------------------------- the cache of traced graphs

_MODULE_INTERNALS = frozenset(nn.Module().__dict__)  # nn.Module's own bookkeeping, and ``training``
_FAST_ATOMS = frozenset({int, float, bool, str, type(None)})
_INT = frozenset({int})
_END = object()
_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
_IDENTICAL = (type, types.FunctionType, types.BuiltinFunctionType, enum.Enum)
_CACHE_SIZE = 64
_PLANS: OrderedDict[tuple, _Plan | None] = OrderedDict()  # None: not traceable, use forward hooks


class _Unkeyable(Exception):
    """An attribute the cache cannot compare by value."""


def _freeze(value: Any) -> Any:
    """``value`` as a hashable key equal only to equal values of the same type."""
    klass = type(value)
    if klass in _ATOMS:
        return (klass, str(value)) if klass is torch.device else (klass, value)
    if isinstance(value, (tuple, list)):  # and NamedTuples, torch.Size
        return (klass, tuple([_freeze(v) for v in value]))
    if isinstance(value, dict):
        return (klass, tuple([(_freeze(k), _freeze(v)) for k, v in value.items()]))
    if isinstance(value, _IDENTICAL) and getattr(value, "__closure__", None) is None:
        return (klass, value)  # classes, functions without a closure, enum members: the object itself
    if dataclasses.is_dataclass(value):
        return (klass, tuple(_freeze(getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise _Unkeyable


def _structure_key(modules: list[tuple[str, nn.Module]]) -> tuple | None:
    """What ``torch.fx`` tracing can depend on: every module's name, class, registered children,
    parameters and buffers (and which are ``None``) and other attributes; ``None`` if any cannot be
    compared or a non-leaf module has hooks (they run, and are traced, inside ``forward``).

    One flat tuple: each list of names is preceded by its length, each module's attributes (triples of
    name, class and value) are followed by an end mark."""
    if any(getattr(_module_globals, f"_global{h}", None) for h in _HOOKS):
        return None
    internals, fast = _MODULE_INTERNALS, _FAST_ATOMS
    parts: list[Any] = []
    add, extend = parts.append, parts.extend
    try:
        for name, m in modules:
            d = m.__dict__
            children, params, buffers = d["_modules"], d["_parameters"], d["_buffers"]
            if children and (d["_forward_hooks"] or d["_forward_pre_hooks"] or d["_backward_hooks"]
                             or d["_backward_pre_hooks"]):
                return None
            extend((name, type(m), len(children), *children, len(params), *params, len(buffers), *buffers))
            for registered in (children, params, buffers):
                if registered:
                    add(tuple([v is None for v in registered.values()]))
            for k, v in d.items():
                if k not in internals:
                    klass = type(v)
                    if klass in fast:
                        extend((k, klass, v))
                    elif (klass is tuple or klass is list) and {*map(type, v)} <= _INT:  # kernel sizes &c.
                        extend((k, klass, tuple(v)))
                    else:
                        extend((k, klass, _freeze(v)))
            add(_END)
    except (_Unkeyable, KeyError):
        return None
    return tuple(parts)


def _plan_for(model: nn.Module, modules: list[tuple[str, nn.Module]], plain: bool) -> _Plan | None:
    """The compiled graph of ``model``, from the cache or traced now; ``None`` if it cannot be traced."""
    key = _structure_key(modules) if plain else None
    if key is not None:
        try:
            plan = _PLANS[key]
        except KeyError:
            pass
        except TypeError:  # an attribute that hashes badly
            key = None
        else:
            _PLANS.move_to_end(key)
            return plan
    try:
        graph = trace(model)
        torch.fx.GraphModule(model, graph)  # as before: a graph that cannot be built falls back to hooks
    except Exception:  # data-dependent control flow: fall back to hooks
        plan = None
    else:
        plan = _compile(graph)
        if plan.get_attrs:
            # Only names the key covers; tracing stores other tensors on the model as new attributes.
            named = {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}
            if not set(plan.get_attrs) <= named:
                key = None
    if key is not None:
        _PLANS[key] = plan
        if len(_PLANS) > _CACHE_SIZE:
            _PLANS.popitem(last=False)
    return plan


# ---------------------------------------------------------------------------------------- profiling


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


def _unique_params(modules: list[tuple[str, nn.Module]]) -> list[nn.Parameter]:
    """``model.parameters()`` for a model of plain classes: each parameter once, in the same order."""
    seen: set[int] = set()
    params = []
    for _, m in modules:
        for p in m._parameters.values():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def _first_buffer(modules: list[tuple[str, nn.Module]]) -> torch.Tensor | None:
    for _, m in modules:
        for b in m._buffers.values():
            if b is not None:
                return b
    return None


def profile(model: nn.Module, input_size: int | Sequence[int] = 224, channels: int = 3) -> Profile:
    """Profile ``model`` on one input of ``input_size`` (an int, ``(H, W)`` or ``(C, H, W)``).

    The model runs once, in eval mode (restored afterwards), with gradients off, on a batch of one, on
    the device of its parameters. A model built on the ``meta`` device (``with torch.device("meta"):``)
    is profiled from shapes alone, without computing anything — handy for large inputs.
    """
    shape = _input_shape(input_size, channels)
    if len(list(model.children())) == 0:  # a single layer: profile it as a one-layer network
        model = nn.Sequential(OrderedDict([(type(model).__name__.lower(), model)]))
    modules = list(model.named_modules())
    plain = all(_plain(type(m)) for _, m in modules)
    was_training = model.training
    # eval() and train(False) change nothing when every module of a plain class is in eval mode already.
    switch = not plain or any(m.training for _, m in modules)
    if switch:
        model.eval()
    recorder = _Recorder()
    if plain:
        params = _unique_params(modules)
        first = params[0] if params else _first_buffer(modules)
    else:
        tensors = [*model.parameters(), *model.buffers()]
        first = tensors[0] if tensors else None
    x = torch.zeros(1, *shape, device=first.device if first is not None else None)
    try:
        with torch.no_grad():
            plan = _plan_for(model, modules, plain)
            if plan is None:
                _profile_with_hooks(model, x, recorder)
            else:
                _run(plan, model, dict(modules) if plain else {}, x, recorder)
    finally:
        if switch:
            model.train(was_training)
    # Counted after the run, as lazy layers create their parameters in it.
    if not plain:
        params = list(model.parameters())
    elif any(isinstance(m, LazyModuleMixin) for _, m in modules):
        params = _unique_params(modules)
    total = sum(p.numel() for p in params)
    counted = sum(r.params for r in recorder.rows)
    return Profile(rows=recorder.rows, input_shape=shape, traced=plan is not None,
                   extra_params=total - counted)
