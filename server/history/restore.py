"""Restore a version as a live edit: :func:`restore`.

The restore is the json0 op that turns the current document into the version's
(:func:`ot.dashboard.diff.diff`), submitted through the sequencer against the head it was
computed from. Ops committed meanwhile are transformed past it like any concurrent edit, so
every editor converges on the restored document plus the edits made after it. It is stored
with its inverse and its author, gets a new version (history is never rewritten), is audited,
and can be undone like any other op of the user's. When nothing was committed in between, the
restored document is checkpointed at the new head (it is known without a replay): copied in
PostgreSQL from the version's own checkpoint where it has one (a named version always does),
so the document is not sent and parsed again.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from ot.dashboard.diff import diff
from server.core import log
from server.core.errors import BadRequest, TandemError
from server.core.ids import DashboardId, UserId
from server.core.submission import Hub, SubmitRecord
from server.store.audit import AuditLog
from server.store.model import Snapshot
from server.store.pool import translated
from server.store.postgres import PostgresStore

RESTORE_SRC = "api:restore-"

_log = log.get(__name__)


@dataclass(frozen=True)
class Restored:
    version: int  # the dashboard's version after the restore
    restored_from: int


async def restore(
    *,
    store: PostgresStore,
    hub: Hub,
    audit: AuditLog,
    dashboard_id: DashboardId,
    version: int,
    user_id: UserId,
    ip: str | None = None,
) -> Restored:
    """Submit the op that brings ``dashboard_id`` back to ``version`` and wait for its commit.
    Raises VersionUnavailable (below the retained log), NotFound (beyond the head) and what
    the hub raises."""
    target = await store.load(dashboard_id, version=version)
    if target.version == 0:
        raise BadRequest("version 0 is the empty dashboard: nothing to restore")
    # While this process sequences the dashboard its holder has the head in memory (a load is
    # a checkpoint and a replay); either way the op goes in against that version.
    head = hub.held_snapshot(dashboard_id) or await store.load(dashboard_id)
    op = diff(head.document, target.document)
    committed = await hub.submit(
        SubmitRecord(
            dashboard_id=dashboard_id,
            src=f"{RESTORE_SRC}{version}-{secrets.token_hex(8)}",
            seq=1,
            version=head.version,
            user_id=user_id,
            op=op,
        )
    )
    new_version = committed.version + 1
    writes = [
        audit.write_audit(
            "dashboard.restored",
            user_id,
            dashboard_id,
            {"version": new_version, "restored_from": version, "components": len(op)},
            ip=ip,
        )
    ]
    if committed.version == head.version:
        # Nothing came in between, so the new head is exactly the version restored: keep it as
        # a checkpoint, so loading the head does not replay a restore's (large) op.
        writes.append(_checkpoint(store, dashboard_id, new_version, target, user_id))
    await asyncio.gather(*writes)
    return Restored(new_version, version)


# The restored version's checkpoint, copied to the new head ($2): the number of rows written.
_COPY = """
WITH copied AS (
    INSERT INTO checkpoints (dashboard_id, version, document, created_by)
    SELECT $1, $2, c.document, $3 FROM checkpoints c WHERE c.dashboard_id = $1 AND c.version = $4
    ON CONFLICT (dashboard_id, version) DO NOTHING
    RETURNING 1
) SELECT count(*) FROM copied
"""


async def _checkpoint(
    store: PostgresStore, dashboard_id: DashboardId, version: int, target: Snapshot, user_id: UserId
) -> None:
    """Only saves later loads a replay: the restore is committed whether or not this is written."""
    try:
        with translated():
            if await store.pool.fetchval(_COPY, dashboard_id, version, user_id, target.version):
                return
            await store.pool.execute(
                "INSERT INTO checkpoints (dashboard_id, version, document, created_by)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (dashboard_id, version) DO NOTHING",
                dashboard_id,
                version,
                target.document,
                user_id,
            )
    except TandemError as exc:
        _log.warning("restore.checkpoint_skipped", dashboard=str(dashboard_id), error=exc.code)
