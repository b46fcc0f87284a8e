"""How much faster are cvlib's vectorised NMS and RoI Align than the plain loops?

* ``nms`` of 2,000 random boxes (IoU threshold 0.5) against the greedy loop of
  ``naive_nms`` of ``tests/detection/reference.py``;
* ``roi_align`` of 512 RoIs to 7×7 on a 256×50×50 feature map (spatial scale 1/16, i.e. an
  800×800 image; adaptive sampling) against the per-bin loop of
  ``naive_roi_align`` of the same file.

Each vectorised call is timed as the best of three runs, each loop once, and the outputs are checked
to agree. Prints the times and the speed-ups. A benchmark, not a test: timings vary with the machine
and its load (the loops take up to about a minute).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from cvlib.detection import nms, roi_align

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "detection"))
from reference import naive_nms, naive_roi_align  # noqa: E402  (the loop versions live with the tests)


def timed(fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def random_boxes(n: int, image: float, min_size: float, max_size: float, g: torch.Generator) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=g) * (image - min_size)
    wh = torch.rand(n, 2, generator=g) * (max_size - min_size) + min_size
    return torch.cat([xy, (xy + wh).clamp(max=image)], dim=1)


def main() -> None:
    g = torch.Generator().manual_seed(0)

    boxes = random_boxes(2000, 800.0, 10.0, 160.0, g)
    scores = torch.rand(2000, generator=g)
    fast, keep = timed(lambda: nms(boxes, scores, 0.5), repeat=3)
    slow, keep_ref = timed(lambda: naive_nms(boxes, scores, 0.5))
    assert torch.equal(keep, keep_ref)
    print(f"nms, 2,000 boxes ({len(keep)} kept): vectorised {fast * 1e3:.1f} ms, loop {slow * 1e3:.0f} ms, "
          f"speed-up {slow / fast:.0f}×")

    features = torch.randn(1, 256, 50, 50, generator=g)
    rois = torch.cat([torch.zeros(512, 1), random_boxes(512, 800.0, 32.0, 400.0, g)], dim=1)
    fast, out = timed(lambda: roi_align(features, rois, 7, 1 / 16), repeat=3)
    slow, out_ref = timed(lambda: naive_roi_align(features, rois, (7, 7), 1 / 16))
    assert torch.allclose(out, out_ref, atol=1e-4)
    print(f"roi_align, 512 RoIs, 7×7 from 256×50×50: vectorised {fast * 1e3:.0f} ms, loop {slow:.1f} s, "
          f"speed-up {slow / fast:.0f}×")


if __name__ == "__main__":
    main()
