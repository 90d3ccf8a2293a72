"""json0: behaviour beyond the reference vectors (validation, errors, sharing, the extensions)."""

from __future__ import annotations

import copy
import sys
import traceback
from typing import Any

import pytest

from ot import json0
from ot.errors import (
    ApplyError,
    DocumentError,
    InvalidOpError,
    NotInvertibleError,
    OTError,
    PathError,
    UnknownTypeError,
)

DOC: dict[str, Any] = {
    "title": "Ops",
    "settings": {"theme": "dark", "gridSize": 8},
    "widgets": {
        "w1": {"title": "CPU", "position": {"x": 0, "y": 1}, "tags": ["a", "b", "c"]},
        "w2": {"title": "RAM", "position": {"x": 4, "y": 1}, "tags": []},
    },
    "layout": ["w1", "w2"],
}


def test_module_constants() -> None:
    assert json0.TYPE_NAME == "json0"
    assert json0.TYPE_URI == "http://sharejs.org/types/JSONv0"


def test_create_copies_and_checks() -> None:
    assert json0.create() is None
    data = {"a": [1, {"b": 2}]}
    made = json0.create(data)
    assert made == data
    assert made is not data and made["a"] is not data["a"] and made["a"][1] is not data["a"][1]
    for bad in ({"x": float("nan")}, {1: "x"}, {"x": (1, 2)}, {"x": {1, 2}}):
        with pytest.raises(DocumentError):
            json0.create(bad)


def test_apply_copies_only_the_touched_path() -> None:
    before = copy.deepcopy(DOC)
    after = json0.apply(DOC, [{"p": ["widgets", "w1", "position", "x"], "od": 0, "oi": 3}])
    assert before == DOC
    assert after["widgets"]["w1"]["position"] == {"x": 3, "y": 1}
    assert after["widgets"]["w2"] is DOC["widgets"]["w2"]
    assert after["widgets"]["w1"]["tags"] is DOC["widgets"]["w1"]["tags"]
    assert after["settings"] is DOC["settings"]


def test_apply_copies_each_container_once_per_op() -> None:
    op = [
        {"p": ["widgets", "w1", "tags", 0], "li": "z"},
        {"p": ["widgets", "w1", "tags", 1], "lm": 3},
        {"p": ["widgets", "w1", "title", 3], "si": "!"},
    ]
    after = json0.apply(DOC, op)
    assert after["widgets"]["w1"] == {
        "title": "CPU!",
        "position": {"x": 0, "y": 1},
        "tags": ["z", "b", "c", "a"],
    }
    assert DOC["widgets"]["w1"]["tags"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("doc", "op", "expected"),
    [
        (
            {"a": {"b": {}}},
            [
                {"p": ["a", "b", "x"], "oi": 1},
                {"p": ["a", "b"], "od": {"x": 1}, "oi": {"z": 0}},
                {"p": ["a", "b", "y"], "oi": 2},
            ],
            {"a": {"b": {"z": 0, "y": 2}}},
        ),
        (
            {"a": {"b": {}}},
            [
                {"p": ["a", "b", "x"], "oi": 1},
                {"p": [], "od": {}, "oi": {"a": {"b": {}}}},
                {"p": ["a", "b", "y"], "oi": 2},
            ],
            {"a": {"b": {"y": 2}}},
        ),
        (
            {"l": [{}, {}]},
            [
                {"p": ["l", 0, "x"], "oi": 1},
                {"p": ["l", 0], "lm": 1},
                {"p": ["l", 0, "y"], "oi": 2},
            ],
            {"l": [{"y": 2}, {"x": 1}]},
        ),
    ],
)
def test_apply_follows_containers_that_earlier_components_replace_or_move(
    doc: Any, op: list[Any], expected: Any
) -> None:
    assert json0.apply(doc, op) == expected


def test_apply_never_changes_inserted_values_later() -> None:
    value = {"k": [1]}
    op: list[dict[str, Any]] = [{"p": ["new"], "oi": value}, {"p": ["new", "k", 0], "na": 5}]
    after = json0.apply({}, op)
    assert after == {"new": {"k": [6]}}
    assert value == {"k": [1]}
    assert op[0]["oi"] is value


def test_whole_document_replace_and_delete() -> None:
    assert json0.apply(DOC, [{"p": [], "od": DOC, "oi": [1]}]) == [1]
    assert json0.apply(3, [{"p": [], "oi": "x"}]) == "x"
    assert json0.apply(DOC, [{"p": [], "od": DOC}]) is None
    assert json0.apply(1, [{"p": [], "na": 2.5}]) == 3.5


@pytest.mark.parametrize(
    ("op", "error"),
    [
        ([{"p": ["nope", "x"], "oi": 1}], PathError),
        ([{"p": ["title", "x"], "oi": 1}], PathError),
        ([{"p": ["layout", 5, "x"], "oi": 1}], PathError),
        ([{"p": ["layout", "0"], "li": 1}], PathError),
        ([{"p": ["settings", 0], "li": 1}], PathError),
        ([{"p": ["layout", 0], "oi": 1}], PathError),
        ([{"p": ["settings", "nope"], "od": 1}], PathError),
        ([{"p": ["layout", 3], "li": 1}], ApplyError),
        ([{"p": ["layout", 2], "ld": 1}], ApplyError),
        ([{"p": ["layout", 2], "ld": 1, "li": 2}], ApplyError),
        ([{"p": ["layout", 0], "lm": 2}], ApplyError),
        ([{"p": ["layout", 5], "lm": 1}], ApplyError),
        ([{"p": ["title"], "na": 1}], ApplyError),
        ([{"p": ["widgets", "w1", "position", "x", 0], "si": "a"}], ApplyError),
        ([{"p": ["title", 0], "sd": "X"}], ApplyError),
        ([{"p": ["title", "x"], "si": "a"}], InvalidOpError),
        ([{"p": ["title"], "t": "text0", "o": [{"p": 0, "d": "X"}]}], ApplyError),
    ],
)
def test_ops_that_do_not_fit_are_refused(op: list[Any], error: type[OTError]) -> None:
    with pytest.raises(error):
        json0.apply(DOC, op)
    with pytest.raises(error):
        json0.apply_and_invert(DOC, op)


def test_what_the_reference_does_not_check_is_not_checked() -> None:
    # ld/od values are not compared with the document, an oi overwrites an existing key,
    # and a move to where the element is does nothing (the reference's behaviour).
    assert json0.apply(["a"], [{"p": [0], "ld": "stale"}]) == []
    assert json0.apply({"k": 1}, [{"p": ["k"], "od": "stale"}]) == {}
    assert json0.apply({"k": 1}, [{"p": ["k"], "oi": 2}]) == {"k": 2}
    assert json0.apply(["a"], [{"p": [7], "lm": 7}]) == ["a"]
    # JavaScript's slice clamps a string insert past the end to the end.
    assert json0.apply({"s": "ab"}, [{"p": ["s", 9], "si": "c"}]) == {"s": "abc"}


def test_na_overflow_is_refused() -> None:
    with pytest.raises(ApplyError):
        json0.apply(1e308, [{"p": [], "na": 1e308}])
    with pytest.raises(ApplyError):
        json0.apply(10**400, [{"p": [], "na": 0.5}])
    assert json0.apply(10**400, [{"p": [], "na": 1}]) == 10**400 + 1
    with pytest.raises(InvalidOpError):
        json0.compose([{"p": [], "na": 1e308}], [{"p": [], "na": 1e308}])


def test_string_positions_count_utf16_units() -> None:
    doc = {"s": "a😀b"}
    assert json0.apply(doc, [{"p": ["s", 3], "si": "x"}]) == {"s": "a😀xb"}
    assert json0.apply(doc, [{"p": ["s", 1], "sd": "😀"}]) == {"s": "ab"}
    with pytest.raises(ApplyError):
        json0.apply(doc, [{"p": ["s", 2], "si": "x"}])


@pytest.mark.parametrize(
    "op",
    [
        {"p": [], "oi": 1},
        [{"p": [True], "oi": 1}],
        [{"p": [-1], "li": 1}],
        [{"p": [1.0], "li": 1}],
        [{"p": "a", "oi": 1}],
        [{"oi": 1}],
        [{"p": []}],
        [{"p": [0], "li": 1, "oi": 2}],
        [{"p": [0], "li": 1, "extra": 2}],
        [{"p": [], "na": True}],
        [{"p": [], "na": float("nan")}],
        [{"p": [], "na": float("inf")}],
        [{"p": [], "na": "1"}],
        [{"p": [0], "lm": True}],
        [{"p": [0], "lm": -1}],
        [{"p": [], "lm": 0}],
        [{"p": [], "li": 0}],
        [{"p": [], "si": "a"}],
        [{"p": [0], "si": 5}],
        [{"p": [0], "si": "a", "sd": "b"}],
        [{"p": ["k"], "oi": float("nan")}],
        [{"p": ["k"], "oi": {1: 2}}],
        [{"p": ["k"], "oi": [1, (2,)]}],
        [{"p": [], "t": "text0"}],
        [{"p": [], "t": "text0", "o": [{"p": 0, "i": 1}]}],
        ["not a component"],
    ],
)
def test_check_op_refuses_malformed_ops(op: Any) -> None:
    with pytest.raises(InvalidOpError):
        json0.check_op(op)
    with pytest.raises(InvalidOpError):
        json0.apply(DOC, op)
    with pytest.raises(InvalidOpError):
        json0.transform(op, [], "left")
    with pytest.raises(InvalidOpError):
        json0.compose([], op)


def test_unknown_subtype() -> None:
    op = [{"p": [], "t": "nope", "o": []}]
    with pytest.raises(UnknownTypeError):
        json0.check_op(op)
    with pytest.raises(UnknownTypeError):
        json0.get_subtype("nope")
    with pytest.raises(UnknownTypeError):
        json0.get_subtype(["text0"])


def test_default_subtypes() -> None:
    for name in ("text0", "text-unicode", "rich-text"):
        assert json0.get_subtype(name).name == name


def test_register_subtype() -> None:
    class Upper:
        name = "test-upper"
        uri = "urn:test-upper"

        def apply(self, snapshot: Any, op: Any) -> Any:
            return str(snapshot).upper()

        def is_noop(self, op: Any) -> bool:
            return False

    json0.register_subtype(Upper())  # type: ignore[arg-type]
    assert json0.apply({"k": "ab"}, [{"p": ["k"], "t": "test-upper", "o": None}]) == {"k": "AB"}
    with pytest.raises(OTError):
        json0.register_subtype(object())  # type: ignore[arg-type]


def test_side_must_be_left_or_right() -> None:
    with pytest.raises(InvalidOpError):
        json0.transform([], [], "up")


def test_transform_returns_a_new_list() -> None:
    op = [{"p": ["a"], "oi": 1}]
    assert json0.transform(op, [], "left") == op
    assert json0.transform(op, [], "left") is not op
    left, right = json0.transform_x(op, [])
    assert left == op and left is not op and right == []


def test_transform_too_deep_to_recurse_is_refused_not_crashed() -> None:
    # The delete splits at every insert, and each split recurses once more. A low recursion
    # limit stands in for an op with thousands of components.
    inserts = [{"p": ["s", 1 + 2 * i], "si": "x"} for i in range(300)]
    delete = [{"p": ["s", 0], "sd": "ab" * 300}]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(traceback.extract_stack()) + 150)
    try:
        with pytest.raises(InvalidOpError):
            json0.transform(inserts, delete, "left")
        with pytest.raises(InvalidOpError):
            json0.transform_x(inserts, delete)
    finally:
        sys.setrecursionlimit(limit)
    assert json0.transform(inserts[:50], delete, "left") == [{"p": ["s", 0], "si": "x" * 50}]


def test_transform_updates_what_a_delete_removes() -> None:
    delete = [{"p": ["w"], "od": {"n": 1}}]
    change = [{"p": ["w", "n"], "na": 2}]
    assert json0.transform(delete, change, "left") == [{"p": ["w"], "od": {"n": 3}}]
    # A stale od that the other side's change cannot apply to is refused.
    with pytest.raises(PathError):
        json0.transform([{"p": ["w"], "od": {}}], [{"p": ["w", "n"], "od": 1}], "left")


def test_compose_keeps_a_leading_no_op_move() -> None:
    # The reference drops a no-op move only right after a component on the same path.
    assert json0.compose([], [{"p": [3], "lm": 3}]) == [{"p": [3], "lm": 3}]
    assert json0.compose([{"p": [3], "ld": 1, "li": 2}], [{"p": [3], "lm": 3}]) == [
        {"p": [3], "ld": 1, "li": 2}
    ]


def test_compose_cancels_only_primitive_insert_delete() -> None:
    assert json0.compose([{"p": [0], "li": "x"}], [{"p": [0], "ld": "x"}]) == []
    # Containers never compare equal in the reference (it compares cloned objects).
    both = [{"p": [0], "li": [1]}, {"p": [0], "ld": [1]}]
    assert json0.compose(both[:1], both[1:]) == both
    # True is not 1 in JavaScript.
    assert len(json0.compose([{"p": [0], "li": True}], [{"p": [0], "ld": 1}])) == 2


def test_normalize() -> None:
    assert json0.normalize({"p": ["a"], "oi": 1}) == [{"p": ["a"], "oi": 1}]
    assert json0.normalize([{"na": 1}, {"p": None, "na": 2}]) == [{"p": [], "na": 3}]
    assert json0.normalize([{"p": ["s", 0], "si": "a"}, {"p": ["s", 1], "si": "b"}]) == [
        {"p": ["s", 0], "si": "ab"}
    ]
    with pytest.raises(InvalidOpError):
        json0.normalize("op")


def test_invert() -> None:
    op = [
        {"p": ["a"], "od": 1, "oi": 2},
        {"p": ["l", 0], "lm": 2},
        {"p": ["n"], "na": 3},
        {"p": ["s", 1], "si": "x"},
        {"p": ["t"], "t": "text0", "o": [{"p": 0, "i": "q"}]},
    ]
    assert json0.invert(op) == [
        {"p": ["t"], "t": "text0", "o": [{"p": 0, "d": "q"}]},
        {"p": ["s", 1], "sd": "x"},
        {"p": ["n"], "na": -3},
        {"p": ["l", 2], "lm": 0},
        {"p": ["a"], "od": 2, "oi": 1},
    ]
    with pytest.raises(NotInvertibleError):
        json0.invert([{"p": ["u"], "t": "text-unicode", "o": [{"d": 2}]}])


def test_invert_with_doc_reads_the_document() -> None:
    doc = {"k": "old", "l": ["a", "b"], "u": "hello"}
    op = [
        {"p": ["k"], "oi": "new"},
        {"p": ["l", 0], "ld": "stale"},
        {"p": ["u"], "t": "text-unicode", "o": [{"d": 2}]},
    ]
    inverse = json0.invert_with_doc(op, doc)
    assert inverse == [
        {"p": ["u"], "t": "text-unicode", "o": ["he"]},
        {"p": ["l", 0], "li": "a"},
        {"p": ["k"], "od": "new", "oi": "old"},
    ]
    assert json0.apply(json0.apply(doc, op), inverse) == doc
    root = json0.invert_with_doc([{"p": [], "od": None}], {"a": 1})
    assert json0.apply(None, root) == {"a": 1}


def test_apply_and_invert_with_rich_text() -> None:
    doc = {"body": {"ops": [{"insert": "Hello\n"}]}}
    op = [{"p": ["body"], "t": "rich-text", "o": [{"retain": 1}, {"delete": 4}]}]
    after, inverse = json0.apply_and_invert(doc, op)
    assert after == {"body": {"ops": [{"insert": "H\n"}]}}
    assert json0.apply(after, inverse) == doc


def test_is_noop() -> None:
    assert json0.is_noop([])
    assert json0.is_noop(
        [{"p": ["n"], "na": 0}, {"p": ["l", 2], "lm": 2}, {"p": ["s", 0], "si": ""}]
    )
    assert json0.is_noop([{"p": ["s"], "t": "text0", "o": [{"p": 3, "d": ""}]}])
    assert not json0.is_noop([{"p": ["n"], "na": 1}])
    assert not json0.is_noop([{"p": ["k"], "od": 1, "oi": 1}])


@pytest.mark.parametrize(
    ("path", "op", "expected"),
    [
        (["l", 2, "x"], [{"p": ["l", 0], "li": 1}], ["l", 3, "x"]),
        (["l", 2, "x"], [{"p": ["l", 2], "li": 1}], ["l", 3, "x"]),
        (["l", 2, "x"], [{"p": ["l", 3], "li": 1}], ["l", 2, "x"]),
        (["l", 2, "x"], [{"p": ["l", 0], "ld": 1}], ["l", 1, "x"]),
        (["l", 2, "x"], [{"p": ["l", 2], "ld": 1}], None),
        (["l", 2], [{"p": ["l", 2], "ld": 1, "li": 2}], None),
        (["l", 2], [{"p": ["l", 1], "ld": 1, "li": 2}], ["l", 2]),
        (["l", 2], [{"p": ["l", 2], "lm": 0}], ["l", 0]),
        (["l", 2], [{"p": ["l", 0], "lm": 3}], ["l", 1]),
        (["l", 2], [{"p": ["l", 3], "lm": 1}], ["l", 3]),
        (["l", 2], [{"p": ["l", 3], "lm": 2}], ["l", 3]),
        (["l"], [{"p": ["l", 0], "li": 1}], ["l"]),
        (["w", "a"], [{"p": ["w"], "od": {}, "oi": {}}], None),
        (["w", "a"], [{"p": ["w", "b"], "od": 1}], ["w", "a"]),
        (["w", "a"], [{"p": [], "oi": 1}], None),
        (["s"], [{"p": ["s", 0], "si": "x"}, {"p": ["n"], "na": 1}], ["s"]),
        (["m", 1], [{"p": ["l", 0], "li": 1}], ["m", 1]),
    ],
)
def test_transform_path(path: list[Any], op: list[Any], expected: list[Any] | None) -> None:
    assert json0.transform_path(path, op) == expected


def test_transform_path_checks_its_path() -> None:
    with pytest.raises(InvalidOpError):
        json0.transform_path(["a", None], [])


def test_deep_nesting_is_handled_without_recursion() -> None:
    deep: Any = "leaf"
    for _ in range(50_000):
        deep = [deep]
    assert json0.create(deep) is not deep
    path: list[str | int] = [0] * 50_000
    assert json0.apply(deep, [{"p": [*path[:-1], 0], "ld": "leaf"}]) is not deep
    json0.check_op([{"p": ["k"], "oi": deep}])
