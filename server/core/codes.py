"""Every error code a client, an HTTP caller or the CLI can see, and every websocket close code.

How to add an error code: add one member to :class:`Code` below, as
``NAME = "wire_string", http_status, close, "what it means"``: the string clients switch on
(stable: never rename one), the HTTP status an HTTP caller gets it with (the body is
``application/problem+json``), the close code the websocket ends with when this error ends the
connection (``None``: it never does), and one line a client developer can act on. Then refer to
it as ``Code.NAME``; an exception class names it with ``code = Code.NAME``. The string itself
appears nowhere else in ``server/`` (tests of the wire may spell it). The OT core's codes are
defined by :mod:`ot.errors` (``ot/`` imports nothing from the server) and listed here by
reference. A test checks that every code raised or sent is a member.

Errors travel to websocket clients in ShareDB's shape: the request's routing fields echoed back
with ``error: {code, message}``. ShareDB's own ``ERR_*`` codes would be used only where the stock
client's behaviour depends on the code; no Tandem refusal needs one, so none is sent today.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from ot.errors import (
    ApplyError,
    DocumentError,
    InvalidOpError,
    NotInvertibleError,
    PathError,
    UnknownTypeError,
)


class CloseCode(IntEnum):
    """The websocket close codes the gateway ends connections with."""

    NORMAL = 1000
    GOING_AWAY = 1001  # the server is shutting down
    POLICY = 1008  # Origin refused before accept: the client sees HTTP 403
    TOO_LARGE = 1009
    INTERNAL = 1011
    SERVICE_RESTART = 1012  # the server is restarting: reconnect (to another process)
    UNAUTHENTICATED = 4001  # a bad or expired token, no auth before the deadline, or revoked
    ACCESS_REVOKED = 4003  # the user lost access to a dashboard the connection watches
    TOO_MANY_ERRORS = 4008  # too many malformed messages
    RATE_LIMITED = 4029  # too many rate-limited messages
    SLOW_CONSUMER = 4030  # the send queue is full: the client is not reading
    TOO_MANY_CONNECTIONS = 4031


class Code(StrEnum):
    """An error code: its wire string, HTTP status, closing behaviour and meaning."""

    status: int
    close: CloseCode | None
    meaning: str

    def __new__(cls, value: str, status: int, close: CloseCode | None, meaning: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = status
        member.close = close
        member.meaning = meaning
        return member

    @classmethod
    def of(cls, text: str) -> Code:
        """The member whose wire string is ``text`` (ValueError: no code is spelt so)."""
        member = cls._value2member_map_.get(text)
        if not isinstance(member, cls):
            raise ValueError(f"{text!r} is not an error code")
        return member

    # -- the message itself ----------------------------------------------------------------
    BAD_JSON = (
        "bad_json",
        400,
        None,
        "not strict JSON: NaN, Infinity, U+0000, a lone surrogate, an integer beyond"
        " +-(2**53-1), or nested too deep",
    )
    MESSAGE_TOO_LARGE = (
        "message_too_large",
        413,
        CloseCode.TOO_LARGE,
        "the frame is larger than max_message_bytes",
    )
    PRESENCE_TOO_LARGE = (
        "presence_too_large",
        413,
        None,
        "a presence value is larger than presence_max_bytes",
    )
    PRESENCE_TOO_OLD = (
        "presence_too_old",
        409,
        None,
        "the presence's v is more than presence_max_lag versions behind: send it again at the head",
    )
    UNKNOWN_ACTION = "unknown_action", 400, None, "`a` is missing or names no action"
    INVALID_MESSAGE = (
        "invalid_message",
        400,
        None,
        "a field is missing, of the wrong type, or not part of the action",
    )
    TOO_MANY_IDS = (
        "too_many_ids",
        413,
        None,
        "a bulk request names more than max_bulk_ids dashboards: split it",
    )
    BAD_REQUEST = "bad_request", 400, None, "the request is malformed"

    # -- who is asking ---------------------------------------------------------------------
    UNAUTHENTICATED = (
        "unauthenticated",
        401,
        CloseCode.UNAUTHENTICATED,
        "a bad or expired token, or no auth in time, closes the connection; a message sent"
        " before auth is refused and the connection stays open",
    )
    SESSION_REVOKED = (
        "session_revoked",
        401,
        CloseCode.UNAUTHENTICATED,
        "the connection's session was revoked or expired, or its user deactivated or deleted,"
        " while it was open",
    )
    ACCESS_REVOKED = (
        "access_revoked",
        403,
        CloseCode.ACCESS_REVOKED,
        "the user lost access to a dashboard this connection watches",
    )
    ROLE_CHANGED = (
        "role_changed",
        403,
        None,
        "the user's role on a watched dashboard changed (`role` says to what); the connection"
        " stays, and a viewer's ops are refused from then on",
    )
    PRESENCE_NOT_OWNED = (
        "presence_not_owned",
        403,
        None,
        "another connection holds this presence id: choose another (ids are per connection)",
    )
    FORBIDDEN = "forbidden", 403, None, "the role does not allow it (a viewer submitting an op)"
    NOT_FOUND = (
        "not_found",
        404,
        None,
        "no such dashboard, or the user is not a member (never told apart)",
    )
    RATE_LIMITED = (
        "rate_limited",
        429,
        None,
        "too many ops or presence updates per second; a flood of them closes 4029",
    )
    TOO_MANY_PRESENCES = (
        "too_many_presences",
        429,
        None,
        "this connection holds presence_per_connection presence ids, or the dashboard"
        " presence_per_dashboard: clear one first",
    )
    TOO_MANY_CONNECTIONS = (
        "too_many_connections",
        429,
        CloseCode.TOO_MANY_CONNECTIONS,
        "the user already has connections_per_user connections",
    )

    # -- the op (the OT core's codes pass through unchanged) -------------------------------
    INVALID_OP = InvalidOpError.code, 422, None, "the op is not well formed for its type"
    INVALID_PATH = PathError.code, 422, None, "the op names a path the document does not have"
    APPLY_FAILED = ApplyError.code, 422, None, "the op does not fit the document"
    INVALID_DOCUMENT = DocumentError.code, 422, None, "the op breaks the dashboard's shape"
    UNKNOWN_TYPE = UnknownTypeError.code, 422, None, "no OT type or subtype of that name"
    NOT_INVERTIBLE = NotInvertibleError.code, 422, None, "the op lacks what inversion needs"
    OP_FROM_FUTURE = "op_from_future", 409, None, "the op's version is newer than the dashboard"
    ALREADY_CREATED = "already_created", 409, None, "a create op for a dashboard that exists"
    VERSION_UNAVAILABLE = (
        "version_unavailable",
        410,
        None,
        "the version is older than the retained log: fetch a snapshot",
    )
    SUBMIT_TIMEOUT = (
        "submit_timeout",
        504,
        None,
        "not committed in time; it may still commit: resubmit the same src/seq and it is"
        " acknowledged once",
    )
    DOCUMENT_TOO_LARGE = (
        "document_too_large",
        413,
        None,
        "the op would make the dashboard larger than max_document_bytes; nothing changed",
    )
    CONFLICT = "conflict", 409, None, "a version or uniqueness conflict"
    BAD_DATA = "bad_data", 422, None, "a value the store cannot hold (PostgreSQL jsonb)"

    # -- offline sync and retried requests ------------------------------------------------
    IDEMPOTENCY_KEY_REUSED = (
        "idempotency_key_reused",
        422,
        None,
        "this Idempotency-Key was used for a different request (method, path or body): a new"
        " request needs a new key",
    )
    IDEMPOTENCY_KEY_BUSY = (
        "idempotency_key_busy",
        409,
        None,
        "a request with this Idempotency-Key is still being processed: retry in a moment and"
        " get its answer",
    )
    SYNC_CONFLICT = (
        "sync_conflict",
        409,
        None,
        "strategy manual and both sides changed the same paths: nothing was applied; `conflicts`"
        " lists each path with its base, local and remote value; resolve and sync again",
    )
    SYNC_BASE_EXPIRED = (
        "sync_base_expired",
        410,
        None,
        "base_version is older than the retained log: fetch the dashboard, redo the changes on"
        " its document and sync with its version as the base",
    )
    SYNC_CURSOR_EXPIRED = (
        "sync_cursor_expired",
        410,
        None,
        "the cursor is older than the changes kept: pull again without a cursor and refetch",
    )

    # -- history ---------------------------------------------------------------------------
    IMPORT_INVALID = (
        "import_invalid",
        422,
        None,
        "the import file is refused (nothing was created); errors[0].path is the JSON path of"
        " the first problem",
    )
    VERSION_NAMED = (
        "version_named",
        409,
        None,
        "that version is named already: rename it (PATCH) instead",
    )

    # -- the HTTP API ----------------------------------------------------------------------
    VALIDATION_FAILED = (
        "validation_failed",
        422,
        None,
        "the request does not match its schema; `errors` lists each problem with its JSON path",
    )
    BAD_CURSOR = "bad_cursor", 400, None, "the cursor is not one the server gave: start over"
    PAYLOAD_TOO_LARGE = "payload_too_large", 413, None, "the body is larger than the endpoint takes"
    UNSUPPORTED_MEDIA_TYPE = (
        "unsupported_media_type",
        415,
        None,
        "the body must be application/json (or the endpoint takes none)",
    )
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, None, "the path has no such method (see Allow)"
    INVALID_CREDENTIALS = "invalid_credentials", 401, None, "wrong login or password"
    ORIGIN_REFUSED = (
        "origin_refused",
        403,
        None,
        "a cookie-authenticated unsafe request without an allowed Origin (CSRF)",
    )
    REGISTRATION_CLOSED = "registration_closed", 403, None, "this server does not take sign-ups"
    OWNER_IMMUTABLE = (
        "owner_immutable",
        403,
        None,
        "the owner of a dashboard cannot be removed or given another role",
    )
    SHARE_LINK_NOT_FOUND = (
        "share_link_not_found",
        404,
        None,
        "no live share link has that token (revoked, or never existed)",
    )
    SHARE_LINK_EXPIRED = "share_link_expired", 410, None, "the share link has expired"
    SHARE_LINK_PASSWORD_REQUIRED = (
        "share_link_password_required",
        401,
        None,
        "the share link has a password: send it",
    )
    SHARE_LINK_PASSWORD_WRONG = (
        "share_link_password_wrong",
        401,
        None,
        "wrong share-link password (attempts are rate limited)",
    )

    # -- the server ------------------------------------------------------------------------
    STALE_FENCE = (
        "stale_fence",
        409,
        None,
        "this writer is no longer the dashboard's sequencer (the head or lock epoch moved)",
    )
    STORE_UNAVAILABLE = (
        "store_unavailable",
        503,
        None,
        "PostgreSQL or Redis cannot be reached right now: retry",
    )
    REPLAY_FAILED = (
        "replay_failed",
        500,
        None,
        "a stored op does not apply to its snapshot: the log is damaged",
    )
    WEB_NOT_BUILT = "web_not_built", 503, None, "the browser app's bundle is missing (make run)"
    MIGRATION_FAILED = "migration_failed", 500, None, "a schema migration did not apply"
    SCHEMA_MISSING = "schema_missing", 503, None, "the schema is not there: run tandem migrate"
    INVALID_SETTING = (
        "invalid_setting",
        500,
        None,
        "a setting (environment variable) the server cannot start with",
    )
    INTERNAL_ERROR = "internal_error", 500, None, "a bug; logged on the server"
