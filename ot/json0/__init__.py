"""The json0 OT type, compatible with ``ot-json0@1.1.0`` (same ops, same results).

Op grammar: an op is a list of components, applied in order. Each names a path ``p`` from the
document root (object keys and list indexes) and does one thing::

    {"p": [..., k], "oi": v}            set key k of an object to v (a new key, or replace)
    {"p": [..., k], "od": v}            delete key k, whose value is v
    {"p": [..., k], "od": v, "oi": w}   replace v by w at key k
    {"p": [..., i], "li": v}            insert v into a list before index i
    {"p": [..., i], "ld": v}            delete element i, which is v
    {"p": [..., i], "ld": v, "li": w}   replace element i (v) by w
    {"p": [..., i], "lm": j}            move element i so that it ends up at index j
    {"p": path, "na": n}                add n to the number at path
    {"p": [..., n], "si": "s"}          insert "s" at UTF-16 offset n of the string at path[:-1]
    {"p": [..., n], "sd": "s"}          delete "s" (the text there) at offset n
    {"p": path, "t": name, "o": op}     apply op of the registered subtype name (text0,
                                        text-unicode, rich-text) to the value at path

``{"p": [], "oi": v}`` replaces the whole document. Example, on
``{"title": "Ops", "layout": ["a", "b"]}``::

    [{"p": ["title", 3], "si": " board"}, {"p": ["layout", 1], "lm": 0}]
    ->  {"title": "Ops board", "layout": ["b", "a"]}

Every function validates its arguments (:func:`check_op`) and raises only
:class:`~ot.errors.OTError` subclasses. To validate an op once and use it many times,
:func:`check` returns a :class:`CheckedOp`, which every function here takes in place of an op
without validating it again. :func:`transform` and :func:`transform_x` return CheckedOps when
all the ops they are given are CheckedOps, and then refuse (:class:`InvalidOpError`) a result
that is not a valid op, where the plain path returns it as it is. Only :func:`check` and those
two make CheckedOps; :attr:`CheckedOp.op` reads one back; :mod:`ot.json0.checked` says what is
checked when. Documents and ops are values: nothing here changes its arguments, and results
may share unchanged parts with them, so callers must not mutate either in place.
``transform(op, other, side)``: with ``"left"`` ``op`` wins ties (it goes first).

Tandem extensions beyond the reference: :func:`invert_with_doc` / :func:`apply_and_invert`
(exact inverses read from the document), :func:`check_op`, :func:`check`,
:func:`transform_path` and :func:`is_noop`. Deviations, all on ops that do not fit the
document or each other (where the reference clamps, coerces or carries on):
:mod:`ot.json0.apply`, :mod:`ot.json0.transform` and :mod:`ot.text0` list them.
"""

from __future__ import annotations

from typing import Any, Final, overload

from ot.errors import InvalidOpError
from ot.json0.apply import apply_op
from ot.json0.check import Component, Op, check_path, copy_json, kind
from ot.json0.checked import CheckedOp, check, components, derive
from ot.json0.compose import append as _append
from ot.json0.compose import compose as _compose
from ot.json0.compose import invert as _invert
from ot.json0.compose import normalize as _normalize
from ot.json0.subtypes import find_subtype, get_subtype, register_subtype
from ot.json0.transform import transform_component, transform_pair
from ot.pairwise import transform as _pairwise_transform
from ot.pairwise import transform_x as _pairwise_transform_x

__all__ = [
    "TYPE_NAME",
    "TYPE_URI",
    "CheckedOp",
    "Component",
    "Op",
    "apply",
    "apply_and_invert",
    "check",
    "check_op",
    "compose",
    "create",
    "find_subtype",
    "get_subtype",
    "invert",
    "invert_with_doc",
    "is_noop",
    "normalize",
    "register_subtype",
    "transform",
    "transform_path",
    "transform_x",
]

TYPE_NAME: Final = "json0"
TYPE_URI: Final = "http://sharejs.org/types/JSONv0"


def check_op(op: Any) -> None:
    """Raise :class:`InvalidOpError` (:class:`UnknownTypeError` for an unknown ``t``) unless
    ``op`` is a well-formed json0 op (a :class:`CheckedOp` is one). Whether it fits a
    document is :func:`apply`'s business."""
    components(op)


def create(data: Any = None) -> Any:
    """A new document: a copy of ``data`` (plain JSON), or ``None``."""
    return copy_json(data)


def apply(snapshot: Any, op: Any) -> Any:
    """The document after ``op``; ``snapshot`` is left as it was."""
    return apply_op(snapshot, components(op))


def apply_and_invert(snapshot: Any, op: Any) -> tuple[Any, Op]:
    """``(apply(snapshot, op), invert_with_doc(op, snapshot))`` in one pass."""
    op = components(op)
    inverse: Op = []
    result = apply_op(snapshot, op, inverse)
    inverse.reverse()
    return result, inverse


def invert_with_doc(op: Any, snapshot: Any) -> Op:
    """The exact inverse of ``op`` as applied to ``snapshot``.

    Removed values are read from the document (not from the op's ``ld``/``od``/``sd``), and
    subtype components are inverted by their subtype against the value they change, so
    ``apply(apply(s, op), invert_with_doc(op, s)) == s`` for every op that applies to ``s``.
    """
    return apply_and_invert(snapshot, op)[1]


@overload
def transform(op: CheckedOp, other: CheckedOp, side: Any) -> CheckedOp: ...


@overload
def transform(op: Any, other: Any, side: Any) -> Op: ...


def transform(op: Any, other: Any, side: Any) -> Op | CheckedOp:
    """``op`` rewritten to apply after the concurrent ``other``; ``side`` is "left" or "right".

    A CheckedOp when both are CheckedOps (:class:`InvalidOpError` if the result is no valid op).
    """
    mine = components(op)
    theirs = components(other)
    if side != "left" and side != "right":
        raise InvalidOpError("side must be 'left' or 'right'")
    checked = type(op) is CheckedOp and type(other) is CheckedOp
    if checked and len(mine) == 1 and len(theirs) == 1 and _apart(mine, theirs):
        # The sequencer's common case: concurrent edits of different widgets or settings.
        # The reference transforms one component by one directly and gives a copy of the
        # op's (see _apart); longer ops go through its merging of neighbours, so not here.
        return op  # type: ignore[no-any-return]
    result = _pairwise_transform(mine, theirs, side, transform_component, _append, transform_pair)
    if checked:
        return derive(result, mine, theirs)
    return result


def _apart(mine: Op, theirs: Op) -> bool:
    """Do the paths of every component of ``mine`` and every one of ``theirs`` part at an object
    key (the same container, then two different keys)? Then no component of ``theirs`` reaches
    what ``mine`` edits, nor a list it indexes: every branch of the reference's component
    transform needs one path to reach into the other or the two to part at list indexes, so
    each component comes through as it was. Paths that part where either holds an index, or
    where one is a prefix of the other, are left to the full transform; so are those that part
    at the last element of a list or string op's path, which the reference reads as a number
    even when it is a string."""
    for c in mine:
        path = c["p"]
        limit = _key_depth(c)
        for o in theirs:
            other = o["p"]
            other_limit = _key_depth(o)
            for depth, (a, b) in enumerate(zip(path, other, strict=False)):
                if a != b:
                    if type(a) is str and type(b) is str and depth < limit and depth < other_limit:
                        break
                    return False
            else:
                return False
    return True


_INDEXED = ("li", "ld", "lm", "si", "sd")


def _key_depth(component: Component) -> int:
    """How much of a component's path names object keys at most: all of it, but for the index
    or offset that ends the path of a list or string op."""
    path_length = len(component["p"])
    return path_length - 1 if any(k in component for k in _INDEXED) else path_length


@overload
def transform_x(left: CheckedOp, right: CheckedOp) -> tuple[CheckedOp, CheckedOp]: ...


@overload
def transform_x(left: Any, right: Any) -> tuple[Op, Op]: ...


def transform_x(left: Any, right: Any) -> tuple[Op, Op] | tuple[CheckedOp, CheckedOp]:
    """``(transform(left, right, "left"), transform(right, left, "right"))`` in one pass.

    CheckedOps when both are CheckedOps (:class:`InvalidOpError` if either is no valid op).
    """
    lefts = components(left)
    rights = components(right)
    new_left, new_right = _pairwise_transform_x(
        lefts, rights, transform_component, _append, transform_pair
    )
    if type(left) is CheckedOp and type(right) is CheckedOp:
        return derive(list(new_left), lefts, rights), derive(new_right, lefts, rights)
    return list(new_left), new_right


def compose(op1: Any, op2: Any) -> Op:
    """One op doing ``op1`` then ``op2`` (``op1`` kept as it is, ``op2`` merged in)."""
    first = components(op1)
    return _compose(first, components(op2))


def invert(op: Any) -> Op:
    """The inverse from the op alone: right when its ``ld``/``od``/``sd`` are the removed values
    and no ``oi``/``li`` replaces a value without saying what it was (see
    :func:`invert_with_doc`). Subtypes raise :class:`NotInvertibleError` where they must."""
    return _invert(components(op))


def normalize(op: Any) -> Op:
    """``op`` rebuilt the reference's way: a lone component is wrapped, a missing ``p`` is
    ``[]``, neighbours merge as in :func:`compose`."""
    if type(op) is CheckedOp:
        return _normalize(components(op))
    if type(op) is dict:
        op = [op]
    if type(op) is not list:
        raise InvalidOpError("a json0 op is a list of components")
    fixed = [{**c, "p": []} if type(c) is dict and c.get("p") is None else c for c in op]
    return _normalize(components(fixed))


def _component_is_noop(c: Component) -> bool:
    found = kind(c)
    if found == "na":
        return bool(c["na"] == 0)
    if found == "lm":
        return bool(c["p"][-1] == c["lm"])
    if found == "si":
        return c.get("si", c.get("sd")) == ""
    if found == "t":
        return get_subtype(c["t"]).is_noop(c["o"])
    return False


def is_noop(op: Any) -> bool:
    """Whether ``op`` changes no document (every component does nothing)."""
    return all(_component_is_noop(c) for c in components(op))


def _shift(path: list[Any], c: Component) -> bool:
    """Move ``path`` (in place) through the list component ``c``; ``False`` if it is gone."""
    where, index = c["p"][:-1], c["p"][-1]
    depth = len(where)
    if len(path) <= depth or path[:depth] != where:
        return True
    mine = path[depth]
    if type(mine) is not int or type(index) is not int:
        return True
    if "lm" in c:
        if mine == index:
            path[depth] = c["lm"]
            return True
        if mine > index:
            mine -= 1
        if mine >= c["lm"]:
            mine += 1
        path[depth] = mine
    elif "ld" in c:
        if mine == index:
            return False
        if "li" not in c and mine > index:
            path[depth] = mine - 1
    elif mine >= index:
        path[depth] = mine + 1
    return True


def transform_path(path: Any, op: Any) -> list[str | int] | None:
    """Where the value at ``path`` is after ``op``; ``None`` once it is deleted or replaced.

    List inserts, deletes and moves shift indexes; an ``oi``/``od``/``ld`` at the path or
    above it removes it. Text and number edits leave paths alone (a text selection moves
    with its subtype's cursor transform instead).
    """
    check_path(path)
    op = components(op)
    moved: list[Any] = list(path)
    for c in op:
        found = kind(c)
        if found == "oi":
            if moved[: len(c["p"])] == c["p"]:
                return None
        elif (found == "li" or found == "lm") and not _shift(moved, c):
            return None
    return moved
