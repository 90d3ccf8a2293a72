"""The interface every store implements (:class:`OpLog`), over the op log's values.

The values themselves live in :mod:`server.core.oplog` (every stage passes them along; the pure
protocol must not depend on the store) and are importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from server.core.ids import DashboardId, UserId
from server.core.oplog import (
    Author,
    Checkpoint,
    Head,
    JsonOp,
    LiveSession,
    NewOp,
    Role,
    Snapshot,
    StoredOp,
)

__all__ = [
    "Author",
    "Checkpoint",
    "Head",
    "JsonOp",
    "LiveSession",
    "NewOp",
    "OpLog",
    "Role",
    "Snapshot",
    "StoredOp",
]


class OpLog(Protocol):
    """What the sequencer and gateway need from storage."""

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
        """Create a dashboard at version 1; its create op (version 0) records ``(src, seq)`` so
        that a resent create is recognised. Raises Conflict when ``dashboard_id`` exists."""
        ...

    async def get_head(self, dashboard_id: DashboardId) -> Head:
        """Raises NotFound."""
        ...

    async def acquire_epoch(self, dashboard_id: DashboardId) -> int:
        """Bump and return ``lock_epoch``: every new sequencer holder calls this first."""
        ...

    async def take_head(self, dashboard_id: DashboardId) -> Head:
        """:meth:`acquire_epoch`, returning the head version along with the new epoch."""
        ...

    async def commit(
        self,
        dashboard_id: DashboardId,
        *,
        base_version: int,
        epoch: int,
        ops: Sequence[NewOp],
        document: Any,
    ) -> int:
        """Append ``ops`` as versions ``base_version .. base_version+len-1`` in one transaction,
        fenced on ``head_version = base_version AND lock_epoch = epoch``; ``document`` is the
        snapshot after the last op (for checkpoints and the widgets projection). Returns the new
        head version. Raises StaleFence (nothing written) when the fence fails."""
        ...

    async def ops_between(
        self, dashboard_id: DashboardId, start: int, end: int | None = None
    ) -> list[StoredOp]:
        """Ops with ``start <= version < end`` (``end`` None: to the head), in order."""
        ...

    async def find_op(self, dashboard_id: DashboardId, src: str, seq: int) -> int | None:
        """The version an op from ``(src, seq)`` was committed at, if it was."""
        ...

    async def load(
        self,
        dashboard_id: DashboardId,
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> Snapshot:
        """The snapshot at the head, at ``version``, or as it was at time ``at``: nearest
        checkpoint at or below plus replay. Raises NotFound; a version below the retained log
        raises Gone-like BadRequest with code ``version_unavailable``."""
        ...
