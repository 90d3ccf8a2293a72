"""Three-way merge of an offline client's document into the live one, by strategy."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ot import json0
from ot.dashboard.diff import diff
from ot.dashboard.document import validate_document
from ot.dashboard.merge import STRATEGIES, merge, merge_documents
from ot.dashboard.ops import build
from ot.dashboard.patch import apply_patch
from ot.dashboard.paths import ABSENT
from ot.errors import DocumentError, OTError
from tests.ot.dashboard_strategies import board, documents, domain_ops, edits, json_values, value_at


def _related(p: tuple[Any, ...], q: tuple[Any, ...]) -> bool:
    return p[: len(q)] == q or q[: len(p)] == p


def _paths(a: Any, b: Any) -> list[tuple[Any, ...]]:
    return [tuple(c["p"]) for c in diff(a, b) if c["p"][:1] != ["layout"]]


def _edited(doc: dict[str, Any], *dops: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    op: list[Any] = []
    for dop in dops:
        part = build(doc, dop)
        doc = json0.apply(doc, part)
        op.extend(part)
    return doc, op


def _move(widget_id: str, x: int) -> dict[str, Any]:
    return {"type": "move", "targetId": widget_id, "value": {"x": x, "y": 0}}


def test_concurrent_typing_in_one_text_merges_by_character() -> None:
    base = board("w1")
    local, _ = _edited(base, {"type": "insert", "path": ["title"], "position": 3, "value": "!"})
    _, remote = _edited(base, {"type": "insert", "path": ["title"], "position": 0, "value": "My "})
    result = merge(base, local, [remote], "merge")
    assert result.document["title"] == "My Ops!"
    assert [r.as_json() for r in result.resolutions] == [
        {"path": ["title"], "resolution": "merged"}
    ]


@pytest.mark.parametrize(
    ("strategy", "changed_at", "x", "resolution"),
    [
        ("local-wins", None, 5, "local-won"),
        ("remote-wins", None, 7, "remote-won"),
        ("merge", None, 7, "remote-won"),
        ("merge", {("widgets", "w1", "position", "x"): 200.0}, 5, "local-won"),
        ("merge", {("widgets", "w1", "position", "x"): 50.0}, 7, "remote-won"),
    ],
)
def test_one_value_changed_on_both_sides(
    strategy: str, changed_at: Any, x: int, resolution: str
) -> None:
    base = board("w1", "w2")
    local, _ = _edited(base, _move("w1", 5), _move("w2", 1))
    head, remote = _edited(base, _move("w1", 7))
    result = merge(
        base, local, [remote], strategy, changed_at=changed_at, remote_changed_at=[100.0]
    )
    assert result.document["widgets"]["w1"]["position"]["x"] == x
    assert result.document["widgets"]["w2"]["position"]["x"] == 1
    assert json0.apply(head, result.op) == result.document
    assert [r.as_json() for r in result.resolutions] == [
        {"path": ["widgets", "w1", "position", "x"], "resolution": resolution}
    ]


def test_a_widget_edited_here_and_removed_there() -> None:
    base = board("w1", "w2", "w3")
    local, _ = _edited(
        base, {"type": "update", "targetId": "w2", "path": ["config", "c"], "value": 1}
    )
    _, remote = _edited(base, {"type": "removeWidget", "targetId": "w2"})
    kept = merge(base, local, [remote], "local-wins").document
    assert kept["widgets"]["w2"] == local["widgets"]["w2"]
    assert kept["layout"] == ["w1", "w2", "w3"]
    gone = merge(base, local, [remote], "remote-wins").document
    assert "w2" not in gone["widgets"] and gone["layout"] == ["w1", "w3"]


def test_a_widget_removed_here_and_edited_there() -> None:
    base = board("w1", "w2", "w3")
    local, _ = _edited(base, {"type": "removeWidget", "targetId": "w2"})
    head, remote = _edited(base, _move("w2", 9))
    gone = merge(base, local, [remote], "local-wins").document
    assert "w2" not in gone["widgets"] and gone["layout"] == ["w1", "w3"]
    kept = merge(base, local, [remote], "remote-wins").document
    assert kept == head


def test_manual_applies_nothing_and_reports_each_conflict() -> None:
    base = board("w1")
    local, _ = _edited(
        base, _move("w1", 5), {"type": "insert", "path": ["title"], "position": 0, "value": "A "}
    )
    _, remote = _edited(base, _move("w1", 7))
    result = merge(base, local, [remote], "manual")
    assert result.op == []
    assert [c.as_json() for c in result.conflicts] == [
        {"path": ["widgets", "w1", "position", "x"], "base": 0, "local": 5, "remote": 7}
    ]
    clean = merge(base, local, [], "manual")
    assert clean.conflicts == () and clean.document == local


def test_merge_documents_takes_the_servers_document() -> None:
    base = board("w1", "w2")
    local, _ = _edited(base, _move("w1", 3))
    head, _ = _edited(base, {"type": "removeWidget", "targetId": "w2"})
    result = merge_documents(base, local, head, "merge")
    assert result.document == _edited(head, _move("w1", 3))[0]


def test_an_invalid_client_document_or_strategy_is_refused() -> None:
    base = board("w1")
    with pytest.raises(DocumentError, match=r'^\["layout"\]'):
        merge(base, {**base, "layout": []}, [], "merge")
    with pytest.raises(DocumentError, match="strategy"):
        merge(base, base, [], "newest")


def test_a_patch_becomes_the_clients_document() -> None:
    base = board("w1", "w2")
    widget = copy.deepcopy(base["widgets"]["w1"])
    local = apply_patch(
        base,
        {
            "added": {"w3": widget},
            "updated": {"w1": {"title": "CPU"}},
            "deleted": ["w2", "gone-already"],
            "fields": {"description": "offline"},
        },
    )
    assert local["layout"] == ["w1", "w3"]
    assert local["widgets"]["w1"]["title"] == "CPU" and local["description"] == "offline"
    assert base["layout"] == ["w1", "w2"]
    for bad, path in [
        ({"updated": {"w9": {}}}, r'\["changes", "updated", "w9"\]'),
        ({"added": {"w1": widget}}, r'\["changes", "added", "w1"\]'),
        ({"fields": {"widgets": {}}}, r'\["changes", "fields", "widgets"\]'),
        ({"renamed": {}}, r'\["changes", "renamed"\]'),
        ({"updated": {"w1": {"colour": 1}}}, r'\["widgets", "w1", "colour"\]'),
    ]:
        with pytest.raises(DocumentError, match="^" + path):
            apply_patch(base, bad)


def _variant(data: st.DataObject, dop: dict[str, Any]) -> dict[str, Any]:
    """The same kind of change to the same place, with another value."""
    other = copy.deepcopy(dop)
    if dop["type"] in ("move", "resize"):
        other["value"] = {key: data.draw(st.integers(1, 40)) for key in dop["value"]}
    elif dop["type"] == "update" and "value" in dop:
        other["value"] = data.draw(json_values)
    elif dop["type"] == "insert":
        other["value"] = data.draw(st.sampled_from(["x", "yz", "😀"]))
    return other


def _build_all(doc: dict[str, Any], dops: list[dict[str, Any]]) -> list[Any]:
    op: list[Any] = []
    for dop in dops:
        try:
            part = build(doc, dop)
        except OTError:
            continue
        doc = json0.apply(doc, part)
        op.extend(part)
    return op


@st.composite
def _concurrent(draw: st.DrawFn) -> tuple[Any, Any, list[Any]]:
    """A base, a client's document and the server's ops since, often at the same places."""
    base = draw(documents())
    if draw(st.booleans()):
        local = json0.apply(base, draw(edits(base, most=4)))
        remote_ops = []
        head = base
        for _ in range(draw(st.integers(0, 3))):
            op = draw(edits(head, most=3))
            remote_ops.append(op)
            head = json0.apply(head, op)
        return base, local, remote_ops
    data = draw(st.data())
    mine = [draw(domain_ops(base)) for _ in range(draw(st.integers(1, 4)))]
    theirs = [
        _variant(data, dop) if draw(st.booleans()) else draw(domain_ops(base)) for dop in mine
    ]
    local = json0.apply(base, _build_all(base, mine))
    return base, local, [_build_all(base, theirs)]


@settings(max_examples=400, deadline=None)
@given(_concurrent(), st.sampled_from(STRATEGIES))
def test_merge_over_random_concurrent_edits(
    case: tuple[Any, Any, list[Any]], strategy: str
) -> None:
    base, local, remote_ops = case
    head = base
    for op in remote_ops:
        head = json0.apply(head, op)
    try:
        result = merge(base, local, remote_ops, strategy)
    except DocumentError as error:
        # Both sides together may hold more than a document can: said, not corrupted.
        event("refused")
        assert "widgets" in error.message
        return
    validate_document(result.document)
    assert json0.apply(head, result.op) == result.document
    assert merge(base, local, remote_ops, strategy, head=head) == result
    outcome = {r.path: r.resolution for r in result.resolutions}
    for resolution in {*outcome.values(), *(["conflict"] if result.conflicts else [])}:
        event(f"{strategy}: {resolution}")
    if result.conflicts:
        assert strategy == "manual" and result.op == [] and result.document == head
        for conflict in result.conflicts:
            assert conflict.local != conflict.remote or value_at(local, conflict.path) is ABSENT
        return
    mine, theirs = _paths(base, local), _paths(base, head)
    for path in mine:
        if not any(_related(path, other) for other in theirs):
            assert value_at(result.document, path) == value_at(local, path), path
    for path in theirs:
        if not any(_related(path, other) for other in mine):
            assert value_at(result.document, path) == value_at(head, path), path
    for path, resolution in outcome.items():
        if resolution == "local-won":
            assert strategy == "local-wins"
            assert value_at(result.document, path) == value_at(local, path), path
        elif resolution == "remote-won":
            assert strategy in ("remote-wins", "merge", "manual")
            assert value_at(result.document, path) == value_at(head, path), path


def test_the_same_new_widget_id_on_both_sides_is_listed_once() -> None:
    base = board("w1")
    mine, theirs = copy.deepcopy(base["widgets"]["w1"]), copy.deepcopy(base["widgets"]["w1"])
    mine["title"], theirs["title"] = "mine", "theirs"
    local, _ = _edited(base, {"type": "addWidget", "targetId": "new", "value": mine})
    _, remote = _edited(
        base, {"type": "addWidget", "targetId": "new", "value": theirs, "position": 0}
    )
    for strategy, title in (("local-wins", "mine"), ("remote-wins", "theirs")):
        result = merge(base, local, [remote], strategy)
        assert result.document["widgets"]["new"]["title"] == title
        assert sorted(result.document["layout"]) == ["new", "w1"]
