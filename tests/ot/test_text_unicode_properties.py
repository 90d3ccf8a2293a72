"""Laws of the text-unicode type on generated documents and ops, and garbage never crashing it."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ot import text_unicode as tu
from ot.errors import NotInvertibleError, OTError
from tests.ot.outcome import outcome

# Emoji and accents as well as ASCII: every one of them is a single position.
TEXT = st.text(alphabet="ab é😀👻\n", max_size=12)
PIECE = st.text(alphabet="xy😀ü", min_size=1, max_size=3)


@st.composite
def op_on(draw: st.DrawFn, doc: str) -> list[Any]:
    """A valid op against ``doc``, in raw (unnormalized) form."""
    op: list[Any] = []
    pos = 0
    while draw(st.integers(0, 4)):
        kind = draw(st.sampled_from(["skip", "insert", "delete"]))
        if kind == "insert":
            op.append(draw(PIECE))
            continue
        if pos == len(doc):
            continue
        n = draw(st.integers(1, len(doc) - pos))
        if kind == "skip":
            op.append(n)
        else:
            op.append({"d": doc[pos : pos + n] if draw(st.booleans()) else n})
        pos += n
    return op


@st.composite
def doc_and_op(draw: st.DrawFn) -> tuple[str, list[Any]]:
    doc = draw(TEXT)
    return doc, tu.normalize(draw(op_on(doc)))


@st.composite
def doc_and_two_ops(draw: st.DrawFn) -> tuple[str, list[Any], list[Any]]:
    doc = draw(TEXT)
    return doc, tu.normalize(draw(op_on(doc))), tu.normalize(draw(op_on(doc)))


@settings(max_examples=300)
@given(doc_and_two_ops())
def test_concurrent_ops_converge(case: tuple[str, list[Any], list[Any]]) -> None:
    doc, a, b = case
    left_first = tu.apply(tu.apply(doc, a), tu.transform(b, a, "right"))
    right_first = tu.apply(tu.apply(doc, b), tu.transform(a, b, "left"))
    assert left_first == right_first


@settings(max_examples=200)
@given(st.data())
def test_compose_agrees_with_applying_in_turn(data: st.DataObject) -> None:
    doc, a = data.draw(doc_and_op())
    middle = tu.apply(doc, a)
    b = tu.normalize(data.draw(op_on(middle)))
    assert tu.apply(doc, tu.compose(a, b)) == tu.apply(middle, b)


@settings(max_examples=200)
@given(doc_and_op())
def test_inverse_undoes(case: tuple[str, list[Any]]) -> None:
    doc, op = case
    after = tu.apply(doc, op)
    inverse = tu.invert_with_doc(op, doc)
    assert tu.apply(after, inverse) == doc
    if all(type(c) is not dict or type(c["d"]) is str for c in op):
        assert tu.invert(op) == inverse
    else:
        with pytest.raises(NotInvertibleError):
            tu.invert(op)


@settings(max_examples=200)
@given(st.data())
def test_normalize_keeps_the_effect(data: st.DataObject) -> None:
    doc = data.draw(TEXT)
    raw = data.draw(op_on(doc))
    op = tu.normalize(raw)
    tu.check_op(op)
    assert tu.normalize(op) == op
    pos = 0
    rebuilt: list[str] = []
    for c in raw:  # the raw op applied by hand
        if type(c) is int:
            rebuilt.append(doc[pos : pos + c])
            pos += c
        elif type(c) is str:
            rebuilt.append(c)
        else:
            pos += c["d"] if type(c["d"]) is int else len(c["d"])
    assert tu.apply(doc, op) == "".join(rebuilt) + doc[pos:]


@settings(max_examples=200)
@given(doc_and_two_ops(), st.integers(0, 12))
def test_positions_stay_in_the_document(case: tuple[str, list[Any], list[Any]], pos: int) -> None:
    doc, a, _ = case
    pos = min(pos, len(doc))
    after = tu.apply(doc, a)
    moved = tu.transform_position(pos, a)
    assert 0 <= moved <= len(after)
    # A selection moves end by end.
    assert tu.transform_selection([pos, 0], a) == [moved, tu.transform_position(0, a)]


@settings(max_examples=150)
@given(doc_and_two_ops())
def test_nothing_is_mutated(case: tuple[str, list[Any], list[Any]]) -> None:
    doc, a, b = case
    a_copy, b_copy = copy.deepcopy(a), copy.deepcopy(b)
    tu.apply(doc, a)
    tu.transform(a, b, "left")
    tu.transform(b, a, "right")
    tu.compose(a, tu.transform(b, a, "right"))
    tu.invert_with_doc(a, doc)
    tu.normalize(a + b)
    tu.transform_position(1, a)
    assert a == a_copy and b == b_copy


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
# Almost-ops: mostly well-formed components with garbage mixed in, to get past the first check.
COMPONENT = (
    st.integers(-2, 2**54)
    | st.text(max_size=3)
    | st.fixed_dictionaries({"d": st.integers(-1, 5) | st.text(max_size=3) | GARBAGE})
    | GARBAGE
)
NEAR_OP = st.lists(COMPONENT, max_size=6)
ANY_OP = NEAR_OP | GARBAGE
ANY_DOC = TEXT | GARBAGE


@settings(max_examples=400)
@given(ANY_DOC, ANY_OP, ANY_OP, GARBAGE | st.sampled_from(["left", "right"]), GARBAGE)
def test_garbage_raises_only_ot_errors(doc: Any, a: Any, b: Any, side: Any, pos: Any) -> None:
    calls: list[Callable[[], object]] = [
        lambda: tu.create(doc),
        lambda: tu.apply(doc, a),
        lambda: tu.transform(a, b, side),
        lambda: tu.compose(a, b),
        lambda: tu.normalize(a),
        lambda: tu.is_noop(a),
        lambda: tu.check_op(a),
        lambda: tu.invert(a),
        lambda: tu.invert_with_doc(a, doc),
        lambda: tu.transform_position(pos, a),
        lambda: tu.transform_selection(pos, b),
        lambda: tu.TYPE.transform(b, a, side),
    ]
    for call in calls:
        with contextlib.suppress(OTError):
            call()


@settings(max_examples=300)
@given(st.one_of(doc_and_op(), st.tuples(ANY_DOC, ANY_OP)))
def test_apply_and_invert_is_apply_then_invert_with_doc(case: tuple[Any, Any]) -> None:
    doc, op = case
    both = outcome(lambda: tu.apply_and_invert(doc, op))
    applied = outcome(lambda: tu.apply(doc, op))
    if isinstance(applied, tuple):
        assert both == applied
    else:
        assert both == (applied, tu.invert_with_doc(op, doc))
