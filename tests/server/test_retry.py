"""Waiting out an outage: retried while the deadline lasts, then the error."""

from __future__ import annotations

import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from server.core import metrics
from server.core.errors import NotFound, StoreUnavailable
from server.core.retry import pauses, retrying, service_of


async def test_an_outage_shorter_than_the_deadline_is_waited_out() -> None:
    calls = []
    before = metrics.RETRIES.labels("redis")._value.get()

    async def work() -> str:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise StoreUnavailable("down") from RedisConnectionError("refused")
        return "done"

    assert await retrying(work, within=5.0, what="test") == "done"
    assert len(calls) == 3
    assert calls[2] - calls[0] >= 0.05 + 0.1 - 0.01  # the pauses grew
    assert metrics.RETRIES.labels("redis")._value.get() - before == 2


async def test_past_the_deadline_the_caller_sees_the_error() -> None:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        raise StoreUnavailable("still down")

    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await retrying(work, within=0.3, what="test")
    assert 0.1 < time.monotonic() - started < 1.0
    assert calls >= 3


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        raise NotFound("no such dashboard")

    with pytest.raises(NotFound):
        await retrying(work, within=5.0, what="test")
    assert calls == 1


def test_pauses_double_up_to_the_longest() -> None:
    next_pause = pauses(0.05, 0.3)
    assert [next_pause() for _ in range(5)] == [0.05, 0.1, 0.2, 0.3, 0.3]
    assert service_of(StoreUnavailable("x")) == "postgresql"
