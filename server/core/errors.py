"""The server's exception tree.

Every error that reaches a client carries a stable ``code``, a message, and whether it closes the
connection. Library errors (asyncpg, redis) are translated into these where they enter.
"""

from __future__ import annotations


class TandemError(Exception):
    """Root of every error the server raises on purpose."""

    code = "internal_error"
    fatal = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_wire(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class BadRequest(TandemError):
    code = "bad_request"


class NotFound(TandemError):
    code = "not_found"


class Forbidden(TandemError):
    code = "forbidden"


class Unauthenticated(TandemError):
    code = "unauthenticated"
    fatal = True


class RateLimited(TandemError):
    code = "rate_limited"


class Conflict(TandemError):
    """A version or uniqueness conflict (a unique violation becomes this)."""

    code = "conflict"


class StaleFence(TandemError):
    """The head row moved or the lock epoch changed: this writer is no longer the sequencer."""

    code = "stale_fence"


class StoreUnavailable(TandemError):
    """PostgreSQL or Redis cannot be reached right now."""

    code = "store_unavailable"


class BadData(TandemError):
    """A value the store refuses (for example one PostgreSQL ``jsonb`` cannot hold)."""

    code = "bad_data"


class WebAppNotBuilt(TandemError):
    """The browser app's bundle is missing (``make run`` builds it)."""

    code = "web_not_built"


class MigrationError(TandemError):
    code = "migration_failed"
