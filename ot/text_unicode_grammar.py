"""What a valid ``ot-text-unicode`` op is: the shape of each component and of the whole op.

:func:`check_op` follows the reference's ``checkOp``; :func:`check_component` is the looser
per-component check that normalising and applying use (they drop empty parts themselves).
"""

from __future__ import annotations

from typing import Any, Final

from ot.errors import InvalidOpError
from ot.jsvalue import MAX_SAFE_INTEGER

# JavaScript peers hold counts in doubles; anything above this is not an exact integer there.
MAX_COUNT: Final = MAX_SAFE_INTEGER


def delete_length(d: Any) -> int:
    """The length of a delete's payload; raises for anything but a count or the text."""
    if type(d) is int:
        if not 0 <= d <= MAX_COUNT:
            raise InvalidOpError(f"delete count out of range: {d}")
        return d
    if type(d) is str:
        return len(d)
    raise InvalidOpError("a delete is {'d': count} or {'d': text}")


def check_component(c: Any) -> None:
    """Shape and sign of one component; empty components are left to the caller."""
    kind = type(c)
    if kind is int:
        if not 0 <= c <= MAX_COUNT:
            raise InvalidOpError(f"skip out of range: {c}")
    elif kind is dict:
        if len(c) != 1 or "d" not in c:
            raise InvalidOpError("a delete component has exactly one key, 'd'")
        delete_length(c["d"])
    elif kind is not str:
        raise InvalidOpError(f"not a text-unicode component: {type(c).__name__}")


def check_op(op: Any) -> None:
    """Raise InvalidOpError unless ``op`` is a valid op (the reference's ``checkOp`` rules)."""
    if type(op) is not list:
        raise InvalidOpError("a text-unicode op is a list of components")
    last_is_skip = False
    for c in op:
        kind = type(c)
        if kind is int:
            if last_is_skip or not 0 < c <= MAX_COUNT:
                raise InvalidOpError("skips are ints > 0, never two in a row")
            last_is_skip = True
            continue
        if kind is str:
            if not c:
                raise InvalidOpError("inserts must not be empty")
        elif kind is dict and len(c) == 1:
            d = c.get("d")
            if type(d) is int:
                if not 0 < d <= MAX_COUNT:
                    raise InvalidOpError("a delete count is an int > 0")
            elif type(d) is not str or not d:
                raise InvalidOpError("a delete is {'d': count} or {'d': text}, never empty")
        else:
            raise InvalidOpError(f"not a text-unicode component: {type(c).__name__}")
        last_is_skip = False
    if last_is_skip:
        raise InvalidOpError("an op has no trailing skip")
