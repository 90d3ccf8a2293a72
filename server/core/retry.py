"""Waiting out an outage: work that failed because PostgreSQL or Redis was unreachable is tried
again, with a growing pause, until a deadline; only then does its caller see the error.

An outage of a few seconds (a restart, a failover, a cut connection) then costs the client a
late answer instead of a refusal. Only :class:`~server.core.errors.StoreUnavailable` is
retried: the work given must be safe to run again when a first run's reply was lost (a read, an
idempotent write, or a write the fence and ``(src, seq)`` make safe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

from server.core import log, metrics
from server.core.errors import StoreUnavailable

_log = log.get(__name__)

T = TypeVar("T")

FIRST_PAUSE = 0.05
LONGEST_PAUSE = 1.0


def service_of(error: BaseException) -> str:
    """Which service an unavailability came from, as the metrics name it."""
    cause = error.__cause__
    return "redis" if isinstance(cause, RedisError) else "postgresql"


def raise_if_cancelled(error: BaseException | None = None) -> None:
    """Raise a cancellation (in place of ``error``, if given) when the current task is being
    cancelled: a client library can turn a cancel that races its own timeout into an error of
    its own, or retry through it and return as if nothing happened, and a loop that outlives
    errors would then go round again after its task was cancelled."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error


async def periodically(
    interval: Callable[[], float],
    work: Callable[[], Awaitable[None]],
    failed: Callable[[Exception], None],
) -> None:
    """``await work()`` every ``interval()`` seconds, for good: a background loop's outermost
    point. An error of one round goes to ``failed`` and the next round comes; the loop ends
    when its task is cancelled, however the cancel came out of ``work``."""
    while True:
        await asyncio.sleep(interval())
        try:
            await work()
        except Exception as exc:
            raise_if_cancelled(exc)
            failed(exc)
        raise_if_cancelled()


def pauses(first: float = FIRST_PAUSE, longest: float = LONGEST_PAUSE) -> Callable[[], float]:
    """Each call, the next pause: doubling from ``first`` up to ``longest``."""
    pause = first / 2

    def next_pause() -> float:
        nonlocal pause
        pause = min(longest, pause * 2)
        return pause

    return next_pause


async def retrying(work: Callable[[], Awaitable[T]], *, within: float, what: str) -> T:
    """``await work()``, again after each StoreUnavailable while ``within`` seconds last."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    next_pause = pauses()
    while True:
        try:
            return await work()
        except StoreUnavailable as exc:
            pause = next_pause()
            if loop.time() + pause > deadline:
                raise
            service = service_of(exc)
            metrics.RETRIES.labels(service).inc()
            _log.debug("retry.waiting", what=what, service=service, pause=pause)
            await asyncio.sleep(pause)
