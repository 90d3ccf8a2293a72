"""What changed between two versions of a dashboard, as a person reads it: :func:`summarise`.

Per widget, the kinds of change from :data:`WIDGET_CHANGES`:

- ``added`` / ``removed``: the widget is only in the newer / the older document;
- ``moved``: its ``x``, ``y`` or ``zIndex`` changed; ``resized``: its ``width`` or ``height``;
- ``text_edited``: its title, or the text of its body; ``restyled``: the formatting of its
  rich-text body (with the same text), or its widget ``type``;
- ``config_changed`` / ``data_changed``: anything in its ``config`` / ``data``;
- ``locked`` / ``unlocked``: ``isLocked`` became true / false.

For the dashboard itself, from :data:`DASHBOARD_CHANGES`: ``title``, ``description``,
``settings``, and ``layout`` when the widgets present in both are in another order.

Given the ops committed in between with who made each (``authored``), each entry also names
the users whose ops touched that widget (or the dashboard's own fields), once each, in the
order they first did. Example::

    >>> summarise(v1, v2).as_json()
    {"widgets": [{"widget_id": "w1", "title": "CPU", "changes": ["moved", "text_edited"],
                  "users": []}],
     "dashboard": {"changes": ["title"], "users": []}}

It comes in two halves for a caller that reads the ops while it compares the documents:
:func:`what_changed` needs only the documents, and :func:`attribute` adds who changed what.

Pure: it reads the two documents (and ops), never changes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ot.dashboard.diff import same_json
from ot.dashboard.document import is_rich_body
from ot.json0.checked import components

__all__ = [
    "DASHBOARD_CHANGES",
    "WIDGET_CHANGES",
    "Changes",
    "DiffSummary",
    "WidgetSummary",
    "attribute",
    "summarise",
    "what_changed",
]

WIDGET_CHANGES: Final = (
    "added",
    "removed",
    "moved",
    "resized",
    "restyled",
    "text_edited",
    "config_changed",
    "data_changed",
    "locked",
    "unlocked",
)
DASHBOARD_CHANGES: Final = ("title", "description", "settings", "layout")

_PLACE: Final = ("x", "y", "zIndex")
_SIZE: Final = ("width", "height")


@dataclass(frozen=True)
class WidgetSummary:
    widget_id: str
    title: str
    changes: tuple[str, ...]
    users: tuple[Any, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "widget_id": self.widget_id,
            "title": self.title,
            "changes": list(self.changes),
            "users": list(self.users),
        }


@dataclass(frozen=True)
class DiffSummary:
    widgets: tuple[WidgetSummary, ...]
    dashboard: tuple[str, ...]
    dashboard_users: tuple[Any, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The ``widgets`` and ``dashboard`` parts of the ``/diff`` answer."""
        return {
            "widgets": [widget.as_json() for widget in self.widgets],
            "dashboard": {"changes": list(self.dashboard), "users": list(self.dashboard_users)},
        }


@dataclass(frozen=True)
class Changes:
    """What changed, without who changed it (:func:`what_changed`): per widget that changed, its
    id, title and kinds of change, in summary order; and the dashboard's own changes."""

    widgets: tuple[tuple[str, str, tuple[str, ...]], ...]
    dashboard: tuple[str, ...]


def summarise(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    authored: Iterable[tuple[Any, Any]] | None = None,
) -> DiffSummary:
    """What changed from document ``a`` to document ``b``; ``authored`` is the ops committed
    between them as ``(json0 op, user)`` pairs, oldest first (a user is any JSON value, such
    as ``{"id": …, "username": …}``). In place of an op, a widget id (a string) stands for
    ops that touched that widget alone, as a log that records each op's target gives them
    without decoding the op. The same as :func:`attribute` of :func:`what_changed`."""
    return attribute(what_changed(a, b), authored)


def what_changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> Changes:
    """What changed from document ``a`` to document ``b``, which needs no ops: a caller that
    is still reading them can work this out meanwhile."""
    old, new = _widgets(a), _widgets(b)
    entries: list[tuple[str, str, tuple[str, ...]]] = []
    for widget_id in _order(a, b, old, new):
        before, after = old.get(widget_id), new.get(widget_id)
        if before is after:
            continue
        found = _widget_changes(before, after)
        if found:
            title = (after if after is not None else before or {}).get("title")
            entries.append((widget_id, title if isinstance(title, str) else "", found))
    dashboard = tuple(
        field
        for field in ("title", "description", "settings")
        if not same_json(a.get(field), b.get(field))
    )
    if _reordered(a.get("layout"), b.get("layout")):
        dashboard = (*dashboard, "layout")
    return Changes(widgets=tuple(entries), dashboard=dashboard)


def attribute(found: Changes, authored: Iterable[tuple[Any, Any]] | None = None) -> DiffSummary:
    """The summary of ``found``, each entry naming who changed it by ``authored`` (as for
    :func:`summarise`)."""
    by_widget, by_dashboard = _authors(authored or ())
    return DiffSummary(
        widgets=tuple(
            WidgetSummary(
                widget_id=widget_id,
                title=title,
                changes=kinds,
                users=tuple(by_widget.get(widget_id, ())),
            )
            for widget_id, title, kinds in found.widgets
        ),
        dashboard=found.dashboard,
        dashboard_users=tuple(by_dashboard) if found.dashboard else (),
    )


def _widgets(doc: Mapping[str, Any]) -> dict[str, Any]:
    widgets = doc.get("widgets")
    return widgets if isinstance(widgets, dict) else {}


def _order(
    a: Mapping[str, Any], b: Mapping[str, Any], old: dict[str, Any], new: dict[str, Any]
) -> list[str]:
    """The newer layout's order, then widgets only the older one had, in its order."""
    seen: dict[str, None] = {}
    for layout, widgets in ((b.get("layout"), new), (a.get("layout"), old)):
        for widget_id in layout if isinstance(layout, list) else ():
            if isinstance(widget_id, str) and widget_id in widgets:
                seen.setdefault(widget_id)
    for widget_id in (*new, *old):
        seen.setdefault(widget_id)
    return list(seen)


def _widget_changes(before: Any, after: Any) -> tuple[str, ...]:
    if not isinstance(before, dict):
        return ("added",) if isinstance(after, dict) else ()
    if not isinstance(after, dict):
        return ("removed",)
    found: list[str] = []  # in the order of WIDGET_CHANGES
    position, new_position = before.get("position"), after.get("position")
    if not same_json(position, new_position):
        position = position if isinstance(position, dict) else {}
        new_position = new_position if isinstance(new_position, dict) else {}
        if _some_differ(position, new_position, _PLACE):
            found.append("moved")
        if _some_differ(position, new_position, _SIZE):
            found.append("resized")
    restyled = not same_json(before.get("type"), after.get("type"))
    text_edited = not same_json(before.get("title"), after.get("title"))
    body, new_body = before.get("body"), after.get("body")
    if not same_json(body, new_body):
        if _plain_text(body) != _plain_text(new_body):
            text_edited = True
        else:
            restyled = True
    if restyled:
        found.append("restyled")
    if text_edited:
        found.append("text_edited")
    if not same_json(before.get("config"), after.get("config")):
        found.append("config_changed")
    if not same_json(before.get("data"), after.get("data")):
        found.append("data_changed")
    locked, now_locked = before.get("isLocked") is True, after.get("isLocked") is True
    if locked != now_locked:
        found.append("locked" if now_locked else "unlocked")
    return tuple(found)


def _some_differ(a: dict[str, Any], b: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(not same_json(a.get(key), b.get(key)) for key in keys)


def _plain_text(body: Any) -> Any:
    """A body's text without its formatting (an embed stands for itself)."""
    if not is_rich_body(body) or not isinstance(body["ops"], list):
        return body
    parts = []
    for op in body["ops"]:
        insert = op.get("insert") if isinstance(op, dict) else op
        parts.append(insert if isinstance(insert, str) else "\0" + repr(insert))
    return "".join(parts)


def _reordered(layout: Any, new_layout: Any) -> bool:
    if not isinstance(layout, list) or not isinstance(new_layout, list):
        return not same_json(layout, new_layout)
    both = set(layout) & set(new_layout)
    return [item for item in layout if item in both] != [
        item for item in new_layout if item in both
    ]


def _authors(authored: Iterable[tuple[Any, Any]]) -> tuple[dict[str, list[Any]], list[Any]]:
    """The users whose ops touched each widget, and the dashboard's own fields."""
    by_widget: dict[str, list[Any]] = {}
    by_dashboard: list[Any] = []
    for op, user in authored:
        if type(op) is str:
            _add(by_widget.setdefault(op, []), user)
            continue
        for component in components(op):
            path = component["p"]
            if len(path) >= 2 and path[0] == "widgets" and isinstance(path[1], str):
                _add(by_widget.setdefault(path[1], []), user)
            elif path and path[0] == "layout":
                ids = [component.get(key) for key in ("li", "ld")]
                for widget_id in ids:
                    if isinstance(widget_id, str):
                        _add(by_widget.setdefault(widget_id, []), user)
                if "lm" in component:
                    _add(by_dashboard, user)
            elif (path and path[0] in DASHBOARD_CHANGES) or not path:
                _add(by_dashboard, user)
    return by_widget, by_dashboard


def _add(users: list[Any], user: Any) -> None:
    if user is None:
        return
    for known in users:
        if known is user or same_json(user, known):
            return
    users.append(user)
