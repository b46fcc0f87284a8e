"""Page devices: the claims table that sets the notes beside the computed or cited value, figure
helpers that more than one page draws with, and the papers' H×W×C notation for shapes.

What belongs here: code whose output is part of a page rather than part of the lesson. It imports only
:mod:`cvlib._validate` (and matplotlib).
"""

from cvlib.book import checks, figures, notation
from cvlib.book.checks import Check, Checks
from cvlib.book.figures import draw_arrow, draw_box, draw_cells, draw_xyxy
from cvlib.book.notation import as_hwc, hwc

__all__ = ["checks", "figures", "notation", "Check", "Checks", "draw_box", "draw_arrow", "draw_xyxy",
           "draw_cells", "as_hwc", "hwc"]
