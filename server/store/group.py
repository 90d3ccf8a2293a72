"""Group commit: the batches of many dashboards that wait together go in one statement.

Each dashboard's sequencer commits its own batches, one at a time. A process holding many
dashboards therefore sends many small commits at once, and each costs a statement, a round trip
and a socket write that wakes a PostgreSQL backend. :class:`CommitGroup` lets at most
``concurrency`` statements run at once; commits that arrive meanwhile wait and then leave
together in the next one. Nothing waits on purpose: a commit that finds a free slot goes at
once, alone, so a quiet process commits exactly as before.

Every batch keeps its own fence (the statement checks each dashboard's head and epoch), so one
dashboard's stale holder does not stop the others. A statement refused for its data (a value
the database will not take, a duplicate) is retried batch by batch, so only the batch at fault
gets the error; any other failure reaches every batch of the statement, none of which was
written (it is one statement, so one transaction).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from server.core.errors import BadData, Conflict
from server.core.ids import DashboardId

# Batches in one statement at most (a bound on its size; more wait for the next).
MAX_GROUP = 64


@dataclass(frozen=True)
class Entry:
    """One dashboard's batch, ready to write: see :data:`server.store.statements.COMMIT`."""

    dashboard_id: DashboardId
    head: dict[str, Any]  # the dashboard row's fence and new values
    ops: list[dict[str, Any]]
    widgets: list[dict[str, Any]]


# Writes the entries in one statement; returns the dashboards whose fence matched.
Write = Callable[[Sequence[Entry]], Awaitable[set[DashboardId]]]


class CommitGroup:
    def __init__(self, write: Write, *, concurrency: int = 2, max_group: int = MAX_GROUP) -> None:
        self._write = write
        self._concurrency = concurrency
        self._max_group = max_group
        self._waiting: list[tuple[Entry, asyncio.Future[bool]]] = []
        self._running = 0
        self.tasks: set[asyncio.Task[None]] = set()  # statements under way (for a clean close)

    async def commit(self, entry: Entry) -> bool:
        """Write ``entry``; True when its fence matched (False: nothing of it was written)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, future))
        if self._running < self._concurrency:
            self._running += 1
            task = asyncio.create_task(self._drain())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        # Shielded: a cancelled caller does not cancel a statement that carries other batches
        # too; its own outcome is settled all the same (and learned again by its next holder).
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await self._run(self._take())
        finally:
            self._running -= 1

    def _take(self) -> list[tuple[Entry, asyncio.Future[bool]]]:
        """The next statement's batches: in order, at most one per dashboard (two batches of one
        dashboard, from a stale holder and the live one, are fenced one after the other)."""
        group: list[tuple[Entry, asyncio.Future[bool]]] = []
        rest: list[tuple[Entry, asyncio.Future[bool]]] = []
        seen: set[DashboardId] = set()
        for item in self._waiting:
            d = item[0].dashboard_id
            if d in seen or len(group) >= self._max_group:
                rest.append(item)
            else:
                seen.add(d)
                group.append(item)
        self._waiting = rest
        return group

    async def _run(self, group: list[tuple[Entry, asyncio.Future[bool]]]) -> None:
        try:
            matched = await self._write([entry for entry, _ in group])
        except (BadData, Conflict) as exc:
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            for one in group:  # which batch was it? each alone, so only that one fails
                await self._run([one])
            return
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        except Exception as exc:
            for _, future in group:
                _settle(future, exc)
            return
        for entry, future in group:
            _settle(future, entry.dashboard_id in matched)


def _settle(future: asyncio.Future[bool], outcome: bool | Exception) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
        # Retrieved here: a caller that was cancelled will never read it.
        future.exception()
    else:
        future.set_result(outcome)
