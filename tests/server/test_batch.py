"""The batch message on a dashboard's channel: its publisher is readable without decoding it."""

from __future__ import annotations

from uuid import uuid4

from server.core.ids import DashboardId
from server.core.submission import Committed
from server.sequencer.records import BatchOutcome, decode_outcome, encode_outcome, origin_prefix


def test_a_message_starts_with_its_origin_and_decodes_the_same() -> None:
    d = DashboardId(uuid4())
    outcome = BatchOutcome(d, committed=(Committed(d, 3, "c1", 7, op=[{"p": ["x"], "oi": 1}]),))
    message = encode_outcome(outcome, "gw-1")
    assert message.startswith(origin_prefix("gw-1"))
    assert not message.startswith(origin_prefix("gw-"))
    assert not encode_outcome(outcome).startswith(origin_prefix("gw-1"))
    assert decode_outcome(d, message) == outcome
