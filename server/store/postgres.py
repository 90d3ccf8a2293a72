"""The operations log in PostgreSQL: :class:`PostgresStore` implements :class:`OpLog`.

The commit is the fence of the whole design: one statement that compare-and-sets the dashboard's
head row on ``(head_version, lock_epoch)`` and, only if that row matched, appends the batch,
updates the widgets projection and writes a checkpoint when the batch crosses a multiple of
``checkpoint_interval``. A stale sequencer's commit therefore writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

import asyncpg
import orjson

from ot.dashboard.classify import widgets_touched
from server.core.errors import BadRequest, NotFound, StaleFence
from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store import statements as sql
from server.store.group import CommitGroup, Entry
from server.store.history import (
    Progress,
    ReplayFailed,
    VersionNotFound,
    VersionUnavailable,
    as_json0,
    create_inverse,
    create_record,
    created_document,
    is_create_record,
    plan_batch,
)
from server.store.model import Checkpoint, Head, NewOp, Snapshot, StoredOp
from server.store.pool import open_pool, translated
from server.store.projection import WidgetChanges, WidgetRow, widget_rows
from server.store.replay import replay_range, version_at

Clock = Callable[[], datetime]


def _widget_records(rows: Sequence[WidgetRow]) -> list[dict[str, Any]]:
    return [
        {"widget_id": r.widget_id, "type": r.type, "title": r.title,
         "position": r.position, "config": r.config}
        for r in rows
    ]  # fmt: skip


def _json_text(value: Any) -> str | None:
    """A jsonb column's value as JSON text for a ``text[]`` parameter; None is SQL NULL (as a
    JSON null is in ``jsonb_to_recordset``)."""
    return None if value is None else orjson.dumps(value).decode()


def _metadata(ops: Sequence[NewOp], document: Any) -> tuple[str | None, str | None]:
    """The new title and description for the dashboards row, when the batch may change them."""
    for op in ops:
        for c in op.op:
            path = c.get("p")
            if not path or path[0] in ("title", "description"):
                title = document.get("title") if isinstance(document, dict) else None
                desc = document.get("description") if isinstance(document, dict) else None
                return (
                    title if isinstance(title, str) else None,
                    desc if isinstance(desc, str) else None,
                )
    return None, None


def _stored(dashboard_id: DashboardId, row: asyncpg.Record) -> StoredOp:
    operation = row["operation"]
    create = is_create_record(operation)
    return StoredOp(
        dashboard_id=dashboard_id,
        version=int(row["version"]),
        src=str(row["src"]),
        seq=int(row["seq"]),
        user_id=UserId(row["user_id"]) if row["user_id"] is not None else None,
        client_version=int(row["client_version"]),
        op=as_json0(operation),
        inverse=create_inverse(created_document(operation)) if create else row["inverse"] or [],
        operation_type=str(row["operation_type"]),
        target_id=row["target_id"],
        created_at=row["created_at"],
    )


class PostgresStore:
    """:class:`OpLog` over an asyncpg pool. Build with :meth:`open`; ``close`` when done."""

    def __init__(
        self, pool: asyncpg.Pool, *, checkpoint_interval: int = 100, clock: Clock | None = None
    ) -> None:
        self._pool = pool
        self._checkpoint_interval = checkpoint_interval
        # Only tests set a clock; otherwise PostgreSQL's now() stamps every row.
        self._clock = clock
        self._group = CommitGroup(self._write_batches)

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        checkpoint_interval: int = 100,
        min_size: int = 2,
        max_size: int = 10,
        clock: Clock | None = None,
    ) -> PostgresStore:
        pool = await open_pool(dsn, min_size=min_size, max_size=max_size)
        return cls(pool, checkpoint_interval=checkpoint_interval, clock=clock)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def close(self) -> None:
        # Let commits under way finish so their outcome is settled before the pool goes.
        if self._group.tasks:
            await asyncio.wait(set(self._group.tasks))
        await self._pool.close()

    def _now(self) -> datetime | None:
        return self._clock() if self._clock is not None else None

    async def create_dashboard(
        self,
        *,
        owner_id: UserId,
        title: str,
        document: Any,
        dashboard_id: DashboardId | None = None,
        src: str = "",
        seq: int = 0,
    ) -> Head:
        check_jsonb(document)
        check_jsonb([title, src, seq])
        new_id = dashboard_id or DashboardId(uuid4())
        description = document.get("description") if isinstance(document, dict) else None
        rows = widget_rows(document)
        with translated():
            await self._pool.fetchval(
                sql.CREATE,
                new_id,
                owner_id,
                title,
                description if isinstance(description, str) else "",
                create_record(document),
                self._now(),
                src,
                seq,
                [r.widget_id for r in rows],
                [r.type for r in rows],
                [r.title for r in rows],
                [_json_text(r.position) for r in rows],
                [_json_text(r.config) for r in rows],
            )
        return Head(new_id, 1, 0)

    async def get_head(self, dashboard_id: DashboardId) -> Head:
        with translated():
            row = await self._pool.fetchrow(
                "SELECT head_version, lock_epoch FROM dashboards WHERE id = $1", dashboard_id
            )
        if row is None:
            raise NotFound(f"dashboard {dashboard_id} not found")
        return Head(dashboard_id, int(row["head_version"]), int(row["lock_epoch"]))

    async def acquire_epoch(self, dashboard_id: DashboardId) -> int:
        with translated():
            epoch = await self._pool.fetchval(
                "UPDATE dashboards SET lock_epoch = lock_epoch + 1 WHERE id = $1"
                " RETURNING lock_epoch",
                dashboard_id,
            )
        if epoch is None:
            raise NotFound(f"dashboard {dashboard_id} not found")
        return int(epoch)

    async def take_head(self, dashboard_id: DashboardId) -> Head:
        with translated():
            row = await self._pool.fetchrow(
                "UPDATE dashboards SET lock_epoch = lock_epoch + 1 WHERE id = $1"
                " RETURNING head_version, lock_epoch",
                dashboard_id,
            )
        if row is None:
            raise NotFound(f"dashboard {dashboard_id} not found")
        return Head(dashboard_id, int(row["head_version"]), int(row["lock_epoch"]))

    async def commit(
        self,
        dashboard_id: DashboardId,
        *,
        base_version: int,
        epoch: int,
        ops: Sequence[NewOp],
        document: Any,
    ) -> int:
        plan = plan_batch(
            ops,
            base_version=base_version,
            document=document,
            checkpoint_interval=self._checkpoint_interval,
        )
        changes = plan.widgets
        d = str(dashboard_id)
        title, description = _metadata(ops, document)
        head = _present(
            dashboard_id=d, base=base_version, head=plan.new_head, epoch=epoch, title=title,
            description=description, checkpoint=document if plan.checkpoint else None,
            deletes=list(changes.deletes) or None, keep=_keep(changes),
        )  # fmt: skip
        records = [
            {"dashboard_id": d, "user_id": op.user_id, "operation_type": op.operation_type,
             "target_id": op.target_id, "operation": op.op, "inverse": op.inverse,
             "version": base_version + i, "client_version": op.client_version,
             "src": op.src, "seq": op.seq, "target_ids": widgets_touched(op.op)}
            for i, op in enumerate(ops)
        ]  # fmt: skip
        widgets = [{"dashboard_id": d, **w} for w in _widget_records(changes.upserts)]
        # Batches of other dashboards committing now may share the statement (CommitGroup).
        if not await self._group.commit(Entry(dashboard_id, head, records, widgets)):
            raise StaleFence(
                f"dashboard {dashboard_id} moved past version {base_version} or epoch {epoch}"
            )
        return plan.new_head

    async def _write_batches(self, entries: Sequence[Entry]) -> set[DashboardId]:
        with translated():
            written = await self._pool.fetchval(
                sql.COMMIT,
                [e.head for e in entries],
                [r for e in entries for r in e.ops],
                [w for e in entries for w in e.widgets],
                self._now(),
            )
        return {DashboardId(i) for i in written}

    async def ops_between(
        self, dashboard_id: DashboardId, start: int, end: int | None = None
    ) -> list[StoredOp]:
        start = max(start, 0)
        with translated():
            rows = await self._pool.fetch(sql.OPS_BETWEEN, dashboard_id, start, end)
        if not rows:
            raise NotFound(f"dashboard {dashboard_id} not found")
        head = int(rows[0]["head_version"])
        if rows[0]["version"] is None:
            rows = []
        if (not rows or rows[0]["version"] != start) and start < min(
            head, end if end is not None else head
        ):
            raise VersionUnavailable(
                f"ops of dashboard {dashboard_id} from version {start} are no longer kept"
            )
        ops = [_stored(dashboard_id, row) for row in rows]
        for expected, op in enumerate(ops, start):
            if op.version != expected:
                raise ReplayFailed(f"log of dashboard {dashboard_id} has a gap at {expected}")
        return ops

    async def find_op(self, dashboard_id: DashboardId, src: str, seq: int) -> int | None:
        with translated():
            version = await self._pool.fetchval(sql.FIND_OP, dashboard_id, src, seq)
        return None if version is None else int(version)

    async def load(
        self,
        dashboard_id: DashboardId,
        *,
        version: int | None = None,
        at: datetime | None = None,
        from_scratch: bool = False,
        progress: Progress | None = None,
    ) -> Snapshot:
        """See :meth:`OpLog.load`. Version 0 (and a time before the dashboard existed) is the
        empty snapshot, ``document=None``, as in ShareDB. ``from_scratch`` ignores checkpoints
        and replays the whole log; ``progress`` is told how far a replay has come."""
        with translated():
            async with self._pool.acquire() as conn:
                if at is not None:
                    version = await version_at(conn, dashboard_id, at)
                row = await conn.fetchrow(
                    sql.HEAD_AND_CHECKPOINT, dashboard_id, version, from_scratch
                )
                if row is None:
                    raise NotFound(f"dashboard {dashboard_id} not found")
                head = int(row["head_version"])
                target = head if version is None else version
                if target > head or target < 0:
                    raise VersionNotFound(
                        f"dashboard {dashboard_id} has no version {target} (head is {head})"
                    )
                if target == 0:
                    return Snapshot(dashboard_id, 0, None)
                if row["cp_version"] == target:
                    return Snapshot(dashboard_id, target, row["cp_document"], row["cp_created_at"])
                start = 0 if row["cp_version"] is None else int(row["cp_version"])
                document, created_at = await replay_range(
                    conn, dashboard_id, start, target, row["cp_document"], progress
                )
        return Snapshot(dashboard_id, target, document, created_at)

    async def create_checkpoint(
        self,
        dashboard_id: DashboardId,
        *,
        version: int | None = None,
        label: str | None = None,
        created_by: UserId | None = None,
    ) -> Checkpoint:
        """Checkpoint the snapshot at ``version`` (None: the head). With a ``label`` it is a
        major (named) checkpoint; labelling an existing checkpoint names it."""
        snapshot = await self.load(dashboard_id, version=version)
        if snapshot.version == 0:
            raise BadRequest("version 0 is the empty snapshot: nothing to checkpoint")
        check_jsonb(snapshot.document)
        check_jsonb(label)
        with translated():
            row = await self._pool.fetchrow(
                sql.CHECKPOINT_UPSERT,
                dashboard_id,
                snapshot.version,
                snapshot.document,
                label is not None,
                label,
                created_by,
            )
        return Checkpoint(
            dashboard_id, int(row["version"]), row["is_major"], row["label"], row["created_at"]
        )

    async def list_checkpoints(
        self, dashboard_id: DashboardId, *, major_only: bool = False
    ) -> list[Checkpoint]:
        with translated():
            rows = await self._pool.fetch(
                "SELECT version, is_major, label, created_at FROM checkpoints"
                " WHERE dashboard_id = $1 AND (is_major OR NOT $2) ORDER BY version",
                dashboard_id,
                major_only,
            )
        if not rows:
            await self.get_head(dashboard_id)  # NotFound for an unknown dashboard
        return [
            Checkpoint(dashboard_id, int(r["version"]), r["is_major"], r["label"], r["created_at"])
            for r in rows
        ]

    async def oldest_version(self, dashboard_id: DashboardId) -> int:
        """The oldest version from which every later version can still be loaded."""
        with translated():
            row = await self._pool.fetchrow(sql.OLDEST, dashboard_id)
            if row is None:
                raise NotFound(f"dashboard {dashboard_id} not found")
            head = int(row["head_version"])
            first = head if row["first_op"] is None else int(row["first_op"])
            if first == 0:
                return 0
            oldest = await self._pool.fetchval(
                "SELECT min(version) FROM checkpoints WHERE dashboard_id = $1 AND version >= $2",
                dashboard_id,
                first,
            )
        return head if oldest is None else int(oldest)

    async def widget_rows(self, dashboard_id: DashboardId) -> list[WidgetRow]:
        with translated():
            rows = await self._pool.fetch(
                "SELECT widget_id, type, title, position, config FROM widgets"
                " WHERE dashboard_id = $1 ORDER BY widget_id",
                dashboard_id,
            )
        return [
            WidgetRow(r["widget_id"], r["type"], r["title"], r["position"], r["config"])
            for r in rows
        ]


def _keep(changes: WidgetChanges) -> list[str] | None:
    return [r.widget_id for r in changes.upserts] if changes.replace_all else None


def _present(**fields: Any) -> dict[str, Any]:
    """A record for ``jsonb_to_recordset`` with its None fields left out: a missing key reads as
    SQL NULL, where a JSON null in a ``jsonb`` column would be the JSON value null."""
    return {k: v for k, v in fields.items() if v is not None}
