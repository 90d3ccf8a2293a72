"""The server's exception tree.

Every error that reaches a client carries a stable ``code`` (a member of the registry,
:class:`server.core.codes.Code`), a message, and whether it closes the connection. Library errors
(asyncpg, redis) are translated into these where they enter.
"""

from __future__ import annotations

from typing import Any

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


class SyncConflict(TandemError):
    """A ``manual`` sync found paths both sides changed; ``conflicts`` lists them."""

    code = Code.SYNC_CONFLICT

    def __init__(self, conflicts: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{len(conflicts)} path(s) changed on both sides; nothing was applied: choose and"
            " sync again"
        )
        self.extensions: dict[str, Any] = {"conflicts": conflicts}


class SyncBaseAhead(TandemError):
    code = Code.OP_FROM_FUTURE


class InvalidDocument(TandemError):
    """A document (a sync's, or what merging it makes) that breaks the dashboard schema;
    ``errors`` names the JSON path."""

    code = Code.INVALID_DOCUMENT

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors


class SyncBaseExpired(TandemError):
    code = Code.SYNC_BASE_EXPIRED


class SyncCursorExpired(TandemError):
    code = Code.SYNC_CURSOR_EXPIRED


class Unauthenticated(TandemError):
    code = Code.UNAUTHENTICATED


class RateLimited(TandemError):
    code = Code.RATE_LIMITED


# -- the HTTP API's refusals -----------------------------------------------------------------


class ValidationFailed(TandemError):
    """A request that does not match its schema; ``errors`` names each problem by JSON path."""

    code = Code.VALIDATION_FAILED

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class BadJson(TandemError):
    code = Code.BAD_JSON


class BadCursor(TandemError):
    code = Code.BAD_CURSOR


class PayloadTooLarge(TandemError):
    code = Code.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(TandemError):
    code = Code.UNSUPPORTED_MEDIA_TYPE


class MethodNotAllowed(TandemError):
    code = Code.METHOD_NOT_ALLOWED


class InvalidCredentials(TandemError):
    """Unknown login or wrong password (never told apart)."""

    code = Code.INVALID_CREDENTIALS


class OriginRefused(TandemError):
    """A cookie-authenticated unsafe request from an origin outside the allow-list (CSRF)."""

    code = Code.ORIGIN_REFUSED


class RegistrationClosed(TandemError):
    code = Code.REGISTRATION_CLOSED


class OwnerImmutable(TandemError):
    """The owner of a dashboard cannot be removed or given another role."""

    code = Code.OWNER_IMMUTABLE


class ShareLinkNotFound(TandemError):
    code = Code.SHARE_LINK_NOT_FOUND


class ShareLinkExpired(TandemError):
    code = Code.SHARE_LINK_EXPIRED


class ShareLinkPasswordRequired(TandemError):
    code = Code.SHARE_LINK_PASSWORD_REQUIRED


class ShareLinkPasswordWrong(TandemError):
    code = Code.SHARE_LINK_PASSWORD_WRONG
