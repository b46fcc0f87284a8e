"""Command line: ``python -m cvlib list [PATTERN]``, ``python -m cvlib profile MODEL [--size 224]`` and
``python -m cvlib rf MODEL``."""

from __future__ import annotations

import argparse
import math
import textwrap

from cvlib import models
from cvlib.analysis.profiler import profile
from cvlib.models.registry import ModelInfo, matching


def _parser() -> argparse.ArgumentParser:
    names = ", ".join(sorted(models.MODELS))
    parser = argparse.ArgumentParser(
        prog="python -m cvlib",
        description=f"List and profile the reference models of cvlib. Models: {names}.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    text = "the registered models with their paper, input, the paper's figures and a library's count"
    p = sub.add_parser("list", help=text, description=f"{text}.")
    p.add_argument("pattern", nargs="?", default="*",
                   help="shell-style pattern on the model names, e.g. 'resnet*' (default: all)")
    for cmd, text in [("profile", "layer table: shapes, parameters, MACs, FLOPs, receptive field"),
                      ("rf", "receptive-field chain: size, jump and start of every layer's output")]:
        p = sub.add_parser(cmd, help=text, description=f"{text}. Models: {names}.")
        p.add_argument("model", choices=sorted(models.MODELS), metavar="MODEL", help=f"one of: {names}")
        p.add_argument("--size", type=int, default=None,
                       help="input height and width (default: the model's own, from the registry)")
    return parser


# ------------------------------------------------------------------------------------------------- list


def paper_figure(value: int | None, rtol: float) -> str:
    """A paper's figure as printed: ``138M``, ``4.2M``, ``1.8G``, ``0.27M``; exact ones in full (``60,000``).

    The digits shown are those the rounding ``rtol`` implies (half a unit of the last digit over the
    value), in G where the paper's last digit is worth 10⁸ or more, in M from 10⁵, else in K.
    """
    if value is None:
        return "-"
    unit = 2 * rtol * value  # one unit of the last printed digit
    if unit < 1.5:
        return f"{value:,}"
    scale, suffix = (1e9, "G") if unit >= 0.99e8 else (1e6, "M") if value >= 1e5 else (1e3, "K")
    digits = max(0, math.ceil(-math.log10(unit / scale) - 1e-9))
    return f"{value / scale:.{digits}f}{suffix}"


def _rows(infos: list[ModelInfo]) -> tuple[list[list[str]], list[str]]:
    rows, notes = [], []
    for i in infos:
        cells = []
        for kind, figure, rtol, differ in (("params", i.paper_params, i.params_rtol, i.params_differ),
                                           ("MACs", i.paper_macs, i.macs_rtol, i.macs_differ)):
            text = paper_figure(figure, rtol)
            if differ:
                notes.append(f"[{len(notes) + 1}] {i.name} {kind}: {differ}")
                text += f" [{len(notes)}]"
            cells.append(text)
        library = "-" if i.library is None else i.library.removeprefix("torchvision.models.")
        if i.library is not None and i.library.startswith("torchvision."):
            library = f"torchvision {library}"
        rows.append([i.name, i.paper, "×".join(map(str, i.input_shape)), *cells, i.source or "-", library,
                     "-" if i.library_params is None else f"{i.library_params:,}"])
    return rows, notes


def print_list(pattern: str = "*") -> int:
    """Print one row per model matching ``pattern``; 1 (and a message) if none does."""
    infos = matching(pattern)
    if not infos:
        print(f"no model matches {pattern!r}; known models: {', '.join(sorted(models.MODELS))}")
        return 1
    header = ["model", "paper", "input", "params", "MACs", "where stated", "library", "library params"]
    rows, notes = _rows(infos)
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    right = {3, 4, 7}
    for n, row in enumerate([header, *rows]):
        print("  ".join(c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(row, widths)))
              .rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print("\nparams and MACs are the paper's own figures, with the digits it prints (- where it states none);")
    print("library params: the exact count of a library's build of the identical network.")
    if notes:
        print("Where the network as the paper describes it differs from the paper's figure:")
        for note in notes:
            print(textwrap.fill(note, width=110, initial_indent="  ", subsequent_indent="      "))
    return 0


# ---------------------------------------------------------------------------------------------- profile


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        return print_list(args.pattern)
    info = models.info(args.model)
    model = info.build()
    prof = profile(model, args.size or info.input_size, channels=info.in_channels)
    if args.command == "profile":
        print(f"{args.model} at {'×'.join(map(str, prof.input_shape))}")
        print(prof)
        print(f"parameters: {prof.total_params:,}   MACs: {prof.total_macs:,} "
              f"({prof.total_macs / 1e9:.2f} G)   FLOPs: {prof.total_flops:,}")
    else:
        print(f"{args.model} at {'×'.join(map(str, prof.input_shape))}: receptive field of each output")
        width = max(len(r.name) for r in prof.rows)
        tw = max(len(r.type) for r in prof.rows)
        print(f"{'layer'.ljust(width)}  {'type'.ljust(tw)} {'RF':>9} {'jump':>9} {'start':>11}")
        for r in prof.rows:
            if r.rf is None:
                continue
            print(f"{r.name.ljust(width)}  {r.type.ljust(tw)} {r._fmt_pair(r.rf):>9} "
                  f"{r._fmt_pair(r.jump):>9} {r._fmt_pair(r.start):>11}")
    return 0
