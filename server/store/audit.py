"""The audit log: security-relevant events, in the monthly-partitioned ``audit_logs`` table.

Callers pass ``details`` without tokens or message bodies; the store refuses only what jsonb
cannot hold.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from server.core.errors import BadRequest
from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.catalog import MAX_PAGE
from server.store.pool import translated


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    action: str
    user_id: UserId | None
    dashboard_id: DashboardId | None
    details: dict[str, Any]
    ip: str | None


def _ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise BadRequest(f"{value!r} is not an IP address") from exc


class AuditLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def write_audit(
        self,
        action: str,
        user_id: UserId | None = None,
        dashboard_id: DashboardId | None = None,
        details: dict[str, Any] | None = None,
        *,
        ip: str | None = None,
    ) -> None:
        check_jsonb([action, details])
        with translated():
            await self._pool.execute(
                "INSERT INTO audit_logs (action, user_id, dashboard_id, details, ip)"
                " VALUES ($1, $2, $3, $4, $5::text::inet)",
                action,
                user_id,
                dashboard_id,
                details or {},
                _ip(ip),
            )

    async def list_audit(
        self,
        *,
        dashboard_id: DashboardId | None = None,
        user_id: UserId | None = None,
        before: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; page with ``before`` = the ``at`` of the last entry seen."""
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be 1..{MAX_PAGE}")
        with translated():
            rows = await self._pool.fetch(
                "SELECT id, at, action, user_id, dashboard_id, details, host(ip) AS ip"
                " FROM audit_logs"
                " WHERE ($1::uuid IS NULL OR dashboard_id = $1)"
                " AND ($2::uuid IS NULL OR user_id = $2)"
                " AND ($3::timestamptz IS NULL OR at < $3)"
                " ORDER BY at DESC, id DESC LIMIT $4",
                dashboard_id,
                user_id,
                before,
                limit,
            )
        return [
            AuditEntry(
                int(r["id"]),
                r["at"],
                r["action"],
                None if r["user_id"] is None else UserId(r["user_id"]),
                None if r["dashboard_id"] is None else DashboardId(r["dashboard_id"]),
                r["details"],
                r["ip"],
            )
            for r in rows
        ]
