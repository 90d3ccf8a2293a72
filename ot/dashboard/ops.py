"""The dashboard's operation vocabulary, a thin layer over json0.

A *domain op* is a dict with a ``type`` from :data:`OPERATION_TYPES` and the fields that type
uses (``targetId``, ``path``, ``value``, ``oldValue``, ``position``, ``length``,
``attributes``; a field set to null counts as absent, except ``value``/``oldValue`` of
``update``, where null is a JSON value). :func:`build` turns one into a json0 op against the
current document; :func:`classify` (:mod:`ot.dashboard.classify`) turns any json0 op back into
``(type, target_id)``.

Every built op applies to the document it was built against and leaves a valid document
(:mod:`ot.dashboard.document`), and carries what it removes, so it inverts without the document except
for rich-text deletes (Quill deletes carry a count; use ``invert_with_doc`` for those). A
domain op that is malformed raises :class:`InvalidOpError`; one that does not fit the document
(missing widget, wrong kind of field, position out of range, a result that breaks the shape)
raises :class:`DocumentError`. Nothing random happens here: new widgets bring their id.

``path`` is relative to the widget when ``targetId`` is given, else to the document root.
Text positions count code points in plain-text fields (text-unicode) and UTF-16 code units in
rich-text bodies (Quill). Examples, on a document with widget ``w1`` at ``layout`` index 0:

addWidget ``{targetId, value: widget, position?: layout index, default the end}``::

    {"type": "addWidget", "targetId": "w2", "value": W}
    -> [{"p": ["widgets", "w2"], "oi": W}, {"p": ["layout", 1], "li": "w2"}]

removeWidget ``{targetId}``, the inverse shape of addWidget::

    {"type": "removeWidget", "targetId": "w1"}
    -> [{"p": ["layout", 0], "ld": "w1"}, {"p": ["widgets", "w1"], "od": W1}]

move ``{targetId, value: {x, y, zIndex?}}`` and resize ``{targetId, value: {width, height}}``
replace each given field with od+oi, so concurrent moves resolve last-writer-wins per field
and the op inverts alone; every given field gets a component, even an unchanged one::

    {"type": "move", "targetId": "w1", "value": {"x": 4, "y": 0}}
    -> [{"p": ["widgets", "w1", "position", "x"], "od": 0, "oi": 4},
        {"p": ["widgets", "w1", "position", "y"], "od": 0, "oi": 0}]

update ``{targetId?, path, value?, oldValue?}`` sets the value at ``path``: od+oi (ld+li in a
list) when something is there, oi (li at the end of a list) when not; without ``value`` it
removes what is there (od / ld). With ``oldValue`` the current value must equal it (absent
counts as different), else DocumentError: an optimistic check for thin clients::

    {"type": "update", "targetId": "w1", "path": ["config", "color"], "value": "red"}
    -> [{"p": ["widgets", "w1", "config", "color"], "oi": "red"}]

insert ``{targetId?, path, position, value: text, attributes?}`` into a plain-text field (any
string) or a widget's rich-text ``body`` (``attributes`` only there)::

    {"type": "insert", "targetId": "w1", "path": ["title"], "position": 3, "value": "!"}
    -> [{"p": ["widgets", "w1", "title"], "t": "text-unicode", "o": [3, "!"]}]

delete ``{targetId?, path, position, length}``; plain-text deletes carry the deleted text::

    {"type": "delete", "targetId": "w1", "path": ["body"], "position": 2, "length": 3}
    -> [{"p": ["widgets", "w1", "body"], "t": "rich-text", "o": [{"retain": 2}, {"delete": 3}]}]

format ``{targetId?, path, position, length, attributes}``, rich-text bodies only; a null
attribute removes it::

    {"type": "format", "targetId": "w1", "path": ["body"], "position": 0, "length": 4,
     "attributes": {"bold": true}}
    -> [{"p": ["widgets", "w1", "body"], "t": "rich-text",
         "o": [{"retain": 4, "attributes": {"bold": true}}]}]

:func:`build_all` builds a list of domain ops in order, each against the document as the
previous ones left it, and concatenates the results.

:func:`classify` (from :mod:`ot.dashboard.classify`, re-exported here) maps any json0 op back to
``(type, target_id)``.

``isLocked`` is data here, not a permission: whether a locked widget may move is the
gateway's policy, and it must hold for raw json0 ops too, which never pass through here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ot import json0
from ot.dashboard.classify import classify
from ot.dashboard.document import (
    MAX_TEXT,
    MAX_WIDGETS,
    WIDGET_TYPES,
    check_body,
    check_position_field,
    check_rich_boundary,
    check_widget_id,
    is_rich_body,
    new_document,
    rich_length,
    validate_document,
    validate_widget,
)
from ot.dashboard.domain_op import OPERATION_TYPES, DomainOp, parse_domain_op
from ot.dashboard.edited import validate_after, validate_change
from ot.dashboard.paths import ABSENT, fail, layout_of, lookup, replaced, widget_of, widgets_of
from ot.errors import InvalidOpError, OTError
from ot.jsvalue import js_equal, utf16_length

__all__ = [
    "OPERATION_TYPES",
    "WIDGET_TYPES",
    "DomainOp",
    "build",
    "build_all",
    "classify",
    "new_document",
    "parse_domain_op",
    "validate_after",
    "validate_document",
]


def build(doc: object, dop: object) -> list[dict[str, Any]]:
    """The json0 op that performs domain op ``dop`` on ``doc``; see the module docstring."""
    # Always parsed here, never taken as a DomainOp: the builders rely on what parsing checks.
    parsed = parse_domain_op(dop)
    if not isinstance(doc, dict):
        fail((), "must be an object")
    return _BUILDERS[parsed.type](doc, parsed)


def build_all(doc: object, dops: object) -> list[dict[str, Any]]:
    """One json0 op for a list of domain ops, each built on the document the previous left."""
    if not isinstance(dops, list):
        raise InvalidOpError("domain ops come as a list")
    current: Any = doc
    out: list[dict[str, Any]] = []
    for index, dop in enumerate(dops):
        try:
            op = build(current, dop)
        except OTError as error:
            raise type(error)(f"domain op {index}: {error.message}") from error
        current = json0.apply(current, op)
        out.extend(op)
    return out


def _target(dop: DomainOp) -> str:
    if dop.target_id is None:
        raise InvalidOpError(f"a {dop.type} op needs 'targetId'")
    return dop.target_id


def _full_path(doc: Mapping[str, Any], dop: DomainOp) -> tuple[str | int, ...]:
    if dop.target_id is None:
        return dop.path
    widget_of(doc, dop.target_id)
    return ("widgets", dop.target_id, *dop.path)


def _check_fits(doc: Mapping[str, Any], path: Sequence[str | int], value: Any) -> None:
    validate_change(replaced(doc, path, value), path)


# Builders, one per domain op type.


def _add_widget(doc: Mapping[str, Any], dop: DomainOp) -> list[dict[str, Any]]:
    widget_id = _target(dop)
    check_widget_id(widget_id, ("widgets",))
    widgets, layout = widgets_of(doc), layout_of(doc)
    if widget_id in widgets:
        fail(("widgets", widget_id), "already exists")
    if len(widgets) >= MAX_WIDGETS:
        fail(("widgets",), f"already holds {MAX_WIDGETS} widgets")
    validate_widget(dop.value, ("widgets", widget_id))
    index = len(layout) if dop.position is None else dop.position
    if index > len(layout):
        fail(("layout", index), f"is past the end of the layout ({len(layout)})")
    return [
        {"p": ["widgets", widget_id], "oi": copy.deepcopy(dop.value)},
        {"p": ["layout", index], "li": widget_id},
    ]


def _remove_widget(doc: Mapping[str, Any], dop: DomainOp) -> list[dict[str, Any]]:
    widget_id = _target(dop)
    widget = widget_of(doc, widget_id)
    layout = layout_of(doc)
    if widget_id not in layout:
        fail(("layout",), f"does not list widget {widget_id!r}")
    return [
        {"p": ["layout", layout.index(widget_id)], "ld": widget_id},
        {"p": ["widgets", widget_id], "od": copy.deepcopy(widget)},
    ]


def _position_builder(
    required: tuple[str, ...], optional: tuple[str, ...]
) -> Callable[[Mapping[str, Any], DomainOp], list[dict[str, Any]]]:
    def position_change(doc: Mapping[str, Any], dop: DomainOp) -> list[dict[str, Any]]:
        names = ", ".join(required + optional)
        value = dop.value
        if (
            not isinstance(value, dict)
            or not set(required) <= set(value)
            or not set(value) <= set(required + optional)
        ):
            raise InvalidOpError(f"a {dop.type} value is an object with {names}")
        widget_id = _target(dop)
        position = widget_of(doc, widget_id).get("position")
        if not isinstance(position, dict):
            fail(("widgets", widget_id, "position"), "must be an object")
        op: list[dict[str, Any]] = []
        for name in required + optional:
            if name not in value:
                continue
            path: list[str | int] = ["widgets", widget_id, "position", name]
            if not isinstance(value[name], int) or isinstance(value[name], bool):
                raise InvalidOpError(f"{dop.type} {name} must be an integer")
            check_position_field(name, value[name], path)
            component: dict[str, Any] = {"p": path}
            if name in position:
                component["od"] = position[name]
            component["oi"] = value[name]
            op.append(component)
        return op

    return position_change


def _update(doc: Mapping[str, Any], dop: DomainOp) -> list[dict[str, Any]]:
    path = _full_path(doc, dop)
    if not path:
        raise InvalidOpError("an update needs a non-empty path (or a targetId)")
    current = lookup(doc, path)
    if dop.has_old_value and (current is ABSENT or not js_equal(current, dop.old_value)):
        fail(path, "has changed: it no longer holds oldValue")
    new = copy.deepcopy(dop.value) if dop.has_value else ABSENT
    if current is ABSENT and new is ABSENT:
        fail(path, "does not exist")
    _check_fits(doc, path, new)
    in_list = isinstance(path[-1], int)
    component: dict[str, Any] = {"p": list(path)}
    if current is not ABSENT:
        component["ld" if in_list else "od"] = copy.deepcopy(current)
    if new is not ABSENT:
        component["li" if in_list else "oi"] = new
    return [component]


def _text_target(doc: Mapping[str, Any], dop: DomainOp) -> tuple[list[str | int], Any, bool]:
    """The field a text op edits, its value, and whether it is a rich-text body."""
    path = _full_path(doc, dop)
    current = lookup(doc, path)
    rich = len(path) == 3 and path[0] == "widgets" and path[2] == "body" and is_rich_body(current)
    if rich:
        # Positions are checked against the body, so it must be a well-formed one.
        check_body(current, path)
    if not rich and not isinstance(current, str):
        fail(path, "is not a text field")
    if dop.attributes is not None and not rich and dop.type == "insert":
        fail(path, "is plain text: attributes apply to rich-text bodies only")
    if not rich and dop.type == "format":
        fail(path, "is not a rich-text body: only rich text can be formatted")
    return list(path), current, rich


def _check_range(path: Sequence[str | int], dop: DomainOp, size: int) -> None:
    end = (dop.position or 0) + (dop.length or 0)
    if end > size:
        fail(path, f"position {dop.position} and length {dop.length or 0} pass its end ({size})")


def _insert(doc: Mapping[str, Any], dop: DomainOp) -> list[dict[str, Any]]:
    path, current, rich = _text_target(doc, dop)
    text, position = dop.value, dop.position
    if not isinstance(text, str) or not text:
        raise InvalidOpError("an insert's value is a non-empty string")
    assert position is not None
    if not rich:
        _check_range(path, dop, len(current))
        _check_fits(doc, path, current[:position] + text + current[position:])
        return [{"p": path, "t": "text-unicode", "o": _skip(position, [text])}]
    _check_range(path, dop, rich_length(current))
    check_rich_boundary(path, current, position)
    if rich_length(current) + utf16_length(text) > MAX_TEXT:
        fail(path, f"must be at most {MAX_TEXT} characters")
    insert: dict[str, Any] = {"insert": text}
    if dop.attributes is not None:
        # A document keeps no null attributes; on an insert there is nothing to remove.
        if any(item is None for item in dop.attributes.values()):
            raise InvalidOpError("an insert's attributes cannot be null")
        insert["attributes"] = copy.deepcopy(dop.attributes)
    return [{"p": path, "t": "rich-text", "o": _retain(position, [insert])}]


def _delete(doc: Mapping[str, Any], dop: DomainOp) -> list[dict[str, Any]]:
    path, current, rich = _text_target(doc, dop)
    position, length = dop.position, dop.length
    assert position is not None and length is not None
    if not rich:
        _check_range(path, dop, len(current))
        _check_fits(doc, path, current[:position] + current[position + length :])
        deleted = current[position : position + length]
        return [{"p": path, "t": "text-unicode", "o": _skip(position, [{"d": deleted}])}]
    _check_range(path, dop, rich_length(current))
    check_rich_boundary(path, current, position)
    check_rich_boundary(path, current, position + length)
    return [{"p": path, "t": "rich-text", "o": _retain(position, [{"delete": length}])}]


def _format(doc: Mapping[str, Any], dop: DomainOp) -> list[dict[str, Any]]:
    path, current, _ = _text_target(doc, dop)
    position, length = dop.position, dop.length
    assert position is not None and length is not None and dop.attributes is not None
    _check_range(path, dop, rich_length(current))
    check_rich_boundary(path, current, position)
    check_rich_boundary(path, current, position + length)
    retain = {"retain": length, "attributes": copy.deepcopy(dop.attributes)}
    return [{"p": path, "t": "rich-text", "o": _retain(position, [retain])}]


def _skip(position: int, rest: list[Any]) -> list[Any]:
    return [position, *rest] if position else rest


def _retain(position: int, rest: list[Any]) -> list[Any]:
    return [{"retain": position}, *rest] if position else rest


_BUILDERS: dict[str, Callable[[Mapping[str, Any], DomainOp], list[dict[str, Any]]]] = {
    "addWidget": _add_widget,
    "removeWidget": _remove_widget,
    "move": _position_builder(("x", "y"), ("zIndex",)),
    "resize": _position_builder(("width", "height"), ()),
    "update": _update,
    "insert": _insert,
    "delete": _delete,
    "format": _format,
}
