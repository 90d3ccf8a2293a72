"""Plain text with positions in Unicode code points, compatible with ``ot-text-unicode@4``.

Op grammar: an op is a list of components walked over the document from position 0::

    N          skip N code points (an int > 0)
    "str"      insert "str" here (a non-empty string)
    {"d": N}   delete the next N code points
    {"d": "s"} delete the next len("s") code points, which must read "s"; carrying the text is
               what makes the op invertible

A valid op never has two skips in a row nor a trailing skip. Example, on ``"hello world"``::

    [6, {"d": "world"}, "there"]   ->   "hello there"

Positions are indexes into a Python ``str``: the JavaScript reference counts code points too
(an emoji is one position there as here), so ops cross the wire unchanged. ``transform(op,
other, "left")`` keeps ``op``'s insert first when both insert at one place.
"""

from __future__ import annotations

from typing import Any, Final

from ot.errors import ApplyError, DocumentError, InvalidOpError, NotInvertibleError
from ot.subtype import Side
from ot.text_unicode_grammar import MAX_COUNT, check_component, check_op

Component = int | str | dict[str, int | str]
Op = list[Component]

NAME: Final = "text-unicode"
URI: Final = "http://sharejs.org/types/text-unicode"


def create(initial: Any = "") -> str:
    if initial is None:
        return ""
    if type(initial) is not str:
        raise DocumentError("a text-unicode document is a string")
    return initial


def _append(out: list[Any], c: Any) -> None:
    """Add ``c`` to ``out``, dropping empty parts and merging with a neighbour of its kind."""
    if not c:
        return
    kind = type(c)
    if kind is dict:
        d = c["d"]
        if not d:
            return
        if out and type(out[-1]) is dict:
            last = out[-1]["d"]
            # Merged deletes keep their text only when both sides have it.
            if type(last) is str and type(d) is str:
                out[-1] = {"d": last + d}
            else:
                out[-1] = {"d": _length(last) + _length(d)}
            return
        out.append(c)
    elif out and type(out[-1]) is kind:
        out[-1] = out[-1] + c
    else:
        out.append(c)


def _length(d: Any) -> int:
    return d if type(d) is int else len(d)


def _trim(op: list[Any]) -> Op:
    if op and type(op[-1]) is int:
        op.pop()
    return op


def normalize(op: Any) -> Op:
    """Merge neighbours, drop empty components and a trailing skip; the input is not changed."""
    if type(op) is not list:
        raise InvalidOpError("a text-unicode op is a list of components")
    out: list[Any] = []
    for c in op:
        check_component(c)
        _append(out, c)
    return _trim(out)


def is_noop(op: Any) -> bool:
    return not normalize(op)


def _slice_delete(d: Any, start: int, end: int | None) -> Any:
    if type(d) is int:
        return (d if end is None else min(d, end)) - start
    return d[start:end]


def _rest(op: list[Any], idx: int, offset: int) -> list[Any]:
    """What is left of ``op`` from component ``idx``, the first ``offset`` positions of it used."""
    if idx == len(op):
        return []
    c = op[idx]
    if offset:
        kind = type(c)
        if kind is int:
            c = c - offset
        elif kind is str:
            c = c[offset:]
        else:
            c = {"d": _slice_delete(c["d"], offset, None)}
    return [c, *op[idx + 1 :]]


def transform(op: Any, other: Any, side: Side) -> Op:
    """``op`` rewritten to apply after ``other``; on a tie the ``"left"`` op inserts first."""
    if side != "left" and side != "right":
        raise InvalidOpError(f"side must be 'left' or 'right', not {side!r}")
    check_op(op)
    check_op(other)
    out: list[Any] = []
    # Walk ``op`` by hand: component ``idx``, of which ``offset`` positions are used up. Its
    # inserts are never split; past its end it skips forever.
    count = len(op)
    idx = offset = 0
    for c2 in other:
        kind = type(c2)
        if kind is str:
            if side == "left" and idx < count and type(op[idx]) is str:
                _append(out, op[idx])
                idx += 1
            _append(out, len(c2))
            continue
        # Over other's skip ours goes through; over its delete ours loses what it retains.
        deleting = kind is dict
        length = _length(c2["d"]) if deleting else c2
        while length > 0:
            if idx == count:
                if not deleting:
                    _append(out, length)
                break
            c1 = op[idx]
            k1 = type(c1)
            if k1 is str:
                _append(out, c1)
                idx += 1
                continue
            if k1 is int:
                part = c1 - offset
                piece: Any = part
            else:
                d = c1["d"]
                part = _length(d) - offset
                piece = c1 if offset == 0 else {"d": _slice_delete(d, offset, None)}
            if part <= length:
                idx += 1
                offset = 0
            else:
                part = length
                piece = length if k1 is int else {"d": _slice_delete(d, offset, offset + length)}
                offset += length
            if not deleting:
                _append(out, piece)
            # else: text both ops delete is gone already; ours has nothing left to do there.
            length -= part
    for c1 in _rest(op, idx, offset):
        _append(out, c1)
    return _trim(out)


def compose(a: Any, b: Any) -> Op:
    """One op with the effect of ``a`` followed by ``b``."""
    check_op(a)
    check_op(b)
    out: list[Any] = []
    # Walk ``a`` by hand as in transform, but here a's deletes are never split: b does not
    # see the text they removed.
    count = len(a)
    idx = offset = 0
    for c2 in b:
        kind = type(c2)
        if kind is str:
            _append(out, c2)
            continue
        deleting = kind is dict
        d2 = c2["d"] if deleting else None
        length = _length(d2) if deleting else c2
        done = 0
        while done < length:
            want = length - done
            if idx == count:
                _append(out, {"d": _slice_delete(d2, done, length)} if deleting else want)
                break
            c1 = a[idx]
            k1 = type(c1)
            if k1 is dict:
                _append(out, c1)
                idx += 1
                continue
            part = (c1 if k1 is int else len(c1)) - offset
            if part <= want:
                piece = c1 if offset == 0 else (part if k1 is int else c1[offset:])
                idx += 1
                offset = 0
            else:
                part = want
                piece = want if k1 is int else c1[offset : offset + want]
                offset += want
            if not deleting:
                _append(out, piece)
            elif k1 is int:
                _append(out, {"d": _slice_delete(d2, done, done + part)})
            # else: b deletes text a inserted, and the two cancel out.
            done += part
    for c1 in _rest(a, idx, offset):
        _append(out, c1)
    return _trim(out)


def _check_fits(snapshot: Any, op: list[Any]) -> str:
    """The snapshot as a string, once the op is known to fit it (lengths and deleted text)."""
    if type(snapshot) is not str:
        raise DocumentError("a text-unicode document is a string")
    pos = 0
    size = len(snapshot)
    for c in op:
        kind = type(c)
        if kind is int:
            pos += c
        elif kind is dict:
            d = c["d"]
            if type(d) is str:
                if not snapshot.startswith(d, pos):
                    raise ApplyError(f"deleted text does not match the document at {pos}")
                pos += len(d)
            else:
                pos += d
        if pos > size:
            raise ApplyError(f"op is longer than the document ({size} code points)")
    return snapshot


def apply(snapshot: Any, op: Any) -> str:
    check_op(op)
    if type(snapshot) is not str:
        raise DocumentError("a text-unicode document is a string")
    parts: list[str] = []
    pos = 0
    size = len(snapshot)
    for c in op:
        kind = type(c)
        if kind is int:
            parts.append(snapshot[pos : pos + c])
            pos += c
        elif kind is str:
            parts.append(c)
            continue
        else:
            d = c["d"]
            if type(d) is str:
                if not snapshot.startswith(d, pos):
                    raise ApplyError(f"deleted text does not match the document at {pos}")
                pos += len(d)
            else:
                pos += d
        if pos > size:
            raise ApplyError(f"op is longer than the document ({size} code points)")
    parts.append(snapshot[pos:])
    return "".join(parts)


def invert(op: Any) -> Op:
    """The op that undoes ``op``; needs every delete to carry its text."""
    check_op(op)
    out: list[Any] = []
    for c in op:
        kind = type(c)
        if kind is dict:
            d = c["d"]
            if type(d) is not str:
                raise NotInvertibleError("a delete without its text cannot be inverted")
            _append(out, d)
        elif kind is str:
            _append(out, {"d": c})
        else:
            _append(out, c)
    return _trim(out)


def invert_with_doc(op: Any, snapshot: Any) -> Op:
    """The op that undoes ``op`` on ``snapshot``, reading deleted text from the document."""
    check_op(op)
    return _inverse(op, _check_fits(snapshot, op))


def apply_and_invert(snapshot: Any, op: Any) -> tuple[str, Op]:
    """``(apply(snapshot, op), invert_with_doc(op, snapshot))``, checking the op once."""
    result = apply(snapshot, op)
    # apply has checked the op and that it fits the snapshot, a string.
    return result, _inverse(op, snapshot)


def _inverse(op: list[Any], doc: str) -> Op:
    """The inverse of a valid ``op`` that fits ``doc``."""
    out: list[Any] = []
    pos = 0
    for c in op:
        kind = type(c)
        if kind is int:
            _append(out, c)
            pos += c
        elif kind is str:
            _append(out, {"d": c})
        else:
            n = _length(c["d"])
            _append(out, doc[pos : pos + n])
            pos += n
    return _trim(out)


def transform_position(pos: Any, op: Any, is_own_op: bool = False) -> int:
    """Where position ``pos`` ends up after ``op``.

    An insert exactly at ``pos`` leaves it in front of the new text whoever made the op:
    the reference ignores ownership here, and every peer must compute the same cursor, so
    ``is_own_op`` is accepted for the Subtype-style call and deliberately has no effect.
    """
    if type(pos) is not int or not 0 <= pos <= MAX_COUNT:
        raise InvalidOpError("a text-unicode position is an int >= 0")
    check_op(op)
    cursor: int = pos
    at = 0
    for c in op:
        if cursor <= at:
            break
        kind = type(c)
        if kind is int:
            at += c
        elif kind is str:
            n = len(c)
            at += n
            cursor += n
        else:
            cursor -= min(_length(c["d"]), cursor - at)
    return cursor


def transform_selection(selection: Any, op: Any, is_own_op: bool = False) -> int | list[int]:
    """A cursor (an int) or an ``[anchor, focus]`` pair moved through ``op``."""
    if type(selection) is int:
        return transform_position(selection, op, is_own_op)
    if type(selection) is not list or len(selection) != 2:
        raise InvalidOpError("a text-unicode selection is a position or [anchor, focus]")
    return [transform_position(p, op, is_own_op) for p in selection]


def transform_range(start: int, end: int, op: Any, is_own: bool) -> tuple[int, int]:
    """A selection's ends moved through ``op`` (see :class:`ot.subtype.FollowsSelections`)."""
    return transform_position(start, op, is_own), transform_position(end, op, is_own)


class TextUnicodeType:
    """The type object json0 embeds and the registry looks up by :data:`NAME`."""

    name = NAME
    uri = URI

    # The module's functions themselves, not methods that call them: json0 calls these for
    # every subtype component, and a method would add a call to each.
    create = staticmethod(create)
    apply = staticmethod(apply)
    apply_and_invert = staticmethod(apply_and_invert)
    transform = staticmethod(transform)
    compose = staticmethod(compose)
    invert = staticmethod(invert)
    invert_with_doc = staticmethod(invert_with_doc)
    normalize = staticmethod(normalize)
    is_noop = staticmethod(is_noop)
    check_op = staticmethod(check_op)
    transform_position = staticmethod(transform_position)
    transform_selection = staticmethod(transform_selection)
    transform_range = staticmethod(transform_range)


TYPE: Final = TextUnicodeType()
