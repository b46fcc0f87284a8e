"""How much does ``cvlib.profile`` cost over a bare forward pass?

For VGG-16, ResNet-50 and DenseNet-121 at 224×224, batch 1, eval mode, this prints the time of

- a bare forward pass, ``model(x)`` under ``torch.no_grad()`` (what the profiler runs once);
- ``cvlib.profile(model, 224)`` called again on the same model (the traced graph comes from the
  profiler's cache: the cost of one forward pass through the flat interpreter plus the table);
- a *first* call for the architecture, with the cache emptied (tracing with ``torch.fx`` included),

and the ratios ``profile ÷ forward``. The target is a profile/forward ratio of at most 1.2 for ResNet-50
on a repeated call; the first call is shown for information.

How it measures: ``torch.set_num_threads`` is set to the machine's core count (``--threads`` to change
it); after two warm-up rounds, each of ``--rounds`` rounds times one forward, one profile and one first
call back to back with ``time.perf_counter``, so a load from other processes that comes and goes falls
on all three alike. The times printed are medians over the rounds, and the ratio is the median of the
per-round ratios (the ratio of the medians is within a few hundredths of it on a quiet machine). Other
processes on a small machine can still move the numbers: run it twice if a ratio looks off. A
benchmark, not a test: timings vary, so no test asserts them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import cvlib
from cvlib import models
from cvlib.analysis import profiler

MODELS = [("VGG-16", "vgg16"), ("ResNet-50", "resnet50"), ("DenseNet-121", "densenet121")]
TARGET = 1.2  # profile ÷ forward for ResNet-50


def measure(name: str, size: int, rounds: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = models.build(name).eval()
    x = torch.zeros(1, 3, size, size)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def warm() -> None:
        cvlib.profile(model, size)

    def first() -> None:
        profiler._PLANS.clear()
        cvlib.profile(model, size)

    def timed(fn) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    for _ in range(2):
        forward(), first(), warm()
    times: dict[str, list[float]] = {"forward": [], "profile": [], "first": []}
    for _ in range(rounds):
        times["forward"].append(timed(forward))
        times["profile"].append(timed(warm))
        times["first"].append(timed(first))
    med = {k: statistics.median(v) for k, v in times.items()}
    med["ratio"] = statistics.median(p / f for p, f in zip(times["profile"], times["forward"]))
    med["first_ratio"] = statistics.median(p / f for p, f in zip(times["first"], times["forward"]))
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per model (default 15)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="torch.set_num_threads (default: the core count)")
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"cvlib.profile ÷ bare forward, {args.size}×{args.size}, batch 1, eval, no_grad, "
          f"{torch.get_num_threads()} threads, median of {args.rounds} interleaved rounds")
    print(f"{'model':<13} {'forward':>9} {'profile':>9} {'ratio':>6}   {'first call':>10} {'ratio':>6}")
    for label, name in MODELS:
        r = measure(name, args.size, args.rounds)
        note = f"  (target <= {TARGET})" if name == "resnet50" else ""
        print(f"{label:<13} {r['forward'] * 1e3:7.1f}ms {r['profile'] * 1e3:7.1f}ms {r['ratio']:6.2f}   "
              f"{r['first'] * 1e3:8.1f}ms {r['first_ratio']:6.2f}{note}", flush=True)
    print("profile: the model profiled again (traced graph cached); first call: cache emptied, "
          "so it includes tracing with torch.fx.")


if __name__ == "__main__":
    main()
