"""The one vocabulary of argument checks in cvlib.

Every check takes the argument's name first, returns the cleaned value (a Python ``int``, ``float``,
``bool`` or tuple) and otherwise raises a ``ValueError`` saying what was wrong and what is allowed::

    stride must be an integer >= 1, got 0
    p must be a real number in [0, 1), got nan
    ceil_mode must be True or False, got 'no'

Integers are Python or NumPy integers, never ``bool`` (``True`` is not a stride). Reals are Python or
NumPy reals, including integers, never ``bool`` or a string, and finite unless ``allow_inf``. Booleans
are ``True``/``False`` (or NumPy's), never a truthy ``'no'`` or ``2``. Sequences (:func:`check_int_sequence`,
:func:`check_real_sequence`) report a bad entry as ``name[i]``::

    levels[1] must be an integer >= 1, got 0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence
from typing import Any, TypeVar

__all__ = ["IntPair", "check_int", "check_positive_int", "check_pair", "check_real", "check_probability",
           "check_bool", "check_choice", "check_tensor", "check_int_sequence", "check_real_sequence"]

IntPair = int | Sequence[int]
T = TypeVar("T")


def _bound_text(minimum: float | None, maximum: float | None, low_open: bool = False, high_open: bool = False) -> str:
    if minimum is not None and maximum is not None:
        return f" in {'(' if low_open else '['}{minimum}, {maximum}{')' if high_open else ']'}"
    if minimum is not None:
        return f" {'>' if low_open else '>='} {minimum}"
    if maximum is not None:
        return f" {'<' if high_open else '<='} {maximum}"
    return ""


def check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (Python or NumPy, not ``bool``) in ``[minimum, maximum]``."""
    allowed = "an integer" + _bound_text(minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name} must be {allowed}, got {v!r}")
    return v


def check_positive_int(name: str, value: object) -> int:
    """``check_int(name, value, 1)``: a count, a size, a stride."""
    return check_int(name, value, 1)


def check_pair(name: str, value: IntPair, minimum: int | None = None, maximum: int | None = None, *,
               parts: tuple[str, str] = ("height", "width")) -> tuple[int, int]:
    """An integer ``v`` becomes ``(v, v)``; a sequence must hold two integers; each in the bounds.

    ``parts`` names the two entries in the message (``("before", "after")`` for a padding); an entry is
    reported as ``name[0]`` or ``name[1]``."""
    allowed = (f"an integer or a pair ({parts[0]}, {parts[1]}) of integers{_bound_text(minimum, maximum)}")
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) != 2:
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        return check_int(f"{name}[0]", value[0], minimum, maximum), check_int(f"{name}[1]", value[1], minimum, maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    v = check_int(name, value, minimum, maximum)
    return v, v


def check_real(name: str, value: object, minimum: float | None = None, maximum: float | None = None, *,
               low_open: bool = False, high_open: bool = False, allow_inf: bool = False) -> float:
    """``value`` as a ``float`` if it is a real number (not ``bool``, not NaN, finite unless ``allow_inf``)
    in the range; ``low_open`` / ``high_open`` exclude the bounds."""
    allowed = "a real number" + _bound_text(minimum, maximum, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be {allowed}{'' if allow_inf else ' (finite)'}, got {v!r}")
    if minimum is not None and (v < minimum or (low_open and v == minimum)):
        raise ValueError(f"{name} must be {allowed}, got {v!r}")
    if maximum is not None and (v > maximum or (high_open and v == maximum)):
        raise ValueError(f"{name} must be {allowed}, got {v!r}")
    return v


def check_probability(name: str, value: object, *, allow_one: bool = True, allow_zero: bool = True) -> float:
    """A probability in ``[0, 1]``; ``allow_one=False`` gives ``[0, 1)`` (a drop rate), ``allow_zero=False``
    gives ``(0, 1]``."""
    return check_real(name, value, 0.0, 1.0, low_open=not allow_zero, high_open=not allow_one)


def check_bool(name: str, value: object) -> bool:
    """``True`` or ``False`` (or a NumPy bool); no truthy strings or numbers."""
    if isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}")


def check_choice(name: str, value: T, choices: Collection[T]) -> T:
    """``value`` if it is one of ``choices``."""
    try:
        ok = value in choices
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def check_tensor(name: str, value: Any, dims: str | None = None, *, floating: bool = False,
                 finite: bool = False) -> Any:
    """``value`` if it is a ``torch.Tensor`` whose shape matches ``dims`` (letters for any size, digits for
    a fixed one: ``"N C H W"``, ``"K 4"``), floating point if ``floating``, without NaN or inf if ``finite``."""
    import torch  # torch is heavy; only the tensor check needs it

    shape_text = f" of shape ({', '.join(dims.split())})" if dims else ""
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a tensor{shape_text}, got {type(value).__name__}")
    if dims is not None:
        want = dims.split()
        ok = value.dim() == len(want) and all(not w.isdigit() or int(w) == s for w, s in zip(want, value.shape))
        if not ok:
            raise ValueError(f"{name} must be a tensor{shape_text}, got shape {tuple(value.shape)}")
    if floating and not value.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if finite and value.numel() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} must hold finite values (no NaN or inf)")
    return value


def _sequence(name: str, value: object, what: str, length: int | None, min_length: int) -> Sequence:
    """``value`` as a list if it is a sequence (not a string) of an allowed length; NumPy arrays count."""
    if hasattr(value, "tolist") and getattr(value, "ndim", None) == 1:
        value = value.tolist()  # a 1-D NumPy array or tensor: Python numbers (bools stay bools)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a sequence of {what}, got {value!r}")
    if length is not None and len(value) != length:
        raise ValueError(f"{name} must be a sequence of {length} {what}, got {len(value)}: {value!r}")
    if len(value) < min_length:
        how_many = "a non-empty sequence of" if min_length == 1 else f"a sequence of at least {min_length}"
        raise ValueError(f"{name} must be {how_many} {what}, got {value!r}")
    return value


def check_int_sequence(name: str, value: object, minimum: int | None = None, maximum: int | None = None, *,
                       length: int | None = None, min_length: int = 0) -> tuple[int, ...]:
    """A sequence (list, tuple, ``torch.Size``, 1-D array) of integers in the bounds, as a tuple of
    ``int``; entry ``i`` is reported as ``name[i]``."""
    items = _sequence(name, value, "integers" + _bound_text(minimum, maximum), length, min_length)
    return tuple(check_int(f"{name}[{i}]", v, minimum, maximum) for i, v in enumerate(items))


def check_real_sequence(name: str, value: object, minimum: float | None = None, maximum: float | None = None,
                        *, low_open: bool = False, high_open: bool = False, length: int | None = None,
                        min_length: int = 0) -> tuple[float, ...]:
    """A sequence of finite real numbers in the range (as :func:`check_real`), as a tuple of ``float``;
    entry ``i`` is reported as ``name[i]``."""
    items = _sequence(name, value, "real numbers" + _bound_text(minimum, maximum, low_open, high_open), length,
                      min_length)
    return tuple(check_real(f"{name}[{i}]", v, minimum, maximum, low_open=low_open, high_open=high_open)
                 for i, v in enumerate(items))
