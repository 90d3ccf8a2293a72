"""Per-user undo and redo through the sequencer: :func:`undo_last`, :func:`redo_last`.

A user's undo takes their own newest undoable op on the dashboard, computes its inverse
transformed past everything committed after it (:mod:`ot.dashboard.undo`, so it never reverts
anyone else's later work) and submits that as a normal op: it is versioned, broadcast, audited
in the log with its author, and can itself be redone (a redo is the undo of the undo). A redo
is dropped once the user makes another edit of their own, as editors do.

Which ops are undos and redos, and of what, is recorded atomically with the op itself in its
``src`` (``api:undo-<version>-<random>`` / ``api:redo-<version>-<random>``), so the stacks are
rebuilt from the log alone (:func:`ot.dashboard.undo.stacks`). When what an op changed has
since been deleted or overwritten by others, its undo is a clear no-op (``applied: false``
with the reason); the op is then noted in ``undo_skips`` so the next undo goes past it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

import asyncpg

from ot.dashboard import undo as algebra
from server.core.ids import DashboardId, UserId
from server.core.submission import Hub, SubmitRecord
from server.store.pool import translated
from server.store.postgres import PostgresStore

DEPTH = 500  # how many of the user's newest ops the stacks are rebuilt from
REVERT = re.compile(r"^api:(undo|redo)-(\d+)-[0-9a-f]+$")

OWN_OPS = """
SELECT o.version, o.src,
       EXISTS (SELECT 1 FROM undo_skips s WHERE s.dashboard_id = o.dashboard_id
                AND s.user_id = o.user_id AND s.version = o.version) AS skipped
  FROM operations o
 WHERE o.dashboard_id = $1 AND o.user_id = $2 AND o.operation_type <> 'create'
 ORDER BY o.version DESC
 LIMIT $3
"""


@dataclass(frozen=True)
class UndoResult:
    version: int | None  # the dashboard's version after the undo / redo; None when not applied
    applied: bool
    reason: str | None = None


def revert_src(kind: Literal["undo", "redo"], version: int) -> str:
    return f"api:{kind}-{version}-{secrets.token_hex(8)}"


def entry_of(version: int, src: str) -> algebra.Entry:
    """One of the user's ops as the stacks see it: an edit, or an undo / redo of a version."""
    match = REVERT.match(src)
    if match is None:
        return algebra.Entry(version, "edit")
    kind: Literal["undo", "redo"] = "undo" if match.group(1) == "undo" else "redo"
    return algebra.Entry(version, kind, int(match.group(2)))


async def _stacks(
    pool: asyncpg.Pool, dashboard_id: DashboardId, user_id: UserId
) -> tuple[list[int], list[int]]:
    with translated():
        rows = await pool.fetch(OWN_OPS, dashboard_id, user_id, DEPTH)
    entries = [entry_of(int(r["version"]), str(r["src"])) for r in reversed(rows)]
    skipped = {int(r["version"]) for r in rows if r["skipped"]}
    undoable, redoable = algebra.stacks(entries)
    return [v for v in undoable if v not in skipped], [v for v in redoable if v not in skipped]


async def _revert(
    store: PostgresStore,
    hub: Hub,
    dashboard_id: DashboardId,
    user_id: UserId,
    kind: Literal["undo", "redo"],
    stack: list[int],
) -> UndoResult:
    if not stack:
        return UndoResult(None, False, "nothing_to_undo" if kind == "undo" else "nothing_to_redo")
    version = stack[-1]
    ops = await store.ops_between(dashboard_id, version)
    head = await store.load(dashboard_id, version=version + len(ops))
    result = algebra.undo(ops[0].inverse, [o.op for o in ops[1:]], head.document)
    if not result.applied:
        with translated():
            await store.pool.execute(
                "INSERT INTO undo_skips (dashboard_id, user_id, version) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING",
                dashboard_id,
                user_id,
                version,
            )
        return UndoResult(None, False, result.reason)
    committed = await hub.submit(
        SubmitRecord(
            dashboard_id=dashboard_id,
            src=revert_src(kind, version),
            seq=1,
            version=head.version,
            user_id=user_id,
            op=result.op,
        )
    )
    return UndoResult(committed.version + 1, True)


async def undo_last(
    *, store: PostgresStore, hub: Hub, dashboard_id: DashboardId, user_id: UserId
) -> UndoResult:
    """Undo the user's own newest undoable op on the dashboard."""
    undoable, _ = await _stacks(store.pool, dashboard_id, user_id)
    return await _revert(store, hub, dashboard_id, user_id, "undo", undoable)


async def redo_last(
    *, store: PostgresStore, hub: Hub, dashboard_id: DashboardId, user_id: UserId
) -> UndoResult:
    """Redo the user's newest undo, unless they have edited since."""
    _, redoable = await _stacks(store.pool, dashboard_id, user_id)
    return await _revert(store, hub, dashboard_id, user_id, "redo", redoable)


class UserUndo:
    """:func:`undo_last` and :func:`redo_last` bound to a store and a hub (the socket's form)."""

    def __init__(self, store: PostgresStore, hub: Hub) -> None:
        self._store = store
        self._hub = hub

    async def undo(self, dashboard: DashboardId, user: UserId) -> UndoResult:
        return await undo_last(store=self._store, hub=self._hub, dashboard_id=dashboard,
                               user_id=user)  # fmt: skip

    async def redo(self, dashboard: DashboardId, user: UserId) -> UndoResult:
        return await redo_last(store=self._store, hub=self._hub, dashboard_id=dashboard,
                               user_id=user)  # fmt: skip
