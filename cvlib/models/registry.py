"""The model registry: each builder under one name, with the paper it comes from and the paper's figures.

``@register_model("vgg16", paper="simonyan2015very", input_size=224, paper_params=138_000_000, ...)``
lists a builder in :data:`MODELS` with its :class:`ModelInfo`. The figures are the paper's own, as
printed (a paper that says "138M" is stored as ``138_000_000`` with the rounding it implies, half a unit
of the last printed digit over the value, ``params_rtol=0.5 / 138``); ``library`` and
``library_params`` name a well-known build of the identical network and its exact count of trainable
parameters. Where the network, built as the paper describes it, differs from the paper's printed figure
by more than that rounding (the paper rounds down, prints a round figure, or its table is wrong), the
figure stays as printed and ``params_differ`` / ``macs_differ`` say why; the tolerance is never widened
to hide it. ``python -m cvlib list [PATTERN]`` prints the table, and one test builds every model on the
meta device, profiles it and compares it with these figures.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from cvlib._validate import check_int, check_pair, check_real

__all__ = ["ModelInfo", "MODELS", "register_model", "build", "info", "matching", "within_rounding"]

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows of a model: how to build it and what its paper says it is.

    ``paper`` is a key of ``book/references.bib``; ``input_size`` is ``(height, width)`` of the input
    the paper's figures are stated for. ``paper_params`` / ``paper_macs`` are the paper's numbers
    (``None`` where the paper states none) and ``params_rtol`` / ``macs_rtol`` the relative difference
    the paper's rounding allows; ``source`` says where in the paper (table, section). ``params_differ`` /
    ``macs_differ`` are empty when the built network agrees with the figure to that rounding, and
    otherwise say why it does not. ``library_params`` is the exact trainable-parameter count of
    ``library``'s build of the identical network (``None`` where no well-known library builds it).
    """

    name: str
    builder: Builder
    paper: str
    input_size: tuple[int, int]
    in_channels: int = 3
    num_classes: int = 1000
    paper_params: int | None = None
    paper_macs: int | None = None
    params_rtol: float = 0.0
    macs_rtol: float = 0.0
    source: str = ""
    params_differ: str = ""
    macs_differ: str = ""
    library: str | None = None
    library_params: int | None = None
    summary: str = ""

    def build(self, **kwargs) -> nn.Module:
        return self.builder(**kwargs)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the input the figures are stated for."""
        return (self.in_channels, *self.input_size)


def within_rounding(count: int, figure: int, rtol: float) -> bool:
    """Whether ``count`` rounds to the printed ``figure``: ``|count − figure| <= rtol · figure``."""
    return abs(count - figure) <= rtol * figure * (1 + 1e-12)


MODELS: dict[str, ModelInfo] = {}


def register_model(name: str, *, paper: str, input_size: int | tuple[int, int], in_channels: int = 3,
                   num_classes: int = 1000, paper_params: int | None = None, paper_macs: int | None = None,
                   params_rtol: float = 0.0, macs_rtol: float = 0.0, source: str = "",
                   params_differ: str = "", macs_differ: str = "",
                   library: str | None = None, library_params: int | None = None,
                   summary: str = "") -> Callable[[Builder], Builder]:
    """Decorator that lists a builder under ``name`` (lower case, e.g. ``"vgg16"``) with its metadata.

    A paper figure needs its ``source``; a tolerance or a ``*_differ`` reason needs its figure.
    """
    if not isinstance(name, str) or not name or name != name.lower():
        raise ValueError(f"name must be a non-empty lower-case string, got {name!r}")
    if not isinstance(paper, str) or not paper:
        raise ValueError(f"paper must be a bibtex key (a non-empty string), got {paper!r}")
    size = check_pair("input_size", input_size, 1)
    in_channels = check_int("in_channels", in_channels, 1)
    num_classes = check_int("num_classes", num_classes, 1)
    for label, value in (("paper_params", paper_params), ("paper_macs", paper_macs),
                         ("library_params", library_params)):
        if value is not None:
            check_int(label, value, 1)
    params_rtol = check_real("params_rtol", params_rtol, 0.0, 1.0)
    macs_rtol = check_real("macs_rtol", macs_rtol, 0.0, 1.0)
    if (library is None) != (library_params is None):
        raise ValueError(f"library and library_params go together, got {library!r} and {library_params!r}")
    for label, figure, rtol, differ in (("params", paper_params, params_rtol, params_differ),
                                        ("macs", paper_macs, macs_rtol, macs_differ)):
        if not isinstance(differ, str):
            raise ValueError(f"{label}_differ must be a string (a reason), got {differ!r}")
        if figure is None and (rtol or differ):
            raise ValueError(f"{label}_rtol and {label}_differ describe paper_{label}, which is not given")
    if (paper_params is not None or paper_macs is not None) and not source:
        raise ValueError(f"{name}: a paper figure needs its source (e.g. 'Table 2')")

    def wrap(builder: Builder) -> Builder:
        if name in MODELS:
            raise ValueError(f"model name {name!r} is registered twice")
        MODELS[name] = ModelInfo(
            name=name, builder=builder, paper=paper, input_size=size, in_channels=in_channels,
            num_classes=num_classes, paper_params=paper_params, paper_macs=paper_macs, params_rtol=params_rtol,
            macs_rtol=macs_rtol, source=source, params_differ=params_differ, macs_differ=macs_differ,
            library=library, library_params=library_params,
            summary=summary or (builder.__doc__ or "").strip().split("\n")[0])
        return builder

    return wrap


def info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of ``name``; ``ValueError`` lists the known names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}") from None


def build(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name`` (keyword arguments go to its builder)."""
    return info(name).build(**kwargs)


def matching(pattern: str = "*") -> list[ModelInfo]:
    """The registered models whose name matches the shell-style ``pattern``, sorted by name."""
    return [MODELS[n] for n in sorted(MODELS) if fnmatch.fnmatchcase(n, pattern)]
