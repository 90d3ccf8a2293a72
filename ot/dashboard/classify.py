"""Which domain operation a json0 op is, for the ``operations`` table: :func:`classify`.

:func:`classify` maps any json0 op to ``(type, target_id)``: ``oi`` at ``["widgets", id]`` is
addWidget, ``od`` there removeWidget; edits of a position's x/y/zIndex are move, of its
width/height resize; a text component (``si``, ``sd``, text0, text-unicode, rich-text) is insert
if it inserts anything, else delete if it deletes, else format if a rich-text retain carries
attributes; anything else is update. An op of several components takes the most significant:
removeWidget > addWidget > resize > move > insert > delete > format > update. ``target_id`` is
the one widget the op touches, or None::

    [{"p": ["layout", 0], "ld": "w1"}, {"p": ["widgets", "w1"], "od": W1}] -> ("removeWidget", "w1")

:func:`widgets_touched` is every widget an op touches, for widget history (an op that touched
several, such as a restore, is in each one's history): a component under ``["widgets", id]``,
a layout entry inserted or deleted, and the widgets of a whole ``widgets`` map or document
replaced (removed and inserted)::

    [{"p": ["widgets", "w2", "title"], "oi": "B"}, {"p": ["widgets", "w1"], "od": W1}] -> ("w1", "w2")

A :class:`ot.json0.CheckedOp` is classified without being validated again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ot.dashboard.paths import ABSENT
from ot.errors import InvalidOpError, UnknownTypeError
from ot.json0.checked import CheckedOp, components
from ot.jsvalue import js_equal

__all__ = ["classify", "widgets_touched"]

# Precedence, most significant first, for ops with several components:
# removeWidget > addWidget > resize > move > insert > delete > format > update. Structural
# changes outrank edits inside a widget; resize outranks move because dragging a corner
# changes both; a text op that inserts and deletes (typing over a selection) is an insert.
_PRECEDENCE = (
    "update",
    "format",
    "delete",
    "insert",
    "move",
    "resize",
    "addWidget",
    "removeWidget",
)
_RANK = {kind: rank for rank, kind in enumerate(_PRECEDENCE)}
_MOVE_FIELDS = frozenset({"x", "y", "zIndex"})
_RESIZE_FIELDS = frozenset({"width", "height"})


def classify(op: object) -> tuple[str, str | None]:
    """``(operation_type, target_id)`` for any json0 op, for the operations table.

    ``target_id`` is the widget id when every component that names a widget names the same one
    (a component under ``["widgets", id]``, or a layout entry inserted or deleted), else None.
    The empty op is an ``update`` of nothing.
    """
    try:
        parts = components(op)
    except UnknownTypeError as error:
        raise InvalidOpError(error.message) from error
    kind = "update"
    touched: set[str] = set()
    for component in parts:
        component_kind = _component_kind(component)
        if _RANK[component_kind] > _RANK[kind]:
            kind = component_kind
        touched |= _widgets_touched(component)
    return kind, next(iter(touched)) if len(touched) == 1 else None


def widgets_touched(op: object) -> tuple[str, ...]:
    """The ids of every widget the json0 op touches, sorted (see the module's docstring).

    The op is taken as valid (the log's are: the sequencer checked them), so it is not checked
    again; anything in it that is not a component is passed over."""
    parts = components(op) if type(op) is CheckedOp else op
    touched: set[str] = set()
    for component in parts if isinstance(parts, list) else ():
        if isinstance(component, dict) and isinstance(component.get("p"), list):
            touched |= _widgets_touched(component)
    return tuple(sorted(touched))


def _widgets_touched(component: Mapping[str, Any]) -> set[str]:
    path = component["p"]
    if len(path) >= 2 and path[0] == "widgets" and isinstance(path[1], str):
        return {path[1]}
    if len(path) == 2 and path[0] == "layout":
        return {component[key] for key in ("li", "ld") if isinstance(component.get(key), str)}
    if path == ["widgets"]:
        return {w for key in ("oi", "od") for w in _keys(component.get(key))}
    if not path:
        return {w for key in ("oi", "od") for w in _keys(_get(component.get(key), "widgets"))}
    return set()


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


def _keys(value: object) -> list[str]:
    return list(value) if isinstance(value, dict) else []


def _component_kind(component: Mapping[str, Any]) -> str:
    path = component["p"]
    if "t" in component:
        return _subtype_kind(component["t"], component.get("o"))
    if "si" in component:
        return "insert"
    if "sd" in component:
        return "delete"
    in_widget = len(path) >= 2 and path[0] == "widgets"
    if in_widget and len(path) == 2:
        if "oi" in component and "od" not in component:
            return "addWidget"
        if "od" in component and "oi" not in component:
            return "removeWidget"
        return "update"
    if in_widget and len(path) >= 3 and path[2] == "position":
        if len(path) == 3:
            return _position_kind(component.get("od"), component.get("oi"))
        if path[3] in _RESIZE_FIELDS:
            return "resize"
        if path[3] in _MOVE_FIELDS:
            return "move"
    return "update"


def _position_kind(before: object, after: object) -> str:
    """A whole position replaced: resize if the size changed, move if only the place did."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return "update"
    changed = {
        key
        for key in before.keys() | after.keys()
        if not js_equal(before.get(key, ABSENT), after.get(key, ABSENT))
    }
    if changed & _RESIZE_FIELDS:
        return "resize"
    if changed & _MOVE_FIELDS:
        return "move"
    return "update"


def _subtype_kind(name: object, sub_op: object) -> str:
    if isinstance(sub_op, dict) and name == "rich-text":
        sub_op = sub_op.get("ops")
    if not isinstance(sub_op, list):
        raise InvalidOpError("a subtype component carries its op in 'o'")
    parts = [part for part in sub_op if isinstance(part, dict)]
    if name == "text-unicode":
        if any(isinstance(part, str) for part in sub_op):
            return "insert"
        return "delete" if parts else "update"
    if name == "text0":
        if any("i" in part for part in parts):
            return "insert"
        return "delete" if any("d" in part for part in parts) else "update"
    if name == "rich-text":
        if any("insert" in part for part in parts):
            return "insert"
        if any("delete" in part for part in parts):
            return "delete"
        return "format" if any(part.get("attributes") for part in parts) else "update"
    return "update"
