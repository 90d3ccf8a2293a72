"""json0's own plain-text type, compatible with ``ot-json0@1.1.0``'s ``lib/text0.js``.

Op grammar: an op is a list of components, each applied to the text the previous ones left::

    {"p": N, "i": "str"}   insert "str" at position N
    {"p": N, "d": "str"}   delete "str", which must be the text at position N

Example, on ``"hello world"``::

    [{"p": 6, "d": "world"}, {"p": 6, "i": "there"}]   ->   "hello there"

Positions and lengths count UTF-16 code units, as JavaScript strings do: json0's ``si``/``sd``
components are this type, and browsers send them measured that way (an emoji is two units).
A position that would split a surrogate pair is refused (the reference would split the
character in two). ``transform(op, other, "left")`` keeps ``op``'s insert first on a tie.

Like the reference, an insert past the end of the text lands at the end (JavaScript's
``slice`` clamps; json0 depends on it, see :func:`apply`) and a delete must name the text it
removes. Deviations, all on malformed ops: components with unknown fields or non-integer
positions raise :class:`InvalidOpError`.
"""

from __future__ import annotations

from typing import Any, Final

from ot.errors import ApplyError, DocumentError, InvalidOpError, OTError
from ot.jsvalue import has_astral, utf16_length
from ot.pairwise import transform as _pairwise_transform
from ot.pairwise import transform_x as _pairwise_transform_x
from ot.subtype import Side

Component = dict[str, Any]
Op = list[Component]

NAME: Final = "text0"
URI: Final = "http://sharejs.org/types/textv0"

# --- UTF-16 positions over Python strings --------------------------------------------------


def units(s: object) -> int:
    """The length of ``s`` in UTF-16 code units (JavaScript's ``s.length``)."""
    if type(s) is not str:
        raise InvalidOpError("only strings have a length in UTF-16 units")
    return utf16_length(s)


def _index(s: str, unit: int, error: type[OTError]) -> int:
    """The index into ``s`` of UTF-16 offset ``unit``, clamped to the string like ``slice``."""
    if unit <= 0:
        return 0
    if not has_astral(s):
        return min(unit, len(s))
    n = 0
    for i, ch in enumerate(s):
        if n == unit:
            return i
        n += 2 if ch > "\uffff" else 1
        if n > unit:
            raise error(f"position {unit} falls inside a surrogate pair")
    return len(s)


def _slice(s: str, start: int, end: int | None, error: type[OTError]) -> str:
    stop = len(s) if end is None else _index(s, end, error)
    return s[_index(s, start, error) : stop]


def _inject(s: str, at: int, text: str, error: type[OTError]) -> str:
    k = _index(s, at, error)
    return s[:k] + text + s[k:]


# --- validation ----------------------------------------------------------------------------


def _check_component(c: Any) -> None:
    if type(c) is not dict:
        raise InvalidOpError("a text0 component is an object")
    p = c.get("p")
    if type(p) is not int or p < 0:
        raise InvalidOpError("a text0 component needs a position p (an integer >= 0)")
    if len(c) != 2 or not (type(c.get("i")) is str or type(c.get("d")) is str):
        raise InvalidOpError("a text0 component is {p, i: str} or {p, d: str}")


def check_op(op: Any) -> None:
    """Raise :class:`InvalidOpError` unless ``op`` is a well-formed text0 op."""
    if type(op) is not list:
        raise InvalidOpError("a text0 op is a list of components")
    for c in op:
        _check_component(c)


def _check_side(side: Any) -> None:
    if side != "left" and side != "right":
        raise InvalidOpError("side must be 'left' or 'right'")


# --- the type ------------------------------------------------------------------------------


def create(initial: Any = None) -> str:
    if initial is None:
        return ""
    if type(initial) is not str:
        raise DocumentError("a text0 document is a string")
    return initial


def apply(snapshot: Any, op: Any) -> str:
    """The text after ``op``; a delete must name the text it removes."""
    check_op(op)
    if type(snapshot) is not str:
        raise ApplyError("a text0 op applies to a string")
    text: str = snapshot
    for c in op:
        at = c["p"]
        # Past the end, JavaScript's slice clamps: an insert lands at the end (json0 relies on
        # it, since its transform leaves a text0 edit unmoved by a concurrent si/sd).
        k = _index(text, at, ApplyError)
        if "i" in c:
            text = text[:k] + c["i"] + text[k:]
            continue
        end = _index(text, at + units(c["d"]), ApplyError)
        if text[k:end] != c["d"]:
            raise ApplyError(f"delete of {c['d']!r} does not match the text {text[k:end]!r}")
        text = text[:k] + text[end:]
    return text


def append(op: Op, c: Component) -> None:
    """Add ``c`` to the end of ``op``, merging it into the last component where it touches."""
    if c.get("i") == "" or c.get("d") == "":
        return
    if not op:
        op.append(c)
        return
    last = op[-1]
    if "i" in last and "i" in c and last["p"] <= c["p"] <= last["p"] + units(last["i"]):
        merged = _inject(last["i"], c["p"] - last["p"], c["i"], InvalidOpError)
        op[-1] = {"i": merged, "p": last["p"]}
    elif "d" in last and "d" in c and c["p"] <= last["p"] <= c["p"] + units(c["d"]):
        merged = _inject(c["d"], last["p"] - c["p"], last["d"], InvalidOpError)
        op[-1] = {"d": merged, "p": c["p"]}
    else:
        op.append(c)


def compose(a: Any, b: Any) -> Op:
    """``a`` then ``b`` as one op (``a`` is kept as it is; ``b`` merges in component by component)."""
    check_op(a)
    check_op(b)
    out: Op = list(a)
    for c in b:
        append(out, c)
    return out


def normalize(op: Any) -> Op:
    """Drop empty components, merge touching ones, default a missing position to 0.

    A single component may come unwrapped. The reference turns an unwrapped object that has
    neither ``i`` nor ``p`` into ``[]``; here that is an :class:`InvalidOpError`.
    """
    if type(op) is dict:
        if op.get("i") is None and op.get("p") is None:
            raise InvalidOpError("a text0 op is a list of components")
        op = [op]
    if type(op) is not list:
        raise InvalidOpError("a text0 op is a list of components")
    components = [{**c, "p": 0} if type(c) is dict and c.get("p") is None else c for c in op]
    check_op(components)
    out: Op = []
    for c in components:
        append(out, c)
    return out


def is_noop(op: Any) -> bool:
    check_op(op)
    return all(c.get("i", c.get("d")) == "" for c in op)


def _transform_position(pos: int, c: Component, insert_after: bool) -> int:
    if "i" in c:
        if c["p"] < pos or (c["p"] == pos and insert_after):
            return pos + units(c["i"])
        return pos
    if pos <= c["p"]:
        return pos
    start: int = c["p"]
    if pos <= start + units(c["d"]):
        return start
    return pos - units(c["d"])


def transform_cursor(position: Any, op: Any, side: Any = "left") -> int:
    """Where a cursor at ``position`` ends up after ``op``.

    ``"right"`` pushes it past an insert made exactly at the cursor (the cursor's owner made
    the insert), ``"left"`` leaves it before.
    """
    check_op(op)
    _check_side(side)
    if type(position) is not int or position < 0:
        raise InvalidOpError("a text0 cursor is an integer >= 0")
    for c in op:
        position = _transform_position(position, c, side == "right")
    return int(position)


def move_position(where: object, inserted: object, deleted: object, at: int, is_own: bool) -> int:
    """Position ``at`` after inserting or deleting a string at ``where`` (a text0 part, or
    json0's ``si``/``sd``). A key that is no index cannot be a place in a string: nothing moves.
    With ``is_own`` an insert exactly at ``at`` lands before it."""
    if not isinstance(where, int) or isinstance(where, bool):
        return at
    if isinstance(inserted, str):
        if where < at or (where == at and is_own):
            return at + utf16_length(inserted)
        return at
    size = utf16_length(deleted) if isinstance(deleted, str) else 0
    if at <= where:
        return at
    return where if at <= where + size else at - size


def transform_range(start: int, end: int, op: Any, is_own: bool) -> tuple[int, int]:
    """A selection's ends moved through a (checked) text0 op (see :class:`ot.subtype.FollowsSelections`)."""
    for part in op:
        edit = (part["p"], part.get("i"), part.get("d"))
        start, end = move_position(*edit, start, is_own), move_position(*edit, end, is_own)
    return start, end


def _transform_component(dest: Op, c: Component, other: Component, side: Side) -> Op:
    if "i" in c:
        append(dest, {"i": c["i"], "p": _transform_position(c["p"], other, side == "right")})
        return dest
    at, gone = c["p"], c["d"]
    if "i" in other:
        # A delete spanning the other side's insert is cut in two around it.
        if at < other["p"]:
            append(dest, {"d": _slice(gone, 0, other["p"] - at, InvalidOpError), "p": at})
            gone = _slice(gone, other["p"] - at, None, InvalidOpError)
        if gone != "":
            append(dest, {"d": gone, "p": at + units(other["i"])})
        return dest
    other_at, other_len, own_len = other["p"], units(other["d"]), units(gone)
    if at >= other_at + other_len:
        append(dest, {"d": gone, "p": at - other_len})
    elif at + own_len <= other_at:
        append(dest, c)
    else:
        # Overlapping deletes: keep what only this side deletes.
        kept = ""
        if at < other_at:
            kept = _slice(gone, 0, other_at - at, InvalidOpError)
        if at + own_len > other_at + other_len:
            kept += _slice(gone, other_at + other_len - at, None, InvalidOpError)
        start, end = max(at, other_at), min(at + own_len, other_at + other_len)
        mine = _slice(gone, start - at, end - at, InvalidOpError)
        theirs = _slice(other["d"], start - other_at, end - other_at, InvalidOpError)
        if mine != theirs:
            raise InvalidOpError("the two ops delete different text in the same place")
        if kept != "":
            append(dest, {"d": kept, "p": _transform_position(at, other, False)})
    return dest


def transform(op: Any, other: Any, side: Any) -> Op:
    """``op`` rewritten to apply after ``other``."""
    check_op(op)
    check_op(other)
    _check_side(side)
    return _pairwise_transform(op, other, side, _transform_component, append)


def transform_x(left: Any, right: Any) -> tuple[Op, Op]:
    """``(transform(left, right, "left"), transform(right, left, "right"))`` in one pass."""
    check_op(left)
    check_op(right)
    new_left, new_right = _pairwise_transform_x(left, right, _transform_component, append)
    return list(new_left), new_right


def invert(op: Any) -> Op:
    check_op(op)
    return [
        {"d": c["i"], "p": c["p"]} if "i" in c else {"i": c["d"], "p": c["p"]} for c in reversed(op)
    ]


def invert_with_doc(op: Any, snapshot: Any) -> Op:
    """The inverse of ``op``, after checking that it applies to ``snapshot``."""
    apply(snapshot, op)
    return invert(op)


class Text0Type:
    """The type object json0 embeds (``t: "text0"``) and uses for ``si``/``sd``."""

    name = NAME
    uri = URI

    def create(self, initial: Any = None) -> str:
        return create(initial)

    def apply(self, snapshot: Any, op: Any) -> str:
        return apply(snapshot, op)

    def transform(self, op: Any, other: Any, side: Side) -> Op:
        return transform(op, other, side)

    def compose(self, a: Any, b: Any) -> Op:
        return compose(a, b)

    def invert(self, op: Any) -> Op:
        return invert(op)

    def invert_with_doc(self, op: Any, snapshot: Any) -> Op:
        return invert_with_doc(op, snapshot)

    def normalize(self, op: Any) -> Op:
        return normalize(op)

    def is_noop(self, op: Any) -> bool:
        return is_noop(op)

    def check_op(self, op: Any) -> None:
        check_op(op)

    def transform_cursor(self, position: Any, op: Any, side: Any = "left") -> int:
        return transform_cursor(position, op, side)

    def transform_range(self, start: int, end: int, op: Any, is_own: bool) -> tuple[int, int]:
        return transform_range(start, end, op, is_own)


TYPE: Final = Text0Type()
