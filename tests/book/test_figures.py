"""cvlib.book.figures: the diagram and box helpers several pages draw with."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

from cvlib.book.figures import draw_arrow, draw_box, draw_cells, draw_xyxy  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_draw_box_centre_and_corner(ax):
    box = draw_box(ax, 2.0, 1.0, "conv", "#cfe3f7", width=3.0, height=0.5)
    assert isinstance(box, FancyBboxPatch) and box in ax.patches
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (0.5, 0.75, 3.0, 0.5)
    (text,) = ax.texts
    assert text.get_text() == "conv" and text.get_position() == (2.0, 1.0)
    assert text.get_ha() == "center" and text.get_va() == "center"
    corner = draw_box(ax, 0.1, 5.6, "RPN", "#9ecae1", width=1.5, height=0.8, anchor="corner", rounded=False,
                      dashed=True, edgecolor="k")
    assert isinstance(corner, Rectangle) and corner.get_xy() == (0.1, 5.6) and corner.get_linestyle() == "--"
    assert ax.texts[1].get_position() == pytest.approx((0.85, 6.0))
    np.testing.assert_allclose(corner.get_edgecolor(), (0, 0, 0, 1))


def test_draw_box_without_text(ax):
    draw_box(ax, 0, 0)
    assert not ax.texts and len(ax.patches) == 1


def test_draw_arrow(ax):
    arrow = draw_arrow(ax, (0, 1), (0, 0), label="BN, ReLU")
    assert isinstance(arrow, FancyArrowPatch) and arrow in ax.patches
    assert ax.texts[0].get_text() == "BN, ReLU" and ax.texts[0].get_position() == (0.12, 0.5)
    dotted = draw_arrow(ax, (1, 1), (2, 2), head="-|>", linestyle=":")
    assert dotted.get_linestyle() == ":" and len(ax.texts) == 1


def test_draw_xyxy(ax):
    rect = draw_xyxy(ax, (10, 20, 50, 40), color="C1", linestyle="--", label="gt")
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (10, 20, 40, 20)
    assert not rect.get_fill() and rect.get_label() == "gt"
    draw_xyxy(ax, np.array([0.0, 0.0, 1.0, 1.0]))


def test_draw_cells(ax):
    rect = draw_cells(ax, (1, 3), (0, 4), inset=0.1, color="C2", lw=1.5)
    assert rect.get_xy() == pytest.approx((-0.4, 0.6))
    assert (rect.get_width(), rect.get_height()) == pytest.approx((3.8, 1.8))
    assert not rect.get_fill()
    filled = draw_cells(ax, (0, 1), (0, 1), fill=True, facecolor="C0", alpha=0.2)
    assert filled.get_fill() and filled.get_xy() == (-0.5, -0.5)


@pytest.mark.parametrize("call,match", [
    (lambda ax: draw_box(None, 0, 0), "ax must be a matplotlib Axes"),
    (lambda ax: draw_box(ax, 0, 0, width=0), r"width must be a real number > 0.0"),
    (lambda ax: draw_box(ax, "a", 0), "x must be a real number"),
    (lambda ax: draw_box(ax, 0, 0, anchor="top"), "anchor must be one of 'center', 'corner'"),
    (lambda ax: draw_box(ax, 0, 0, dashed=1), "dashed must be True or False"),
    (lambda ax: draw_arrow(ax, (0, 0, 0), (1, 1)), r"start must be a point \(x, y\)"),
    (lambda ax: draw_xyxy(ax, (0, 0, 1)), r"box must be \(x1, y1, x2, y2\)"),
    (lambda ax: draw_xyxy(ax, (5, 0, 1, 1)), "x2 >= x1"),
    (lambda ax: draw_cells(ax, (0, 1), (0, 1), inset=0.5), "must span more than"),
])
def test_rejects(ax, call, match):
    with pytest.raises(ValueError, match=match):
        call(ax)
