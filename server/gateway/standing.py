"""A connection's standing: the session it authenticated with and the dashboards it watches,
with the role each was granted under. It is what :mod:`server.access.revalidate` re-checks
(its ``Holder``), and it tells the client why before a revocation closes the connection. It
also tells the connection's live queries when an access change may alter their results.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from server.access.revalidate import Reason
from server.core import log
from server.core.codes import CloseCode, Code
from server.core.ids import DashboardId, UserId
from server.gateway.services import Link
from server.protocol import outgoing
from server.protocol.errors import ProtocolError
from server.protocol.session import Session
from server.store.model import Role

_log = log.get(__name__)


class Listing(Protocol):
    """The connection's live queries (:class:`server.gateway.queries.LiveQueries`)."""

    def listing(self) -> frozenset[DashboardId] | None: ...

    def stale(self) -> None: ...


class Standing:
    def __init__(self, session: Session, link: Link, queries: Listing) -> None:
        self._session = session
        self._link = link
        self._queries = queries
        self.session_id: UUID | None = None
        self._watched: dict[DashboardId, Role] = {}
        self._revoked = False
        self._ended = False

    @property
    def user_id(self) -> UserId | None:
        return self._session.user_id

    def watched(self) -> dict[DashboardId, Role]:
        return self._watched

    def watch(self, dashboard: DashboardId, role: Role) -> None:
        self._watched[dashboard] = role

    def unwatch(self, dashboard: DashboardId) -> None:
        self._watched.pop(dashboard, None)

    def listing(self) -> frozenset[DashboardId] | None:
        return self._queries.listing()

    def listing_stale(self) -> None:
        if not self._ended:
            self._queries.stale()

    def end(self) -> None:
        """The connection closed. A re-check already under way may still judge this holder:
        it does nothing from now on (the connection, which its parts hold weakly, may be gone)."""
        self._ended = True

    def revoked(self, reason: Reason, dashboard: DashboardId | None) -> None:
        if self._revoked or self._ended:
            return
        self._revoked = True
        where = None if dashboard is None else str(dashboard)
        _log.info("ws.revoked", reason=reason, dashboard=where)
        if reason == "session":
            problem = ProtocolError(
                Code.SESSION_REVOKED,
                "this session is no longer valid",
                echo={"a": "auth"},
                close_code=CloseCode.UNAUTHENTICATED,
            )
        else:
            problem = ProtocolError(
                Code.ACCESS_REVOKED,
                "access to this dashboard was revoked",
                echo={"a": "auth", "c": outgoing.COLLECTION, "d": str(dashboard)},
                close_code=CloseCode.ACCESS_REVOKED,
            )
        self._link.error(problem)

    def role_changed(self, dashboard: DashboardId, role: Role) -> None:
        if self._ended:
            return
        self._watched[dashboard] = role
        self._link.push(
            outgoing.error(
                {"a": "auth", "c": outgoing.COLLECTION, "d": str(dashboard), "role": role},
                Code.ROLE_CHANGED,
                f"your role on this dashboard is now {role}",
            )
        )
