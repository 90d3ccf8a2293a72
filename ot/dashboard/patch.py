"""The patch form of an offline sync, turned into the client's whole document:
:func:`apply_patch`.

A patch says what the client changed since its base version::

    {"added":   {widget_id: widget, ...},            new widgets, appended to the layout
     "updated": {widget_id: {field: value, ...}},    widget fields replaced
     "deleted": [widget_id, ...],                    widgets removed (one already gone is fine)
     "fields":  {"title"|"description"|"settings"|"layout": value}}   the dashboard's own

Every part is optional. Example::

    >>> apply_patch(base, {"updated": {"w1": {"title": "CPU (avg)"}}, "deleted": ["w2"]})

The result is the document to hand to :func:`ot.dashboard.merge.merge` as ``local``: a change
the patch does not name is no change. A patch that does not fit the base (an update of a
widget the base does not have, an added widget it already has, an unknown part or field)
raises :class:`DocumentError` with the path of the problem in the patch; a result that breaks
the schema raises it with the path in the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ot.dashboard.document import check_widget_id, validate_parts
from ot.dashboard.paths import fail

__all__ = ["PATCH_FIELDS", "apply_patch"]

PATCH_FIELDS: Final = ("title", "description", "settings", "layout")
_PARTS: Final = ("added", "updated", "deleted", "fields")


def apply_patch(base: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    """The document the client has: ``base`` with ``changes`` applied (``base`` unchanged).
    ``base`` is a valid document (a stored version always is): only the parts the patch
    replaces are checked, not the widgets it leaves alone."""
    if not isinstance(changes, dict):
        fail(("changes",), "must be an object")
    for part in changes:
        if part not in _PARTS:
            fail(("changes", part), f"is not one of {', '.join(_PARTS)}")
    widgets = dict(base["widgets"])
    layout = list(base["layout"])
    deleted = changes.get("deleted", [])
    if not isinstance(deleted, list):
        fail(("changes", "deleted"), "must be an array of widget ids")
    for index, widget_id in enumerate(deleted):
        if not isinstance(widget_id, str):
            fail(("changes", "deleted", index), "must be a widget id")
        if widgets.pop(widget_id, None) is not None:
            layout.remove(widget_id)
    updated = _object(changes.get("updated", {}), ("changes", "updated"))
    for widget_id, fields in updated.items():
        path = ("changes", "updated", widget_id)
        if widget_id not in widgets:
            fail(path, "names no widget of the base version")
        widgets[widget_id] = {**widgets[widget_id], **_object(fields, path)}
    added = _object(changes.get("added", {}), ("changes", "added"))
    for widget_id, widget in added.items():
        check_widget_id(widget_id, ("changes", "added"))
        if widget_id in widgets:
            fail(("changes", "added", widget_id), "already exists")
        widgets[widget_id] = widget
        layout.append(widget_id)
    document = {**base, "widgets": widgets, "layout": layout}
    fields = _object(changes.get("fields", {}), ("changes", "fields"))
    for field, value in fields.items():
        if field not in PATCH_FIELDS:
            fail(("changes", "fields", field), f"is not one of {', '.join(PATCH_FIELDS)}")
        document[field] = value
    # The base is valid: what the patch replaced is all that can break it.
    validate_parts(document, fields, {*updated, *added})
    return document


def _object(value: Any, path: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(path, "must be an object")
    return value
