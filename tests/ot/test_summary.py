"""summarise(a, b): what changed between two versions, per widget and for the dashboard."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ot import json0
from ot.dashboard.diff import diff
from ot.dashboard.ops import build
from ot.dashboard.summary import DASHBOARD_CHANGES, WIDGET_CHANGES, summarise
from tests.ot.dashboard_strategies import board, documents, edits

ALICE = {"id": "u1", "username": "alice"}
BOB = {"id": "u2", "username": "bob"}


def _changes(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {entry.widget_id: entry.changes for entry in summarise(a, b).widgets}


def test_each_kind_of_widget_change_is_named() -> None:
    a = board("w1", "w2", "w3", "w4", "w5")
    a["widgets"]["w5"]["isLocked"] = True
    b = json0.apply(
        a,
        [
            *build(a, {"type": "move", "targetId": "w1", "value": {"x": 3, "y": 0}}),
            *build(a, {"type": "resize", "targetId": "w1", "value": {"width": 9, "height": 2}}),
            *build(
                a,
                {
                    "type": "insert",
                    "targetId": "w2",
                    "path": ["body"],
                    "position": 0,
                    "value": "Hi ",
                },
            ),
            *build(
                a,
                {
                    "type": "format",
                    "targetId": "w3",
                    "path": ["body"],
                    "position": 0,
                    "length": 5,
                    "attributes": {"bold": True},
                },
            ),
            *build(a, {"type": "update", "targetId": "w4", "path": ["config", "k"], "value": 1}),
            *build(a, {"type": "update", "targetId": "w4", "path": ["data", "rows"], "value": []}),
            *build(a, {"type": "update", "targetId": "w4", "path": ["isLocked"], "value": True}),
            *build(a, {"type": "update", "targetId": "w5", "path": ["isLocked"], "value": False}),
        ],
    )
    assert _changes(a, b) == {
        "w1": ("moved", "resized"),
        "w2": ("text_edited",),
        "w3": ("restyled",),
        "w4": ("config_changed", "data_changed", "locked"),
        "w5": ("unlocked",),
    }
    assert summarise(a, b).dashboard == ()


def test_added_removed_and_the_dashboards_own_fields() -> None:
    a = board("w1", "w2", "w3")
    b = board("w3", "w1", "w9")
    b["title"] = "Ops board"
    b["settings"] = {"theme": "dark"}
    summary = summarise(a, b)
    assert [(e.widget_id, e.changes) for e in summary.widgets] == [
        ("w9", ("added",)),
        ("w2", ("removed",)),
    ]
    assert summary.dashboard == ("title", "settings", "layout")


def test_users_are_those_whose_ops_touched_each_widget() -> None:
    a = board("w1", "w2")
    first = build(a, {"type": "move", "targetId": "w1", "value": {"x": 1, "y": 1}})
    middle = json0.apply(a, first)
    second = build(middle, {"type": "removeWidget", "targetId": "w2"})
    third = build(
        json0.apply(middle, second), {"type": "move", "targetId": "w1", "value": {"x": 2, "y": 2}}
    )
    b = json0.apply(json0.apply(middle, second), third)
    summary = summarise(a, b, [(first, ALICE), (second, BOB), (third, ALICE)])
    assert summary.as_json() == {
        "widgets": [
            {"widget_id": "w1", "title": "w1", "changes": ["moved"], "users": [ALICE]},
            {"widget_id": "w2", "title": "w2", "changes": ["removed"], "users": [BOB]},
        ],
        "dashboard": {"changes": [], "users": []},
    }
    # A widget id stands for ops that touched that widget alone: the same summary.
    by_target = summarise(a, b, [("w1", ALICE), (second, BOB), ("w1", ALICE)])
    assert by_target == summary
    assert summarise(a, b, [("w1", BOB), ("w2", ALICE), ("w1", ALICE)]).as_json()["widgets"][0][
        "users"
    ] == [BOB, ALICE]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_summary_lists_exactly_the_widgets_the_diff_touches(data: st.DataObject) -> None:
    a = data.draw(documents())
    b = json0.apply(a, data.draw(edits(a)))
    summary = summarise(a, copy.deepcopy(b))
    touched = {c["p"][1] for c in diff(a, b) if c["p"][0] == "widgets" and len(c["p"]) > 1}
    assert {entry.widget_id for entry in summary.widgets} == touched
    for entry in summary.widgets:
        assert entry.changes and set(entry.changes) <= set(WIDGET_CHANGES)
    assert set(summary.dashboard) <= set(DASHBOARD_CHANGES)
    assert summarise(a, a).widgets == () and summarise(a, a).dashboard == ()
