"""Laws of the rich-text type on generated documents and ops, and garbage never crashing it."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ot import rich_text as rt
from ot.errors import OTError
from tests.ot.outcome import outcome

# Emoji are two units long: generated ops must step over them whole.
CHARS = "ab é😀\n"
ATTRIBUTES = st.none() | st.dictionaries(
    st.sampled_from(["bold", "italic", "color"]),
    st.sampled_from([True, "red", "blue", 1]),
    min_size=1,
    max_size=2,
)
FORMAT = st.none() | st.dictionaries(
    st.sampled_from(["bold", "italic", "color"]),
    st.sampled_from([True, "red", None]),
    min_size=1,
    max_size=2,
)


def _with(op: dict[str, Any], attributes: dict[str, Any] | None) -> dict[str, Any]:
    return {**op, "attributes": attributes} if attributes else op


@st.composite
def documents(draw: st.DrawFn) -> list[dict[str, Any]]:
    parts = draw(
        st.lists(
            st.tuples(
                st.text(alphabet=CHARS, min_size=1, max_size=4)
                | st.builds(lambda name: {"image": name}, st.sampled_from(["a.png", "b.png"])),
                ATTRIBUTES,
            ),
            max_size=4,
        )
    )
    return rt.normalize([_with({"insert": insert}, attrs) for insert, attrs in parts])["ops"]


def _widths(doc: list[dict[str, Any]]) -> list[int]:
    """The UTF-16 width of each character (or embed) of a document."""
    widths: list[int] = []
    for op in doc:
        insert = op["insert"]
        if type(insert) is str:
            widths.extend(2 if ord(ch) > 0xFFFF else 1 for ch in insert)
        else:
            widths.append(1)
    return widths


@st.composite
def ops_on(draw: st.DrawFn, doc: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A valid op on ``doc`` that never cuts an emoji in two."""
    widths = _widths(doc)
    op: list[dict[str, Any]] = []
    pos = 0
    while draw(st.integers(0, 4)):
        kind = draw(st.sampled_from(["retain", "insert", "delete"]))
        if kind == "insert":
            insert = draw(
                st.text(alphabet="xy😀", min_size=1, max_size=3) | st.just({"image": "c"})
            )
            op.append(_with({"insert": insert}, draw(ATTRIBUTES)))
            continue
        if pos == len(widths):
            continue
        n = draw(st.integers(1, len(widths) - pos))
        units = sum(widths[pos : pos + n])
        pos += n
        if kind == "retain":
            op.append(_with({"retain": units}, draw(FORMAT)))
        else:
            op.append({"delete": units})
    return rt.normalize(op)["ops"]


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return rt.normalize(a) == rt.normalize(b)


@settings(max_examples=300)
@given(st.data())
def test_concurrent_ops_converge(data: st.DataObject) -> None:
    doc = data.draw(documents())
    a = data.draw(ops_on(doc))
    b = data.draw(ops_on(doc))
    # rich-text's side names the op that yields: "left" lets the other op win ties.
    b_after_a = rt.apply(rt.apply(doc, a), rt.transform(b, a, "left"))
    a_after_b = rt.apply(rt.apply(doc, b), rt.transform(a, b, "right"))
    assert _same(b_after_a, a_after_b)


@settings(max_examples=200)
@given(st.data())
def test_compose_agrees_with_applying_in_turn(data: st.DataObject) -> None:
    doc = data.draw(documents())
    a = data.draw(ops_on(doc))
    middle = rt.apply(doc, a)
    b = data.draw(ops_on(middle["ops"]))
    assert _same(rt.apply(doc, rt.compose(a, b)), rt.apply(middle, b))


@settings(max_examples=200)
@given(st.data())
def test_inverse_undoes(data: st.DataObject) -> None:
    doc = data.draw(documents())
    op = data.draw(ops_on(doc))
    inverse = rt.invert(op, doc)
    assert inverse == rt.invert_with_doc(op, {"ops": doc})
    assert _same(rt.apply(rt.apply(doc, op), inverse), {"ops": doc})


@settings(max_examples=200)
@given(st.data())
def test_positions_follow_the_text(data: st.DataObject) -> None:
    doc = data.draw(documents())
    op = data.draw(ops_on(doc))
    length = sum(_widths(doc))
    after = sum(_widths(rt.apply(doc, op)["ops"]))
    index = data.draw(st.integers(0, length))
    for priority in (False, True):
        moved = rt.transform_position(index, op, priority)
        assert 0 <= moved <= after
    presence = rt.transform_presence({"index": index, "length": length - index}, op)
    assert presence is not None
    assert presence["length"] >= 0
    assert presence["index"] + presence["length"] <= after


@settings(max_examples=150)
@given(st.data())
def test_nothing_is_mutated(data: st.DataObject) -> None:
    doc = data.draw(documents())
    a = data.draw(ops_on(doc))
    b = data.draw(ops_on(doc))
    saved = copy.deepcopy((doc, a, b))
    rt.apply(doc, a)
    rt.transform(a, b, "left")
    rt.compose(a, rt.transform(b, a, "right"))
    rt.invert(a, doc)
    rt.normalize(a + b)
    rt.transform_presence({"index": 0, "length": 1}, a)
    assert (doc, a, b) == saved


GARBAGE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=12,
)
# Almost-ops: delta-shaped ops with small counts, so they overlap, and garbage mixed in.
COUNT = st.integers(1, 4) | st.integers(-1, 2**54) | GARBAGE
ATTRS = (
    st.dictionaries(st.sampled_from(["bold", "x"]), st.sampled_from([True, None]) | GARBAGE)
    | GARBAGE
)
NEAR_OP = st.lists(
    st.fixed_dictionaries(
        {"insert": st.text(alphabet="a😀", min_size=1, max_size=3) | GARBAGE},
        optional={"attributes": ATTRS},
    )
    | st.fixed_dictionaries({"retain": COUNT}, optional={"attributes": ATTRS})
    | st.fixed_dictionaries({"delete": COUNT}, optional={"attributes": ATTRS, "x": GARBAGE})
    | GARBAGE,
    max_size=5,
)
ANY_OP = NEAR_OP | st.builds(lambda ops: {"ops": ops}, NEAR_OP) | GARBAGE


@settings(max_examples=400)
@given(ANY_OP, ANY_OP, GARBAGE | st.sampled_from(["left", "right"]), GARBAGE)
def test_garbage_raises_only_ot_errors(a: Any, b: Any, side: Any, pos: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: rt.create(a),
        lambda: rt.apply(a, b),
        lambda: rt.transform(a, b, side),
        lambda: rt.compose(a, b),
        lambda: rt.normalize(a),
        lambda: rt.is_noop(a),
        lambda: rt.check_op(a),
        lambda: rt.invert(a),
        lambda: rt.invert(a, b),
        lambda: rt.invert_with_doc(b, a),
        lambda: rt.transform_position(pos, a),
        lambda: rt.transform_cursor(pos, b, True),
        lambda: rt.transform_presence(pos, a),
        lambda: rt.transform_presence({"index": pos, "length": 1}, b),
        lambda: rt.TYPE.transform(b, a, side),
    ]
    for call in calls:
        with contextlib.suppress(OTError):
            call()


@st.composite
def doc_and_op(draw: st.DrawFn) -> tuple[Any, Any]:
    doc = draw(documents())
    return {"ops": doc}, draw(ops_on(doc))


@settings(max_examples=300)
@given(st.one_of(doc_and_op(), st.tuples(ANY_OP, ANY_OP)))
def test_apply_and_invert_is_apply_then_invert_with_doc(case: tuple[Any, Any]) -> None:
    doc, op = case
    both = outcome(lambda: rt.apply_and_invert(doc, op))
    applied = outcome(lambda: rt.apply(doc, op))
    if isinstance(applied, tuple):
        assert both == applied
    else:
        assert both == (applied, rt.invert_with_doc(op, doc))
