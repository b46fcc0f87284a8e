"""cvlib: small reference implementations for the computer-vision interview notes.

The subpackages, in the order their dependencies point (each imports only those before it):

- :mod:`cvlib._validate` — the one vocabulary of argument checks;
- :mod:`cvlib.analysis` — output sizes, counts, receptive fields, the profiler, the graph tracer;
- :mod:`cvlib.nn` — layers from scratch equal to ``torch.nn`` (and :mod:`cvlib.nn.conv`, the
  convolution variants);
- :mod:`cvlib.scratch`, :mod:`cvlib.train`, :mod:`cvlib.data` — NumPy algorithms from first principles;
  losses, optimisers and the training loop; generated data and preprocessing (none imports another);
- :mod:`cvlib.models` — the architectures and their registry;
- :mod:`cvlib.detection` — boxes, NMS, box coding, RoI ops, anchors, AP, proposals and the detectors;
- :mod:`cvlib.book` — page devices (the claims table, shared figure helpers).

The names every page uses are here: :func:`profile` (and :class:`Profile`, :func:`register_macs`) and
:class:`Checks`.
"""

from cvlib.analysis.profiler import Profile, profile, register_macs
from cvlib.book.checks import Checks

__all__ = ["Profile", "profile", "register_macs", "Checks"]
__version__ = "0.1.0"
