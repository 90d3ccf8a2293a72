"""The per-connection state machine, driven by plain values (no event loop, no sockets)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from server.core.ids import DashboardId, UserId
from server.core.submission import Committed, PresenceUpdate
from server.protocol import message as m
from server.protocol import outgoing
from server.protocol.errors import ProtocolError
from server.protocol.names import bound_src, channel_dashboard, dashboard_id, echo, src_belongs
from server.protocol.session import CatchUp, Session
from server.store.model import Snapshot

DOC = "0b7e7a52-3c36-4f55-9d43-1c2f0c7f6a10"
DASH = DashboardId(UUID(DOC))
USER = UserId(uuid4())
CONN = "0123456789abcdef0123456789abcdef"
SRC = bound_src(USER, CONN)


def session() -> Session:
    s = Session(CONN)
    s.authenticated_as(USER)
    return s


def op(version: int, src: str = "other", seq: int = 1) -> Committed:
    return Committed(DASH, version, src, seq, op=[{"p": ["title"], "oi": f"t{version}"}])


def actions(messages: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(action, version, has op) per message: enough to check order and kind."""
    return [(x["a"], x.get("v"), "op" in x) for x in messages]


def subscribed_at(s: Session, version: int) -> None:
    assert s.subscribe_started(DASH, DOC)
    out = s.subscribe_loaded(DASH, {"a": "s"}, snapshot=Snapshot(DASH, version, {}))
    assert actions(out.messages) == [("s", None, False)]


# -- handshake and authentication ----------------------------------------------------------


def test_handshake_waits_for_authentication() -> None:
    s = Session(CONN)
    assert s.greeting() == outgoing.greeting("init", CONN)
    assert s.admit(m.Handshake(client_id=None, protocol=1, protocol_minor=2)) == []
    replies = s.authenticated_as(USER)
    assert replies[0] == {"a": "auth", "user": str(USER)}
    # the id handed out once authenticated is bound to the user
    assert replies[1] == outgoing.greeting("hs", SRC)
    assert src_belongs(SRC, USER) and not src_belongs(SRC, UserId(uuid4()))
    # a client that reconnects asks for its previous id, and keeps it if it is the user's
    previous = bound_src(USER, "f" * 24)
    assert s.admit(m.Handshake(client_id=previous, protocol=1, protocol_minor=2)) == [
        outgoing.greeting("hs", previous)
    ]
    assert s.src == previous


def test_reconnecting_client_keeps_its_previous_id() -> None:
    s = Session(CONN)
    previous = bound_src(USER, "e" * 24)
    s.admit(m.Handshake(client_id=previous, protocol=1, protocol_minor=2))
    assert s.authenticated_as(USER)[1]["id"] == previous


def test_nobody_takes_another_users_client_id() -> None:
    someone_else = bound_src(UserId(uuid4()), "d" * 24)
    for asked in (someone_else, "made-up", SRC[:-1]):
        s = Session(CONN)
        s.admit(m.Handshake(client_id=asked, protocol=1, protocol_minor=2))
        assert s.authenticated_as(USER)[1]["id"] == SRC
    s = session()
    with pytest.raises(ProtocolError) as info:
        s.submit_record(m.Submit("dashboards", DOC, 1, someone_else, 1, op=[]), DASH)
    assert info.value.code == "invalid_message"
    assert s.pending_submits() == 0


def test_nothing_but_auth_and_handshake_before_authentication() -> None:
    s = Session(CONN)
    assert s.admit(m.Auth(token="t")) is None
    for message in (m.Ping(), m.Fetch("dashboards", DOC, None), m.QueryUnsubscribe(1)):
        with pytest.raises(ProtocolError) as info:
            s.admit(message)
        assert info.value.code == "unauthenticated"
        assert not info.value.fatal
        assert info.value.echo["a"] == message.action


def test_after_authentication() -> None:
    s = session()
    assert s.admit(m.Ping()) == [{"a": "pp"}]
    assert s.admit(m.Fetch("dashboards", DOC, None)) is None
    with pytest.raises(ProtocolError) as info:
        s.admit(m.Auth(token="again"))
    assert info.value.code == "invalid_message"


def test_doc_ids_must_be_canonical_dashboard_uuids() -> None:
    assert dashboard_id("dashboards", DOC, {}) == DASH
    for collection, doc in (
        ("widgets", DOC),
        ("dashboards", DOC.upper()),
        ("dashboards", DOC.replace("-", "")),
        ("dashboards", "{" + DOC + "}"),
        ("dashboards", "nope"),
    ):
        with pytest.raises(ProtocolError) as info:
            dashboard_id(collection, doc, {"a": "f"})
        assert info.value.code == "not_found"
        assert info.value.echo == {"a": "f"}
    assert channel_dashboard(f"dashboards.{DOC}", {}) == DASH
    for ch in ("room", f"widgets.{DOC}", "dashboards."):
        with pytest.raises(ProtocolError):
            channel_dashboard(ch, {})


def test_echo_of_typed_messages() -> None:
    assert echo(m.Submit("dashboards", DOC, 3, None, 7, op=[])) == {
        "a": "op", "c": "dashboards", "d": DOC, "v": 3, "seq": 7,
    }  # fmt: skip
    assert echo(m.PresenceSend("ch", "me", {"x": 1}, 4, None, None, None, None)) == {
        "a": "p", "ch": "ch", "id": "me", "pv": 4,
    }  # fmt: skip
    assert echo(m.BulkFetch("dashboards", (DOC,), None)) == {
        "a": "bf", "c": "dashboards", "b": [DOC],
    }  # fmt: skip
    assert echo(m.SnapshotFetch(5, "dashboards", DOC, None))["id"] == 5


# -- the op stream of a subscription -------------------------------------------------------


def test_ops_during_load_are_held_then_sent_in_order_without_duplicates() -> None:
    s = session()
    assert s.subscribe_started(DASH, DOC)
    assert s.op_committed(op(4)).messages == ()
    assert s.op_committed(op(5)).messages == ()
    out = s.subscribe_loaded(DASH, {"a": "s"}, snapshot=Snapshot(DASH, 5, {}))
    # v4 is inside the snapshot (version 5): only v5 follows the reply
    assert actions(out.messages) == [("s", None, False), ("op", 5, True)]
    assert out.catch_up is None
    assert actions(s.op_committed(op(6)).messages) == [("op", 6, True)]
    assert s.op_committed(op(6)).messages == ()  # a duplicate


def test_subscribe_from_a_version_sends_the_ops_then_the_reply() -> None:
    s = session()
    s.subscribe_started(DASH, DOC)
    s.op_committed(op(3))
    out = s.subscribe_loaded(
        DASH, {"a": "s", "c": "dashboards", "d": DOC}, ops=[op(2), op(3)], from_version=2
    )
    assert actions(out.messages) == [("op", 2, True), ("op", 3, True), ("s", None, False)]


def test_the_session_asks_for_no_catch_up_of_its_own() -> None:
    # The hub's feed delivers a listener's stream gapless from the loaded version: were an op
    # ever to skip ahead, it goes out and the client fetches what it lacks (ShareDB's client
    # does on any gap); the session never holds the stream for a read of the log.
    s = session()
    subscribed_at(s, 3)
    out = s.op_committed(op(5))
    assert actions(out.messages) == [("op", 5, True)]
    assert out.catch_up is None
    assert actions(s.op_committed(op(6)).messages) == [("op", 6, True)]
    assert s.op_committed(op(4)).messages == ()  # passed already


def test_ops_for_other_or_unsubscribed_dashboards_are_ignored() -> None:
    s = session()
    assert s.op_committed(op(1)).messages == ()
    subscribed_at(s, 1)
    assert s.unsubscribed(DASH)
    assert not s.unsubscribed(DASH)
    assert s.op_committed(op(1)).messages == ()


def test_resubscribing_reloads_in_place() -> None:
    s = session()
    subscribed_at(s, 1)
    assert not s.subscribe_started(DASH, DOC)  # the listener stays
    out = s.subscribe_loaded(DASH, {"a": "s"}, snapshot=Snapshot(DASH, 4, {}))
    assert actions(out.messages) == [("s", None, False)]
    assert actions(s.op_committed(op(4)).messages) == [("op", 4, True)]


# -- submits -------------------------------------------------------------------------------


def submit(s: Session, version: int, seq: int = 1, **kind: Any) -> Any:
    body = kind or {"op": [{"p": ["title"], "oi": "mine"}]}
    return s.submit_record(m.Submit("dashboards", DOC, version, None, seq, **body), DASH)


def test_own_op_in_the_stream_is_acknowledged_in_place() -> None:
    s = session()
    subscribed_at(s, 3)
    record = submit(s, 3)
    assert record.src == SRC and record.user_id == USER
    out = s.op_committed(op(3))  # someone else's op came first
    assert actions(out.messages) == [("op", 3, True)]
    out = s.op_committed(Committed(DASH, 4, SRC, 1, op=[{"p": ["title"], "oi": "mine"}]))
    assert out.messages == (outgoing.ack(DOC, 4, SRC, 1),)
    # the hub's submit returns afterwards: nothing more to send
    assert s.submit_committed(record, Committed(DASH, 4, SRC, 1)).messages == ()
    assert s.pending_submits() == 0


def test_submit_returning_before_the_stream_is_acked_by_the_stream() -> None:
    s = session()
    subscribed_at(s, 3)
    record = submit(s, 3)
    out = s.submit_committed(record, Committed(DASH, 4, SRC, 1, op=[]))
    assert out.messages == ()
    assert out.catch_up is None  # the stream carries it, after v3
    assert s.pending_submits() == 1
    assert actions(s.op_committed(op(3)).messages) == [("op", 3, True)]
    out = s.op_committed(Committed(DASH, 4, SRC, 1, op=[]))
    assert out.messages == (outgoing.ack(DOC, 4, SRC, 1),)
    assert s.pending_submits() == 0
    assert s.op_committed(Committed(DASH, 4, SRC, 1, op=[])).messages == ()


def test_a_commit_waiting_for_the_stream_is_acked_once_the_client_unsubscribes() -> None:
    s = session()
    subscribed_at(s, 3)
    record = submit(s, 3)
    # The hub says v5; the stream has sent nothing past v3 yet when the client unsubscribes.
    assert s.submit_committed(record, Committed(DASH, 5, SRC, 1, op=[])).messages == ()
    assert s.stranded(DASH) == []  # still subscribed: the stream will ack it
    assert s.unsubscribed(DASH)
    stranded = s.stranded(DASH)
    assert [r for r, _ in stranded] == [record]
    out = s.submit_committed(*stranded[0])
    assert out.catch_up == CatchUp(DASH, 3, 5)  # the ops it missed, then the ack
    messages = s.submit_ops_loaded(record, [op(3), op(4), Committed(DASH, 5, SRC, 1, op=[])])
    assert messages[-1] == outgoing.ack(DOC, 5, SRC, 1)
    assert s.pending_submits() == 0 and s.stranded(DASH) == []


def test_own_op_held_during_a_load_and_inside_the_snapshot_is_acked_before_the_reply() -> None:
    s = session()
    subscribed_at(s, 3)
    first, second = submit(s, 3, seq=1), submit(s, 3, seq=2)
    assert not s.subscribe_started(DASH, DOC)  # resubscribed in place while both are in flight
    assert s.op_committed(Committed(DASH, 3, SRC, 1, op=[])).messages == ()  # held
    assert s.op_committed(Committed(DASH, 4, SRC, 2, op=[])).messages == ()  # held
    out = s.subscribe_loaded(DASH, {"a": "s"}, snapshot=Snapshot(DASH, 5, {}))
    assert actions(out.messages) == [("op", 3, False), ("op", 4, False), ("s", None, False)]
    assert s.pending_submits() == 0
    for record, version in ((first, 3), (second, 4)):
        assert s.submit_committed(record, Committed(DASH, version, SRC, record.seq)).messages == ()


def test_submit_on_unsubscribed_dashboard_sends_missing_ops_then_ack() -> None:
    s = session()
    record = submit(s, 3, seq=5)
    out = s.submit_committed(record, Committed(DASH, 5, SRC, 5, op=[]))
    assert out.catch_up == CatchUp(DASH, 3, 5)
    messages = s.submit_ops_loaded(record, [op(3), op(4), Committed(DASH, 5, SRC, 5, op=[])])
    assert actions(messages) == [("op", 3, True), ("op", 4, True), ("op", 5, False)]
    assert messages[-1] == outgoing.ack(DOC, 5, SRC, 5)


def test_submit_on_unsubscribed_dashboard_without_concurrent_ops_is_acked_at_once() -> None:
    s = session()
    record = submit(s, 3)
    out = s.submit_committed(record, Committed(DASH, 3, SRC, 1))
    assert out.messages == (outgoing.ack(DOC, 3, SRC, 1),)
    assert out.catch_up is None


def test_domain_op_ack_carries_the_resulting_json0() -> None:
    s = session()
    record = submit(s, 2, dop=[{"type": "update", "targetId": "w", "value": 1}])
    json0 = [{"p": ["widgets", "w", "title"], "od": "a", "oi": "b"}]
    out = s.submit_committed(record, Committed(DASH, 2, SRC, 1, op=json0))
    assert out.messages == (outgoing.ack(DOC, 2, SRC, 1, json0),)


def test_resubmitted_op_keeps_its_original_src() -> None:
    s = session()
    subscribed_at(s, 7)
    old = bound_src(USER, "c" * 24)
    record = s.submit_record(m.Submit("dashboards", DOC, 6, old, 9, op=[]), DASH)
    assert record.src == old
    # committed long ago, inside the snapshot: acknowledged with its original version
    out = s.submit_committed(record, Committed(DASH, 6, old, 9))
    assert out.messages == (outgoing.ack(DOC, 6, old, 9),)


def test_ack_placed_before_the_snapshot_that_contains_it() -> None:
    s = session()
    record = submit(s, 3)
    s.subscribe_started(DASH, DOC)
    assert s.submit_committed(record, Committed(DASH, 3, SRC, 1)).messages == ()
    out = s.subscribe_loaded(DASH, {"a": "s"}, snapshot=Snapshot(DASH, 4, {}))
    assert actions(out.messages) == [("op", 3, False), ("s", None, False)]


def test_failed_submit_answers_an_error_with_the_routing_fields() -> None:
    s = session()
    record = submit(s, 3, seq=8)
    [reply] = s.submit_failed(record, "forbidden", "viewers cannot edit")
    assert reply == {
        "a": "op", "c": "dashboards", "d": DOC, "v": 3, "src": SRC, "seq": 8,
        "error": {"code": "forbidden", "message": "viewers cannot edit"},
    }  # fmt: skip
    assert s.pending_submits() == 0


# -- presence ------------------------------------------------------------------------------


def presence(src: str, value: Any, pv: int = 0, client: str = "p1") -> PresenceUpdate:
    return PresenceUpdate(DASH, client, src, pv, 3, value)


def test_presence_reaches_only_subscribers_and_never_its_sender() -> None:
    s = session()
    assert s.presence_received(presence("other", {"i": 1})) == []
    assert s.presence_subscribed(DASH)
    assert not s.presence_subscribed(DASH)
    assert s.presence_received(presence(SRC, {"i": 1})) == []
    assert s.presence_received(presence("other", {"i": 1})) == [
        outgoing.presence(presence("other", {"i": 1}))
    ]
    snap = s.presence_snapshot(DASH, [presence("other", 1), presence(SRC, 2, client="me")])
    assert [x["src"] for x in snap] == ["other"]


def test_own_presence_is_cleared_on_unsubscribe_and_on_close() -> None:
    s = session()
    s.presence_subscribed(DASH)
    send = m.PresenceSend(f"dashboards.{DOC}", "me", {"i": 1}, 4, "dashboards", DOC, 3, None)
    update = s.presence_update(send, DASH)
    assert update == PresenceUpdate(DASH, "me", SRC, 4, 3, {"i": 1})
    assert s.closing() == []  # computed, not yet admitted: nothing to clear
    s.presence_published(update)
    [gone] = s.closing()
    assert gone == PresenceUpdate(DASH, "me", SRC, 5, 3, None)
    s.presence_published(s.presence_update(send, DASH))
    was, cleared = s.presence_unsubscribed(DASH)
    assert was and [c.value for c in cleared] == [None]
    assert s.closing() == []


def test_null_presence_needs_no_clearing() -> None:
    s = session()
    for value, pv in (({"i": 1}, 1), (None, 2)):
        send = m.PresenceSend("c", "me", value, pv, None, None, 2, None)
        s.presence_published(s.presence_update(send, DASH))
    assert s.closing() == []


def test_presence_far_behind_the_head_is_refused() -> None:
    s = session()
    subscribed_at(s, 300)
    old = m.PresenceSend(f"dashboards.{DOC}", "me", {"i": 1}, 1, "dashboards", DOC, 199, None)
    with pytest.raises(ProtocolError) as refused:
        s.presence_update(old, DASH, max_lag=100)
    assert refused.value.code == "presence_too_old"
    recent = m.PresenceSend(f"dashboards.{DOC}", "me", {"i": 1}, 1, "dashboards", DOC, 200, None)
    assert s.presence_update(recent, DASH, max_lag=100).version == 200


def test_channel_presence_refers_to_the_version_the_connection_was_sent() -> None:
    s = session()
    ch = f"dashboards.{DOC}"
    channel_send = m.PresenceSend(ch, "me", {"i": 1}, 0, None, None, None, None)
    with pytest.raises(ProtocolError) as refused:
        s.presence_update(channel_send, DASH)
    assert refused.value.code == "invalid_message"
    assert refused.value.echo == {"a": "p", "ch": ch, "id": "me", "pv": 0}
    subscribed_at(s, 4)
    assert s.presence_update(channel_send, DASH).version == 4
    s.op_committed(op(4))
    assert s.presence_update(channel_send, DASH).version == 5
    # an explicit doc version (ShareDB's doc presence) is kept as sent
    doc_send = m.PresenceSend(ch, "me", {"i": 1}, 1, "dashboards", DOC, 2, None)
    assert s.presence_update(doc_send, DASH).version == 2
