"""The server's exception tree.

Every error that reaches a client carries a stable ``code`` (a member of the registry,
:class:`server.core.codes.Code`), a message, and whether it closes the connection. Library errors
(asyncpg, redis) are translated into these where they enter.
"""

from __future__ import annotations

from server.core.codes import Code


class TandemError(Exception):
    """Root of every error the server raises on purpose."""

    code: Code = Code.INTERNAL_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(TandemError):
    code = Code.BAD_REQUEST


class NotFound(TandemError):
    code = Code.NOT_FOUND


class Forbidden(TandemError):
    code = Code.FORBIDDEN


class Conflict(TandemError):
    """A version or uniqueness conflict (a unique violation becomes this)."""

    code = Code.CONFLICT


class StaleFence(TandemError):
    """The head row moved or the lock epoch changed: this writer is no longer the sequencer."""

    code = Code.STALE_FENCE


class StoreUnavailable(TandemError):
    """PostgreSQL or Redis cannot be reached right now."""

    code = Code.STORE_UNAVAILABLE


class BadData(TandemError):
    """A value the store refuses (for example one PostgreSQL ``jsonb`` cannot hold)."""

    code = Code.BAD_DATA


class WebAppNotBuilt(TandemError):
    """The browser app's bundle is missing (``make run`` builds it)."""

    code = Code.WEB_NOT_BUILT


class MigrationError(TandemError):
    code = Code.MIGRATION_FAILED


# -- offline sync and retried requests --------------------------------------------------------


class IdempotencyKeyReused(TandemError):
    code = Code.IDEMPOTENCY_KEY_REUSED


class IdempotencyKeyBusy(TandemError):
    code = Code.IDEMPOTENCY_KEY_BUSY


class SyncBaseExpired(TandemError):
    code = Code.SYNC_BASE_EXPIRED


class SyncCursorExpired(TandemError):
    code = Code.SYNC_CURSOR_EXPIRED
