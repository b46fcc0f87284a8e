"""Command line: ``python -m cvlib profile MODEL [--size 224]`` and ``python -m cvlib rf MODEL``."""

from __future__ import annotations

import argparse

from cvlib import models
from cvlib.analysis.profiler import profile


def _parser() -> argparse.ArgumentParser:
    names = ", ".join(sorted(models.MODELS))
    parser = argparse.ArgumentParser(
        prog="python -m cvlib",
        description=f"Profile the reference models of cvlib. Models: {names}.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd, text in [("profile", "layer table: shapes, parameters, MACs, FLOPs, receptive field"),
                      ("rf", "receptive-field chain: size, jump and start of every layer's output")]:
        p = sub.add_parser(cmd, help=text, description=f"{text}. Models: {names}.")
        p.add_argument("model", choices=sorted(models.MODELS), metavar="MODEL", help=f"one of: {names}")
        p.add_argument("--size", type=int, default=None,
                       help="input height and width (default: the model's own, else 224)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    model = models.build(args.model)
    size = args.size or getattr(model, "input_size", 224)
    channels = getattr(model, "in_channels", 3)
    prof = profile(model, size, channels=channels)
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
