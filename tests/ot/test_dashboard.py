"""Domain ops: what each builds, that it applies to a valid document, inverts, and classifies back."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ot import json0
from ot.dashboard.document import MAX_TITLE, new_document, validate_document
from ot.dashboard.ops import OPERATION_TYPES, build, build_all, classify, parse_domain_op
from ot.errors import DocumentError, InvalidOpError

Op = list[dict[str, Any]]


def widget(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "chart",
        "title": "CPU",
        "position": {"x": 0, "y": 0, "width": 4, "height": 3},
        "config": {"series": ["cpu", "mem"]},
        "data": {},
        "isLocked": False,
    }
    return {**base, **fields}


RICH = {"ops": [{"insert": "Hi😀", "attributes": {"bold": True}}, {"insert": " there\n"}]}


@pytest.fixture
def doc() -> dict[str, Any]:
    doc = new_document("Ops 😀", "servers")
    doc["settings"] = {"theme": "dark"}
    doc["widgets"] = {
        "w1": widget(
            body=copy.deepcopy(RICH),
            position={"x": 1, "y": 2, "width": 4, "height": 3, "zIndex": 5},
        ),
        "w2": widget(type="text", title="Notes", body="hello"),
    }
    doc["layout"] = ["w1", "w2"]
    validate_document(doc)
    return doc


def run(doc: dict[str, Any], dop: dict[str, Any]) -> tuple[Op, dict[str, Any]]:
    """Build, apply, check the result is valid, that the op undoes, and that it did not
    touch the input document."""
    before = copy.deepcopy(doc)
    op = build(doc, dop)
    after = json0.apply(doc, op)
    assert doc == before
    validate_document(after)
    assert json0.apply(after, json0.invert_with_doc(op, doc)) == doc
    return op, after


def test_the_vocabulary() -> None:
    assert set(OPERATION_TYPES) == {
        "insert",
        "delete",
        "update",
        "move",
        "resize",
        "format",
        "addWidget",
        "removeWidget",
    }


# --- addWidget / removeWidget ---------------------------------------------------------------


def test_add_widget_appends_to_the_layout(doc: dict[str, Any]) -> None:
    new = widget(type="table")
    op, after = run(doc, {"type": "addWidget", "targetId": "w3", "value": new})
    assert op == [{"p": ["widgets", "w3"], "oi": new}, {"p": ["layout", 2], "li": "w3"}]
    assert after["layout"] == ["w1", "w2", "w3"]
    assert classify(op) == ("addWidget", "w3")


def test_add_widget_at_a_layout_index(doc: dict[str, Any]) -> None:
    _, after = run(doc, {"type": "addWidget", "targetId": "w3", "value": widget(), "position": 0})
    assert after["layout"] == ["w3", "w1", "w2"]


def test_added_widget_is_a_copy(doc: dict[str, Any]) -> None:
    new = widget()
    op = build(doc, {"type": "addWidget", "targetId": "w3", "value": new})
    new["config"]["series"].append("disk")
    assert op[0]["oi"]["config"]["series"] == ["cpu", "mem"]


@pytest.mark.parametrize(
    ("dop", "error"),
    [
        ({"type": "addWidget", "value": widget()}, InvalidOpError),
        ({"type": "addWidget", "targetId": "w1", "value": widget()}, DocumentError),
        ({"type": "addWidget", "targetId": "", "value": widget()}, DocumentError),
        ({"type": "addWidget", "targetId": "w" * 65, "value": widget()}, DocumentError),
        ({"type": "addWidget", "targetId": 3, "value": widget()}, InvalidOpError),
        ({"type": "addWidget", "targetId": "w3", "value": widget(type="graph")}, DocumentError),
        ({"type": "addWidget", "targetId": "w3", "value": widget(extra=1)}, DocumentError),
        ({"type": "addWidget", "targetId": "w3", "value": "chart"}, DocumentError),
        ({"type": "addWidget", "targetId": "w3", "value": widget(), "position": 3}, DocumentError),
        (
            {"type": "addWidget", "targetId": "w3", "value": widget(), "position": -1},
            InvalidOpError,
        ),
        ({"type": "addWidget", "targetId": "w3", "value": {"x": float("inf")}}, InvalidOpError),
        ({"type": "removeWidget", "targetId": "w9"}, DocumentError),
        ({"type": "removeWidget"}, InvalidOpError),
    ],
)
def test_widget_misfits(doc: dict[str, Any], dop: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        build(doc, dop)


def test_remove_widget_carries_the_widget(doc: dict[str, Any]) -> None:
    op, after = run(doc, {"type": "removeWidget", "targetId": "w1"})
    assert op == [
        {"p": ["layout", 0], "ld": "w1"},
        {"p": ["widgets", "w1"], "od": doc["widgets"]["w1"]},
    ]
    assert after["layout"] == ["w2"] and "w1" not in after["widgets"]
    assert classify(op) == ("removeWidget", "w1")
    assert json0.apply(after, json0.invert(op)) == doc


# --- move / resize --------------------------------------------------------------------------


def test_move_replaces_each_field(doc: dict[str, Any]) -> None:
    op, after = run(doc, {"type": "move", "targetId": "w1", "value": {"x": 7, "y": 2}})
    assert op == [
        {"p": ["widgets", "w1", "position", "x"], "od": 1, "oi": 7},
        {"p": ["widgets", "w1", "position", "y"], "od": 2, "oi": 2},
    ]
    assert after["widgets"]["w1"]["position"] == {
        "x": 7,
        "y": 2,
        "width": 4,
        "height": 3,
        "zIndex": 5,
    }
    assert classify(op) == ("move", "w1")
    assert json0.apply(after, json0.invert(op)) == doc


def test_move_sets_a_missing_z_index(doc: dict[str, Any]) -> None:
    op, after = run(
        doc, {"type": "move", "targetId": "w2", "value": {"x": 0, "y": 9, "zIndex": -2}}
    )
    assert op[-1] == {"p": ["widgets", "w2", "position", "zIndex"], "oi": -2}
    assert after["widgets"]["w2"]["position"]["zIndex"] == -2


def test_concurrent_moves_resolve_last_writer_wins(doc: dict[str, Any]) -> None:
    mine = build(doc, {"type": "move", "targetId": "w1", "value": {"x": 10, "y": 2}})
    theirs = build(doc, {"type": "move", "targetId": "w1", "value": {"x": 20, "y": 2}})
    first = json0.apply(json0.apply(doc, theirs), json0.transform(mine, theirs, "left"))
    second = json0.apply(json0.apply(doc, mine), json0.transform(theirs, mine, "right"))
    assert first == second
    assert first["widgets"]["w1"]["position"]["x"] == 10


def test_resize(doc: dict[str, Any]) -> None:
    op, _ = run(doc, {"type": "resize", "targetId": "w2", "value": {"width": 8, "height": 1}})
    assert op == [
        {"p": ["widgets", "w2", "position", "width"], "od": 4, "oi": 8},
        {"p": ["widgets", "w2", "position", "height"], "od": 3, "oi": 1},
    ]
    assert classify(op) == ("resize", "w2")


@pytest.mark.parametrize(
    ("dop", "error"),
    [
        ({"type": "move", "targetId": "w1", "value": {"x": -1, "y": 0}}, DocumentError),
        ({"type": "move", "targetId": "w1", "value": {"x": 10**9, "y": 0}}, DocumentError),
        ({"type": "move", "targetId": "w1", "value": {"x": "1", "y": 0}}, InvalidOpError),
        ({"type": "move", "targetId": "w1", "value": {"x": 1.5, "y": 0}}, InvalidOpError),
        ({"type": "move", "targetId": "w1", "value": {"x": True, "y": 0}}, InvalidOpError),
        ({"type": "move", "targetId": "w1", "value": {"x": 1}}, InvalidOpError),
        ({"type": "move", "targetId": "w1", "value": {"x": 1, "y": 1, "width": 2}}, InvalidOpError),
        ({"type": "move", "targetId": "w1", "value": [1, 2]}, InvalidOpError),
        ({"type": "move", "targetId": "w9", "value": {"x": 1, "y": 1}}, DocumentError),
        ({"type": "move", "value": {"x": 1, "y": 1}}, InvalidOpError),
        ({"type": "resize", "targetId": "w1", "value": {"width": 0, "height": 1}}, DocumentError),
        ({"type": "resize", "targetId": "w1", "value": {"width": 2}}, InvalidOpError),
        (
            {"type": "resize", "targetId": "w1", "value": {"width": 2, "height": 2, "x": 0}},
            InvalidOpError,
        ),
    ],
)
def test_position_misfits(doc: dict[str, Any], dop: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        build(doc, dop)


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dop", "component"),
    [
        (
            {"type": "update", "targetId": "w1", "path": ["config", "color"], "value": "red"},
            {"p": ["widgets", "w1", "config", "color"], "oi": "red"},
        ),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "series"], "value": None},
            {"p": ["widgets", "w1", "config", "series"], "od": ["cpu", "mem"], "oi": None},
        ),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "series"]},
            {"p": ["widgets", "w1", "config", "series"], "od": ["cpu", "mem"]},
        ),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "series", 1], "value": "io"},
            {"p": ["widgets", "w1", "config", "series", 1], "ld": "mem", "li": "io"},
        ),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "series", 2], "value": "io"},
            {"p": ["widgets", "w1", "config", "series", 2], "li": "io"},
        ),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "series", 0]},
            {"p": ["widgets", "w1", "config", "series", 0], "ld": "cpu"},
        ),
        (
            {"type": "update", "path": ["title"], "value": "Ops 2", "oldValue": "Ops 😀"},
            {"p": ["title"], "od": "Ops 😀", "oi": "Ops 2"},
        ),
        (
            {"type": "update", "path": ["settings", "gridSize"], "value": 8},
            {"p": ["settings", "gridSize"], "oi": 8},
        ),
        (
            {
                "type": "update",
                "targetId": "w2",
                "path": ["isLocked"],
                "value": True,
                "oldValue": False,
            },
            {"p": ["widgets", "w2", "isLocked"], "od": False, "oi": True},
        ),
        (
            {"type": "update", "path": ["layout"], "value": ["w2", "w1"]},
            {"p": ["layout"], "od": ["w1", "w2"], "oi": ["w2", "w1"]},
        ),
    ],
)
def test_update(doc: dict[str, Any], dop: dict[str, Any], component: dict[str, Any]) -> None:
    op, _ = run(doc, dop)
    assert op == [component]
    assert classify(op) == ("update", dop.get("targetId"))


def test_update_replaces_a_whole_widget(doc: dict[str, Any]) -> None:
    op, after = run(doc, {"type": "update", "targetId": "w2", "path": [], "value": widget()})
    assert after["widgets"]["w2"] == widget()
    assert classify(op) == ("update", "w2")


def test_update_of_a_position_field_classifies_as_move(doc: dict[str, Any]) -> None:
    op, _ = run(doc, {"type": "update", "targetId": "w1", "path": ["position", "x"], "value": 3})
    assert classify(op) == ("move", "w1")


@pytest.mark.parametrize(
    ("dop", "error"),
    [
        ({"type": "update", "path": ["title"], "value": "x", "oldValue": "Ops"}, DocumentError),
        (
            {"type": "update", "targetId": "w2", "path": ["isLocked"], "value": 1, "oldValue": 0},
            DocumentError,
        ),
        (
            {
                "type": "update",
                "targetId": "w1",
                "path": ["config", "nope"],
                "value": 1,
                "oldValue": None,
            },
            DocumentError,
        ),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "a", "b"], "value": 1},
            DocumentError,
        ),
        ({"type": "update", "targetId": "w1", "path": ["config", "nope"]}, DocumentError),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "series", 3], "value": 1},
            DocumentError,
        ),
        (
            {"type": "update", "targetId": "w1", "path": ["config", "series", "x"], "value": 1},
            DocumentError,
        ),
        ({"type": "update", "targetId": "w1", "path": ["title", 0], "value": "x"}, DocumentError),
        ({"type": "update", "targetId": "w1", "path": ["type"], "value": "graph"}, DocumentError),
        ({"type": "update", "targetId": "w1", "path": ["title"]}, DocumentError),
        ({"type": "update", "targetId": "w1", "path": ["color"], "value": "red"}, DocumentError),
        (
            {"type": "update", "targetId": "w1", "path": ["position", "x"], "value": -4},
            DocumentError,
        ),
        ({"type": "update", "targetId": "w1", "path": []}, DocumentError),
        ({"type": "update", "path": ["layout"], "value": ["w1"]}, DocumentError),
        ({"type": "update", "path": ["layout", 0], "value": "w2"}, DocumentError),
        ({"type": "update", "path": ["widgets", "w3"], "value": widget()}, DocumentError),
        ({"type": "update", "path": ["title"], "value": "x" * (MAX_TITLE + 1)}, DocumentError),
        ({"type": "update", "path": ["extra"], "value": 1}, DocumentError),
        ({"type": "update", "path": [], "value": {}}, InvalidOpError),
        ({"type": "update", "path": "title", "value": "x"}, InvalidOpError),
        ({"type": "update", "path": ["title", True], "value": "x"}, InvalidOpError),
        ({"type": "update", "path": ["settings", -1], "value": "x"}, InvalidOpError),
        ({"type": "update", "path": ["settings", "a"], "value": float("nan")}, InvalidOpError),
        ({"type": "update", "path": ["settings", "a"], "value": {1: 2}}, InvalidOpError),
        ({"type": "update", "targetId": "w9", "path": ["title"], "value": "x"}, DocumentError),
    ],
)
def test_update_misfits(doc: dict[str, Any], dop: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        build(doc, dop)


# --- insert / delete / format ---------------------------------------------------------------


def test_insert_into_plain_text_counts_code_points(doc: dict[str, Any]) -> None:
    op, after = run(doc, {"type": "insert", "path": ["title"], "position": 5, "value": "!"})
    assert op == [{"p": ["title"], "t": "text-unicode", "o": [5, "!"]}]
    assert after["title"] == "Ops 😀!"
    assert classify(op) == ("insert", None)


def test_insert_at_the_start_of_a_plain_body(doc: dict[str, Any]) -> None:
    op, after = run(
        doc, {"type": "insert", "targetId": "w2", "path": ["body"], "position": 0, "value": "oh "}
    )
    assert op == [{"p": ["widgets", "w2", "body"], "t": "text-unicode", "o": ["oh "]}]
    assert after["widgets"]["w2"]["body"] == "oh hello"
    assert classify(op) == ("insert", "w2")


def test_insert_into_rich_text_counts_utf16_units(doc: dict[str, Any]) -> None:
    dop = {
        "type": "insert",
        "targetId": "w1",
        "path": ["body"],
        "position": 4,
        "value": "!",
        "attributes": {"italic": True},
    }
    op, after = run(doc, dop)
    assert op == [
        {
            "p": ["widgets", "w1", "body"],
            "t": "rich-text",
            "o": [{"retain": 4}, {"insert": "!", "attributes": {"italic": True}}],
        }
    ]
    assert after["widgets"]["w1"]["body"]["ops"][1] == {
        "insert": "!",
        "attributes": {"italic": True},
    }
    assert classify(op) == ("insert", "w1")


def test_delete_from_plain_text_carries_the_text(doc: dict[str, Any]) -> None:
    dop = {"type": "delete", "targetId": "w2", "path": ["body"], "position": 1, "length": 3}
    op, after = run(doc, dop)
    assert op == [{"p": ["widgets", "w2", "body"], "t": "text-unicode", "o": [1, {"d": "ell"}]}]
    assert after["widgets"]["w2"]["body"] == "ho"
    assert classify(op) == ("delete", "w2")
    assert json0.apply(after, json0.invert(op)) == doc


def test_delete_from_rich_text(doc: dict[str, Any]) -> None:
    dop = {"type": "delete", "targetId": "w1", "path": ["body"], "position": 0, "length": 4}
    op, after = run(doc, dop)
    assert op == [{"p": ["widgets", "w1", "body"], "t": "rich-text", "o": [{"delete": 4}]}]
    assert after["widgets"]["w1"]["body"] == {"ops": [{"insert": " there\n"}]}
    assert classify(op) == ("delete", "w1")


def test_format_rich_text(doc: dict[str, Any]) -> None:
    dop = {
        "type": "format",
        "targetId": "w1",
        "path": ["body"],
        "position": 2,
        "length": 3,
        "attributes": {"bold": None, "color": "red"},
    }
    op, after = run(doc, dop)
    assert op == [
        {
            "p": ["widgets", "w1", "body"],
            "t": "rich-text",
            "o": [{"retain": 2}, {"retain": 3, "attributes": {"bold": None, "color": "red"}}],
        }
    ]
    assert after["widgets"]["w1"]["body"]["ops"] == [
        {"insert": "Hi", "attributes": {"bold": True}},
        {"insert": "😀 ", "attributes": {"color": "red"}},
        {"insert": "there\n"},
    ]
    assert classify(op) == ("format", "w1")


def _text(target: str | None, path: list[Any], **fields: Any) -> dict[str, Any]:
    out = {"targetId": target, "path": path, **fields}
    return {key: value for key, value in out.items() if value is not None}


@pytest.mark.parametrize(
    ("dop", "error"),
    [
        ({"type": "insert", **_text("w2", ["body"], position=6, value="x")}, DocumentError),
        ({"type": "insert", **_text("w2", ["body"], position=0, value="")}, InvalidOpError),
        ({"type": "insert", **_text("w2", ["body"], position=0, value=5)}, InvalidOpError),
        ({"type": "insert", **_text("w2", ["body"], position=0)}, InvalidOpError),
        (
            {"type": "insert", **_text("w2", ["body"], position=0, value="x", attributes={"b": 1})},
            DocumentError,
        ),
        ({"type": "insert", **_text("w1", ["body"], position=3, value="x")}, DocumentError),
        ({"type": "insert", **_text("w1", ["body"], position=12, value="x")}, DocumentError),
        (
            {
                "type": "insert",
                **_text("w1", ["body"], position=0, value="x", attributes={"b": None}),
            },
            InvalidOpError,
        ),
        (
            {"type": "insert", **_text("w1", ["body"], position=0, value="x", attributes={})},
            InvalidOpError,
        ),
        ({"type": "insert", **_text("w1", ["position"], position=0, value="x")}, DocumentError),
        ({"type": "insert", **_text("w1", ["type"], position=0, value="x")}, DocumentError),
        ({"type": "insert", **_text("w1", ["nothing"], position=0, value="x")}, DocumentError),
        ({"type": "insert", **_text(None, ["layout", 0], position=0, value="x")}, DocumentError),
        (
            {"type": "insert", **_text(None, ["title"], position=0, value="x" * MAX_TITLE)},
            DocumentError,
        ),
        ({"type": "insert", **_text("w1", ["body"], position=-1, value="x")}, InvalidOpError),
        ({"type": "insert", **_text("w1", ["body"], position=1.0, value="x")}, InvalidOpError),
        ({"type": "delete", **_text("w2", ["body"], position=3, length=3)}, DocumentError),
        ({"type": "delete", **_text("w2", ["body"], position=0, length=0)}, InvalidOpError),
        ({"type": "delete", **_text("w2", ["body"], position=0)}, InvalidOpError),
        ({"type": "delete", **_text("w1", ["body"], position=0, length=3)}, DocumentError),
        ({"type": "delete", **_text("w1", ["body"], position=10, length=2)}, DocumentError),
        ({"type": "delete", **_text("w1", ["type"], position=0, length=1)}, DocumentError),
        (
            {"type": "format", **_text("w2", ["body"], position=0, length=1, attributes={"b": 1})},
            DocumentError,
        ),
        (
            {"type": "format", **_text(None, ["title"], position=0, length=1, attributes={"b": 1})},
            DocumentError,
        ),
        (
            {"type": "format", **_text("w1", ["body"], position=0, length=3, attributes={"b": 1})},
            DocumentError,
        ),
        (
            {"type": "format", **_text("w1", ["body"], position=0, length=20, attributes={"b": 1})},
            DocumentError,
        ),
        ({"type": "format", **_text("w1", ["body"], position=0, length=1)}, InvalidOpError),
        (
            {"type": "format", **_text("w1", ["body"], position=0, length=1, attributes=[1])},
            InvalidOpError,
        ),
        (
            {
                "type": "format",
                **_text("w1", ["config"], position=0, length=1, attributes={"b": 1}),
            },
            DocumentError,
        ),
    ],
)
def test_text_misfits(doc: dict[str, Any], dop: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        build(doc, dop)


# --- parsing and build_all ------------------------------------------------------------------


@pytest.mark.parametrize(
    "dop",
    [
        None,
        [],
        {"type": "paint"},
        {"targetId": "w1"},
        {"type": "move", "targetId": "w1", "value": {"x": 1, "y": 1}, "colour": "red"},
        {"type": "move", "targetId": "w1", "value": {"x": 1, "y": 1}, "length": 3},
        {"type": "removeWidget", "targetId": "w1", "path": ["x"]},
    ],
)
def test_malformed_domain_ops(doc: dict[str, Any], dop: Any) -> None:
    with pytest.raises(InvalidOpError):
        build(doc, dop)


def test_null_fields_count_as_absent(doc: dict[str, Any]) -> None:
    dop = {"type": "removeWidget", "targetId": "w2", "path": None, "value": None, "length": None}
    assert build(doc, dop) == build(doc, {"type": "removeWidget", "targetId": "w2"})
    parsed = parse_domain_op({"type": "update", "path": ["title"], "value": None})
    assert parsed.has_value and parsed.value is None and not parsed.has_old_value


def test_build_all_builds_on_the_previous_ops(doc: dict[str, Any]) -> None:
    dops = [
        {"type": "addWidget", "targetId": "w3", "value": widget()},
        {"type": "move", "targetId": "w3", "value": {"x": 5, "y": 5}},
        {"type": "insert", "targetId": "w3", "path": ["title"], "position": 3, "value": " %"},
        {"type": "removeWidget", "targetId": "w1"},
    ]
    op = build_all(doc, dops)
    after = json0.apply(doc, op)
    validate_document(after)
    assert after["layout"] == ["w2", "w3"]
    assert after["widgets"]["w3"]["title"] == "CPU %"
    assert after["widgets"]["w3"]["position"]["x"] == 5
    assert classify(op) == ("removeWidget", None)
    assert json0.apply(after, json0.invert_with_doc(op, doc)) == doc


def test_build_all_names_the_failing_op(doc: dict[str, Any]) -> None:
    dops = [
        {"type": "removeWidget", "targetId": "w1"},
        {"type": "move", "targetId": "w1", "value": {"x": 5, "y": 5}},
    ]
    with pytest.raises(DocumentError, match=r"^domain op 1: "):
        build_all(doc, dops)
    with pytest.raises(InvalidOpError):
        build_all(doc, {"type": "removeWidget", "targetId": "w1"})
    assert build_all(doc, []) == []


def test_build_refuses_a_document_that_is_not_one() -> None:
    with pytest.raises(DocumentError):
        build([], {"type": "removeWidget", "targetId": "w1"})
    with pytest.raises(DocumentError):
        build({"widgets": []}, {"type": "removeWidget", "targetId": "w1"})
