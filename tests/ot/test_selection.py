"""Text selections and presence values carried through concurrent ops."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ot import json0
from ot.dashboard.ops import build
from ot.dashboard.selection import transform_presence, transform_selection
from ot.errors import InvalidOpError, OTError

TITLE = ["widgets", "w1", "title"]
BODY = ["widgets", "w1", "body"]


def sel(index: int, length: int = 0, path: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"p": TITLE if path is None else path, "index": index, "length": length, **extra}


def unicode(*o: Any, path: list[Any] | None = None) -> list[dict[str, Any]]:
    return [{"p": TITLE if path is None else path, "t": "text-unicode", "o": list(o)}]


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (unicode("ab"), (5, 4)),  # insert in front: shifts
        (unicode(9, "ab"), (3, 4)),  # insert after: nothing
        (unicode(4, "ab"), (3, 6)),  # insert inside: grows
        (unicode(3, "ab"), (3, 6)),  # insert at the start: lands inside, like the reference
        (unicode({"d": 2}), (1, 4)),  # delete in front: shifts back
        (unicode(2, {"d": 3}), (2, 2)),  # delete over the start: trims
        (unicode({"d": 10}), (0, 0)),  # delete all: collapses
        (unicode("x", path=["widgets", "w1", "notes"]), (3, 4)),  # another field: nothing
    ],
)
def test_text_unicode_ops_move_both_ends(op: Any, expected: tuple[int, int]) -> None:
    moved = transform_selection(sel(3, 4), op)
    assert moved is not None
    assert (moved["index"], moved["length"]) == expected


def test_rich_text_respects_ownership_at_the_caret() -> None:
    op = [{"p": BODY, "t": "rich-text", "o": [{"retain": 2}, {"insert": "xy"}]}]
    theirs = transform_selection(sel(2, 0, BODY), op)
    mine = transform_selection(sel(2, 0, BODY), op, is_own=True)
    assert theirs is not None and mine is not None
    assert theirs["index"] == 2 and mine["index"] == 4


def test_rich_text_delete_and_emoji_units() -> None:
    op = [{"p": BODY, "t": "rich-text", "o": [{"insert": "😀"}, {"retain": 1}, {"delete": 2}]}]
    moved = transform_selection(sel(1, 4, BODY), op)
    assert moved == sel(3, 2, BODY)


@pytest.mark.parametrize(
    ("component", "is_own", "expected"),
    [
        ({"p": [*TITLE, 1], "si": "ab"}, False, (5, 4)),
        ({"p": [*TITLE, 3], "si": "ab"}, False, (3, 6)),
        ({"p": [*TITLE, 3], "si": "ab"}, True, (5, 4)),
        ({"p": [*TITLE, 0], "si": "😀"}, False, (5, 4)),
        ({"p": [*TITLE, 4], "sd": "abcdef"}, False, (3, 1)),
        ({"p": [*TITLE, 0], "sd": "abcd"}, False, (0, 3)),
        ({"p": TITLE, "t": "text0", "o": [{"p": 0, "i": "a"}, {"p": 0, "d": "ab"}]}, False, (2, 4)),
    ],
)
def test_json0_string_edits(
    component: dict[str, Any], is_own: bool, expected: tuple[int, int]
) -> None:
    moved = transform_selection(sel(3, 4), [component], is_own=is_own)
    assert moved is not None
    assert (moved["index"], moved["length"]) == expected


def test_the_path_follows_list_moves_and_other_keys_pass_through() -> None:
    notes = ["widgets", "w1", "data", "notes"]
    selection = sel(1, 1, [*notes, 0], color="red")
    op = [{"p": [*notes, 0], "li": "new"}, {"p": [*notes, 1], "t": "text-unicode", "o": ["x"]}]
    assert transform_selection(selection, op) == sel(2, 1, [*notes, 1], color="red")


@pytest.mark.parametrize(
    "op",
    [
        [{"p": ["widgets", "w1"], "od": {}}],
        [{"p": TITLE, "od": "CPU"}],
        [{"p": ["widgets"], "od": {}, "oi": {}}],
    ],
)
def test_a_selection_in_a_removed_field_is_gone(op: Any) -> None:
    assert transform_selection(sel(1), op) is None


def test_the_input_is_not_changed() -> None:
    selection = sel(3, 4)
    before = copy.deepcopy(selection)
    transform_selection(selection, unicode("ab"))
    assert selection == before


def test_presence_moves_its_selection_and_keeps_the_rest() -> None:
    value = {
        "cursor": {"x": 4, "y": 5},
        "selection": sel(3),
        "viewport": [0, 0, 10, 10],
        "color": "#f00",
        "widgetId": "w1",
    }
    moved = transform_presence(value, unicode("ab"))
    assert moved == {**value, "selection": sel(5)}


def test_presence_loses_a_removed_widget_and_its_selection() -> None:
    doc = {
        "title": "t",
        "description": "",
        "settings": {},
        "widgets": {
            "w1": {
                "type": "text",
                "title": "CPU",
                "position": {"x": 0, "y": 0, "width": 1, "height": 1},
                "config": {},
                "data": {},
                "isLocked": False,
            }
        },
        "layout": ["w1"],
    }
    op = build(doc, {"type": "removeWidget", "targetId": "w1"})
    moved = transform_presence({"selection": sel(1), "widgetId": "w1", "color": "blue"}, op)
    assert moved == {"selection": None, "widgetId": None, "color": "blue"}
    kept = transform_presence({"widgetId": "w2"}, op)
    assert kept == {"widgetId": "w2"}


@pytest.mark.parametrize(
    ("op", "survives"),
    [
        ([{"p": ["widgets", "w1"], "od": {}, "oi": {}}], True),
        ([{"p": ["widgets", "w1"], "od": {}}, {"p": ["widgets", "w1"], "oi": {}}], True),
        ([{"p": ["widgets"], "od": {}, "oi": {"w1": {}}}], True),
        ([{"p": ["widgets"], "od": {}, "oi": {"w2": {}}}], False),
        ([{"p": [], "od": {}, "oi": {"widgets": {}}}], False),
        ([{"p": ["widgets", "w2"], "od": {}}], True),
    ],
)
def test_presence_widget_survives_replacements(op: Any, survives: bool) -> None:
    moved = transform_presence({"widgetId": "w1"}, op)
    assert moved == {"widgetId": "w1" if survives else None}


def test_no_presence_stays_none() -> None:
    assert transform_presence(None, unicode("a")) is None
    assert transform_presence({"selection": None}, unicode("a")) == {"selection": None}


@pytest.mark.parametrize(
    ("selection", "op"),
    [
        (None, []),
        ({"p": "title", "index": 0, "length": 0}, []),
        ({"p": TITLE, "index": -1, "length": 0}, []),
        ({"p": TITLE, "index": 0, "length": True}, []),
        ({"p": TITLE, "index": "0", "length": 0}, []),
        (sel(1), None),
        (sel(1), [{"p": TITLE}]),
        (sel(1), [{"p": TITLE, "t": "text-unicode", "o": [0]}]),
        (sel(1), [{"p": TITLE, "t": "rich-text", "o": [{"delete": 0}]}]),
    ],
)
def test_malformed_input_is_an_invalid_op(selection: Any, op: Any) -> None:
    with pytest.raises(InvalidOpError):
        transform_selection(selection, op)


@pytest.mark.parametrize("value", [[], "x", {"widgetId": 3}, {"selection": "x"}])
def test_malformed_presence_is_an_invalid_op(value: Any) -> None:
    with pytest.raises(InvalidOpError):
        transform_presence(value, [])


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="ab😀", max_size=8),
    data=st.data(),
)
def test_a_selection_stays_inside_the_edited_text(text: str, data: st.DataObject) -> None:
    doc = {"title": text}
    index = data.draw(st.integers(0, len(text)))
    length = data.draw(st.integers(0, len(text) - index))
    position = data.draw(st.integers(0, len(text)))
    if data.draw(st.booleans()) and position < len(text):
        size = data.draw(st.integers(1, len(text) - position))
        o: list[Any] = (
            [position, {"d": text[position : position + size]}]
            if position
            else [{"d": text[:size]}]
        )
    else:
        o = [position, "xy"] if position else ["xy"]
    op = [{"p": ["title"], "t": "text-unicode", "o": o}]
    after = json0.apply(doc, op)["title"]
    moved = transform_selection(
        {"p": ["title"], "index": index, "length": length}, op, is_own=data.draw(st.booleans())
    )
    assert moved is not None
    assert 0 <= moved["index"] <= moved["index"] + moved["length"] <= len(after)


_garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=3)
    | st.sampled_from(["text-unicode", "rich-text", "text0", "title"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "p",
                    "t",
                    "o",
                    "si",
                    "sd",
                    "oi",
                    "od",
                    "index",
                    "length",
                    "selection",
                    "widgetId",
                    "retain",
                    "insert",
                    "d",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_garbage, _garbage, st.booleans())
def test_garbage_meets_only_ot_errors(value: Any, op: Any, is_own: bool) -> None:
    calls: list[Callable[[], object]] = [
        lambda: transform_selection(value, op, is_own=is_own),
        lambda: transform_selection(sel(1), op, is_own=is_own),
        lambda: transform_presence(value, op, is_own=is_own),
        lambda: transform_presence({"selection": value, "widgetId": "w1"}, op),
    ]
    for call in calls:
        with contextlib.suppress(OTError):
            call()
