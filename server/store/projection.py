"""The ``widgets`` projection: which rows a committed batch changes.

A widget is touched by a batch when an op's ``target_id`` names it or a component's path runs
through ``["widgets", id, ...]``. A component at ``[]`` or ``["widgets"]`` replaces the whole map,
so every row is rewritten and rows for widgets no longer present are deleted. Touched widgets are
read from the document after the batch: present ones are upserted, absent ones deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.store.model import NewOp


@dataclass(frozen=True, slots=True)
class WidgetRow:
    widget_id: str
    type: str | None
    title: str | None
    position: Any
    config: Any


@dataclass(frozen=True)
class WidgetChanges:
    upserts: tuple[WidgetRow, ...]
    deletes: tuple[str, ...]
    # True: rows whose widget is not among ``upserts`` are deleted too.
    replace_all: bool

    @property
    def empty(self) -> bool:
        return not (self.upserts or self.deletes or self.replace_all)


def _widgets(document: Any) -> dict[str, Any]:
    widgets = document.get("widgets") if isinstance(document, dict) else None
    return widgets if isinstance(widgets, dict) else {}


def _row(widget_id: str, widget: Any) -> WidgetRow:
    w = widget if isinstance(widget, dict) else {}
    kind = w.get("type")
    title = w.get("title")
    return WidgetRow(
        widget_id=widget_id,
        type=kind if isinstance(kind, str) else None,
        title=title if isinstance(title, str) else None,
        position=w.get("position"),
        config=w.get("config"),
    )


def widget_rows(document: Any) -> list[WidgetRow]:
    """The whole projection of ``document``, ordered by widget id."""
    widgets = _widgets(document)
    return [_row(wid, widgets[wid]) for wid in sorted(widgets)]


def touched(ops: Sequence[NewOp]) -> set[str] | None:
    """Widget ids the ops may have changed; None when they may have changed any of them."""
    ids: set[str] = set()
    for op in ops:
        if op.target_id is not None:
            ids.add(op.target_id)
        for component in op.op:
            path = component.get("p") if isinstance(component, dict) else None
            if not isinstance(path, list) or not path:
                return None
            if path[0] == "widgets":
                if len(path) == 1:
                    return None
                ids.add(str(path[1]))
    return ids


def widget_changes(ops: Sequence[NewOp], document: Any) -> WidgetChanges:
    ids = touched(ops)
    widgets = _widgets(document)
    if ids is None:
        return WidgetChanges(tuple(widget_rows(document)), (), True)
    present = sorted(i for i in ids if i in widgets)
    absent = sorted(i for i in ids if i not in widgets)
    return WidgetChanges(tuple(_row(i, widgets[i]) for i in present), tuple(absent), False)
