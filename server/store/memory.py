"""An in-memory :class:`OpLog` with the same behaviour as :class:`PostgresStore`.

For tests of the layers above storage, and as the executable statement of the store's contract
(the contract suite runs against both). Values are copied through JSON on the way in and out, as
a round trip through ``jsonb`` would, so callers cannot alias stored documents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import orjson

from server.core.errors import BadRequest, Conflict, NotFound, StaleFence
from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.history import (
    Progress,
    VersionNotFound,
    VersionUnavailable,
    create_inverse,
    create_op,
    plan_batch,
    replay,
)
from server.store.model import Checkpoint, Head, NewOp, Snapshot, StoredOp
from server.store.projection import WidgetRow, widget_rows


def _copy(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


@dataclass
class _Dashboard:
    owner_id: UserId
    title: str
    head: int
    epoch: int
    created_at: datetime
    ops: list[StoredOp] = field(default_factory=list)
    checkpoints: dict[int, tuple[Checkpoint, Any]] = field(default_factory=dict)
    widgets: dict[str, WidgetRow] = field(default_factory=dict)


class MemoryStore:
    def __init__(
        self, *, checkpoint_interval: int = 100, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._checkpoint_interval = checkpoint_interval
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dashboards: dict[DashboardId, _Dashboard] = {}

    def _get(self, dashboard_id: DashboardId) -> _Dashboard:
        dash = self._dashboards.get(dashboard_id)
        if dash is None:
            raise NotFound(f"dashboard {dashboard_id} not found")
        return dash

    def _checkpoint(self, dashboard_id: DashboardId, version: int, document: Any) -> None:
        dash = self._get(dashboard_id)
        if version not in dash.checkpoints:
            point = Checkpoint(dashboard_id, version, False, None, self._clock())
            dash.checkpoints[version] = (point, _copy(document))

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
        if new_id in self._dashboards:
            raise Conflict(f"dashboard {new_id} already exists")
        now = self._clock()
        document = _copy(document)
        create = StoredOp(
            new_id, 0, src, seq, owner_id, 0, create_op(document), create_inverse(document),
            "create", None, now,
        )  # fmt: skip
        dash = _Dashboard(owner_id, title, 1, 0, now, ops=[create])
        self._dashboards[new_id] = dash
        self._checkpoint(new_id, 1, document)
        dash.widgets = {r.widget_id: r for r in widget_rows(document)}
        return Head(new_id, 1, 0)

    async def get_head(self, dashboard_id: DashboardId) -> Head:
        dash = self._get(dashboard_id)
        return Head(dashboard_id, dash.head, dash.epoch)

    async def acquire_epoch(self, dashboard_id: DashboardId) -> int:
        dash = self._get(dashboard_id)
        dash.epoch += 1
        return dash.epoch

    async def take_head(self, dashboard_id: DashboardId) -> Head:
        epoch = await self.acquire_epoch(dashboard_id)
        return Head(dashboard_id, self._get(dashboard_id).head, epoch)

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
        dash = self._dashboards.get(dashboard_id)
        if dash is None or dash.head != base_version or dash.epoch != epoch:
            raise StaleFence(
                f"dashboard {dashboard_id} moved past version {base_version} or epoch {epoch}"
            )
        now = self._clock()
        dash.ops.extend(
            StoredOp(
                dashboard_id,
                base_version + i,
                op.src,
                op.seq,
                op.user_id,
                op.client_version,
                _copy(op.op),
                _copy(op.inverse),
                op.operation_type,
                op.target_id,
                now,
            )
            for i, op in enumerate(ops)
        )
        dash.head = plan.new_head
        changes = plan.widgets
        if changes.replace_all:
            dash.widgets = {}
        for gone in changes.deletes:
            dash.widgets.pop(gone, None)
        for row in changes.upserts:
            dash.widgets[row.widget_id] = _copy_row(row)
        if plan.checkpoint:
            self._checkpoint(dashboard_id, plan.new_head, document)
        return plan.new_head

    async def ops_between(
        self, dashboard_id: DashboardId, start: int, end: int | None = None
    ) -> list[StoredOp]:
        dash = self._get(dashboard_id)
        stop = dash.head if end is None else min(end, dash.head)
        return [_copy_op(op) for op in dash.ops[max(start, 0) : max(stop, 0)]]

    async def find_op(self, dashboard_id: DashboardId, src: str, seq: int) -> int | None:
        dash = self._get(dashboard_id)
        return next((op.version for op in dash.ops if op.src == src and op.seq == seq), None)

    async def load(
        self,
        dashboard_id: DashboardId,
        *,
        version: int | None = None,
        at: datetime | None = None,
        from_scratch: bool = False,
        progress: Progress | None = None,
    ) -> Snapshot:
        dash = self._get(dashboard_id)
        if at is not None:
            version = max((op.version + 1 for op in dash.ops if op.created_at <= at), default=0)
        target = dash.head if version is None else version
        if target > dash.head or target < 0:
            raise VersionNotFound(
                f"dashboard {dashboard_id} has no version {target} (head is {dash.head})"
            )
        if target == 0:
            return Snapshot(dashboard_id, 0, None)
        usable = [] if from_scratch else [v for v in dash.checkpoints if v <= target]
        start = max(usable, default=0)
        if start == target:
            point, document = dash.checkpoints[start]
            return Snapshot(dashboard_id, target, _copy(document), point.created_at)
        if start:
            document = _copy(dash.checkpoints[start][1])
        else:  # from the create op, which holds the document of version 1
            document, start = _copy(dash.ops[0].op[0]["oi"]), 1
        ops = dash.ops[start:target]
        if len(ops) != target - start:
            raise VersionUnavailable(f"version {target} of dashboard {dashboard_id} is not kept")
        document = replay(document, (op.op for op in ops), first_version=start)
        if progress is not None:
            progress(len(ops), len(ops))
        last = ops[-1] if ops else dash.ops[0]
        return Snapshot(dashboard_id, target, document, last.created_at)

    async def create_checkpoint(
        self,
        dashboard_id: DashboardId,
        *,
        version: int | None = None,
        label: str | None = None,
        created_by: UserId | None = None,
    ) -> Checkpoint:
        del created_by  # kept for the same signature as PostgresStore
        snapshot = await self.load(dashboard_id, version=version)
        if snapshot.version == 0:
            raise BadRequest("version 0 is the empty snapshot: nothing to checkpoint")
        check_jsonb(label)
        dash = self._get(dashboard_id)
        old = dash.checkpoints.get(snapshot.version)
        if old is None:
            point = Checkpoint(
                dashboard_id, snapshot.version, label is not None, label, self._clock()
            )
            dash.checkpoints[snapshot.version] = (point, snapshot.document)
            return point
        prior, document = old
        point = Checkpoint(
            dashboard_id,
            prior.version,
            prior.is_major or label is not None,
            label if label is not None else prior.label,
            prior.created_at,
        )
        dash.checkpoints[snapshot.version] = (point, document)
        return point

    async def list_checkpoints(
        self, dashboard_id: DashboardId, *, major_only: bool = False
    ) -> list[Checkpoint]:
        dash = self._get(dashboard_id)
        points = [p for p, _ in dash.checkpoints.values() if p.is_major or not major_only]
        return sorted(points, key=lambda p: p.version)

    async def oldest_version(self, dashboard_id: DashboardId) -> int:
        self._get(dashboard_id)
        return 0  # nothing is ever dropped from memory

    async def widget_rows(self, dashboard_id: DashboardId) -> list[WidgetRow]:
        dash = self._get(dashboard_id)
        return [_copy_row(dash.widgets[w]) for w in sorted(dash.widgets)]


def _copy_row(row: WidgetRow) -> WidgetRow:
    return WidgetRow(row.widget_id, row.type, row.title, _copy(row.position), _copy(row.config))


def _copy_op(op: StoredOp) -> StoredOp:
    return StoredOp(
        op.dashboard_id, op.version, op.src, op.seq, op.user_id, op.client_version,
        _copy(op.op), _copy(op.inverse), op.operation_type, op.target_id, op.created_at,
    )  # fmt: skip
