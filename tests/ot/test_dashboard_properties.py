"""Properties of the domain-op builder over random documents and random domain ops.

Whatever a client sends, ``build`` either refuses it with DocumentError / InvalidOpError or
returns an op that turns a valid document into a valid one, undoes exactly, and classifies
back to the domain op it came from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ot import json0
from ot.dashboard.document import WIDGET_TYPES, validate_document
from ot.dashboard.edited import validate_after
from ot.dashboard.ops import OPERATION_TYPES, build, build_all, classify, parse_domain_op
from ot.errors import DocumentError, InvalidOpError, OTError
from tests.ot.dashboard_strategies import (
    IDS,
    documents,
    domain_ops,
    json_values,
    paths_in,
    positions,
    widgets,
)


def _needs_document_to_invert(op: list[dict[str, Any]]) -> bool:
    return any(
        "delete" in part or "attributes" in part
        for component in op
        if component.get("t") == "rich-text"
        for part in component["o"]
        if "insert" not in part
    )


def check_built(doc: dict[str, Any], dop: dict[str, Any]) -> None:
    try:
        op = build(doc, dop)
    except (DocumentError, InvalidOpError) as error:
        event(f"refused: {dop['type']} ({type(error).__name__})")
        return
    event(f"built: {dop['type']}")
    after = json0.apply(doc, op)
    validate_document(after)
    assert json0.apply(after, json0.invert_with_doc(op, doc)) == doc
    if not _needs_document_to_invert(op):
        assert json0.apply(after, json0.invert(op)) == doc
    kind, target = classify(op)
    assert kind in OPERATION_TYPES
    if dop["type"] != "update":
        assert (kind, target) == (dop["type"], dop.get("targetId"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_built_ops_keep_the_document_valid_and_undo(data: st.DataObject) -> None:
    doc = data.draw(documents())
    check_built(doc, data.draw(domain_ops(doc)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_build_all_equals_building_one_by_one(data: st.DataObject) -> None:
    doc = data.draw(documents())
    dops = data.draw(st.lists(domain_ops(doc), min_size=1, max_size=4))
    try:
        op = build_all(doc, dops)
    except (DocumentError, InvalidOpError):
        return
    current = doc
    for dop in dops:
        current = json0.apply(current, build(current, dop))
    after = json0.apply(doc, op)
    assert after == current
    validate_document(after)
    assert json0.apply(after, json0.invert_with_doc(op, doc)) == doc


FIELD_NAMES = (
    *("type", "targetId", "path", "value", "oldValue", "position", "length", "attributes"),
    *("p", "t", "o", "oi", "od", "li", "ld", "si", "sd", "na", "lm", "x", "y", "ops"),
)
garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(OPERATION_TYPES + IDS + ("body", "title", "position", "widgets", "layout")),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(FIELD_NAMES) | st.text(max_size=2),
            inner,
            max_size=6,
        )
    ),
    max_leaves=16,
)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_garbage_meets_only_ot_errors(data: st.DataObject) -> None:
    doc = data.draw(documents() | garbage)
    dop = data.draw(garbage)
    calls: list[Callable[[], object]] = [
        lambda: build(doc, dop),
        lambda: build_all(doc, [dop]),
        lambda: parse_domain_op(dop),
        lambda: classify(dop),
        lambda: classify([dop]),
        lambda: validate_document(doc),
    ]
    for call in calls:
        with contextlib.suppress(OTError):
            call()


def _node(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def raw_components(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """One json0 component that applies to ``doc``, with no regard for the dashboard shape."""
    path = draw(st.sampled_from([p for p in paths_in(doc) if p]))
    parent = _node(doc, path[:-1])
    if isinstance(parent, list):
        choice = draw(st.sampled_from(["li", "ld", "lm"] if path[-1] < len(parent) else ["li"]))
        if choice == "li":
            return {"p": list(path), "li": draw(json_values | st.sampled_from(IDS))}
        if choice == "ld":
            return {"p": list(path), "ld": parent[path[-1]]}
        return {"p": list(path), "lm": draw(st.integers(0, len(parent) - 1))}
    if path[-1] not in parent:
        return {"p": list(path), "oi": draw(json_values)}
    node = parent[path[-1]]
    choices = ["od", "od+oi"]
    if isinstance(node, str):
        choices += ["text", "text"]
    if type(node) in (int, float):
        choices.append("na")
    choice = draw(st.sampled_from(choices))
    if choice == "od":
        return {"p": list(path), "od": node}
    if choice == "text":
        offset = draw(st.integers(0, len(node)))
        return {"p": list(path), "t": "text-unicode", "o": [offset, "x"] if offset else ["x"]}
    if choice == "na":
        return {"p": list(path), "na": draw(st.integers(-3, 3))}
    new = draw(
        json_values | widgets | positions | st.sampled_from(WIDGET_TYPES) | st.integers(-2, 9)
    )
    return {"p": list(path), "od": node, "oi": new}


def _refused(check: Callable[[], object]) -> bool:
    try:
        check()
    except DocumentError:
        return True
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_validate_after_agrees_with_validate_document(data: st.DataObject) -> None:
    doc = data.draw(documents())
    op: list[dict[str, Any]] = []
    after = doc
    for _ in range(data.draw(st.integers(1, 3))):
        component = data.draw(raw_components(after))
        try:
            after = json0.apply(after, [component])
        except OTError:
            continue
        op.append(component)
    refused = _refused(lambda: validate_document(after))
    event("refused" if refused else "valid")
    assert _refused(lambda: validate_after(after, op)) == refused
    # The sequencer's way: the op checked once, its paths then taken as they are.
    assert _refused(lambda: validate_after(after, json0.check(op))) == refused
