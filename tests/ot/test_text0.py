"""text0, json0's own string type: UTF-16 positions, validation, and its OT laws."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ot import text0
from ot.errors import ApplyError, DocumentError, InvalidOpError
from ot.subtype import Subtype

ALPHABET = "abc é中😀"


def test_type_object() -> None:
    subtype: Subtype = text0.TYPE
    assert (subtype.name, subtype.uri) == ("text0", "http://sharejs.org/types/textv0")
    assert subtype.create() == ""
    assert subtype.apply("ab", [{"p": 1, "i": "x"}]) == "axb"
    assert subtype.transform([{"p": 1, "i": "x"}], [{"p": 0, "i": "y"}], "left") == [
        {"p": 2, "i": "x"}
    ]
    assert subtype.compose([{"p": 0, "i": "a"}], [{"p": 1, "i": "b"}]) == [{"i": "ab", "p": 0}]
    assert subtype.invert([{"p": 0, "i": "a"}]) == [{"d": "a", "p": 0}]
    assert subtype.invert_with_doc([{"p": 0, "d": "a"}], "ab") == [{"i": "a", "p": 0}]
    assert subtype.normalize({"i": "a"}) == [{"i": "a", "p": 0}]
    assert subtype.is_noop([{"p": 4, "i": ""}])
    assert text0.TYPE.transform_cursor(1, [{"p": 0, "i": "xy"}]) == 3


def test_create() -> None:
    assert text0.create(None) == ""
    assert text0.create("x") == "x"
    with pytest.raises(DocumentError):
        text0.create(5)


def test_positions_count_utf16_units() -> None:
    assert text0.units("a😀b") == 4
    assert text0.apply("a😀b", [{"p": 3, "i": "x"}]) == "a😀xb"
    assert text0.apply("a😀b", [{"p": 1, "d": "😀"}]) == "ab"
    assert text0.transform([{"p": 4, "i": "x"}], [{"p": 0, "i": "😀"}], "left") == [
        {"i": "x", "p": 6}
    ]
    assert text0.transform_cursor(2, [{"p": 0, "i": "😀😀"}], "left") == 6


def test_positions_inside_a_surrogate_pair_are_refused() -> None:
    with pytest.raises(ApplyError):
        text0.apply("a😀b", [{"p": 2, "i": "x"}])
    with pytest.raises(InvalidOpError):
        text0.transform([{"p": 0, "d": "😀"}], [{"p": 1, "i": "x"}], "left")


def test_apply_follows_javascript_slices() -> None:
    assert text0.apply("ab", [{"p": 7, "i": "c"}]) == "abc"
    assert text0.apply("ab", [{"p": 7, "d": ""}]) == "ab"
    with pytest.raises(ApplyError):
        text0.apply("ab", [{"p": 1, "d": "bc"}])
    with pytest.raises(ApplyError):
        text0.apply("ab", [{"p": 0, "d": "x"}])
    with pytest.raises(ApplyError):
        text0.apply(["ab"], [{"p": 0, "i": "x"}])


@pytest.mark.parametrize(
    "op",
    [
        {"p": 0, "i": "x"},
        [{"p": -1, "i": "x"}],
        [{"p": True, "i": "x"}],
        [{"p": 1.0, "i": "x"}],
        [{"p": 0}],
        [{"p": 0, "i": "x", "d": "y"}],
        [{"p": 0, "i": 5}],
        [{"p": 0, "i": "x", "q": 1}],
        [[0, "x"]],
    ],
)
def test_malformed_ops_are_refused(op: Any) -> None:
    with pytest.raises(InvalidOpError):
        text0.check_op(op)
    with pytest.raises(InvalidOpError):
        text0.apply("abc", op)
    with pytest.raises(InvalidOpError):
        text0.compose(op, [])


def test_normalize_refuses_what_is_not_an_op() -> None:
    # The reference turns {d: "x"} (no p, no i) into [] silently.
    with pytest.raises(InvalidOpError):
        text0.normalize({"d": "x"})
    with pytest.raises(InvalidOpError):
        text0.normalize("x")


def test_side_and_cursor_are_checked() -> None:
    with pytest.raises(InvalidOpError):
        text0.transform([], [], "middle")
    with pytest.raises(InvalidOpError):
        text0.transform_cursor(0, [], "middle")
    with pytest.raises(InvalidOpError):
        text0.transform_cursor(-1, [])
    with pytest.raises(InvalidOpError):
        text0.transform_cursor(True, [])


def test_overlapping_deletes_must_agree() -> None:
    with pytest.raises(InvalidOpError):
        text0.transform([{"p": 0, "d": "abc"}], [{"p": 1, "d": "xy"}], "left")


def test_invert_with_doc_checks_the_op_applies() -> None:
    with pytest.raises(ApplyError):
        text0.invert_with_doc([{"p": 0, "d": "z"}], "ab")


# --- laws ----------------------------------------------------------------------------------


@st.composite
def edits(draw: st.DrawFn, doc: str) -> list[dict[str, Any]]:
    """A valid op on ``doc``: one to three inserts and deletes at character boundaries."""
    op: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(doc)))
        at = text0.units(doc[:start])
        if start < len(doc) and draw(st.booleans()):
            end = draw(st.integers(start + 1, len(doc)))
            op.append({"p": at, "d": doc[start:end]})
            doc = doc[:start] + doc[end:]
        else:
            new = draw(st.text(ALPHABET, max_size=3))
            op.append({"p": at, "i": new})
            doc = doc[:start] + new + doc[start:]
    return op


@st.composite
def pairs(draw: st.DrawFn) -> tuple[str, list[Any], list[Any]]:
    doc = draw(st.text(ALPHABET, max_size=8))
    return doc, draw(edits(doc)), draw(edits(doc))


@st.composite
def sequences(draw: st.DrawFn) -> tuple[str, list[Any], list[Any]]:
    doc = draw(st.text(ALPHABET, max_size=8))
    first = draw(edits(doc))
    return doc, first, draw(edits(text0.apply(doc, first)))


LAWS = settings(max_examples=200, deadline=None)


@LAWS
@given(pairs())
def test_concurrent_edits_converge(case: tuple[str, list[Any], list[Any]]) -> None:
    doc, a, b = case
    left, right = text0.transform_x(a, b)
    assert left == text0.transform(a, b, "left")
    assert right == text0.transform(b, a, "right")
    assert text0.apply(text0.apply(doc, a), right) == text0.apply(text0.apply(doc, b), left)


@LAWS
@given(sequences())
def test_compose_and_invert(case: tuple[str, list[Any], list[Any]]) -> None:
    doc, a, b = case
    saved = copy.deepcopy((a, b))
    after = text0.apply(text0.apply(doc, a), b)
    assert text0.apply(doc, text0.compose(a, b)) == after
    assert text0.apply(doc, text0.normalize(a + b)) == after
    assert text0.apply(after, text0.invert(a + b)) == doc
    assert text0.apply(after, text0.invert_with_doc(a + b, doc)) == doc
    assert (a, b) == saved


@LAWS
@given(pairs(), st.integers(0, 12), st.sampled_from(["left", "right"]))
def test_cursor_stays_in_the_text(
    case: tuple[str, list[Any], list[Any]], cursor: int, side: str
) -> None:
    doc, a, _ = case
    position = min(cursor, text0.units(doc))
    moved = text0.transform_cursor(position, a, side)
    assert 0 <= moved <= text0.units(text0.apply(doc, a))
