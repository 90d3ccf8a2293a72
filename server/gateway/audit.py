"""Audit rows the gateway writes, and the throttle that keeps failed logins from flooding them.

A client that fails to authenticate gets one ``auth.failed`` row for each of its first
``failed_auth_audit_per_minute`` failures in a minute (per client address); the rest of that
minute are counted, and one ``auth.failed`` row with ``{"suppressed": N}`` records them when
the minute is over (written with the next failure from anyone, or when the process stops).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from server.core import log
from server.core.errors import TandemError
from server.core.ids import DashboardId, UserId

_log = log.get(__name__)

WINDOW = 60.0  # seconds
MAX_ADDRESSES = 10_000  # remembered per window; beyond, failures count under "many"


class Audit(Protocol):
    async def write_audit(
        self,
        action: str,
        user_id: UserId | None = None,
        dashboard_id: DashboardId | None = None,
        details: dict[str, Any] | None = None,
        *,
        ip: str | None = None,
    ) -> None: ...


class FailedAuthAudit:
    def __init__(
        self, audit: Audit, per_minute: int, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._audit = audit
        self._per_minute = per_minute
        self._clock = clock
        self._window = -1
        self._written: dict[str | None, int] = {}
        self._suppressed: dict[str | None, int] = {}

    async def failed(self, ip: str | None, via: str) -> None:
        """One failed authentication from ``ip`` (never raises: auditing must not break auth)."""
        window = int(self._clock() // WINDOW)
        if window != self._window:
            await self.flush()
            self._window = window
        if ip not in self._written and len(self._written) >= MAX_ADDRESSES:
            ip = "many"
        written = self._written.get(ip, 0)
        if written < self._per_minute:
            self._written[ip] = written + 1
            await self._write({"via": via}, ip)
        else:
            self._suppressed[ip] = self._suppressed.get(ip, 0) + 1

    async def flush(self) -> None:
        """Write the counts of the failures not audited one by one."""
        suppressed, self._suppressed, self._written = self._suppressed, {}, {}
        for ip, count in suppressed.items():
            await self._write({"via": "websocket", "suppressed": count}, ip)

    async def _write(self, details: dict[str, Any], ip: str | None) -> None:
        try:
            address = None if ip == "many" else ip
            await self._audit.write_audit("auth.failed", details=details, ip=address)
        except TandemError as exc:
            _log.warning("audit.write_failed", error=exc.code)
