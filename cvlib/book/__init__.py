"""Page devices: the claims table that sets the notes beside the computed or cited value, and figure
helpers that more than one page draws with.

What belongs here: code whose output is part of a page rather than part of the lesson. It imports only
:mod:`cvlib._validate` (and matplotlib).
"""

from cvlib.book import checks
from cvlib.book.checks import Check, Checks

__all__ = ["checks", "Check", "Checks"]
