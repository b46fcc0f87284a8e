"""How much does ``cvlib.profile`` cost over a bare forward pass?

Prints ``profile time ÷ forward time`` for VGG-16 at 224×224 (best of several runs each, after a
warm-up). The profiler does one forward pass through a ``torch.fx`` interpreter plus bookkeeping, so
the ratio should stay close to 1 (the target is at most 1.5). A benchmark, not a test: timings vary.
"""

from __future__ import annotations

import time

import torch

import cvlib
from cvlib import models


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    torch.manual_seed(0)
    model = models.build("vgg16").eval()
    x = torch.zeros(1, 3, 224, 224)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    forward()
    cvlib.profile(model, 224)
    bare = best_of(forward)
    prof = best_of(lambda: cvlib.profile(model, 224))
    print(f"VGG-16 at 224×224: forward {bare * 1e3:.0f} ms, profile {prof * 1e3:.0f} ms, "
          f"ratio {prof / bare:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
