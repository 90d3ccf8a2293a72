"""Per-user undo and redo: the inverse of the user's op transformed past everything after it."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ot import json0
from ot.dashboard.diff import diff
from ot.dashboard.document import validate_document
from ot.dashboard.ops import build
from ot.dashboard.undo import REASONS, Entry, redo, stacks, undo, yield_to
from tests.ot.dashboard_strategies import board, documents, edits, value_at


def _changed(a: Any, b: Any) -> list[list[Any]]:
    """The paths diff(a, b) changes, but for the layout's list indexes."""
    return [c["p"] for c in diff(a, b) if c["p"][:1] != ["layout"]]


def _related(p: list[Any], q: list[Any]) -> bool:
    return p[: len(q)] == q or q[: len(p)] == p


def test_undo_restores_own_change_and_keeps_later_edits_of_others() -> None:
    before = board("w1")
    a_op = build(
        before, {"type": "update", "targetId": "w1", "path": ["config", "color"], "value": "red"}
    )
    after_a = json0.apply(before, a_op)
    b_op = build(after_a, {"type": "insert", "path": ["title"], "position": 3, "value": "!"})
    head = json0.apply(after_a, b_op)
    result = undo(json0.invert_with_doc(a_op, before), [b_op], head)
    assert result.applied
    assert json0.apply(head, result.op) == {**before, "title": "Ops!"}


def test_undo_of_an_edit_to_a_widget_someone_removed_is_a_clear_no_op() -> None:
    before = board("w1", "w2")
    a_op = build(
        before,
        {"type": "insert", "targetId": "w1", "path": ["title"], "position": 0, "value": "my "},
    )
    after_a = json0.apply(before, a_op)
    b_op = build(after_a, {"type": "removeWidget", "targetId": "w1"})
    head = json0.apply(after_a, b_op)
    result = undo(json0.invert_with_doc(a_op, before), [b_op], head)
    assert (result.applied, result.op, result.reason) == (False, [], "target_deleted")


def test_undo_of_a_value_overwritten_since_is_superseded() -> None:
    before = board("w1")
    a_op = build(before, {"type": "move", "targetId": "w1", "value": {"x": 5, "y": 5}})
    after_a = json0.apply(before, a_op)
    b_op = build(after_a, {"type": "move", "targetId": "w1", "value": {"x": 7, "y": 7}})
    result = undo(json0.invert_with_doc(a_op, before), [b_op], json0.apply(after_a, b_op))
    assert result.reason == "superseded"
    assert undo([], []).reason == "nothing_to_undo"


def test_undo_of_typing_keeps_what_others_typed_in_the_same_text() -> None:
    before = board("w1")
    a_op = build(
        before,
        {"type": "insert", "targetId": "w1", "path": ["body"], "position": 5, "value": " big"},
    )
    after_a = json0.apply(before, a_op)
    b_op = build(
        after_a,
        {"type": "insert", "targetId": "w1", "path": ["body"], "position": 0, "value": "Oh, "},
    )
    head = json0.apply(after_a, b_op)
    result = undo(json0.invert_with_doc(a_op, before), [b_op], head)
    assert json0.apply(head, result.op)["widgets"]["w1"]["body"] == {
        "ops": [{"insert": "Oh, Hello world\n"}]
    }


@settings(max_examples=250, deadline=None)
@given(st.data())
def test_undo_over_random_histories(data: st.DataObject) -> None:
    before = data.draw(documents())
    a_op = data.draw(edits(before, most=3))
    after_a = json0.apply(before, a_op)
    later: list[Any] = []
    head = after_a
    for _ in range(data.draw(st.integers(0, 3))):
        b_op = data.draw(edits(head, most=2))
        later.append(b_op)
        head = json0.apply(head, b_op)
    inverse = json0.invert_with_doc(a_op, before)
    result = undo(inverse, later, head)
    event(result.reason or "applied")
    expected = json0.normalize(inverse)
    for b_op in later:
        expected = yield_to(expected, b_op)
    if not result.applied:
        assert result.reason in REASONS and result.op == []
        assert result.reason == "invalid" or json0.is_noop(expected)
        return
    assert result.op == expected
    if not any(c.get("t") == "rich-text" for c in inverse):
        plain = json0.normalize(inverse)
        for b_op in later:
            plain = json0.transform(plain, b_op, "right")
        assert result.op == plain
    undone = json0.apply(head, result.op)
    validate_document(undone)
    # What B's ops wrote counts, even where they wrote the value already there.
    written = [c["p"] for b_op in later for c in b_op if c["p"][:1] != ["layout"]]
    mine, theirs = _changed(before, after_a), [*_changed(after_a, head), *written]
    for path in mine:
        if not any(_related(path, other) for other in theirs):
            assert value_at(undone, path) == value_at(before, path), path
    for path in theirs:
        if not any(_related(path, other) for other in mine):
            assert value_at(undone, path) == value_at(head, path), path
    again = redo(json0.invert_with_doc(result.op, head), [], undone)
    assert again.applied
    assert json0.apply(undone, again.op) == head


def _format(attributes: dict[str, Any]) -> dict[str, Any]:
    """Format the first word of w1's body."""
    return {
        "type": "format",
        "targetId": "w1",
        "path": ["body"],
        "position": 0,
        "length": 5,
        "attributes": attributes,
    }


def test_undo_of_formatting_keeps_formatting_others_applied_since() -> None:
    before = board("w1")
    a_op = build(before, _format({"italic": True}))
    after_a = json0.apply(before, a_op)
    b_op = build(after_a, _format({"italic": None, "bold": True}))
    head = json0.apply(after_a, b_op)
    result = undo(json0.invert_with_doc(a_op, before), [b_op], head)
    body = json0.apply(head, result.op)["widgets"]["w1"]["body"]
    assert body == {
        "ops": [{"insert": "Hello", "attributes": {"bold": True}}, {"insert": " world\n"}]
    }


def test_a_mixed_op_yields_to_others_in_every_part() -> None:
    before = board("w1")
    head = json0.apply(before, build(before, _format({"bold": True})))
    mine = [
        {"p": ["widgets", "w1", "title"], "od": "w1", "oi": "mine"},
        {
            "p": ["widgets", "w1", "body"],
            "t": "rich-text",
            "o": [{"retain": 5, "attributes": {"bold": None}}],
        },
    ]
    theirs = [
        {"p": ["widgets", "w1", "title"], "od": "w1", "oi": "theirs"},
        {
            "p": ["widgets", "w1", "body"],
            "t": "rich-text",
            "o": [{"retain": 5, "attributes": {"bold": True}}],
        },
    ]
    assert json0.is_noop(yield_to(mine, theirs))
    assert json0.apply(head, yield_to(mine, [])) != head


def test_stacks_follow_an_editors_undo_and_redo() -> None:
    entries = [Entry(1, "edit"), Entry(3, "edit"), Entry(4, "undo", 3), Entry(6, "undo", 1)]
    assert stacks(entries) == ([], [4, 6])
    entries.append(Entry(7, "redo", 6))
    assert stacks(entries) == ([7], [4])
    entries.append(Entry(9, "edit"))
    assert stacks(entries) == ([7, 9], [])
