"""Waiting out an outage: retried while the deadline lasts, then the error."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from server.core import metrics
from server.core.errors import NotFound, StoreUnavailable
from server.core.retry import pauses, periodically, retrying, service_of


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


@pytest.mark.parametrize("swallow", ["as an error", "as nothing"])
async def test_a_loop_ends_at_its_cancel_whatever_its_work_made_of_it(swallow: str) -> None:
    rounds: list[int] = []
    failures: list[Exception] = []
    inside = asyncio.Event()

    async def work() -> None:
        # A client library that catches the cancel under a command (a timeout racing it) and
        # answers with an error of its own, or retries and returns as if nothing happened.
        rounds.append(1)
        inside.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if swallow == "as an error":
                raise RuntimeError("connection closed under the command") from None

    loop = asyncio.create_task(periodically(lambda: 0.01, work, failures.append))
    await inside.wait()
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(loop, 2)
    assert len(rounds) == 1 and failures == []


async def test_a_loop_outlives_a_failed_round() -> None:
    rounds: list[int] = []
    failures: list[Exception] = []
    third = asyncio.Event()

    async def work() -> None:
        rounds.append(1)
        if len(rounds) == 3:
            third.set()
        if len(rounds) == 1:
            raise RuntimeError("redis went away")

    loop = asyncio.create_task(periodically(lambda: 0.01, work, failures.append))
    await asyncio.wait_for(third.wait(), 5)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert [str(f) for f in failures] == ["redis went away"]
