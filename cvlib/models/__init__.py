"""Reference implementations of the architectures in the notes, one file per family.

Every module in this package is imported here, so each ``@register_model`` builder is listed in
:data:`MODELS` (used by ``python -m cvlib profile NAME``).
"""

import importlib
import pkgutil

from .registry import MODELS, build, register_model

for _info in pkgutil.iter_modules(__path__):
    if _info.name != "registry":
        _module = importlib.import_module(f"{__name__}.{_info.name}")
        globals().update({k: getattr(_module, k) for k in getattr(_module, "__all__", [])})

__all__ = ["MODELS", "build", "register_model"]
