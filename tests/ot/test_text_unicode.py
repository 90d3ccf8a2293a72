"""text-unicode against the reference's own transform vectors and hand-checked examples.

Expected values marked "reference" were computed with ot-text-unicode@4.0.0 under Node.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ot import text_unicode as tu
from ot.errors import (
    ApplyError,
    DocumentError,
    InvalidOpError,
    NotInvertibleError,
)
from ot.subtype import Subtype


def _vector_op(raw: list[Any], keep_text: bool) -> list[Any]:
    """A vector op in today's grammar: the file uses the older ``{"i": text}`` for inserts."""
    op: list[Any] = []
    for c in raw:
        if type(c) is int:
            op.append(c)
        elif "i" in c:
            op.append(c["i"])
        else:
            op.append({"d": c["d"] if keep_text else len(c["d"])})
    return tu.normalize(op)


def _strip_text(op: list[Any]) -> list[Any]:
    return [{"d": len(c["d"])} if type(c) is dict and type(c["d"]) is str else c for c in op]


def test_reference_transform_vectors(vectors_dir: Path) -> None:
    lines = (vectors_dir / "text-unicode-transform.jsonl").read_text().splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    assert len(cases) == 46
    for case in cases:
        expected = _vector_op(case["expected"], keep_text=False)
        # As the reference's test reads them: deletes by count.
        op = _vector_op(case["op"], keep_text=False)
        other = _vector_op(case["otherOp"], keep_text=False)
        assert tu.transform(op, other, case["side"]) == expected, case
        # Carrying the deleted text must not change where anything goes.
        op = _vector_op(case["op"], keep_text=True)
        other = _vector_op(case["otherOp"], keep_text=True)
        assert _strip_text(tu.transform(op, other, case["side"])) == expected, case


def test_type_object_satisfies_subtype() -> None:
    subtype: Subtype = tu.TYPE
    assert subtype.name == "text-unicode"
    assert subtype.uri == "http://sharejs.org/types/text-unicode"
    assert subtype.create() == ""
    assert subtype.apply("abc", [1, {"d": 1}]) == "ac"
    assert subtype.is_noop([]) and not subtype.is_noop(["x"])


@pytest.mark.parametrize(
    ("doc", "op", "expected"),
    [
        # reference
        ("a😀b", [1, {"d": "😀"}, "x"], "axb"),
        ("😀😀😀", [2, "👻"], "😀😀👻😀"),
        ("hello world", [6, {"d": "world"}, "there"], "hello there"),
        ("ab", [], "ab"),
    ],
)
def test_apply(doc: str, op: list[Any], expected: str) -> None:
    assert tu.apply(doc, op) == expected


def test_apply_rejects_ops_that_do_not_fit() -> None:
    with pytest.raises(ApplyError):
        tu.apply("ab", [3, "x"])  # the reference throws too
    # The reference lets these through; the document would then disagree with the op's record.
    with pytest.raises(ApplyError):
        tu.apply("ab", [1, {"d": 5}])
    with pytest.raises(ApplyError):
        tu.apply("abc", [{"d": "abd"}])
    with pytest.raises(DocumentError):
        tu.apply(["abc"], ["x"])


@pytest.mark.parametrize(
    ("op", "other", "side", "expected"),
    [
        # reference
        ([1, "ab"], [1, "xy"], "left", [1, "ab"]),
        ([1, "ab"], [1, "xy"], "right", [3, "ab"]),
        ([1, {"d": "bcd"}], [2, {"d": "cdef"}], "left", [1, {"d": "b"}]),
        ([3, "X"], [1, {"d": 4}], "left", [1, "X"]),
        (["😀"], [1, "x"], "left", ["😀"]),
        ([2, "x"], ["👻👻"], "right", [4, "x"]),
    ],
)
def test_transform(op: list[Any], other: list[Any], side: Any, expected: list[Any]) -> None:
    assert tu.transform(op, other, side) == expected


def test_transform_needs_a_side() -> None:
    with pytest.raises(InvalidOpError):
        tu.transform(["a"], ["b"], "middle")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # reference
        ([1, "ab", {"d": "cd"}], [2, {"d": 2}, "Q"], [1, "a", {"d": 3}, "Q"]),
        (["abc"], [1, {"d": 1}], ["ac"]),
        ([{"d": "ab"}], [{"d": 3}], [{"d": 5}]),
        ([{"d": 2}], [{"d": "xyz"}], [{"d": 5}]),
        ([{"d": "ab"}], [{"d": "c"}], [{"d": "abc"}]),
        (["😀x"], [1, {"d": "x"}], ["😀"]),
    ],
)
def test_compose(a: list[Any], b: list[Any], expected: list[Any]) -> None:
    assert tu.compose(a, b) == expected


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        # reference
        (
            [0, "a", "", "b", {"d": 0}, 2, 3, {"d": "x"}, {"d": "y"}, {"d": 2}, 4],
            ["ab", 5, {"d": 4}],
        ),
        ([{"d": "x"}, {"d": "y"}, 5], [{"d": "xy"}]),
        ([0], []),
    ],
)
def test_normalize(op: list[Any], expected: list[Any]) -> None:
    before = json.dumps(op)
    assert tu.normalize(op) == expected
    assert json.dumps(op) == before


def test_check_op_follows_the_reference_rules() -> None:
    tu.check_op(["a", "b"])  # adjacent inserts are allowed by the reference
    for bad in ([1, "a", 2], [1, 2, "a"], [0, "a"], [""], [{"d": 0}], [{"d": ""}], "abc"):
        with pytest.raises(InvalidOpError):
            tu.check_op(bad)
    for bad_component in (True, 1.5, None, [1], {"d": 1, "x": 2}, {"i": "a"}, {"d": False}):
        with pytest.raises(InvalidOpError):
            tu.check_op(["x", bad_component])
    with pytest.raises(InvalidOpError):
        tu.check_op([2**53, "x"])


def test_invert() -> None:
    # reference
    assert tu.invert([2, "ab", {"d": "😀c"}]) == [2, {"d": "ab"}, "😀c"]
    assert tu.invert_with_doc([1, {"d": 2}, "Z"], "a😀bc") == [1, "😀b", {"d": "Z"}]
    with pytest.raises(NotInvertibleError):
        tu.invert([1, {"d": 2}])
    with pytest.raises(ApplyError):
        tu.invert_with_doc([1, {"d": 2}], "ab")


@pytest.mark.parametrize(
    ("pos", "op", "expected"),
    [
        # reference: an insert exactly at the position leaves it in front
        (2, [2, "xx"], 2),
        (3, [2, "xx"], 5),
        (0, ["xx"], 0),
        (5, [1, {"d": 2}], 3),
        (2, [1, {"d": 4}], 1),
        (2, ["😀👻"], 4),
    ],
)
def test_transform_position(pos: int, op: list[Any], expected: int) -> None:
    assert tu.transform_position(pos, op) == expected
    assert tu.transform_position(pos, op, is_own_op=True) == expected


def test_transform_selection() -> None:
    # reference
    assert tu.transform_selection([1, 4], [2, "😀", 1, {"d": 1}]) == [1, 4]
    assert tu.transform_selection([4, 1], [{"d": 1}]) == [3, 0]
    assert tu.transform_selection(3, [{"d": 1}]) == 2
    for bad in ([1], [1, 2, 3], (1, 2), "1", -1, True, [1, None]):
        with pytest.raises(InvalidOpError):
            tu.transform_selection(bad, ["x"])


def test_create() -> None:
    assert tu.create() == ""
    assert tu.create("abc") == "abc"
    assert tu.create(None) == ""
    with pytest.raises(DocumentError):
        tu.create(5)
