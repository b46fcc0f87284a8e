"""Figure helpers that several pages draw with: labelled boxes and arrows of block diagrams, detection
boxes given by their corners, and rectangles of cells on a feature map shown with ``imshow``.

Each helper draws on a matplotlib ``Axes`` in data coordinates and returns the artist it added, so a page
can restyle it. The defaults are the look the diagrams of the book share (grey outlines of 0.3, rounded
boxes with the text centred, ``->`` arrow heads); every one can be overridden.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

from cvlib._validate import check_bool, check_choice, check_real

__all__ = ["draw_box", "draw_arrow", "draw_xyxy", "draw_cells"]


def _check_axes(ax: object) -> Axes:
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _point(name: str, value: Sequence[float]) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"{name} must be a point (x, y), got {value!r}")
    return check_real(f"{name}[0]", value[0]), check_real(f"{name}[1]", value[1])


def draw_box(ax: Axes, x: float, y: float, text: str = "", color: str = "white", *, width: float = 2.1,
             height: float = 0.62, anchor: str = "center", rounded: bool = True, dashed: bool = False,
             edgecolor: str = "0.3", linewidth: float = 1.0, fontsize: float = 8.5) -> Patch:
    """A box of ``width × height`` filled with ``color``, with ``text`` centred in it.

    ``(x, y)`` is the box's centre (``anchor="center"``) or its lower-left corner (``anchor="corner"``).
    ``rounded`` boxes have rounded corners (a pad of 0.03 outside the size); ``dashed`` draws the outline
    dashed (a step that is frozen, a branch used only in training).
    """
    _check_axes(ax)
    x, y = check_real("x", x), check_real("y", y)
    width = check_real("width", width, 0.0, low_open=True)
    height = check_real("height", height, 0.0, low_open=True)
    check_choice("anchor", anchor, ("center", "corner"))
    rounded, dashed = check_bool("rounded", rounded), check_bool("dashed", dashed)
    x0, y0 = (x - width / 2, y - height / 2) if anchor == "center" else (x, y)
    style = dict(facecolor=color, edgecolor=edgecolor, linewidth=linewidth, linestyle="--" if dashed else "-")
    patch = (FancyBboxPatch((x0, y0), width, height, boxstyle="round,pad=0.03", **style) if rounded
             else Rectangle((x0, y0), width, height, **style))
    ax.add_patch(patch)
    if text:
        ax.text(x0 + width / 2, y0 + height / 2, text, ha="center", va="center", fontsize=fontsize)
    return patch


def draw_arrow(ax: Axes, start: Sequence[float], end: Sequence[float], *, label: str = "",
               color: str = "0.3", linewidth: float = 1.0, linestyle: str = "-", head: str = "->",
               label_color: str = "C3", label_offset: float = 0.12, fontsize: float = 8) -> FancyArrowPatch:
    """An arrow from ``start = (x, y)`` to ``end``, its head at ``end`` (``head``: a matplotlib arrow style,
    ``"->"`` open, ``"-|>"`` filled). ``label`` is written beside the arrow's middle, ``label_offset``
    to its right, in ``label_color``."""
    _check_axes(ax)
    start, end = _point("start", start), _point("end", end)
    arrow = FancyArrowPatch(start, end, arrowstyle=head, mutation_scale=10, color=color, linewidth=linewidth,
                            linestyle=linestyle)
    ax.add_patch(arrow)
    if label:
        ax.text((start[0] + end[0]) / 2 + label_offset, (start[1] + end[1]) / 2, label, fontsize=fontsize,
                va="center", color=label_color)
    return arrow


def draw_xyxy(ax: Axes, box: Sequence[float], *, color: str = "w", linewidth: float = 1.2,
              linestyle: str = "-", label: str | None = None) -> Rectangle:
    """The outline of a detection box ``(x1, y1, x2, y2)`` in image coordinates (corners, ``x2 > x1``);
    ``label`` names it in a legend."""
    _check_axes(ax)
    if isinstance(box, (str, bytes)) or len(box) != 4:
        raise ValueError(f"box must be (x1, y1, x2, y2), got {box!r}")
    x1, y1, x2, y2 = (check_real(f"box[{i}]", float(v)) for i, v in enumerate(box))
    if x2 < x1 or y2 < y1:
        raise ValueError(f"box must have x2 >= x1 and y2 >= y1, got {tuple(box)!r}")
    rect = Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=linewidth,
                     linestyle=linestyle, label=label)
    ax.add_patch(rect)
    return rect


def draw_cells(ax: Axes, rows: Sequence[int], cols: Sequence[int], *, inset: float = 0.0, **style) -> Rectangle:
    """A rectangle around the cells ``rows[0] ≤ r < rows[1]``, ``cols[0] ≤ c < cols[1]`` of a map shown
    with ``imshow`` (cell ``(r, c)`` centred at ``x = c, y = r``), shrunk by ``inset`` on every side so that
    neighbouring rectangles stay apart. ``style`` goes to ``matplotlib.patches.Rectangle`` (by default
    unfilled: ``fill=False``)."""
    _check_axes(ax)
    (r0, r1), (c0, c1) = _point("rows", rows), _point("cols", cols)
    inset = check_real("inset", inset, 0.0)
    if r1 - r0 <= 2 * inset or c1 - c0 <= 2 * inset:
        raise ValueError(f"rows {tuple(rows)} and cols {tuple(cols)} must span more than 2·inset = {2 * inset} "
                         "cells")
    style.setdefault("fill", False)
    rect = Rectangle((c0 - 0.5 + inset, r0 - 0.5 + inset), c1 - c0 - 2 * inset, r1 - r0 - 2 * inset, **style)
    ax.add_patch(rect)
    return rect
