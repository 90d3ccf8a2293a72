"""Finding, from outside, which gateway process holds a dashboard's sequencer lock.

A lock token names the gateway id of its holder (:func:`server.sequencer.lock.holder_of`) and the harness
starts every gateway with an id of its choosing, so one read of the key names the process.
:func:`freeze_holder` stops that process and reads the key again, so the caller gets a process
that provably holds the lock at that moment, not one that just released it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence

import redis

from server.sequencer.lock import holder_of
from tests.e2e.harness import Gateway

POLL_INTERVAL = 0.003


def named_by(token: bytes | None, gateways: Sequence[Gateway]) -> Gateway | None:
    """The live gateway a lock token names, if it is one of ``gateways``."""
    name = None if token is None else holder_of(token)
    return next((g for g in gateways if g.gateway_id == name and g.alive()), None)


def freeze_holder(
    redis_url: str,
    lock_key: str,
    queue_key: str,
    gateways: Sequence[Gateway],
    timeout: float = 10.0,
) -> Gateway:
    """Stop (SIGSTOP) the gateway holding ``lock_key`` while records wait in ``queue_key`` (so
    it is at work on them) and return it, still holding the lock."""
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # One MULTI: the token and the queue length at the same instant.
            with client.pipeline(transaction=True) as pipe:
                pipe.get(lock_key)
                pipe.llen(queue_key)
                token, waiting = pipe.execute()
            found = named_by(token, gateways)
            if found is None or waiting == 0:
                time.sleep(POLL_INTERVAL)
                continue
            os.killpg(found.pid, signal.SIGSTOP)
            # Stopped, it can neither release nor extend; nobody else can take a key that exists.
            if client.get(lock_key) == token:
                return found
            os.killpg(found.pid, signal.SIGCONT)
        raise AssertionError(f"no gateway of ours held {lock_key} within {timeout}s")
    finally:
        client.close()
