"""The Quill Delta algebra behind rich-text, with the semantics of ``quill-delta@4``.

Op grammar (a delta is a list of these, walked from position 0)::

    {"insert": "text" | {embed}, "attributes"?: {...}}   insert text, or one embed of length 1
    {"retain": N, "attributes"?: {...}}                   keep N positions, applying the
                                                          attributes (null removes one)
    {"delete": N}                                         remove N positions

Example: ``[{"retain": 6}, {"insert": "big ", "attributes": {"bold": True}}, {"delete": 3}]``.

Everything here works on deltas :mod:`ot.rich_text` has already validated: counts are positive
ints, attribute maps are non-empty dicts or absent, and text is in UTF-16 form (every character
outside the BMP held as its two surrogates) so that ``len`` and slicing agree with JavaScript
string lengths, which is how quill-delta measures text. Nothing here mutates an argument;
results may share attribute maps, embeds and whole ops with the arguments.
"""

from __future__ import annotations

from typing import Any, Final

from ot.jsvalue import js_equal, js_identical

Attributes = dict[str, Any]
DeltaOp = dict[str, Any]

# Longer than any op: what an exhausted iterator reports, as quill-delta reports Infinity.
_FOREVER: Final = 1 << 62
_END: Final[DeltaOp] = {"retain": _FOREVER}


def compose_attributes(
    a: Attributes | None, b: Attributes | None, keep_null: bool
) -> Attributes | None:
    """``b`` laid over ``a``; a null in ``b`` survives only when ``keep_null`` (retain on retain)."""
    if b is None:
        attributes: Attributes = {}
    elif keep_null:
        attributes = dict(b)
    else:
        attributes = {key: value for key, value in b.items() if value is not None}
    if a:
        for key, value in a.items():
            if b is None or key not in b:
                attributes[key] = value
    return attributes or None


def diff_attributes(a: Attributes | None, b: Attributes | None) -> Attributes | None:
    """What turns ``a`` into ``b`` (null for a key ``b`` lacks)."""
    a = a or {}
    b = b or {}
    attributes: Attributes = {}
    for key in (*a, *b):
        if key not in attributes and (key not in a or key not in b or not js_equal(a[key], b[key])):
            attributes[key] = b.get(key)
    return attributes or None


def invert_attributes(attr: Attributes | None, base: Attributes | None) -> Attributes:
    """The attributes that undo ``attr`` applied over ``base``."""
    attr = attr or {}
    base = base or {}
    inverted: Attributes = {
        key: value
        for key, value in base.items()
        if key in attr and not js_identical(value, attr[key])
    }
    for key in attr:
        if key not in base:
            inverted[key] = None
    return inverted


def transform_attributes(
    a: Attributes | None, b: Attributes | None, priority: bool
) -> Attributes | None:
    """``b`` as it applies after ``a``; with ``priority`` ``a`` wins the keys both set."""
    if a is None:
        return b
    if b is None:
        return None
    if not priority:
        return b
    attributes = {key: value for key, value in b.items() if key not in a}
    return attributes or None


def op_length(op: DeltaOp) -> int:
    if "delete" in op:
        return op["delete"]  # type: ignore[no-any-return]
    if "retain" in op:
        return op["retain"]  # type: ignore[no-any-return]
    insert = op["insert"]
    return len(insert) if type(insert) is str else 1


def push(ops: list[DeltaOp], op: DeltaOp) -> None:
    """Append ``op`` the way ``Delta.push`` does: merge with its like, inserts before deletes."""
    index = len(ops)
    if index:
        last = ops[-1]
        if "delete" in op:
            if "delete" in last:
                ops[-1] = {"delete": last["delete"] + op["delete"]}
                return
        elif "delete" in last and "insert" in op:
            # Inserting before or after a delete at one index is the same edit; inserts go first.
            index -= 1
            if index == 0:
                ops.insert(0, op)
                return
            last = ops[index - 1]
        attributes = op.get("attributes")
        if js_equal(attributes, last.get("attributes")):
            merged: DeltaOp | None = None
            if "insert" in op:
                text, last_text = op["insert"], last.get("insert")
                if type(text) is str and type(last_text) is str:
                    merged = {"insert": last_text + text}
            elif "retain" in op and "retain" in last:
                merged = {"retain": last["retain"] + op["retain"]}
            if merged is not None:
                if attributes is not None:
                    merged["attributes"] = attributes
                ops[index - 1] = merged
                return
    if index == len(ops):
        ops.append(op)
    else:
        ops.insert(index, op)


def _retain(ops: list[DeltaOp], length: int, attributes: Attributes | None) -> None:
    op: DeltaOp = {"retain": length}
    if attributes:
        op["attributes"] = attributes
    push(ops, op)


def chop(ops: list[DeltaOp]) -> list[DeltaOp]:
    """Drop a trailing retain that changes nothing."""
    if ops and "retain" in ops[-1] and "attributes" not in ops[-1]:
        ops.pop()
    return ops


class _Cursor:
    """Walks a delta in pieces; past the end it retains forever."""

    __slots__ = ("count", "index", "offset", "ops")

    def __init__(self, ops: list[DeltaOp]) -> None:
        self.ops = ops
        self.count = len(ops)
        self.index = 0
        self.offset = 0

    def has_next(self) -> bool:
        return self.index < self.count

    def peek_length(self) -> int:
        if self.index < self.count:
            return op_length(self.ops[self.index]) - self.offset
        return _FOREVER

    def peek_type(self) -> str:
        if self.index < self.count:
            op = self.ops[self.index]
            return "delete" if "delete" in op else "retain" if "retain" in op else "insert"
        return "retain"

    def next(self, length: int = _FOREVER) -> DeltaOp:
        if self.index >= self.count:
            return _END
        op = self.ops[self.index]
        offset = self.offset
        left = op_length(op) - offset
        if length >= left:
            length = left
            self.index += 1
            self.offset = 0
            if offset == 0:
                return op
        else:
            self.offset += length
        if "delete" in op:
            return {"delete": length}
        if "retain" in op:
            piece: DeltaOp = {"retain": length}
        else:
            insert = op["insert"]
            piece = {"insert": insert[offset : offset + length] if type(insert) is str else insert}
        attributes = op.get("attributes")
        if attributes is not None:
            piece["attributes"] = attributes
        return piece

    def rest(self) -> list[DeltaOp]:
        if self.index >= self.count:
            return []
        if self.offset == 0:
            return self.ops[self.index :]
        index, offset = self.index, self.offset
        first = self.next()
        rest = [first, *self.ops[self.index :]]
        self.index, self.offset = index, offset
        return rest


def compose(a: list[DeltaOp], b: list[DeltaOp]) -> list[DeltaOp]:
    """One delta with the effect of ``a`` followed by ``b`` (``Delta.compose``)."""
    this = _Cursor(a)
    other = _Cursor(b)
    ops: list[DeltaOp] = []
    first = b[0] if b else None
    if first is not None and "retain" in first and "attributes" not in first:
        # A leading plain retain keeps a's leading inserts as they are, unmerged.
        left = first["retain"]
        while this.peek_type() == "insert" and this.peek_length() <= left:
            left -= this.peek_length()
            ops.append(this.next())
        if first["retain"] - left > 0:
            other.next(first["retain"] - left)
    while this.index < this.count or other.index < other.count:
        if other.peek_type() == "insert":
            push(ops, other.next())
        elif this.peek_type() == "delete":
            push(ops, this.next())
        else:
            length = min(this.peek_length(), other.peek_length())
            this_op = this.next(length)
            other_op = other.next(length)
            if "retain" in other_op:
                kept = "retain" in this_op
                new: DeltaOp = {"retain": length} if kept else {"insert": this_op["insert"]}
                attributes = compose_attributes(
                    this_op.get("attributes"), other_op.get("attributes"), kept
                )
                if attributes:
                    new["attributes"] = attributes
                push(ops, new)
                if other.index >= other.count and ops[-1] is new:
                    # b has nothing left to change: the rest of a goes through unchanged.
                    rest = this.rest()
                    if rest:
                        push(ops, rest[0])
                        ops.extend(rest[1:])
                    return chop(ops)
            elif "delete" in other_op and "retain" in this_op:
                push(ops, other_op)
            # else a's insert meets b's delete: the two cancel out.
    return chop(ops)


def transform(this_ops: list[DeltaOp], other_ops: list[DeltaOp], priority: bool) -> list[DeltaOp]:
    """``other`` rewritten to apply after ``this``; with ``priority`` this's inserts go first."""
    this = _Cursor(this_ops)
    other = _Cursor(other_ops)
    ops: list[DeltaOp] = []
    while this.index < this.count or other.index < other.count:
        if this.peek_type() == "insert" and (priority or other.peek_type() != "insert"):
            _retain(ops, op_length(this.next()), None)
        elif other.peek_type() == "insert":
            push(ops, other.next())
        else:
            length = min(this.peek_length(), other.peek_length())
            this_op = this.next(length)
            other_op = other.next(length)
            if "delete" in this_op:
                # Already gone: other's delete is redundant and its retain has nothing to keep.
                continue
            if "delete" in other_op:
                push(ops, other_op)
            else:
                _retain(
                    ops,
                    length,
                    transform_attributes(
                        this_op.get("attributes"), other_op.get("attributes"), priority
                    ),
                )
    return chop(ops)


def transform_position(ops: list[DeltaOp], index: int, priority: bool) -> int:
    """Where ``index`` ends up after ``ops``; without ``priority`` an insert at it pushes it on."""
    cursor = _Cursor(ops)
    offset = 0
    while cursor.index < cursor.count and offset <= index:
        length = cursor.peek_length()
        kind = cursor.peek_type()
        cursor.next()
        if kind == "delete":
            index -= min(length, index - offset)
            continue
        if kind == "insert" and (offset < index or not priority):
            index += length
        offset += length
    return index


def slice_ops(ops: list[DeltaOp], start: int, end: int) -> list[DeltaOp]:
    """The ops covering positions ``start`` to ``end`` (``Delta.slice``)."""
    out: list[DeltaOp] = []
    cursor = _Cursor(ops)
    index = 0
    while index < end and cursor.index < cursor.count:
        if index < start:
            piece = cursor.next(start - index)
        else:
            piece = cursor.next(end - index)
            out.append(piece)
        index += op_length(piece)
    return out


def invert(ops: list[DeltaOp], base: list[DeltaOp]) -> list[DeltaOp]:
    """The delta that undoes ``ops`` applied to the document ``base`` (``Delta.invert``)."""
    inverted: list[DeltaOp] = []
    base_index = 0
    for op in ops:
        if "insert" in op:
            push(inverted, {"delete": op_length(op)})
        elif "retain" in op and "attributes" not in op:
            _retain(inverted, op["retain"], None)
            base_index += op["retain"]
        else:
            deleting = "delete" in op
            length = op["delete"] if deleting else op["retain"]
            for base_op in slice_ops(base, base_index, base_index + length):
                if deleting:
                    push(inverted, base_op)
                else:
                    _retain(
                        inverted,
                        op_length(base_op),
                        invert_attributes(op["attributes"], base_op.get("attributes")),
                    )
            base_index += length
    return chop(inverted)
