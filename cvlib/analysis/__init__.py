"""Reading a network: output sizes, counts, receptive fields, the layer profiler and the graph tracer.

What belongs here: formulas about layers and whole networks that hold for any model (how big the output
is, how many parameters, multiply-adds and connections, what a unit sees) and the tools that apply them
to a ``torch.nn.Module``. Nothing here builds a network: this package imports only :mod:`cvlib._validate`.
"""

from cvlib.analysis import shapes, counts, receptive_field, tracing, profiler
from cvlib.analysis.profiler import Profile, profile, register_macs

__all__ = ["shapes", "counts", "receptive_field", "tracing", "profiler", "Profile", "profile", "register_macs"]
