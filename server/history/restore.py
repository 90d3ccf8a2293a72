"""Restore a version as a live edit: :func:`restore`.

The restore is the json0 op that turns the current document into the version's
(:func:`ot.dashboard.diff.diff`), submitted through the sequencer against the head it was
computed from. Ops committed meanwhile are transformed past it like any concurrent edit, so
every editor converges on the restored document plus the edits made after it. It is stored
with its inverse and its author, gets a new version (history is never rewritten), is audited,
and can be undone like any other op of the user's. A restore of more components than the
checkpoint interval has ops is checkpointed in its own commit (``plan_batch``), so loading the
head does not replay it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ot.dashboard.diff import diff
from server.core.errors import BadRequest
from server.core.ids import DashboardId, UserId
from server.core.submission import Hub, SubmitRecord
from server.store.audit import AuditLog
from server.store.postgres import PostgresStore

RESTORE_SRC = "api:restore-"


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
    await audit.write_audit(
        "dashboard.restored",
        user_id,
        dashboard_id,
        {"version": new_version, "restored_from": version, "components": len(op)},
        ip=ip,
    )
    return Restored(new_version, version)
