"""``/metrics`` and ``/readyz`` of a real app on a real port: what the ops of a client and the
HTTP requests made count, the labels they carry, the request id, and readiness while draining."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from server.core.settings import Settings
from tests.server.gateway_harness import Gateway, open_client, running_gateway, title_op


@pytest.fixture(scope="module")
async def gateway(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Gateway]:
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=f"{redis_prefix}metrics:",
        presence_throttle=0.0,
    )
    async with running_gateway(settings) as gw:
        yield gw


async def scrape(gateway: Gateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}") as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return float(samples.get((name, tuple(sorted(labels.items()))), 0.0))


async def test_ops_connections_and_frames_are_counted(gateway: Gateway) -> None:
    owner, token = await gateway.user()
    doc = await gateway.dashboard(owner, title="Ops")
    before = await scrape(gateway)
    client = await open_client(gateway.url, token)
    await client.request({"a": "s", "c": "dashboards", "d": doc})
    acks = []
    title = "Ops"
    for n in range(3):
        new = f"Ops {n}"
        acks.append(await client.op(doc, 1 + n, title_op(title, new)))
        title = new
    rejected = await client.op(doc, 99, title_op(title, "late"))  # beyond the head
    assert all("error" not in a for a in acks)
    assert rejected["error"]["code"] == "op_from_future"
    during = await scrape(gateway)
    await client.close()

    def delta(name: str, **labels: str) -> float:
        return value(during, name, **labels) - value(before, name, **labels)

    assert delta("tandem_ops_received_total") == 4
    assert delta("tandem_ops_committed_total") == 3
    assert delta("tandem_ops_rejected_total", code="op_from_future") == 1
    assert delta("tandem_ack_seconds_count") == 3
    assert delta("tandem_batch_ops_count") >= 1
    assert delta("tandem_batch_ops_sum") == 3
    assert delta("tandem_lock_acquisitions_total") >= 1
    assert value(during, "tandem_connections_open") >= 1
    # auth, hs, s and four ops at least; and their replies.
    assert delta("tandem_frames_received_total") >= 7
    assert delta("tandem_frames_sent_total") >= 7
    # No label anywhere takes a dashboard or user id.
    for _, labels in during:
        for _, label_value in labels:
            assert doc not in label_value and str(owner) not in label_value
            assert not re.fullmatch(r"[0-9a-f-]{36}", label_value)


async def test_http_requests_by_route_and_status_with_a_request_id(gateway: Gateway) -> None:
    before = await scrape(gateway)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}") as http:
        ok = await http.get("/healthz", headers={"X-Request-ID": "trace-42"})
        missing = await http.get(f"/no-such-page-{uuid4().hex}")
        fresh = await http.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert ok.headers["x-request-id"] == "trace-42"
    assert missing.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{16}", fresh.headers["x-request-id"])
    after = await scrape(gateway)
    key = "tandem_http_requests_total"
    assert (
        value(after, key, route="/healthz", status="200")
        - value(before, key, route="/healthz", status="200")
        == 2
    )
    # An unmatched path is counted under one label, not under its own path.
    assert (
        value(after, key, route="other", status="404")
        - value(before, key, route="other", status="404")
        == 1
    )
    assert not any("no-such" in str(labels) for _, labels in after)


async def test_readiness_fails_while_draining(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}") as http:
        assert (await http.get("/readyz")).status_code == 200
        lifecycle = gateway.services.lifecycle
        lifecycle.drain()
        try:
            response = await http.get("/readyz")
        finally:
            lifecycle.draining = False
    assert response.status_code == 503
    assert response.json()["status"] == "draining"


async def test_log_lines_of_a_connection_carry_its_id(gateway: Gateway) -> None:
    _, token = await gateway.user()
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        client = await open_client(gateway.url, token)
        await client.close()
        await client.ws.wait_closed()
        for _ in range(100):
            if any(e["event"] == "ws.closed" for e in logs):
                break
            await asyncio.sleep(0.02)
    authenticated = [e for e in logs if e["event"] == "ws.authenticated"]
    closed = [e for e in logs if e["event"] == "ws.closed"]
    assert authenticated and closed
    assert authenticated[-1]["connection"] == closed[-1]["connection"]
    assert json.dumps(authenticated[-1], default=str).count(token) == 0
