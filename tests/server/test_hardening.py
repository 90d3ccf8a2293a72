"""Hostile input against a served gateway: absurd timestamps, huge bulk requests, documents past
the size cap, floods of failed logins; and tracebacks kept in JSON logs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import pytest

from server.gateway.audit import FailedAuthAudit
from server.gateway.auth import new_token
from tests.server.conftest import Serve
from tests.server.gateway_harness import Gateway, open_client

MAX_DOCUMENT = 20_000
AUDITED = 3


@pytest.fixture(scope="module")
async def gateway(served: Serve) -> AsyncIterator[Gateway]:
    async with served(max_document_bytes=MAX_DOCUMENT, failed_auth_audit_per_minute=AUDITED) as gw:
        yield gw


@pytest.mark.parametrize("ts", [10**15, 2**53 - 1, 253402300800000])
async def test_absurd_snapshot_timestamps_get_a_protocol_error(gateway: Gateway, ts: int) -> None:
    owner, key = await gateway.user()
    doc = await gateway.dashboard(owner)
    client = await open_client(gateway.url, key)
    reply = await client.request({"a": "nt", "id": 1, "c": "dashboards", "d": doc, "ts": ts})
    assert reply["error"]["code"] == "invalid_message"
    assert await client.request({"a": "pp"}) == {"a": "pp"}  # still open
    await client.close()


async def test_a_bulk_fetch_of_thousands_of_ids_is_refused(gateway: Gateway) -> None:
    _, key = await gateway.user()
    client = await open_client(gateway.url, key)
    ids = [str(uuid.uuid4()) for _ in range(5000)]
    reply = await client.request({"a": "bf", "c": "dashboards", "b": ids})
    assert reply["error"]["code"] == "too_many_ids"
    assert await client.request({"a": "pp"}) == {"a": "pp"}
    await client.close()


async def test_bulk_not_found_counts_toward_the_error_limit(gateway: Gateway) -> None:
    owner, key = await gateway.user()
    doc = await gateway.dashboard(owner)
    client = await open_client(gateway.url, key)
    few = [doc, *(str(uuid.uuid4()) for _ in range(3))]
    reply = await client.request({"a": "bf", "c": "dashboards", "b": few})
    assert "data" in reply["data"][doc] and reply["data"][few[1]]["error"]["code"] == "not_found"
    for _ in range(20):  # 100 random ids each: past the error budget within a few requests
        await client.send({"a": "bf", "c": "dashboards", "b": [str(uuid.uuid4())] * 100})
    code, _ = await client.closed()
    assert code == 4008


async def test_a_document_past_the_size_cap_is_refused_with_nothing_changed(
    gateway: Gateway,
) -> None:
    owner, key = await gateway.user()
    doc = await gateway.dashboard(owner)
    client = await open_client(gateway.url, key)
    version, _ = await gateway.document(doc)
    chunk = "x" * 6000
    accepted = 0
    for i in range(5):
        reply = await client.op(doc, version, [{"p": ["settings", f"k{i}"], "oi": chunk}])
        if "error" in reply:
            assert reply["error"]["code"] == "document_too_large"
            break
        version, accepted = version + 1, accepted + 1
    else:
        pytest.fail("no op was refused")
    assert accepted >= 1
    after_version, after = await gateway.document(doc)
    assert after_version == version and f"k{accepted}" not in after["settings"]
    assert len(json.dumps(after)) <= MAX_DOCUMENT
    # an op that shrinks it again is accepted, and then there is room again
    assert "error" not in await client.op(doc, version, [{"p": ["settings", "k0"], "od": chunk}])
    again = [{"p": ["settings", "again"], "oi": chunk}]
    assert "error" not in await client.op(doc, version + 1, again)
    await client.close()


async def test_failed_logins_from_one_address_are_audited_in_aggregate(gateway: Gateway) -> None:
    entries = await gateway.services.audit.list_audit(limit=1000)
    before = len([e for e in entries if e.action == "auth.failed"])

    async def fail() -> None:
        client = await open_client(gateway.url, handshake=False)
        await client.send({"a": "auth", "token": new_token()})
        assert (await client.closed())[0] == 4001

    await asyncio.gather(*(fail() for _ in range(12)))
    entries = await gateway.services.audit.list_audit(limit=1000)
    rows = len([e for e in entries if e.action == "auth.failed"]) - before
    # at most AUDITED rows a minute one by one (two minutes if the run straddles one), plus
    # one row counting the rest of a minute that ended
    assert 1 <= rows <= 2 * AUDITED + 1


async def test_suppressed_failures_are_counted_in_one_row(gateway: Gateway) -> None:
    now = [600.0]
    audit = gateway.services.audit
    throttle = FailedAuthAudit(audit, 2, clock=lambda: now[0])
    ip = "192.0.2.77"
    for _ in range(7):
        await throttle.failed(ip, "websocket-message")
    now[0] += 60
    await throttle.failed("192.0.2.78", "websocket-message")  # a new minute flushes the last
    mine = [e for e in await audit.list_audit(limit=1000) if e.ip == ip]
    assert len(mine) == 3
    assert sorted(e.details.get("suppressed", 0) for e in mine) == [0, 0, 5]


def test_json_logs_keep_the_traceback() -> None:
    script = (
        "from server.core import log\n"
        "log.configure(fmt='json')\n"
        "try:\n"
        "    raise RuntimeError('kaboom')\n"
        "except RuntimeError:\n"
        "    log.get('t').exception('ws.failed')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["event"] == "ws.failed"
    assert "Traceback" in line["exception"] and "kaboom" in line["exception"]
