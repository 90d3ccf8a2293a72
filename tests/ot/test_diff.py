"""diff(a, b): the json0 op that turns one dashboard into another, minimal where the document's
shape gives it one (text as text ops, layout reorders as moves)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ot import json0, rich_text, text_unicode
from ot.dashboard import textdiff
from ot.dashboard.diff import diff, same_json
from ot.dashboard.document import validate_document
from ot.dashboard.edited import validate_after
from tests.ot.dashboard_strategies import ALPHABET, board, documents, edits, widgets


def _check_diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    before = copy.deepcopy((a, b))
    op = diff(a, b)
    json0.check_op(op)
    after = json0.apply(a, op)
    assert after == b
    assert same_json(after, b)
    validate_after(after, op)
    assert json0.apply(b, json0.invert_with_doc(op, a)) == a
    assert (a, b) == before, "diff changed its arguments"
    return op


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_diff_of_an_edited_document_applies_to_it(data: st.DataObject) -> None:
    a = data.draw(documents())
    b = json0.apply(a, data.draw(edits(a)))
    validate_document(b)
    _check_diff(a, b)


@settings(max_examples=200, deadline=None)
@given(documents(), documents())
def test_diff_of_unrelated_documents_applies(a: dict[str, Any], b: dict[str, Any]) -> None:
    _check_diff(a, b)


@given(documents())
def test_equal_documents_give_the_empty_op(a: dict[str, Any]) -> None:
    assert diff(a, copy.deepcopy(a)) == []


def test_text_fields_become_text_ops() -> None:
    a = board("w1")
    b = copy.deepcopy(a)
    b["title"] = "Ops board"
    b["widgets"]["w1"]["title"] = "w1 (cpu)"
    assert diff(a, b) == [
        {"p": ["title"], "t": "text-unicode", "o": [3, " board"]},
        {"p": ["widgets", "w1", "title"], "t": "text-unicode", "o": [2, " (cpu)"]},
    ]


def test_a_rich_body_gets_a_rich_text_op_with_attribute_retains() -> None:
    a = board("w1")
    b = copy.deepcopy(a)
    b["widgets"]["w1"]["body"] = {
        "ops": [{"insert": "Hello", "attributes": {"bold": True}}, {"insert": " there\n"}]
    }
    assert diff(a, b) == [
        {
            "p": ["widgets", "w1", "body"],
            "t": "rich-text",
            "o": [
                {"retain": 5, "attributes": {"bold": True}},
                {"retain": 1},
                {"insert": "there"},
                {"delete": 5},
            ],
        }
    ]


def test_rich_lengths_count_utf16_units_and_never_split_a_character() -> None:
    a = {"ops": [{"insert": "a😀b\n"}]}
    b = {"ops": [{"insert": "a😁b\n"}]}
    op = textdiff.rich_op(a, b)
    assert op == [{"retain": 1}, {"insert": "😁"}, {"delete": 2}]
    assert rich_text.apply(a, op) == b


def test_a_layout_reorder_is_the_fewest_moves() -> None:
    a = board("a", "b", "c", "d", "e")
    b = copy.deepcopy(a)
    b["layout"] = ["b", "c", "d", "e", "a"]
    assert diff(a, b) == [{"p": ["layout", 0], "lm": 4}]
    b["layout"] = ["e", "a", "b", "c", "d"]
    assert diff(a, b) == [{"p": ["layout", 4], "lm": 0}]


@pytest.mark.parametrize("order", list(itertools.permutations("abcd")))
def test_every_permutation_of_a_layout(order: tuple[str, ...]) -> None:
    a = board("a", "b", "c", "d")
    b = copy.deepcopy(a)
    b["layout"] = list(order)
    op = _check_diff(a, b)
    assert all("lm" in c for c in op)
    # Only what is not in the longest run already in order moves.
    assert len(op) <= 4 - _longest_in_order(list(order))


def _longest_in_order(order: list[str]) -> int:
    best = 0
    for size in range(len(order) + 1):
        for picked in itertools.combinations(order, size):
            if list(picked) == sorted(picked):
                best = size
    return best


def test_added_and_removed_widgets() -> None:
    a = board("a", "b", "c")
    b = board("c", "d", "a")
    op = _check_diff(a, b)
    assert {"p": ["widgets", "b"], "od": a["widgets"]["b"]} in op
    assert {"p": ["widgets", "d"], "oi": b["widgets"]["d"]} in op
    assert {"p": ["layout", 1], "ld": "b"} in op


def test_a_number_that_becomes_a_boolean_is_a_change() -> None:
    a = board("w1")
    a["widgets"]["w1"]["config"] = {"deep": {"flag": 1}}
    b = copy.deepcopy(a)
    b["widgets"]["w1"]["config"] = {"deep": {"flag": True}}
    assert diff(a, b) == [{"p": ["widgets", "w1", "config", "deep", "flag"], "od": 1, "oi": True}]


@given(st.data())
def test_widget_replaced_by_an_unrelated_one(data: st.DataObject) -> None:
    a = board("w1")
    b = copy.deepcopy(a)
    b["widgets"]["w1"] = data.draw(widgets)
    _check_diff(a, b)


def _lcs(a: str, b: str) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], previous + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


@pytest.mark.parametrize("cells", [textdiff.BIT_PARALLEL_CELLS, 0], ids=["bit-parallel", "myers"])
@settings(max_examples=300)
@given(st.text(alphabet=ALPHABET, max_size=14), st.text(alphabet=ALPHABET, max_size=14))
def test_text_op_is_a_shortest_edit(cells: int, a: str, b: str) -> None:
    # Both algorithms: the bit-parallel one for what fits in its matrix, Myers' past it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(textdiff, "BIT_PARALLEL_CELLS", cells)
        _check_shortest(a, b)


def _check_shortest(a: str, b: str) -> None:
    op = textdiff.text_op(a, b)
    assert text_unicode.apply(a, op) == b
    kept = sum(n for kind, n in textdiff.shortest_edit_script(a, b) if kind == "=")
    assert kept == _lcs(a, b)
    readable = textdiff.edit_script(a, b)
    assert sum(n for kind, n in readable if kind != "+") == len(a)
    assert sum(n for kind, n in readable if kind != "-") == len(b)


def test_a_replaced_word_reads_as_one_replacement() -> None:
    assert textdiff.text_op("hello world", "hello there") == [6, {"d": "world"}, "there"]
    assert textdiff.shortest_edit_script("world", "there") != [("-", 5), ("+", 5)]


@pytest.mark.parametrize("cells", [textdiff.BIT_PARALLEL_CELLS, 0], ids=["bit-parallel", "myers"])
def test_past_the_edit_budget_the_middle_is_replaced_whole(
    monkeypatch: pytest.MonkeyPatch, cells: int
) -> None:
    monkeypatch.setattr(textdiff, "MAX_EDITS", 2)
    monkeypatch.setattr(textdiff, "BIT_PARALLEL_CELLS", cells)
    a, b = "<abcdef>", "<badcfe>"
    assert textdiff.shortest_edit_script(a, b) == [("=", 1), ("-", 6), ("+", 6), ("=", 1)]
    assert text_unicode.apply(a, textdiff.text_op(a, b)) == b
