"""OT laws for json0 over dashboard-like documents, with random valid ops (hypothesis).

Ops are drawn component by component against the document as the op's earlier components
left it, so every op applies. Each string edits the way its role says (``caption`` with
text0, ``notes``/``description`` with text-unicode, ``body`` with rich-text, everything else
with ``si``/``sd``), as a dashboard client does: json0 only transforms string edits of the same
kind against each other, and mixing kinds on one string is the reference's one known way not
to converge (see ``test_mixed_string_edits_do_not_converge``).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ot import json0, text0

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Path = list[str | int]

# Astral characters where positions count UTF-16 units too (si/sd, text0), to exercise that.
PLAIN = "ab é中\n"
ASTRAL = PLAIN + "😀"
ROLES = {"caption": "text0", "notes": "text-unicode", "description": "text-unicode"}
KEYS = ("extra", "note", "color", "k1", "caption", "notes")

texts = st.text(ASTRAL, max_size=6)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.just(0.5) | texts,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def widgets(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "type": draw(st.sampled_from(["chart", "text"])),
        "title": draw(texts),
        "caption": draw(texts),
        "notes": draw(texts),
        "position": {k: draw(st.integers(0, 9)) for k in ("x", "y", "width", "height")},
        "tags": draw(st.lists(texts, max_size=3)),
        "series": draw(st.lists(st.integers(-9, 99), max_size=4)),
        "isLocked": draw(st.booleans()),
        "body": {"ops": [{"insert": draw(st.text(PLAIN, max_size=5)) + "\n"}]},
    }


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(st.sampled_from(["w1", "w2", "w3"]), min_size=1, max_size=2, unique=True))
    return {
        "title": draw(texts),
        "description": draw(texts),
        "settings": {"theme": draw(st.sampled_from(["dark", "light"])), "gridSize": 8},
        "widgets": {i: draw(widgets()) for i in ids},
        "layout": draw(st.permutations(ids)),
    }


def targets(
    value: Any, path: Path, key: str | int | None = None
) -> Iterator[tuple[Path, Any, str]]:
    """Every place in ``value`` with what it is: object, list, number, or a string role."""
    if key == "body" and isinstance(value, dict):
        yield path, value, "rich-text"
    elif isinstance(value, dict):
        yield path, value, "object"
        for k, v in value.items():
            yield from targets(v, [*path, k], k)
    elif isinstance(value, list):
        yield path, value, "list"
        for i, v in enumerate(value):
            yield from targets(v, [*path, i], i)
    elif isinstance(value, str):
        yield path, value, ROLES.get(str(key), "si")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, value, "number"


def _span(draw: st.DrawFn, s: str) -> tuple[int, int]:
    """Code point indexes ``start <= end`` in ``s``."""
    start = draw(st.integers(0, len(s)))
    return start, draw(st.integers(start, len(s)))


@st.composite
def components(draw: st.DrawFn, doc: Any, rich: bool) -> dict[str, Any]:
    places = [t for t in targets(doc, []) if rich or t[2] != "rich-text"]
    path, value, role = draw(st.sampled_from(places))
    if role == "object":
        absent = [k for k in KEYS if k not in value]
        choices = (["oi"] if absent else []) + (["od", "od+oi"] if value else [])
        action = draw(st.sampled_from(choices))
        if action == "oi":
            return {"p": [*path, draw(st.sampled_from(absent))], "oi": draw(values)}
        key = draw(st.sampled_from(sorted(value)))
        c = {"p": [*path, key], "od": value[key]}
        if action == "od+oi":
            c["oi"] = draw(values)
        return c
    if role == "list":
        action = draw(st.sampled_from(["li", "ld", "ld+li", "lm"] if value else ["li"]))
        if action == "li":
            return {"p": [*path, draw(st.integers(0, len(value)))], "li": draw(values)}
        index = draw(st.integers(0, len(value) - 1))
        if action == "lm":
            return {"p": [*path, index], "lm": draw(st.integers(0, len(value) - 1))}
        c = {"p": [*path, index], "ld": value[index]}
        if action == "ld+li":
            c["li"] = draw(values)
        return c
    if role == "number":
        return {"p": path, "na": draw(st.integers(-3, 9) | st.just(0.5))}
    if role == "rich-text":
        size = sum(len(o["insert"]) if isinstance(o["insert"], str) else 1 for o in value["ops"])
        skip = draw(st.integers(0, max(size - 1, 0)))
        head = [{"retain": skip}] if skip else []
        action = draw(st.sampled_from(["insert", "delete", "format"] if size else ["insert"]))
        if action == "insert":
            inserted = draw(st.text(PLAIN, min_size=1, max_size=3))
            return {"p": path, "t": "rich-text", "o": [*head, {"insert": inserted}]}
        n = draw(st.integers(1, size - skip))
        tail = {"delete": n} if action == "delete" else {"retain": n, "attributes": {"bold": True}}
        return {"p": path, "t": "rich-text", "o": [*head, tail]}
    start, end = _span(draw, value)
    insert = start == end or draw(st.booleans())
    new = draw(st.text(ASTRAL, min_size=1, max_size=3))
    if role == "text-unicode":
        lead: list[Any] = [start] if start else []
        return {
            "p": path,
            "t": "text-unicode",
            "o": [*lead, new if insert else {"d": value[start:end]}],
        }
    at = text0.units(value[:start])
    part = {"p": at, "i": new} if insert else {"p": at, "d": value[start:end]}
    if role == "text0":
        return {"p": path, "t": "text0", "o": [part]}
    return {"p": [*path, at], "si": new} if insert else {"p": [*path, at], "sd": value[start:end]}


@st.composite
def ops(draw: st.DrawFn, doc: Any, rich: bool = True) -> list[dict[str, Any]]:
    op: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        c = draw(components(doc, rich))
        op.append(c)
        doc = json0.apply(doc, [c])
    return op


@st.composite
def concurrent(draw: st.DrawFn) -> tuple[Any, list[Any], list[Any]]:
    doc = draw(documents())
    return doc, draw(ops(doc)), draw(ops(doc))


@st.composite
def sequential(draw: st.DrawFn, rich: bool = True) -> tuple[Any, list[Any], list[Any]]:
    doc = draw(documents())
    first = draw(ops(doc, rich))
    return doc, first, draw(ops(json0.apply(doc, first), rich))


@SETTINGS
@given(concurrent())
def test_concurrent_ops_converge(case: tuple[Any, list[Any], list[Any]]) -> None:
    doc, a, b = case
    left = json0.apply(json0.apply(doc, a), json0.transform(b, a, "right"))
    right = json0.apply(json0.apply(doc, b), json0.transform(a, b, "left"))
    assert left == right


@SETTINGS
@given(concurrent())
def test_transform_x_is_both_transforms(case: tuple[Any, list[Any], list[Any]]) -> None:
    _, a, b = case
    assert json0.transform_x(a, b) == (
        json0.transform(a, b, "left"),
        json0.transform(b, a, "right"),
    )


@SETTINGS
@given(sequential())
def test_compose_is_apply_in_sequence(case: tuple[Any, list[Any], list[Any]]) -> None:
    doc, a, b = case
    assert json0.apply(doc, json0.compose(a, b)) == json0.apply(json0.apply(doc, a), b)


@SETTINGS
@given(sequential())
def test_invert_with_doc_undoes(case: tuple[Any, list[Any], list[Any]]) -> None:
    doc, a, b = case
    op = a + b
    after, inverse = json0.apply_and_invert(doc, op)
    assert after == json0.apply(doc, op)
    assert inverse == json0.invert_with_doc(op, doc)
    assert json0.apply(after, inverse) == doc


@SETTINGS
@given(sequential(rich=False))
def test_invert_undoes_ops_that_carry_their_data(case: tuple[Any, list[Any], list[Any]]) -> None:
    # Generated deletes carry exactly what they remove; rich-text is left out because
    # inverting its deletes and formats needs the document.
    doc, a, b = case
    op = a + b
    assert json0.apply(json0.apply(doc, op), json0.invert(op)) == doc


@SETTINGS
@given(concurrent())
def test_nothing_changes_its_arguments(case: tuple[Any, list[Any], list[Any]]) -> None:
    doc, a, b = case
    saved = copy.deepcopy((doc, a, b))
    after = json0.apply(doc, a)
    json0.apply_and_invert(doc, b)
    json0.transform(a, b, "left")
    json0.transform_x(b, a)
    json0.compose(a, json0.transform(b, a, "right"))
    json0.normalize(a)
    if all(c.get("t") != "rich-text" for c in b):
        json0.invert(b)
    json0.apply(after, json0.invert_with_doc(a, doc))
    assert (doc, a, b) == saved


@SETTINGS
@given(concurrent())
def test_apply_shares_what_it_does_not_change(case: tuple[Any, list[Any], list[Any]]) -> None:
    doc, a, _ = case
    after = json0.apply(doc, a)
    touched = {c["p"][0] for c in a if c["p"]}
    for key in doc:
        if key not in touched:
            assert after[key] is doc[key]


def test_mixed_string_edits_do_not_converge() -> None:
    """The reference's known divergence, kept: json0 transforms a string edit only against
    edits of the same kind, so ``si`` and a text0 op on one string pass each other untouched
    and the two sites end up with the inserts in opposite orders."""
    doc = {"x": ""}
    a = [{"p": ["x"], "t": "text0", "o": [{"p": 0, "i": "jumps "}]}]
    b = [{"p": ["x", 0], "si": "cat "}]
    assert json0.transform(b, a, "right") == b
    assert json0.transform(a, b, "left") == a
    assert json0.apply(json0.apply(doc, a), b) == {"x": "cat jumps "}
    assert json0.apply(json0.apply(doc, b), a) == {"x": "jumps cat "}


def test_mixed_string_kinds_leave_positions_unmoved() -> None:
    # text-unicode against si: the same blind spot, with a different subtype.
    a = [{"p": ["x"], "t": "text-unicode", "o": ["ab"]}]
    b = [{"p": ["x", 0], "sd": "q"}]
    assert json0.transform(b, a, "right") == b
    assert json0.transform(a, b, "left") == a


def _list_components(size: int) -> list[dict[str, Any]]:
    items = list(range(size))
    found: list[dict[str, Any]] = [{"p": ["l", i], "li": "new"} for i in range(size + 1)]
    found += [{"p": ["l", i], "ld": items[i]} for i in range(size)]
    found += [{"p": ["l", i], "ld": items[i], "li": "new"} for i in range(size)]
    found += [{"p": ["l", i], "lm": j} for i in range(size) for j in range(size)]
    return found


def test_list_changes_converge_exhaustively() -> None:
    """Every pair of single list changes (moves included) on a four-element list converges.

    ot-json0 1.1.0 has no divergent move case at this size, nor (searched at random with up to
    three components a side, nested lists included) beyond it: the known divergence is
    mixed string edits, above.
    """
    doc = {"l": [0, 1, 2, 3]}
    for a, b in itertools.product(_list_components(4), repeat=2):
        left = json0.apply(json0.apply(doc, [a]), json0.transform([b], [a], "right"))
        right = json0.apply(json0.apply(doc, [b]), json0.transform([a], [b], "left"))
        assert left == right, (a, b)
