"""The wire codec: strict JSON at the door, one typed message per action, replies' shapes."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.core.codes import CloseCode
from server.core.ids import DashboardId
from server.core.submission import Committed, PresenceUpdate
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.codec import decode, decode_frame, echo_of, parse_message
from server.protocol.errors import ProtocolError
from server.protocol.query import DashboardQuery, parse_query
from server.store.model import Snapshot

DOC = "0b7e7a52-3c36-4f55-9d43-1c2f0c7f6a10"
LIMITS = {"max_bytes": 10_000, "max_depth": 8}


def parsed(raw: dict[str, Any]) -> m.Message:
    return decode(json.dumps(raw), **LIMITS)


def refused(frame: str | bytes, **limits: int) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode(frame, **{**LIMITS, **limits})
    return info.value


# -- strict JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        '{"a":"pp","x":NaN}',
        '{"a":"pp","x":Infinity}',
        '{"a":"pp","x":-Infinity}',
        '{"a":"pp","x":1e400}',
        '{"a":"pp","x":"\\u0000"}',
        '{"a":"pp","x\\u0000":1}',
        '{"a":"pp","x":"\\ud800"}',
        '{"a":"pp","x":"\\udc00 tail"}',
        '{"a":"pp","x":9007199254740992}',
        '{"a":"pp","x":-9007199254740992}',
        '{"a":"pp","x":123456789012345678901234567890}',
        '{"a":"pp","x":[1.5,{"y":-123456789012345678901234567890}]}',
        '{"a":"pp",',
        "not json",
        "[1, 2]",
        '"pp"',
        b'{"a":"pp","x":"\xff"}',
    ],
)
def test_strict_json_refuses(frame: str | bytes) -> None:
    error = refused(frame)
    assert error.code == "bad_json"
    assert not error.fatal


def test_safe_integers_and_unicode_pass() -> None:
    value = decode_frame(
        '{"a":"pp","big":9007199254740991,"neg":-9007199254740991,"s":"\\ud83d\\ude00 é"}',
        **LIMITS,
    )
    assert value["big"] == 2**53 - 1
    assert value["s"] == "\U0001f600 é"


def test_large_floats_pass_and_stay_floats() -> None:
    # Floats this large send the frame to the second parser (they may be integer overflows):
    # real floats come out of it as they went in.
    value = decode_frame('{"a":"pp","x":1e19,"y":[-9.3e18]}', **LIMITS)
    assert value["x"] == 1e19 and type(value["x"]) is float
    assert value["y"] == [-9.3e18]


def test_depth_limit_counts_containers() -> None:
    assert decode_frame('{"a":' + "[" * 7 + "]" * 7 + "}", **LIMITS)
    assert refused('{"a":' + "[" * 8 + "]" * 8 + "}").code == "bad_json"


def test_very_deep_nesting_is_refused_without_crashing() -> None:
    frame = "[" * 100_000 + "]" * 100_000
    assert refused(frame, max_bytes=1_000_000).code == "bad_json"


def test_oversize_frame_is_fatal_with_1009() -> None:
    error = refused('{"a":"pp","x":"' + "y" * 10_000 + '"}')
    assert error.code == "message_too_large"
    assert error.fatal and error.close_code == CloseCode.TOO_LARGE


def test_size_counts_utf8_bytes() -> None:
    # 4000 characters, 12000 bytes
    assert refused('{"a":"auth","token":"' + "€" * 4000 + '"}').code == "message_too_large"


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.text() | st.integers(-(2**53) + 1, 2**53 - 1)
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=12))  # fmt: skip
def test_strict_json_round_trips_plain_values(value: Any) -> None:
    text = json.dumps({"a": "pp", "v": value})
    if "\\u0000" in text:  # st.text() may produce U+0000, which is always refused
        assert refused(text, max_bytes=1_000_000, max_depth=64).code == "bad_json"
    else:
        assert decode_frame(text, max_bytes=1_000_000, max_depth=64) == {"a": "pp", "v": value}


# -- actions -------------------------------------------------------------------------------


def test_every_action_parses() -> None:
    cases: list[tuple[dict[str, Any], m.Message]] = [
        ({"a": "auth", "token": "t0k"}, m.Auth(token="t0k")),
        (
            {"a": "hs", "id": None, "protocol": 1, "protocolMinor": 2},
            m.Handshake(client_id=None, protocol=1, protocol_minor=2),
        ),
        (
            {"a": "hs", "id": "abc"},
            m.Handshake(client_id="abc", protocol=None, protocol_minor=None),
        ),
        ({"a": "pp"}, m.Ping()),
        ({"a": "f", "c": "dashboards", "d": DOC, "v": None}, m.Fetch("dashboards", DOC, None)),
        ({"a": "f", "c": "dashboards", "d": DOC, "v": 3}, m.Fetch("dashboards", DOC, 3)),
        ({"a": "s", "c": "dashboards", "d": DOC}, m.Subscribe("dashboards", DOC, None)),
        ({"a": "u", "c": "dashboards", "d": DOC}, m.Unsubscribe("dashboards", DOC)),
        ({"a": "bf", "c": "dashboards", "b": [DOC]}, m.BulkFetch("dashboards", (DOC,), None)),
        (
            {"a": "bs", "c": "dashboards", "b": {DOC: 4, "x": None}},
            m.BulkSubscribe("dashboards", (DOC, "x"), (4, None)),
        ),
        ({"a": "bu", "c": "dashboards", "b": [DOC]}, m.BulkUnsubscribe("dashboards", (DOC,), None)),
        (
            {
                "a": "op",
                "c": "dashboards",
                "d": DOC,
                "v": 2,
                "seq": 1,
                "x": {},
                "op": [{"p": ["title"], "od": "a", "oi": "b"}],
            },
            m.Submit("dashboards", DOC, 2, None, 1, op=[{"p": ["title"], "od": "a", "oi": "b"}]),
        ),
        (
            {
                "a": "op",
                "c": "dashboards",
                "d": DOC,
                "v": 2,
                "src": "s1",
                "seq": 9,
                "dop": [{"type": "move", "targetId": "w", "value": {"x": 1}}],
            },
            m.Submit(
                "dashboards",
                DOC,
                2,
                "s1",
                9,
                dop=[{"type": "move", "targetId": "w", "value": {"x": 1}}],
            ),
        ),
        (
            {
                "a": "op",
                "c": "dashboards",
                "d": DOC,
                "v": None,
                "seq": 1,
                "create": {"type": outgoing.JSON0_URI, "data": {}},
            },
            m.Submit(
                "dashboards", DOC, None, None, 1, create={"type": outgoing.JSON0_URI, "data": {}}
            ),
        ),
        (
            {"a": "op", "c": "dashboards", "d": DOC, "v": 7, "seq": 2, "del": True},
            m.Submit("dashboards", DOC, 7, None, 2, delete=True),
        ),
        (
            {"a": "nf", "id": 1, "c": "dashboards", "d": DOC, "v": 3},
            m.SnapshotFetch(1, "dashboards", DOC, 3),
        ),
        (
            {"a": "nt", "id": 2, "c": "dashboards", "d": DOC, "ts": 1700000000000},
            m.SnapshotFetchAt(2, "dashboards", DOC, 1700000000000),
        ),
        (
            {
                "a": "p",
                "ch": f"dashboards.{DOC}",
                "id": "me",
                "p": {"index": 1},
                "pv": 0,
                "c": "dashboards",
                "d": DOC,
                "v": 4,
                "t": outgoing.JSON0_URI,
            },
            m.PresenceSend(
                f"dashboards.{DOC}", "me", {"index": 1}, 0, "dashboards", DOC, 4, outgoing.JSON0_URI
            ),
        ),
        (
            {"a": "p", "ch": "room", "id": "me", "p": None, "pv": 3},
            m.PresenceSend("room", "me", None, 3, None, None, None, None),
        ),
        ({"a": "ps", "ch": "room", "seq": 1}, m.PresenceSubscribe("room", 1)),
        ({"a": "pu", "ch": "room", "seq": 2}, m.PresenceUnsubscribe("room", 2)),
        ({"a": "pr", "ch": "room"}, m.PresenceRequest("room")),
        (
            {"a": "qf", "id": 1, "c": "dashboards", "q": {"title": "x"}, "o": {}},
            m.QueryFetch(1, "dashboards", {"title": "x"}),
        ),
        (
            {"a": "qs", "id": 2, "c": "dashboards", "q": {}, "r": [[DOC, 3]]},
            m.QuerySubscribe(2, "dashboards", {}),
        ),
        ({"a": "qu", "id": 2}, m.QueryUnsubscribe(2)),
    ]
    for raw, expected in cases:
        assert parsed(raw) == expected, raw
    assert {type(expected).action for _, expected in cases} == {
        "auth", "hs", "pp", "f", "s", "u", "bf", "bs", "bu", "op", "nf", "nt",
        "p", "ps", "pu", "pr", "qf", "qs", "qu",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ({"a": "nope"}, "unknown_action"),
        ({"c": "dashboards"}, "unknown_action"),
        ({"a": 7}, "unknown_action"),
        ({"a": "pp", "extra": 1}, "invalid_message"),
        ({"a": "f", "c": "dashboards"}, "invalid_message"),
        ({"a": "f", "c": "dashboards", "d": 5}, "invalid_message"),
        ({"a": "f", "c": "dashboards", "d": DOC, "v": -1}, "invalid_message"),
        ({"a": "f", "c": "dashboards", "d": DOC, "v": 1.5}, "invalid_message"),
        ({"a": "f", "c": "dashboards", "d": DOC, "v": True}, "invalid_message"),
        ({"a": "f", "c": "dashboards", "d": ""}, "invalid_message"),
        ({"a": "f", "c": "dashboards", "d": "x" * 300}, "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 1}, "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 1, "op": [], "del": True},
         "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 1, "op": {"p": []}},
         "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 1, "op": [1]}, "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "op": []}, "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "seq": 1, "op": []}, "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 2**53 - 1, "op": []},
         "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 1, "del": "yes"},
         "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 1, "create": {"data": 1}},
         "invalid_message"),
        ({"a": "op", "c": "dashboards", "d": DOC, "v": 1, "seq": 1, "x": 3, "op": []},
         "invalid_message"),
        ({"a": "bs", "c": "dashboards", "b": []}, "invalid_message"),
        ({"a": "bs", "c": "dashboards", "b": {DOC: -2}}, "invalid_message"),
        ({"a": "bs", "c": "dashboards", "b": "x"}, "invalid_message"),
        ({"a": "p", "ch": "c.d", "id": "x", "pv": 0}, "invalid_message"),
        ({"a": "ps", "ch": "c.d"}, "invalid_message"),
        ({"a": "qf", "c": "dashboards", "q": {}}, "invalid_message"),
        ({"a": "qf", "id": 1, "c": "dashboards", "q": []}, "invalid_message"),
        ({"a": "hs", "protocol": [1]}, "invalid_message"),
        ({"a": "auth"}, "invalid_message"),
        ({"a": "auth", "token": "x" * 600}, "invalid_message"),
    ],
)  # fmt: skip
def test_invalid_messages_are_refused(raw: dict[str, Any], code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message(raw)
    assert info.value.code == code
    assert not info.value.fatal


def test_errors_echo_routing_fields() -> None:
    raw = {"a": "op", "c": "dashboards", "d": DOC, "v": 3, "seq": 4, "src": "s", "op": 5}
    with pytest.raises(ProtocolError) as info:
        parse_message(raw)
    assert info.value.echo == {"a": "op", "c": "dashboards", "d": DOC, "v": 3, "seq": 4, "src": "s"}
    reply = outgoing.error(info.value.echo, info.value.code, info.value.message)
    assert reply["error"]["code"] == "invalid_message"
    assert reply["seq"] == 4


def test_echo_keeps_only_sane_types() -> None:
    assert echo_of({"a": "p", "ch": "x", "id": "me", "pv": 2, "p": {"big": 1}}) == {
        "a": "p", "ch": "x", "id": "me", "pv": 2,
    }  # fmt: skip
    assert echo_of({"a": "bf", "c": "dashboards", "b": [DOC], "v": True, "d": None}) == {
        "a": "bf", "c": "dashboards", "b": [DOC],
    }  # fmt: skip


# -- outgoing ------------------------------------------------------------------------------


def test_outgoing_shapes_match_sharedb() -> None:
    dashboard = DashboardId(UUID(DOC))
    assert outgoing.greeting("init", "c1") == {
        "a": "init", "protocol": 1, "protocolMinor": 2, "id": "c1",
        "type": "http://sharejs.org/types/JSONv0",
    }  # fmt: skip
    committed = Committed(dashboard, 5, "src", 3, op=[{"p": ["title"], "oi": "x"}])
    assert outgoing.op(DOC, committed) == {
        "a": "op", "c": "dashboards", "d": DOC, "v": 5, "src": "src", "seq": 3,
        "op": [{"p": ["title"], "oi": "x"}],
    }  # fmt: skip
    assert outgoing.op(DOC, Committed(dashboard, 0, "s", 1, create={"type": "t", "data": {}}))[
        "create"
    ] == {"type": "t", "data": {}}
    assert outgoing.op(DOC, Committed(dashboard, 9, "s", 1, delete=True))["del"] is True
    assert outgoing.ack(DOC, 5, "src", 3) == {
        "a": "op", "c": "dashboards", "d": DOC, "v": 5, "src": "src", "seq": 3,
    }  # fmt: skip
    snap = Snapshot(dashboard, 4, {"title": "T"})
    assert outgoing.doc_reply("s", DOC, outgoing.snapshot_data(snap)) == {
        "a": "s", "c": "dashboards", "d": DOC,
        "data": {"v": 4, "data": {"title": "T"}, "type": "http://sharejs.org/types/JSONv0"},
    }  # fmt: skip
    assert outgoing.snapshot_data(Snapshot(dashboard, 9, None))["type"] is None
    assert outgoing.snapshot_at(7, "nf", snap) == {
        "a": "nf", "id": 7, "v": 4, "type": "http://sharejs.org/types/JSONv0",
        "data": {"title": "T"}, "m": None,
    }  # fmt: skip
    update = PresenceUpdate(dashboard, "p1", "src", 2, 4, {"x": 1})
    assert outgoing.presence(update) == {
        "a": "p", "ch": f"dashboards.{DOC}", "src": "src", "id": "p1", "p": {"x": 1}, "pv": 2,
        "c": "dashboards", "d": DOC, "v": 4, "t": "http://sharejs.org/types/JSONv0",
    }  # fmt: skip
    results = outgoing.query_results("qf", 3, [(DOC, snap)])
    assert results == {
        "a": "qf", "id": 3, "extra": None,
        "data": [{"v": 4, "data": {"title": "T"}, "type": outgoing.JSON0_URI, "d": DOC}],
    }  # fmt: skip
    assert json.loads(outgoing.encode(results)) == results


# -- queries -------------------------------------------------------------------------------


def test_query_language() -> None:
    assert parse_query({}) == DashboardQuery()
    assert parse_query({"title": " Ops ", "$search": "cpu", "$limit": 5, "$skip": 10}) == (
        DashboardQuery(title="Ops", search="cpu", limit=5, skip=10)
    )
    for bad in ({"owner": 1}, {"$limit": 0}, {"$limit": 101}, {"$skip": -1}, {"title": 3},
                {"$limit": True}, {"title": "x" * 201}):  # fmt: skip
        with pytest.raises(ProtocolError) as info:
            parse_query(bad, echo={"a": "qf", "id": 1})
        assert info.value.code == "invalid_message"
        assert info.value.echo == {"a": "qf", "id": 1}


def test_an_op_broadcast_is_built_and_encoded_once_per_doc() -> None:
    d = DashboardId(UUID("4f9c8a2e-53a4-4a43-9d8e-2b1f0c7a6d51"))
    committed = Committed(d, 4, "c1", 2, op=[{"p": ["title", 0], "si": "x"}])
    first, again = outgoing.op(str(d), committed), outgoing.op(str(d), committed)
    assert first is again
    text = outgoing.encode(first)
    assert outgoing.encode(again) is text
    assert json.loads(text) == {
        "a": "op", "c": "dashboards", "d": str(d), "v": 4, "src": "c1", "seq": 2,
        "op": [{"p": ["title", 0], "si": "x"}],
    }  # fmt: skip
    assert outgoing.op(str(d).upper(), committed)["d"] == str(d).upper()
