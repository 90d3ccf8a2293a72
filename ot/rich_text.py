"""Rich text as Quill deltas, compatible with ``rich-text@4.1`` (``quill-delta@4``).

Op grammar: a delta, given as a list of ops or as ``{"ops": [...]}``::

    {"insert": "text" | {embed}, "attributes"?: {...}}   insert text, or one embed (length 1)
    {"retain": N, "attributes"?: {...}}                   keep N positions, setting attributes
                                                          (a null value removes that attribute)
    {"delete": N}                                         remove N positions

A document is a delta of inserts only. Example, on ``{"ops": [{"insert": "Hello\\n"}]}``::

    [{"retain": 5, "attributes": {"bold": True}}, {"insert": "!"}]
        ->  {"ops": [{"insert": "Hello", "attributes": {"bold": True}}, {"insert": "!\\n"}]}

Results are ``{"ops": [...]}``, the JSON form of the reference's Delta objects. Positions and
lengths count UTF-16 code units, as JavaScript string lengths do (an emoji is 2), because
quill-delta measures text that way and stock clients send those numbers. Retains are counts:
embed retains (objects) belong to quill-delta 5, which rich-text 4.1 does not use.

Side convention (the reference's, opposite to text-unicode): ``transform(a, b, "left")`` lets
``b`` win ties, so ``a``'s insert lands after ``b``'s at the same place.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from ot import delta
from ot.delta import DeltaOp
from ot.errors import ApplyError, DocumentError, InvalidOpError, NotInvertibleError, OTError
from ot.jsvalue import (
    MAX_SAFE_INTEGER,
    Strict,
    from_utf16,
    has_astral,
    has_surrogate,
    json_problem,
    to_utf16,
)
from ot.subtype import Side

Delta = dict[str, list[DeltaOp]]

NAME: Final = "rich-text"
URI: Final = "http://sharejs.org/types/rich-text/v1"

# Counts must be exact integers for JavaScript peers, which hold them in doubles.
MAX_COUNT: Final = MAX_SAFE_INTEGER
# Attribute values and embeds are small JSON values; this bounds recursion on hostile input.
MAX_DEPTH: Final = 32

# What JSON carries between peers: no NaN, infinities or huge ints, and bounded nesting
# (attribute values start one level down, inside their attributes object).
_VALUE: Final = Strict(max_depth=MAX_DEPTH, safe_integers=True)
_ATTRIBUTE: Final = Strict(max_depth=MAX_DEPTH - 1, safe_integers=True)
_VALUE_SAYS: Final = {
    "integer": "integer too large to share with JavaScript peers",
    "number": "NaN and infinities have no JSON form",
    "depth": "value nested too deeply",
    "key": "object keys must be strings",
}


def _check_value(value: Any, strict: Strict, error: type[OTError]) -> None:
    """Reject what JSON cannot carry between peers: NaN, infinities, huge ints, deep nesting."""
    problem = json_problem(value, strict)
    if problem is not None:
        says = _VALUE_SAYS.get(problem.reason)
        raise error(says or f"not a JSON value: {type(problem.value).__name__}")


def _check_attributes(attributes: Any, error: type[OTError]) -> None:
    if type(attributes) is not dict:
        raise error("attributes must be an object")
    for key, value in attributes.items():
        if type(key) is not str:
            raise error("attribute names must be strings")
        kind = type(value)
        # Most attribute values are flags and names: skip the general walk for them.
        if kind is not str and kind is not bool and value is not None:
            _check_value(value, _ATTRIBUTE, error)


def _count(op: dict[str, Any], key: str, error: type[OTError]) -> int:
    n = op[key]
    if type(n) is not int or not 0 < n <= MAX_COUNT:
        raise error(f"{key} must be an integer count > 0")
    return n


class _Parsed(NamedTuple):
    ops: list[DeltaOp]
    converted: bool  # some text was put in UTF-16 form, so results need converting back
    length: int  # a document's length, or how much of a document an op walks over


def _read(value: Any, document: bool) -> _Parsed:
    """Validate a delta and put its text in UTF-16 form.

    Empty or null attribute maps are dropped (quill-delta never produces them); other ops are
    reused as they are, since nothing downstream mutates them.
    """
    error: type[OTError] = DocumentError if document else InvalidOpError
    if type(value) is dict:
        if len(value) != 1 or "ops" not in value:
            raise error("a delta object has exactly one key, 'ops'")
        value = value["ops"]
    if type(value) is not list:
        raise error("a delta is a list of ops or {'ops': [...]}")
    ops: list[DeltaOp] = []
    converted = False
    length = 0
    for op in value:
        if type(op) is not dict:
            raise error("a delta op is an object")
        changed = False
        if len(op) != 1:
            if len(op) != 2 or "attributes" not in op:
                raise error("a delta op has one of insert, retain, delete, and maybe attributes")
            attributes = op["attributes"]
            if attributes is None or attributes == {}:
                changed = True
            else:
                _check_attributes(attributes, error)
        if "insert" in op:
            insert = op["insert"]
            if type(insert) is str:
                if not insert:
                    raise error("inserts must not be empty")
                if has_astral(insert):
                    insert = to_utf16(insert)
                    changed = converted = True
                if document:
                    length += len(insert)
            elif type(insert) is dict:
                _check_value(insert, _VALUE, error)
                if document:
                    length += 1
            else:
                raise error("an insert is a string or an embed object")
            if changed:
                attributes = op.get("attributes")
                op = (
                    {"insert": insert, "attributes": attributes}
                    if attributes
                    else {"insert": insert}
                )
        elif document:
            raise DocumentError("a rich-text document holds inserts only")
        elif "retain" in op:
            length += _count(op, "retain", error)
            if changed:
                op = {"retain": op["retain"]}
        elif "delete" in op:
            length += _count(op, "delete", error)
            if len(op) != 1:
                raise error("a delete takes no attributes")
        else:
            raise error("a delta op has one of insert, retain, delete, and maybe attributes")
        ops.append(op)
    return _Parsed(ops, converted, length)


def _write(ops: list[DeltaOp], converted: bool, whole: bool = False) -> Delta:
    """``{"ops": ops}`` with text back in ordinary form.

    ``whole`` asks for a document: one in which every character outside the BMP is intact.
    """
    if not converted:
        return {"ops": ops}
    out: list[DeltaOp] = []
    for op in ops:
        insert = op.get("insert")
        if type(insert) is str and has_surrogate(insert):
            text = from_utf16(insert)
            if whole and has_surrogate(text):
                raise ApplyError("the op splits a character outside the BMP in two")
            op = {**op, "insert": text}
        out.append(op)
    return {"ops": out}


def _fit(op: _Parsed, doc: _Parsed) -> None:
    if op.length > doc.length:
        raise ApplyError(f"op is longer than the document ({doc.length} UTF-16 units)")


def check_op(op: Any) -> None:
    """Raise InvalidOpError unless ``op`` is a well-formed delta."""
    _read(op, document=False)


def create(initial: Any = None) -> Delta:
    if initial is None:
        return {"ops": []}
    doc = _read(initial, document=True)
    return _write(doc.ops, doc.converted)


def apply(snapshot: Any, op: Any) -> Delta:
    doc = _read(snapshot, document=True)
    parsed = _read(op, document=False)
    _fit(parsed, doc)
    return _write(delta.compose(doc.ops, parsed.ops), doc.converted or parsed.converted, whole=True)


def apply_and_invert(snapshot: Any, op: Any) -> tuple[Delta, Delta]:
    """``(apply(snapshot, op), invert_with_doc(op, snapshot))``, reading each argument once."""
    doc = _read(snapshot, document=True)
    parsed = _read(op, document=False)
    _fit(parsed, doc)
    converted = doc.converted or parsed.converted
    result = _write(delta.compose(doc.ops, parsed.ops), converted, whole=True)
    return result, _write(delta.invert(parsed.ops, doc.ops), converted)


def compose(a: Any, b: Any) -> Delta:
    first = _read(a, document=False)
    second = _read(b, document=False)
    return _write(delta.compose(first.ops, second.ops), first.converted or second.converted)


def transform(op: Any, other: Any, side: Side) -> Delta:
    """``op`` rewritten to apply after ``other``; ``"left"`` gives ``other`` the tie."""
    if side != "left" and side != "right":
        raise InvalidOpError(f"side must be 'left' or 'right', not {side!r}")
    mine = _read(op, document=False)
    theirs = _read(other, document=False)
    result = delta.transform(theirs.ops, mine.ops, side == "left")
    return _write(result, mine.converted or theirs.converted)


def invert(op: Any, base: Any = None) -> Delta:
    """The delta that undoes ``op`` applied to the document ``base``.

    Without ``base`` only ops that delete nothing and set no attributes can be inverted.
    """
    parsed = _read(op, document=False)
    if base is None:
        if any("delete" in c or "attributes" in c for c in parsed.ops if "insert" not in c):
            raise NotInvertibleError("inverting a delete or a format needs the document")
        return _write(delta.invert(parsed.ops, []), parsed.converted)
    doc = _read(base, document=True)
    _fit(parsed, doc)
    return _write(delta.invert(parsed.ops, doc.ops), parsed.converted or doc.converted)


def invert_with_doc(op: Any, snapshot: Any) -> Delta:
    if snapshot is None:
        raise DocumentError("a rich-text document is a delta of inserts")
    return invert(op, snapshot)


def normalize(op: Any) -> Delta:
    """The op in canonical form: neighbours merged as ``Delta.push`` does, no trailing retain."""
    parsed = _read(op, document=False)
    out: list[DeltaOp] = []
    for c in parsed.ops:
        delta.push(out, c)
    return _write(delta.chop(out), parsed.converted)


def is_noop(op: Any) -> bool:
    return not normalize(op)["ops"]


def _index(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise InvalidOpError(f"{what} must be an integer >= 0")
    return value


def transform_position(index: Any, op: Any, priority: bool = False) -> int:
    """``Delta.transformPosition``: with ``priority`` an insert at ``index`` leaves it in front."""
    position = _index(index, "a position")
    ops = _read(op, document=False).ops
    return delta.transform_position(ops, position, bool(priority))


def transform_cursor(cursor: Any, op: Any, is_own_op: bool = False) -> int:
    """A caret moved through ``op``: the author's own insert at the caret pushes it along."""
    return transform_position(cursor, op, priority=not is_own_op)


def transform_presence(presence: Any, op: Any, is_own_op: bool = False) -> dict[str, Any] | None:
    """A ``{"index", "length"}`` selection (other keys kept) moved through ``op``; None stays None."""
    if presence is None:
        return None
    if type(presence) is not dict:
        raise InvalidOpError("a rich-text presence is {'index': int, 'length': int}")
    index = _index(presence.get("index"), "presence index")
    length = _index(presence.get("length"), "presence length")
    ops = _read(op, document=False).ops
    start = delta.transform_position(ops, index, not is_own_op)
    end = delta.transform_position(ops, index + length, not is_own_op)
    return {**presence, "index": start, "length": end - start}


def transform_range(start: int, end: int, op: Any, is_own: bool) -> tuple[int, int]:
    """A selection's ends moved through ``op`` (see :class:`ot.subtype.FollowsSelections`)."""
    ops = _read(op, document=False).ops
    return (
        delta.transform_position(ops, start, not is_own),
        delta.transform_position(ops, end, not is_own),
    )


class RichTextType:
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
    invert_with_doc = staticmethod(invert_with_doc)
    normalize = staticmethod(normalize)
    is_noop = staticmethod(is_noop)
    check_op = staticmethod(check_op)
    transform_position = staticmethod(transform_position)
    transform_cursor = staticmethod(transform_cursor)
    transform_presence = staticmethod(transform_presence)
    transform_range = staticmethod(transform_range)

    def invert(self, op: Any) -> Delta:
        # Not the module's function: through json0 there is no document to pass it.
        return invert(op)


TYPE: Final = RichTextType()
