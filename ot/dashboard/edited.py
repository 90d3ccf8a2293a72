"""A document checked after an edit, at the cost of what the edit touched: :func:`validate_after`
(a json0 op's components), :func:`validate_changes` and :func:`validate_change` (paths).

Each is as strict as :func:`~ot.dashboard.document.validate_document` for a document that was
valid before the edit: what is checked is the whole top-level field, widget or widget field
above each changed path, each shared check (the document's keys, a widget's keys, the layout)
once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ot.dashboard.document import (
    DOCUMENT_CHECKS,
    DOCUMENT_FIELDS,
    WIDGET_CHECKS,
    WIDGET_FIELDS,
    WIDGET_OPTIONAL_FIELDS,
    check_keys,
    check_layout,
    check_widget_count,
    check_widget_id,
    check_widgets,
    validate_document,
    validate_widget,
)
from ot.dashboard.paths import PathLike, fail
from ot.json0.checked import CheckedOp, components

__all__ = ["validate_after", "validate_change", "validate_changes"]


def validate_change(doc: Mapping[str, Any], path: PathLike) -> None:
    """Validate what a change at ``path`` can have broken in a document valid before it.

    The builder calls this after every change instead of :func:`validate_document`, so that a
    keystroke in one widget costs a check of that widget's field, not of the whole dashboard.
    What is checked is the whole top-level field, widget, or widget field above ``path``, so
    list indexes inside it never matter.
    """
    validate_changes(doc, (tuple(path),))


def validate_changes(doc: Mapping[str, Any], paths: Iterable[tuple[str | int, ...]]) -> None:
    """:func:`validate_change` for each of ``paths``, each check made once: the document's
    keys, each widget's keys and the layout are checked once however many changes were in
    them, and a change inside a part that is checked whole (a widget added) adds nothing."""
    ordered = sorted(set(paths), key=len)
    if not ordered:
        return
    if not ordered[0]:
        validate_document(doc)
        return
    check_keys(doc, (), DOCUMENT_FIELDS, ())
    widgets = doc["widgets"]
    if not isinstance(widgets, dict):
        fail(("widgets",), "must be an object")
    whole: set[tuple[str | int, ...]] = set()  # parts checked whole, with all inside them
    keyed: set[Any] = set()  # widgets whose keys were checked
    layout = False  # whether the layout needs a check
    for path in ordered:
        if whole and any(path[:end] in whole for end in range(1, len(path))):
            continue
        head = path[0]
        if head == "layout":
            layout = True
        elif head == "widgets" and len(path) == 1:
            whole.add(path)
            check_widgets(widgets, ("widgets",))
            layout = True
        elif head == "widgets" and (len(path) == 2 or path[1] not in widgets):
            whole.add(path[:2])
            check_widget_count(widgets)
            if path[1] in widgets:
                check_widget_id(path[1], ("widgets",))
                validate_widget(widgets[path[1]], ("widgets", path[1]))
            layout = True
        elif head == "widgets":
            widget_path = ("widgets", path[1])
            widget = widgets[path[1]]
            if path[1] not in keyed:
                keyed.add(path[1])
                if not isinstance(widget, dict):
                    fail(widget_path, "must be an object")
                check_keys(widget, widget_path, WIDGET_FIELDS, WIDGET_OPTIONAL_FIELDS)
            field = path[2]
            if isinstance(field, str) and field in widget:
                WIDGET_CHECKS[field](widget[field], (*widget_path, field))
        elif isinstance(head, str) and head in doc:
            whole.add(path[:1])
            DOCUMENT_CHECKS[head](doc[head], (head,))
    if layout:
        check_layout(doc["layout"], widgets)


def validate_after(doc: object, op: object) -> None:
    """Validate ``doc``, the result of applying json0 ``op`` (a plain op or a
    :class:`~ot.json0.CheckedOp`) to a valid document, looking only at what the op's
    components touched: as strict as :func:`validate_document`, at the cost of the edited
    widget fields rather than of the whole dashboard."""
    checked = type(op) is CheckedOp
    if checked:
        op = components(op)
    if not isinstance(doc, dict) or not isinstance(op, list):
        validate_document(doc)
        return
    touched: set[tuple[str | int, ...]] = set()
    for component in op:
        if checked:  # its paths are lists of keys and indexes already
            path = component["p"]
        else:
            path = component.get("p") if isinstance(component, dict) else None
            if not isinstance(path, list) or not all(type(key) in (str, int) for key in path):
                validate_document(doc)
                return
        # List and string edits name an element or an offset: the change is to its container.
        inside = "li" in component or "ld" in component or "lm" in component
        inside = inside or "si" in component or "sd" in component
        touched.add(tuple(path[:-1] if inside else path)[:3])
    validate_changes(doc, touched)
