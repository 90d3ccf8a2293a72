"""The dashboard document's shape, and the checks that keep every stored document inside it.

Grammar (``json`` is any JSON value: objects with string keys, arrays, strings, finite numbers,
safe integers, booleans, null; at most ``MAX_DEPTH`` levels deep)::

    document := {"title": str (<= 500), "description": str (<= 10000), "settings": {json},
                 "widgets": {widget_id: widget, ...}, "layout": [widget_id, ...]}
    widget   := {"type": "text"|"chart"|"table"|"image"|"video"|"embed"|"custom",
                 "title": str (<= 500), "position": position, "config": {json}, "data": {json},
                 "isLocked": bool, "body"?: str | rich_body}
    position := {"x": int >= 0, "y": int >= 0, "width": int >= 1, "height": int >= 1, "zIndex"?: int}
    rich_body:= {"ops": [{"insert": str (non-empty) | {embed: json}, "attributes"?: {json}}, ...]}
    widget_id:= a string of 1 to 64 characters

``layout`` lists every widget id exactly once, in display order, and nothing else. No other
fields are allowed anywhere outside the free-form ``settings``, ``config`` and ``data`` objects.

Example::

    >>> doc = new_document("Ops")
    >>> validate_document(doc)          # passes
    >>> validate_document({**doc, "layout": ["w1"]})
    Traceback (most recent call last):
    ot.errors.DocumentError: ["layout", 0]: names no widget

Every failure is a :class:`DocumentError` whose message starts with the JSON path of the first
problem found, so a client can point at the offending field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final

from ot.dashboard.paths import PathLike, fail
from ot.jsvalue import Strict, json_problem, utf16_length

WIDGET_TYPES = ("text", "chart", "table", "image", "video", "embed", "custom")

MAX_TITLE = 500
MAX_DESCRIPTION = 10_000
MAX_WIDGET_ID = 64
MAX_WIDGETS = 1_000
# Positions are grid cells or pixels; a million of either is far past any real screen.
MAX_COORDINATE = 1_000_000
MAX_Z_INDEX = 1_000_000
# Bodies are typed by hand; a million characters keeps one document comfortably in memory.
MAX_TEXT = 1_000_000
MAX_DEPTH = 32
# Plain JSON within the depth, with integers a JavaScript client reads back exactly.
_JSON: Final = Strict(max_depth=MAX_DEPTH, safe_integers=True)
_JSON_SAYS: Final = {
    "depth": f"nests deeper than {MAX_DEPTH} levels",
    "integer": "integer is too large",
    "number": "numbers must be finite",
    "key": "keys must be strings",
}

DOCUMENT_FIELDS = ("title", "description", "settings", "widgets", "layout")
WIDGET_FIELDS = ("type", "title", "position", "config", "data", "isLocked")
WIDGET_OPTIONAL_FIELDS = ("body",)
POSITION_FIELDS = ("x", "y", "width", "height")
POSITION_OPTIONAL_FIELDS = ("zIndex",)


def new_document(title: str, description: str = "") -> dict[str, Any]:
    """An empty dashboard: no settings, no widgets."""
    doc: dict[str, Any] = {
        "title": title,
        "description": description,
        "settings": {},
        "widgets": {},
        "layout": [],
    }
    check_text(title, ("title",), MAX_TITLE)
    check_text(description, ("description",), MAX_DESCRIPTION)
    return doc


def validate_document(doc: object) -> None:
    """Raise DocumentError naming the first problem if ``doc`` is not a valid dashboard."""
    validate_parts(doc, DOCUMENT_FIELDS)


def validate_parts(doc: object, fields: Collection[str], widgets: Collection[str] = ()) -> None:
    """:func:`validate_document` for a document made from a valid one by replacing its
    top-level ``fields`` and the ``widgets`` with those ids (added or replaced): only those and
    the layout are checked, in the order :func:`validate_document` checks everything, so the
    first problem named is the one it would name."""
    if not isinstance(doc, dict):
        fail((), "must be an object")
    check_keys(doc, (), DOCUMENT_FIELDS, ())
    for field in DOCUMENT_FIELDS:
        if field in fields and field != "layout":
            DOCUMENT_CHECKS[field](doc[field], (field,))
        elif field == "widgets" and widgets:
            check_widgets(doc["widgets"], ("widgets",), widgets)
    check_layout(doc["layout"], doc["widgets"])


def validate_widget(widget: object, path: PathLike) -> None:
    """Raise DocumentError if ``widget`` (found at ``path``) is not a valid widget."""
    if not isinstance(widget, dict):
        fail(path, "must be an object")
    check_keys(widget, path, WIDGET_FIELDS, WIDGET_OPTIONAL_FIELDS)
    for field, value in widget.items():
        WIDGET_CHECKS[field](value, (*path, field))


def check_keys(
    obj: Mapping[Any, Any], path: PathLike, required: Sequence[str], optional: Sequence[str]
) -> None:
    # Settle the valid case with set operations; walk the keys only to name the problem.
    needed, allowed = field_sets(tuple(required), tuple(optional))
    keys = obj.keys()
    if needed <= keys and keys <= allowed:
        return
    for key in obj:
        if not isinstance(key, str):
            fail(path, "keys must be strings")
        if key not in required and key not in optional:
            fail((*path, key), "is not a known field")
    for key in required:
        if key not in obj:
            fail((*path, key), "is required")


@functools.cache
def field_sets(
    required: tuple[str, ...], optional: tuple[str, ...]
) -> tuple[frozenset[str], frozenset[str]]:
    """The required fields, and every field allowed, as sets (made once per pair)."""
    return frozenset(required), frozenset((*required, *optional))


def check_text(value: object, path: PathLike, limit: int) -> None:
    if not isinstance(value, str):
        fail(path, "must be a string")
    if len(value) > limit:
        fail(path, f"must be at most {limit} characters")


def check_widget_id(widget_id: object, path: PathLike) -> None:
    if not isinstance(widget_id, str) or not 1 <= len(widget_id) <= MAX_WIDGET_ID:
        fail(path, f"widget ids must be strings of 1 to {MAX_WIDGET_ID} characters")


def check_integer(value: object, path: PathLike, low: int, high: int) -> None:
    # bool is an int in Python but not a number in JSON.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        fail(path, f"must be an integer between {low} and {high}")


def check_position_field(name: str, value: object, path: PathLike) -> None:
    low, high = _POSITION_BOUNDS[name]
    check_integer(value, path, low, high)


def check_json(value: object, path: PathLike) -> None:
    """Raise DocumentError unless ``value`` is plain JSON within the depth and number limits."""
    problem = json_problem(value, _JSON)
    if problem is not None:
        fail((*path, *problem.path), _JSON_SAYS.get(problem.reason, "is not a JSON value"))


def check_json_object(value: object, path: PathLike) -> None:
    if not isinstance(value, dict):
        fail(path, "must be an object")
    check_json(value, path)


def check_layout(layout: object, widgets: Mapping[str, Any]) -> None:
    if not isinstance(layout, list):
        fail(("layout",), "must be an array")
    # Every op that touches the layout lands here: settle the valid case in C-speed set
    # operations, and walk the list only to name the first problem.
    if (
        len(layout) == len(widgets)
        and set(map(type, layout)) <= {str}
        and widgets.keys() == set(layout)
    ):
        return
    seen: set[str] = set()
    for index, widget_id in enumerate(layout):
        if not isinstance(widget_id, str):
            fail(("layout", index), "must be a widget id")
        if widget_id in seen:
            fail(("layout", index), "lists a widget twice")
        if widget_id not in widgets:
            fail(("layout", index), "names no widget")
        seen.add(widget_id)
    for widget_id in widgets:
        if widget_id not in seen:
            fail(("layout",), f"misses widget {json.dumps(widget_id)}")


def check_rich_boundary(path: PathLike, body: Mapping[str, Any], at: int) -> None:
    """Refuse a position between the two halves of a character outside the BMP: Quill counts
    them as two units, and splitting one would leave lone surrogates in the document."""
    offset = 0
    for op in body["ops"]:
        insert = op["insert"]
        size = utf16_length(insert) if isinstance(insert, str) else 1
        if isinstance(insert, str) and offset < at < offset + size:
            units = 0
            for char in insert:
                units += 2 if ord(char) > 0xFFFF else 1
                if units == at - offset:
                    return
                if units > at - offset:
                    fail(path, f"position {at} splits a character")
        offset += size
        if offset >= at:
            return


def rich_length(body: Mapping[str, Any]) -> int:
    """Length of a valid insert-only rich-text body; an embed counts as one."""
    total = 0
    for op in body["ops"]:
        insert = op["insert"]
        total += utf16_length(insert) if isinstance(insert, str) else 1
    return total


def is_rich_body(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"ops"}


def check_body(body: object, path: PathLike) -> None:
    if isinstance(body, str):
        check_text(body, path, MAX_TEXT)
        return
    if not isinstance(body, dict):
        fail(path, "must be plain text or a rich-text document")
    check_keys(body, path, ("ops",), ())
    ops = body["ops"]
    if not isinstance(ops, list):
        fail((*path, "ops"), "must be an array")
    for index, op in enumerate(ops):
        _check_rich_insert(op, (*path, "ops", index))
    if rich_length(body) > MAX_TEXT:
        fail(path, f"must be at most {MAX_TEXT} characters")


def _check_rich_insert(op: object, path: PathLike) -> None:
    if not isinstance(op, dict):
        fail(path, "must be an object")
    check_keys(op, path, ("insert",), ("attributes",))
    insert = op["insert"]
    if isinstance(insert, str):
        if not insert:
            fail((*path, "insert"), "must not be empty")
    elif isinstance(insert, dict) and len(insert) == 1:
        check_json(insert, (*path, "insert"))
    else:
        fail((*path, "insert"), "must be text or an embed object with one key")
    if "attributes" in op:
        attributes = op["attributes"]
        check_json_object(attributes, (*path, "attributes"))
        if not attributes:
            fail((*path, "attributes"), "must not be empty")


def _check_position(position: object, path: PathLike) -> None:
    if not isinstance(position, dict):
        fail(path, "must be an object")
    check_keys(position, path, POSITION_FIELDS, POSITION_OPTIONAL_FIELDS)
    for name, value in position.items():
        low, high = _POSITION_BOUNDS[name]
        if type(value) is not int or not low <= value <= high:
            check_integer(value, (*path, name), low, high)


def _check_widget_type(value: object, path: PathLike) -> None:
    if not isinstance(value, str) or value not in WIDGET_TYPES:
        fail(path, f"must be one of {', '.join(WIDGET_TYPES)}")


def _check_bool(value: object, path: PathLike) -> None:
    if not isinstance(value, bool):
        fail(path, "must be true or false")


def check_widget_count(widgets: Mapping[str, Any]) -> None:
    if len(widgets) > MAX_WIDGETS:
        fail(("widgets",), f"holds more than {MAX_WIDGETS} widgets")


def check_widgets(widgets: object, path: PathLike, only: Collection[str] | None = None) -> None:
    """Every widget, or those whose ids are in ``only``."""
    if not isinstance(widgets, dict):
        fail(path, "must be an object")
    check_widget_count(widgets)
    for widget_id, widget in widgets.items():
        if only is None or widget_id in only:
            check_widget_id(widget_id, path)
            validate_widget(widget, (*path, widget_id))


_POSITION_BOUNDS = {
    "x": (0, MAX_COORDINATE),
    "y": (0, MAX_COORDINATE),
    "width": (1, MAX_COORDINATE),
    "height": (1, MAX_COORDINATE),
    "zIndex": (-MAX_Z_INDEX, MAX_Z_INDEX),
}

_Check = Callable[[object, PathLike], None]

WIDGET_CHECKS: dict[str, _Check] = {
    "type": _check_widget_type,
    "title": lambda value, path: check_text(value, path, MAX_TITLE),
    "position": _check_position,
    "config": check_json_object,
    "data": check_json_object,
    "isLocked": _check_bool,
    "body": check_body,
}

DOCUMENT_CHECKS: dict[str, _Check] = {
    "title": lambda value, path: check_text(value, path, MAX_TITLE),
    "description": lambda value, path: check_text(value, path, MAX_DESCRIPTION),
    "settings": check_json_object,
    "widgets": check_widgets,
    # The layout is checked against the widgets it lists, by check_layout.
    "layout": lambda value, path: None,
}
