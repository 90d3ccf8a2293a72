"""Hypothesis strategies for dashboard documents and the domain ops a client sends, shared by
the property tests of the builder, the diff, undo and the sync merge."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hypothesis import strategies as st

from ot import json0, rich_text
from ot.dashboard.document import (
    WIDGET_TYPES,
    is_rich_body,
    new_document,
    rich_length,
    validate_document,
)
from ot.dashboard.ops import OPERATION_TYPES, build
from ot.dashboard.paths import ABSENT
from ot.errors import OTError

ALPHABET = "ab \né😀"
IDS = ("w1", "w2", "w3", "x" * 64)

texts = st.text(alphabet=ALPHABET, max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | texts,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=6,
)
json_objects = st.dictionaries(st.sampled_from("abc"), json_values, max_size=3)
attributes = st.sampled_from([{"bold": True}, {"color": "red"}, {"bold": True, "color": "blue"}])


def _canonical(ops: list[dict[str, Any]]) -> dict[str, Any]:
    # Documents as Quill keeps them (neighbours merged), so an edit and its undo give back
    # the very same JSON.
    return rich_text.normalize(ops)


rich_bodies = st.lists(
    st.fixed_dictionaries(
        {
            "insert": st.text(alphabet=ALPHABET, min_size=1, max_size=4)
            | st.just({"image": "a.png"})
        },
        optional={"attributes": attributes},
    ),
    min_size=1,
    max_size=4,
).map(_canonical)
positions = st.fixed_dictionaries(
    {
        "x": st.integers(0, 40),
        "y": st.integers(0, 40),
        "width": st.integers(1, 12),
        "height": st.integers(1, 12),
    },
    optional={"zIndex": st.integers(-3, 3)},
)
_widget_fields = {
    "type": st.sampled_from(WIDGET_TYPES),
    "title": texts,
    "position": positions,
    "config": json_objects,
    "data": json_objects,
    "isLocked": st.booleans(),
}
# Most widgets have a body, most bodies rich text: that is where the text ops go.
widgets = st.fixed_dictionaries({**_widget_fields, "body": rich_bodies}) | st.fixed_dictionaries(
    _widget_fields, optional={"body": texts}
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    least = draw(st.sampled_from([1, 1, 1, 0]))
    items = draw(st.dictionaries(st.sampled_from(IDS), widgets, min_size=least, max_size=3))
    doc = {
        "title": draw(texts),
        "description": draw(texts),
        "settings": draw(json_objects),
        "widgets": items,
        "layout": draw(st.permutations(list(items))),
    }
    validate_document(doc)
    return doc


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_in(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_in(item, (*prefix, index))
        yield (*prefix, len(value))


@st.composite
def domain_ops(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """Mostly ops that fit ``doc``, with enough misfits to exercise every refusal."""
    kind = draw(st.sampled_from(OPERATION_TYPES))
    existing = list(doc["widgets"])
    pick_existing = bool(existing) and draw(st.integers(0, 5)) > 0
    target = draw(st.sampled_from(existing if pick_existing else list(IDS)))
    rich = [key for key, item in doc["widgets"].items() if is_rich_body(item.get("body"))]
    if rich and (kind == "format" or (kind in ("insert", "delete") and draw(st.booleans()))):
        target = draw(st.sampled_from(rich))
    widget = doc["widgets"].get(target, {})
    count = st.integers(0, 12)
    if kind == "addWidget":
        return {
            "type": kind,
            "targetId": target,
            "value": draw(widgets),
            "position": draw(st.none() | count),
        }
    if kind == "removeWidget":
        return {"type": kind, "targetId": target}
    if kind == "move":
        value = {"x": draw(st.integers(-1, 60)), "y": draw(st.integers(0, 60))}
        if draw(st.booleans()):
            value["zIndex"] = draw(st.integers(-9, 9))
        return {"type": kind, "targetId": target, "value": value}
    if kind == "resize":
        return {
            "type": kind,
            "targetId": target,
            "value": {"width": draw(st.integers(0, 60)), "height": draw(st.integers(1, 60))},
        }
    if kind == "update":
        if draw(st.booleans()):
            path = draw(st.sampled_from(list(paths_in(widget))))
            dop: dict[str, Any] = {"type": kind, "targetId": target, "path": list(path)}
        else:
            path = draw(st.sampled_from(list(paths_in(doc))))
            dop = {"type": kind, "path": list(path)}
        if draw(st.integers(0, 3)):
            dop["value"] = draw(json_values | positions | widgets | st.sampled_from(WIDGET_TYPES))
        if draw(st.integers(0, 3)) == 0:
            dop["oldValue"] = draw(json_values)
        return dop
    if draw(st.integers(0, 4)):
        fields = ["body", "body", "title", "type"] if "body" in widget else ["title", "type"]
        if kind == "format" and is_rich_body(widget.get("body")):
            fields = ["body"]
        field = draw(st.sampled_from(fields))
        dop = {"type": kind, "targetId": target, "path": [field]}
        current = widget.get(field)
    else:
        field = draw(st.sampled_from(["title", "description"]))
        dop = {"type": kind, "path": [field]}
        current = doc[field]
    size = rich_length(current) if is_rich_body(current) else len(current or "")
    dop["position"] = position = draw(st.integers(0, size + 1))
    if kind == "insert":
        dop["value"] = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=4))
        if draw(st.booleans()):
            dop["attributes"] = draw(attributes)
    else:
        dop["length"] = draw(st.integers(1, max(size - position + 1, 1)))
    if kind == "format":
        dop["attributes"] = draw(attributes | st.just({"bold": None}))
    return dop


@st.composite
def edits(draw: st.DrawFn, doc: dict[str, Any], most: int = 6) -> list[dict[str, Any]]:
    """A json0 op of up to ``most`` random domain ops that fit ``doc``, each built on the
    document the previous one left (refused ones are skipped), and maybe a layout shuffle."""
    op: list[dict[str, Any]] = []
    current = doc
    wanted = draw(st.integers(0, most))
    for _ in range(3 * wanted):
        if wanted == 0:
            break
        try:
            part = build(current, draw(domain_ops(current)))
        except OTError:
            continue
        current = json0.apply(current, part)
        op.extend(part)
        wanted -= 1
    if len(current["layout"]) > 1 and draw(st.integers(0, 3)) == 0:
        source = draw(st.integers(0, len(current["layout"]) - 1))
        target = draw(st.integers(0, len(current["layout"]) - 1))
        op.append({"p": ["layout", source], "lm": target})
    return op


def board(*ids: str) -> dict[str, Any]:
    """A dashboard with a text widget for each id, in that order."""
    doc = new_document("Ops")
    for widget_id in ids:
        doc["widgets"][widget_id] = {
            "type": "text",
            "title": widget_id,
            "position": {"x": 0, "y": 0, "width": 2, "height": 2},
            "config": {},
            "data": {},
            "isLocked": False,
            "body": {"ops": [{"insert": "Hello world\n"}]},
        }
        doc["layout"].append(widget_id)
    return doc


def value_at(doc: Any, path: Sequence[Any]) -> Any:
    """The value at ``path``, or ABSENT."""
    for key in path:
        if (isinstance(doc, dict) and key in doc) or (
            isinstance(doc, list) and isinstance(key, int) and key < len(doc)
        ):
            doc = doc[key]
        else:
            return ABSENT
    return doc
