"""The dashboard document's shape: what passes, what fails, and where the failure points."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ot import json0
from ot.dashboard.document import (
    MAX_TITLE,
    MAX_WIDGET_ID,
    WIDGET_TYPES,
    new_document,
    validate_document,
    validate_parts,
    validate_widget,
)
from ot.dashboard.edited import validate_after
from ot.errors import DocumentError


def widget(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "chart",
        "title": "CPU",
        "position": {"x": 0, "y": 0, "width": 4, "height": 3, "zIndex": 1},
        "config": {"series": ["cpu"]},
        "data": {},
        "isLocked": False,
    }
    return {**base, **fields}


def dashboard() -> dict[str, Any]:
    doc = new_document("Ops", "servers")
    doc["settings"] = {"theme": "dark", "gridSize": 8}
    doc["widgets"] = {
        "w1": widget(
            body={"ops": [{"insert": "Hi", "attributes": {"bold": True}}, {"insert": "\n"}]}
        ),
        "w2": widget(type="text", body="plain"),
    }
    doc["layout"] = ["w2", "w1"]
    return doc


def problem_at(doc: object) -> list[Any]:
    with pytest.raises(DocumentError) as caught:
        validate_document(doc)
    path_text = caught.value.message.split(": ", 1)[0]
    return list(json.loads(path_text))


def test_new_document_is_empty_and_valid() -> None:
    doc = new_document("Ops")
    assert doc == {"title": "Ops", "description": "", "settings": {}, "widgets": {}, "layout": []}
    validate_document(doc)


def test_new_document_refuses_a_long_title() -> None:
    with pytest.raises(DocumentError):
        new_document("x" * (MAX_TITLE + 1))


def test_a_full_dashboard_is_valid() -> None:
    validate_document(dashboard())


def test_every_widget_type_is_valid() -> None:
    for kind in WIDGET_TYPES:
        validate_widget(widget(type=kind), ("widgets", "w"))


def _broken(change: Any) -> dict[str, Any]:
    doc = dashboard()
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.pop("title"), ["title"]),
        (lambda d: d.update(extra=1), ["extra"]),
        (lambda d: d.update(title=5), ["title"]),
        (lambda d: d.update(title="x" * (MAX_TITLE + 1)), ["title"]),
        (lambda d: d.update(description=None), ["description"]),
        (lambda d: d.update(settings=[]), ["settings"]),
        (lambda d: d["settings"].update(ratio=float("nan")), ["settings", "ratio"]),
        (lambda d: d["settings"].update(big=2**60), ["settings", "big"]),
        (lambda d: d["settings"].update(bad={1, 2}), ["settings", "bad"]),
        (lambda d: d.update(widgets=[]), ["widgets"]),
        (lambda d: d["widgets"].update({"": widget()}), ["widgets"]),
        (lambda d: d["widgets"].update({"w" * (MAX_WIDGET_ID + 1): widget()}), ["widgets"]),
        (lambda d: d["widgets"]["w1"].update(type="graph"), ["widgets", "w1", "type"]),
        (lambda d: d["widgets"]["w1"].update(isLocked=0), ["widgets", "w1", "isLocked"]),
        (lambda d: d["widgets"]["w1"].pop("config"), ["widgets", "w1", "config"]),
        (lambda d: d["widgets"]["w1"].update(color="red"), ["widgets", "w1", "color"]),
        (lambda d: d["widgets"]["w1"]["position"].update(x=-1), ["widgets", "w1", "position", "x"]),
        (
            lambda d: d["widgets"]["w1"]["position"].update(y=1.0),
            ["widgets", "w1", "position", "y"],
        ),
        (
            lambda d: d["widgets"]["w1"]["position"].update(width=0),
            ["widgets", "w1", "position", "width"],
        ),
        (
            lambda d: d["widgets"]["w1"]["position"].update(height=True),
            ["widgets", "w1", "position", "height"],
        ),
        (
            lambda d: d["widgets"]["w1"]["position"].update(zIndex=10**9),
            ["widgets", "w1", "position", "zIndex"],
        ),
        (lambda d: d["widgets"]["w1"].update(body=3), ["widgets", "w1", "body"]),
        (
            lambda d: d["widgets"]["w1"]["body"]["ops"].append({"retain": 1}),
            ["widgets", "w1", "body", "ops", 2, "retain"],
        ),
        (
            lambda d: d["widgets"]["w1"]["body"]["ops"].append({"insert": ""}),
            ["widgets", "w1", "body", "ops", 2, "insert"],
        ),
        (
            lambda d: d["widgets"]["w1"]["body"]["ops"].append({"insert": {"a": 1, "b": 2}}),
            ["widgets", "w1", "body", "ops", 2, "insert"],
        ),
        (
            lambda d: d["widgets"]["w1"]["body"]["ops"].append({"insert": "x", "attributes": {}}),
            ["widgets", "w1", "body", "ops", 2, "attributes"],
        ),
        (
            lambda d: d["widgets"]["w1"].update(body={"ops": [], "x": 1}),
            ["widgets", "w1", "body", "x"],
        ),
        (lambda d: d.update(layout={}), ["layout"]),
        (lambda d: d["layout"].append("w1"), ["layout", 2]),
        (lambda d: d["layout"].append("w9"), ["layout", 2]),
        (lambda d: d["layout"].append(7), ["layout", 2]),
        (lambda d: d["layout"].pop(), ["layout"]),
        (lambda d: d["layout"].__setitem__(1, "w9"), ["layout", 1]),
        (lambda d: d["layout"].__setitem__(0, "w1"), ["layout", 1]),
        (lambda d: d["layout"].__setitem__(1, ["w2"]), ["layout", 1]),
    ],
)
def test_a_broken_document_names_the_first_problem(change: Any, path: list[Any]) -> None:
    assert problem_at(_broken(change)) == path


def test_not_an_object() -> None:
    assert problem_at([1]) == []


def test_deep_nesting_is_refused_without_recursion_errors() -> None:
    deep: Any = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    doc = dashboard()
    doc["settings"] = deep
    assert problem_at(doc)[0] == "settings"


def test_validation_does_not_change_the_document() -> None:
    doc = dashboard()
    before = copy.deepcopy(doc)
    validate_document(doc)
    assert doc == before


_garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.sampled_from(["chart", "w1", "ops", "insert", "x", b"bytes"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["title", "description", "settings", "widgets", "layout", "w1", "type", "position"]
            )
            | st.text(max_size=3)
            | st.integers(),
            inner,
            max_size=5,
        )
        | st.tuples(inner)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_garbage)
def test_garbage_gets_a_document_error_or_passes(value: Any) -> None:
    with contextlib.suppress(DocumentError):
        validate_document(value)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_garbage_inside_a_valid_document_gets_a_document_error(data: st.DataObject) -> None:
    doc = dashboard()
    node: Any = doc
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if not isinstance(node[key], (dict, list)):
            break
        node = node[key]
    if isinstance(node, dict):
        node[data.draw(st.sampled_from([*node, "zzz"]))] = data.draw(_garbage)
    elif isinstance(node, list) and node:
        node[data.draw(st.integers(0, len(node) - 1))] = data.draw(_garbage)
    with contextlib.suppress(DocumentError):
        validate_document(doc)


def _verdict(check: Any, *args: Any) -> str | None:
    try:
        check(*args)
    except DocumentError as exc:
        return exc.message
    return None


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_validate_parts_names_what_validate_document_names(data: st.DataObject) -> None:
    """A valid document with some top-level fields and widgets replaced (by garbage or by
    valid values): checking only those finds the problem a whole check finds first."""
    doc = dashboard()
    fields = data.draw(st.sets(st.sampled_from(["title", "description", "settings", "layout"])))
    for field in fields:
        doc[field] = data.draw(_garbage | st.just(copy.deepcopy(dashboard()[field])))
    replaced = data.draw(st.sets(st.sampled_from(["w1", "w2", "w3", "x" * 65])))
    for widget_id in replaced:
        doc["widgets"][widget_id] = data.draw(_garbage | st.just(widget(title=widget_id[:9])))
    if data.draw(st.booleans()):
        doc["layout"] = list(doc["widgets"])
    assert _verdict(validate_parts, doc, fields, replaced) == _verdict(validate_document, doc)


def test_validate_after_checks_what_the_op_touched() -> None:
    doc = dashboard()
    doc["widgets"]["w1"]["type"] = "graph"
    # The op touched only the title, so the broken type (which it did not make) goes unseen.
    validate_after(doc, [{"p": ["title", 0], "si": "x"}])
    with pytest.raises(DocumentError, match=r'^\["widgets", "w1", "type"\]'):
        validate_after(doc, [{"p": ["widgets", "w1", "type"], "od": "chart", "oi": "graph"}])
    with pytest.raises(DocumentError, match=r'^\["layout"\]'):
        validate_after({**doc, "layout": ["w1"]}, [{"p": ["layout", 1], "ld": "w2"}])
    with pytest.raises(DocumentError):
        validate_after(doc, "not an op")


def test_validate_after_takes_a_checked_op() -> None:
    doc = dashboard()
    doc["widgets"]["w1"]["type"] = "graph"
    validate_after(doc, json0.check([{"p": ["title", 0], "si": "x"}]))
    with pytest.raises(DocumentError, match=r'^\["widgets", "w1", "type"\]'):
        op = [{"p": ["widgets", "w1", "type"], "od": "chart", "oi": "graph"}]
        validate_after(doc, json0.check(op))
