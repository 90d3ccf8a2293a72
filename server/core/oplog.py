"""The op log's values: what the store takes and returns, and every stage passes along.

Versions follow ShareDB: a dashboard is created at version 1 (its create op has version 0);
the op stored with ``version = v`` applies to the snapshot at version ``v`` and yields ``v + 1``;
``head_version`` is the version of the current snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from server.core.ids import DashboardId, UserId

Role = Literal["viewer", "editor", "admin"]
JsonOp = list[dict[str, Any]]


@dataclass(frozen=True)
class LiveSession:
    """A session that is not revoked, not expired, and whose user is active (or a guest's, from
    a share link: its id is both the session's and the one it acts as)."""

    id: UUID
    user_id: UserId
    guest: bool = False


@dataclass(frozen=True)
class Author:
    """Who made something, as history shows it."""

    id: UserId
    username: str


@dataclass(frozen=True)
class Head:
    dashboard_id: DashboardId
    version: int
    lock_epoch: int


@dataclass(frozen=True)
class Snapshot:
    dashboard_id: DashboardId
    version: int
    document: Any
    created_at: datetime | None = None


@dataclass(frozen=True)
class NewOp:
    """One op the sequencer has transformed and applied, ready to commit."""

    src: str
    seq: int
    user_id: UserId | None
    client_version: int
    op: JsonOp
    inverse: JsonOp
    operation_type: str
    target_id: str | None
    # True when the sequencer made it: the op passed json0.check with jsonvalue.JSONB (as
    # strict as the log stores JSON), and the inverse and the batch's document are parts of
    # documents made only of such values, so the store need not walk them again. (A NUL or a
    # lone surrogate that got past it anyway would still be refused, as BadData, by PostgreSQL
    # or the encoder.)
    sequenced: bool = False


@dataclass(frozen=True)
class StoredOp:
    dashboard_id: DashboardId
    version: int
    src: str
    seq: int
    user_id: UserId | None
    client_version: int
    op: JsonOp
    inverse: JsonOp
    operation_type: str
    target_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class Checkpoint:
    dashboard_id: DashboardId
    version: int
    is_major: bool
    label: str | None
    created_at: datetime
