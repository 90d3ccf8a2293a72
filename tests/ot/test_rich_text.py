"""rich-text on hand-checked examples.

Expected values marked "reference" were computed with rich-text@4.1.0 (quill-delta@4.2.2)
under Node, as JSON: a Delta serialises as ``{"ops": [...]}``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ot import delta
from ot import rich_text as rt
from ot.errors import ApplyError, DocumentError, InvalidOpError, NotInvertibleError
from ot.subtype import Subtype


def test_type_object_satisfies_subtype() -> None:
    subtype: Subtype = rt.TYPE
    assert subtype.name == "rich-text"
    assert subtype.uri == "http://sharejs.org/types/rich-text/v1"
    assert subtype.create() == {"ops": []}
    assert subtype.is_noop([{"retain": 3}])
    assert not subtype.is_noop({"ops": [{"retain": 3, "attributes": {"bold": True}}]})


@pytest.mark.parametrize(
    ("doc", "op", "expected"),
    [
        # reference
        (
            [{"insert": "Hello\n"}],
            [{"retain": 5, "attributes": {"bold": True}}, {"insert": "!"}],
            [{"insert": "Hello", "attributes": {"bold": True}}, {"insert": "!\n"}],
        ),
        # reference: the emoji is two units long, as in JavaScript
        (
            [{"insert": "a😀b"}],
            [{"retain": 3}, {"insert": "X", "attributes": {"italic": True}}],
            [{"insert": "a😀"}, {"insert": "X", "attributes": {"italic": True}}, {"insert": "b"}],
        ),
        ([{"insert": "a😀b"}], [{"retain": 1}, {"delete": 2}], [{"insert": "ab"}]),
        (
            [{"insert": {"image": "x.png"}}],
            [{"retain": 1, "attributes": {"width": "10"}}],
            [{"insert": {"image": "x.png"}, "attributes": {"width": "10"}}],
        ),
    ],
)
def test_apply(doc: list[Any], op: list[Any], expected: list[Any]) -> None:
    assert rt.apply(doc, op) == {"ops": expected}
    assert rt.apply({"ops": doc}, {"ops": op}) == {"ops": expected}


def test_apply_refuses_what_would_not_be_a_document() -> None:
    doc = [{"insert": "a😀b"}]
    with pytest.raises(ApplyError):
        rt.apply(doc, [{"retain": 5}, {"insert": "x"}])
    with pytest.raises(ApplyError):
        rt.apply(doc, [{"delete": 5}])
    with pytest.raises(ApplyError):  # would leave half an emoji on each side of the x
        rt.apply(doc, [{"retain": 2}, {"insert": "x"}])
    with pytest.raises(DocumentError):
        rt.apply([{"retain": 1}], [{"insert": "x"}])


@pytest.mark.parametrize(
    ("op", "other", "side", "expected"),
    [
        # reference: "left" gives the OTHER op the tie
        ([{"insert": "A"}], [{"insert": "B"}], "left", [{"retain": 1}, {"insert": "A"}]),
        ([{"insert": "A"}], [{"insert": "B"}], "right", [{"insert": "A"}]),
        (
            [{"retain": 2, "attributes": {"bold": True, "color": "red"}}],
            [{"retain": 2, "attributes": {"bold": None}}],
            "left",
            [{"retain": 2, "attributes": {"color": "red"}}],
        ),
        (
            [{"retain": 2, "attributes": {"bold": True, "color": "red"}}],
            [{"retain": 2, "attributes": {"bold": None}}],
            "right",
            [{"retain": 2, "attributes": {"bold": True, "color": "red"}}],
        ),
        (
            [{"retain": 1}, {"delete": 3}],
            [{"retain": 2}, {"delete": 3}, {"insert": "x"}],
            "left",
            [{"retain": 1}, {"delete": 1}],
        ),
        (
            [{"retain": 2}, {"insert": "x"}],
            [{"insert": "😀"}],
            "left",
            [{"retain": 4}, {"insert": "x"}],
        ),
    ],
)
def test_transform(op: list[Any], other: list[Any], side: Any, expected: list[Any]) -> None:
    assert rt.transform(op, other, side) == {"ops": expected}


def test_transform_needs_a_side() -> None:
    with pytest.raises(InvalidOpError):
        rt.transform([], [], "up")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # reference
        (
            [{"insert": "ab", "attributes": {"bold": True}}],
            [{"retain": 1, "attributes": {"bold": None}}, {"delete": 1}, {"insert": "c"}],
            [{"insert": "ac"}],
        ),
        # reference: a null set on a retain survives, to be applied later
        (
            [{"retain": 3, "attributes": {"color": "red"}}],
            [{"retain": 2, "attributes": {"bold": None, "color": None}}],
            [
                {"retain": 2, "attributes": {"bold": None, "color": None}},
                {"retain": 1, "attributes": {"color": "red"}},
            ],
        ),
        # reference: a leading plain retain passes a's first inserts through as they are
        (
            [{"insert": "a"}, {"insert": "b"}, {"delete": 1}, {"insert": "c"}],
            [{"retain": 1}],
            [{"insert": "abc"}, {"delete": 1}],
        ),
        # reference: True and 1 are different attribute values, so the inserts stay apart
        (
            [{"insert": "a", "attributes": {"bold": True}}],
            [{"retain": 1}, {"insert": "b", "attributes": {"bold": 1}}],
            [
                {"insert": "a", "attributes": {"bold": True}},
                {"insert": "b", "attributes": {"bold": 1}},
            ],
        ),
    ],
)
def test_compose(a: list[Any], b: list[Any], expected: list[Any]) -> None:
    assert rt.compose(a, b) == {"ops": expected}
    assert json.dumps(rt.compose(a, b)["ops"], sort_keys=True) == json.dumps(
        expected, sort_keys=True
    )


def test_invert() -> None:
    op = [
        {"retain": 1},
        {"delete": 2},
        {"retain": 2, "attributes": {"bold": True, "italic": None}},
        {"insert": "Z"},
    ]
    base = [
        {"insert": "ab", "attributes": {"italic": True}},
        {"insert": "cdef"},
        {"insert": {"image": "i"}},
    ]
    # reference
    expected = [
        {"retain": 1},
        {"insert": "b", "attributes": {"italic": True}},
        {"insert": "c"},
        {"retain": 2, "attributes": {"bold": None, "italic": None}},
        {"delete": 1},
    ]
    assert rt.invert(op, base) == {"ops": expected}
    assert rt.invert_with_doc(op, {"ops": base}) == {"ops": expected}
    after = rt.apply(base, op)
    assert rt.apply(after, expected) == rt.normalize(base)


def test_invert_without_the_document() -> None:
    assert rt.invert([{"retain": 2}, {"insert": "x😀"}]) == {"ops": [{"retain": 2}, {"delete": 3}]}
    assert rt.TYPE.invert([{"insert": "x"}]) == {"ops": [{"delete": 1}]}
    with pytest.raises(NotInvertibleError):
        rt.invert([{"delete": 1}])
    with pytest.raises(NotInvertibleError):
        rt.TYPE.invert([{"retain": 1, "attributes": {"bold": True}}])
    with pytest.raises(ApplyError):
        rt.invert([{"delete": 3}], [{"insert": "ab"}])


def test_transform_position() -> None:
    op = [{"retain": 2}, {"insert": "xy"}, {"delete": 1}]
    # reference
    assert [rt.transform_position(i, op) for i in range(5)] == [0, 1, 4, 4, 5]
    assert [rt.transform_position(i, op, priority=True) for i in range(5)] == [0, 1, 2, 4, 5]
    assert rt.transform_cursor(2, op, is_own_op=True) == 4
    assert rt.transform_cursor(2, op, is_own_op=False) == 2
    with pytest.raises(InvalidOpError):
        rt.transform_position(-1, op)
    with pytest.raises(InvalidOpError):
        rt.transform_position(True, op)


def test_transform_presence() -> None:
    # reference
    moved = rt.transform_presence(
        {"index": 2, "length": 3, "extra": "k"}, [{"insert": "😀"}, {"retain": 3}, {"delete": 1}]
    )
    assert moved == {"index": 4, "length": 2, "extra": "k"}
    assert rt.transform_presence({"index": 0, "length": 1}, [{"insert": "ab"}], is_own_op=True) == {
        "index": 2,
        "length": 1,
    }
    assert rt.transform_presence({"index": 0, "length": 1}, [{"insert": "ab"}]) == {
        "index": 0,
        "length": 3,
    }
    assert rt.transform_presence(None, [{"insert": "ab"}]) is None
    for bad in ({"index": 0}, {"index": "0", "length": 1}, [0, 1], {"index": 0, "length": -1}):
        with pytest.raises(InvalidOpError):
            rt.transform_presence(bad, [])


def test_normalize_merges_like_delta_push() -> None:
    raw = [
        {"retain": 1},
        {"retain": 1},
        {"delete": 2},
        {"insert": "a"},
        {"insert": "b", "attributes": {"bold": True}},
        {"insert": "c", "attributes": {}},
        {"retain": 4},
    ]
    # reference: new Delta().retain(2).delete(2).insert('a').insert('b', {bold: true}).insert('c')
    assert rt.normalize(raw) == {
        "ops": [
            {"retain": 2},
            {"insert": "a"},
            {"insert": "b", "attributes": {"bold": True}},
            {"insert": "c"},
            {"delete": 2},
        ]
    }


def test_create() -> None:
    # reference
    assert rt.create([{"insert": "x"}]) == {"ops": [{"insert": "x"}]}
    assert rt.create({"ops": [{"insert": "x"}]}) == {"ops": [{"insert": "x"}]}
    assert rt.create(None) == {"ops": []}
    for bad in ("text", [{"retain": 1}], [{"delete": 1}], {"ops": [], "x": 1}, [{"insert": ""}]):
        with pytest.raises(DocumentError):
            rt.create(bad)


@pytest.mark.parametrize(
    "op",
    [
        [{"retain": 0}],
        [{"retain": True}],
        [{"retain": 1.0}],
        [{"retain": {"embed": 1}}],  # quill-delta 5's embed retains are not part of rich-text 4.1
        [{"delete": -1}],
        [{"delete": 1, "attributes": {"bold": True}}],
        [{"insert": 5}],
        [{"insert": "x", "retain": 1}],
        [{"insert": "x", "attributes": []}],
        [{"insert": "x", "attributes": {"bold": float("nan")}}],
        [{"insert": "x", "extra": 1}],
        [{"insert": {"image": float("inf")}}],
        [{"insert": "x", "attributes": {"a": 2**60}}],
        ["x"],
        {"ops": "x"},
        "x",
    ],
)
def test_check_op_rejects(op: Any) -> None:
    with pytest.raises(InvalidOpError):
        rt.check_op(op)


def test_deeply_nested_values_are_refused_not_crashed_on() -> None:
    value: Any = "x"
    for _ in range(5000):
        value = {"a": value}
    with pytest.raises(InvalidOpError):
        rt.check_op([{"insert": "x", "attributes": {"a": value}}])
    with pytest.raises(InvalidOpError):
        rt.check_op([{"insert": value}])


def test_utf16_helpers() -> None:
    assert len(rt.to_utf16("a😀é")) == 4
    assert rt.from_utf16(rt.to_utf16("a😀é👻")) == "a😀é👻"
    assert rt.from_utf16(rt.to_utf16("😀")[:1]) == "\ud83d"


def test_attribute_maps() -> None:
    # reference: AttributeMap.compose / diff / invert / transform of quill-delta@4.2.2
    a = {"bold": True, "color": "red"}
    b = {"color": None, "italic": True}
    assert delta.compose_attributes(a, b, keep_null=False) == {"italic": True, "bold": True}
    assert delta.compose_attributes(a, b, keep_null=True) == {
        "color": None,
        "italic": True,
        "bold": True,
    }
    assert delta.compose_attributes(None, {"x": None}, keep_null=False) is None
    assert delta.diff_attributes(
        {"a": 1, "b": 2, "c": {"x": 1}}, {"b": 3, "c": {"x": 1}, "d": None}
    ) == {"a": None, "b": 3, "d": None}
    assert delta.diff_attributes(None, None) is None
    assert delta.invert_attributes(
        {"bold": True, "color": None, "size": "2"}, {"color": "red", "size": "2", "font": "x"}
    ) == {"color": "red", "bold": None}
    assert delta.transform_attributes(a, {"bold": False, "font": "x"}, priority=True) == {
        "font": "x"
    }
    assert delta.transform_attributes({"bold": True}, {"bold": False}, priority=False) == {
        "bold": False
    }
    assert delta.transform_attributes(None, {"x": 1}, priority=True) == {"x": 1}
    assert delta.transform_attributes({"x": 1}, None, priority=True) is None


def test_results_never_share_a_list_with_the_arguments() -> None:
    doc = {"ops": [{"insert": "abc"}]}
    op = {"ops": [{"retain": 1}, {"insert": "x"}]}
    for result in (rt.apply(doc, op), rt.compose(op, op), rt.normalize(op), rt.create(doc)):
        assert result["ops"] is not doc["ops"] and result["ops"] is not op["ops"]
