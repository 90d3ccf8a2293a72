"""JavaScript's comparisons of path elements, which json0's transform depends on.

The reference compares path elements with ``===``, ``==``, ``<`` and friends, reads past the
end of a path (``undefined``), and increments elements in place. For the usual case (two
integer indexes) these are Python's comparisons; the helpers reproduce the rest exactly, so
that ops whose paths disagree about a container's kind (a key where the other op has an
index) transform as they do in a browser instead of raising ``TypeError``:

- ``UNDEF`` stands for ``undefined``: equal only to itself, unordered with everything;
- a string meets a number through JavaScript's ``ToNumber`` (``"2" < 3``; ``"x"`` is NaN);
- two strings order by UTF-16 code units.

Path elements are ``str`` or ``int`` (validated), never ``bool``, so ``==`` between two of them
already is JavaScript's ``===``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEF"


UNDEF: Final = _Undefined()

# StrWhiteSpaceChar: WhiteSpace and LineTerminator.
_JS_SPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_RADIX = re.compile(r"0(?:[xX](?P<x>[0-9a-fA-F]+)|[oO](?P<o>[0-7]+)|[bB](?P<b>[01]+))")


def at(path: list[Any], i: int) -> Any:
    """``path[i]`` as JavaScript reads it: ``UNDEF`` out of range, including ``i < 0``."""
    return path[i] if 0 <= i < len(path) else UNDEF


def _string_to_number(s: str) -> float | int:
    """JavaScript's ``Number(s)``; NaN for anything that is not a numeric literal."""
    s = s.strip(_JS_SPACE)
    if s == "":
        return 0
    if _DECIMAL.fullmatch(s):
        return float(s.replace("Infinity", "inf"))
    radix = _RADIX.fullmatch(s)
    if radix:
        for group, base in (("x", 16), ("o", 8), ("b", 2)):
            digits = radix.group(group)
            if digits is not None:
                return int(digits, base)
    return math.nan


def to_number(x: Any) -> float | int:
    if type(x) is int or type(x) is float:
        return x
    if type(x) is str:
        return _string_to_number(x)
    return math.nan


def _utf16(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


def lt(a: Any, b: Any) -> bool:
    """JavaScript ``a < b``."""
    if type(a) is int and type(b) is int:
        return a < b
    if type(a) is str and type(b) is str:
        return a < b if a.isascii() and b.isascii() else _utf16(a) < _utf16(b)
    if a is UNDEF or b is UNDEF:
        return False
    return to_number(a) < to_number(b)


def gt(a: Any, b: Any) -> bool:
    """JavaScript ``a > b``."""
    return lt(b, a)


def le(a: Any, b: Any) -> bool:
    """JavaScript ``a <= b`` (false when either side is NaN or undefined)."""
    if type(a) is int and type(b) is int:
        return a <= b
    if type(a) is str and type(b) is str:
        return not lt(b, a)
    if a is UNDEF or b is UNDEF:
        return False
    return to_number(a) <= to_number(b)


def loose_eq(a: Any, b: Any) -> bool:
    """JavaScript ``a == b`` for path elements."""
    if type(a) is type(b) or a is UNDEF or b is UNDEF:
        return bool(a == b)
    return to_number(a) == to_number(b)


def step(x: Any, delta: int) -> Any:
    """JavaScript ``x += delta`` on a path element (a numeric string becomes a number)."""
    if type(x) is int:
        return x + delta
    n = to_number(x) + delta
    if type(n) is float and n.is_integer():
        return int(n)
    return n
