"""Presence carried through concurrent ops: text selections, and the widget a user is on.

Shapes (other keys are passed through untouched)::

    selection := {"p": path of a text field, "index": int >= 0, "length": int >= 0}
    presence  := {"cursor"?, "selection"?: selection | null, "viewport"?, "color"?,
                  "widgetId"?: str | null}

``length`` may be left out (a caret). Positions count in the units of the op that edits the
field: code points for text-unicode, UTF-16 code units for rich-text bodies and for json0's
``si``/``sd`` and text0 (as ot-json0 counts them). A plain-text field should be edited one way
only; mixing the two moves a selection wrongly by the number of characters outside the BMP in
front of it. ``cursor``, ``viewport`` and ``color`` are not text positions and pass through.

Example: on a title "Hello", a selection of "ello" moves right when a concurrent op inserts in
front of it::

    transform_selection({"p": ["title"], "index": 1, "length": 4},
                        [{"p": ["title"], "t": "text-unicode", "o": ["Oh, "]}])
    -> {"p": ["title"], "index": 5, "length": 4}

``is_own`` says the op came from the selection's owner: an insert exactly at the owner's caret
then lands before it, as typing does. (text-unicode ignores ownership, like its reference.)
Both ends move independently, so text inserted inside a selection grows it and deleting
around it collapses it. A selection whose field is removed or replaced becomes None.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from ot import json0, text0
from ot.errors import InvalidOpError
from ot.jsvalue import is_safe_integer


def transform_selection(
    selection: object, op: object, *, is_own: bool = False
) -> dict[str, Any] | None:
    """``selection`` after ``op``, or None when its text field is gone."""
    original, path, start, end = _parse_selection(selection)
    for component in _checked(op):
        target = component["p"]
        if "t" in component and target == path:
            start, end = _through_subtype(component["t"], component["o"], start, end, is_own)
        elif ("si" in component or "sd" in component) and target[:-1] == path:
            edit = (target[-1], component.get("si"), component.get("sd"))
            start, end = (
                text0.move_position(*edit, start, is_own),
                text0.move_position(*edit, end, is_own),
            )
        moved = json0.transform_path(path, [component])
        if moved is None:
            return None
        path = list(moved)
    return {**original, "p": path, "index": start, "length": end - start}


def transform_presence(value: object, op: object, *, is_own: bool = False) -> dict[str, Any] | None:
    """A whole presence value after ``op``; None stays None (no presence)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidOpError("a presence value is an object")
    components = _checked(op)
    out = dict(value)
    selection = value.get("selection")
    if selection is not None:
        out["selection"] = transform_selection(selection, op, is_own=is_own)
    widget_id = value.get("widgetId")
    if widget_id is not None:
        if not isinstance(widget_id, str):
            raise InvalidOpError("a presence's widgetId is a string or null")
        if not _widget_survives(widget_id, components):
            out["widgetId"] = None
    return out


def _checked(op: object) -> list[dict[str, Any]]:
    json0.check_op(op)
    if not isinstance(op, list) or not all(isinstance(c, dict) for c in op):
        raise InvalidOpError("a json0 op is a list of components")
    return op


def _parse_selection(selection: object) -> tuple[dict[str, Any], list[str | int], int, int]:
    if not isinstance(selection, dict):
        raise InvalidOpError("a selection is an object")
    path, index, length = selection.get("p"), selection.get("index"), selection.get("length", 0)
    if not isinstance(path, list) or not all(_is_key(key) for key in path):
        raise InvalidOpError("a selection's p is a path of strings and indexes")
    if not _is_count(index) or not _is_count(length):
        raise InvalidOpError("a selection's index and length are integers >= 0")
    return selection, list(path), index, index + length


def _is_key(key: object) -> bool:
    return isinstance(key, str) or _is_count(key)


def _is_count(value: object) -> TypeGuard[int]:
    return is_safe_integer(value) and value >= 0


def _through_subtype(
    name: object, sub_op: Any, start: int, end: int, is_own: bool
) -> tuple[int, int]:
    follow = getattr(json0.find_subtype(name), "transform_range", None)
    if follow is None:
        return start, end  # not text a selection can follow
    moved: tuple[int, int] = follow(start, end, sub_op, is_own)
    return moved


def _widget_survives(widget_id: str, op: list[dict[str, Any]]) -> bool:
    """Whether widget ``widget_id`` still exists after ``op``, if it existed before."""
    exists = True
    for component in op:
        path = component["p"]
        if "oi" not in component and "od" not in component:
            continue
        new = component.get("oi")
        if path == ["widgets", widget_id]:
            exists = "oi" in component
        elif path == ["widgets"]:
            exists = isinstance(new, dict) and widget_id in new
        elif path == []:
            widgets = new.get("widgets") if isinstance(new, dict) else None
            exists = isinstance(widgets, dict) and widget_id in widgets
    return exists
