"""What a holding of a dashboard's lock is given: the process's plant, the lock, the memory.

A :class:`~server.sequencer.holding.Sequencer` takes one :class:`Holding`; the scheduler
(:mod:`server.sequencer.schedule`) makes one per acquisition from the process's one
:class:`Plant`, and keeps each released dashboard's :class:`Memory` for the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ot import json0
from server.core.ids import DashboardId
from server.core.settings import Settings
from server.core.submission import Committed
from server.redis.keys import Keys
from server.redis.resp import Resp
from server.sequencer.lock import Lock
from server.sequencer.records import BatchOutcome
from server.store.model import OpLog

Deliver = Callable[[BatchOutcome], Awaitable[None]]


@dataclass
class Memory:
    """What a sequencer knew when it let go of the lock, so that the next acquisition by this
    process can go on from it instead of loading the head again (see :meth:`~server.sequencer.holding.Sequencer.drain`)."""

    epoch: int
    version: int
    document: Any
    recent: list[Committed]
    checked: list[json0.CheckedOp | None]


@dataclass(frozen=True)
class Plant:
    """What every holding of one process works with."""

    redis: Resp  # the lean client: queue reads and the lock's scripts
    keys: Keys
    store: OpLog
    settings: Settings
    deliver: Deliver  # this process's own outcomes, to its feeds
    origin: str = ""  # this process's id, marked on the outcomes it publishes


@dataclass(frozen=True)
class Holding:
    """One acquisition of one dashboard's lock: what a :class:`~server.sequencer.holding.Sequencer` drains under."""

    plant: Plant
    dashboard_id: DashboardId
    lock: Lock
    memory: Memory | None = None  # what this process knew when it last held the lock
    nudge: asyncio.Event | None = None  # set by a push while the holder lingers
    stopping: Callable[[], bool] = lambda: False  # the process is shutting down
