"""The JavaScript view of values: equality, UTF-16 length, and the strict-JSON walk."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ot.jsvalue import (
    MAX_SAFE_INTEGER,
    JsonProblem,
    Strict,
    first_problem,
    js_equal,
    js_identical,
    json_problem,
    utf16_length,
)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (1, True, False),
        (False, False, True),
        ({"a": [1, None]}, {"a": [1, None]}, True),
        ({"a": [1, None]}, {"a": [1, False]}, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ([True], [1], False),
        ("1", 1, False),
        (None, None, True),
    ],
)
def test_js_equal_tells_booleans_from_numbers(a: Any, b: Any, equal: bool) -> None:
    assert js_equal(a, b) is equal


def test_js_identical_never_matches_objects() -> None:
    value = {"a": 1}
    assert not js_identical(value, value)
    assert js_identical(1, 1.0) and not js_identical(True, 1) and js_identical(None, None)


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_length("a😀é") == 4
    assert utf16_length("plain") == 5


@pytest.mark.parametrize(
    ("value", "strict", "problem"),
    [
        ({"n": [1, 2**60]}, Strict(safe_integers=True), JsonProblem("integer", ("n", 1), 2**60)),
        ({"n": [1, 2**60]}, Strict(), None),
        ([[[]]], Strict(max_depth=2), JsonProblem("depth", (0, 0), [])),
        ([[[]]], Strict(max_depth=3), None),
        ({"a": "x\x00"}, Strict(clean_strings=True), JsonProblem("nul", ("a",), "x\x00")),
        ({"\ud800": 1}, Strict(clean_strings=True), JsonProblem("surrogate", (), "\ud800")),
        ({"\ud800": 1}, Strict(), None),
        ({1: 2}, Strict(), JsonProblem("key", (), 1)),
        ([float("inf")], Strict(), JsonProblem("number", (0,), float("inf"))),
        ([2.0**63], Strict(huge=2.0**63), JsonProblem("huge", (0,), 2.0**63)),
        ((1,), Strict(), JsonProblem("type", (), (1,))),
        ([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER], Strict(safe_integers=True), None),
    ],
)
def test_json_problem_names_what_and_where(
    value: Any, strict: Strict, problem: JsonProblem | None
) -> None:
    assert json_problem(value, strict) == problem
    assert first_problem(value, strict) == problem


def test_the_first_problem_is_the_first_in_document_order() -> None:
    found = json_problem([1, [float("nan")], {"k": 2**60}], Strict(safe_integers=True))
    assert found is not None and found.path == (1, 0)


def test_subclasses_pass_only_where_allowed() -> None:
    from enum import StrEnum

    class Word(StrEnum):
        YES = "yes"

    assert json_problem({"w": Word.YES}, Strict(subclasses=True)) is None
    assert json_problem({"w": Word.YES}, Strict()) == JsonProblem("type", ("w",), Word.YES)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats()
    | st.text(alphabet=st.sampled_from(["a", "é", "\x00", "\ud800", "\U0001f600"]), max_size=3)
    | st.tuples(st.integers())
)
_KEYS = st.text(alphabet=st.sampled_from(["k", "\x00", "\udc00", "é"]), max_size=2) | st.integers()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=12,
)
_STRICTS = st.builds(
    Strict,
    max_depth=st.none() | st.integers(min_value=0, max_value=3),
    safe_integers=st.booleans(),
    clean_strings=st.booleans(),
    huge=st.none() | st.just(1e300),
)


@settings(max_examples=500)
@given(_VALUES, _STRICTS)
def test_the_quick_walk_agrees_with_the_careful_one(value: Any, strict: Strict) -> None:
    # json_problem's quick walk settles a value only where the careful walk finds nothing.
    assert (json_problem(value, strict) is None) == (first_problem(value, strict) is None)
    assert json_problem(value, strict) == first_problem(value, strict)
