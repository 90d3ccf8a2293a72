"""Error codes the gateway sends, and the close codes it ends connections with.

Errors travel in ShareDB's shape: the request's routing fields echoed back with
``error: {code, message}``. Codes are stable; clients may switch on them.

| code                  | when                                                              | connection      |
|-----------------------|-------------------------------------------------------------------|-----------------|
| `bad_json`            | the frame is not strict JSON (NaN, Infinity, U+0000, a lone        | stays open      |
|                       | surrogate, an integer beyond +-(2**53-1), nesting too deep)        |                 |
| `message_too_large`   | the frame is larger than `max_message_bytes`                       | closed, 1009    |
| `unknown_action`      | `a` is missing or names no action                                  | stays open      |
| `invalid_message`     | a field is missing, of the wrong type, or not part of the action   | stays open      |
| `unauthenticated`     | a message before `auth` (stays open); a bad or expired token      | closed, 4001    |
| `forbidden`           | the role does not allow it (a viewer submitting an op)             | stays open      |
| `not_found`           | no such dashboard, or the user is not a member (never told apart)  | stays open      |
| `rate_limited`        | too many ops per second for this connection or user                | open; a flood   |
|                       |                                                                   | closes, 4029    |
| `too_many_connections`| the user already has `connections_per_user` connections            | closed, 4031    |
| `invalid_op` etc.     | the op is malformed or does not apply; the OT core's codes pass    | stays open      |
|                       | through (`invalid_op`, `invalid_path`, `apply_failed`,             |                 |
|                       | `invalid_document`, `unknown_type`, `not_invertible`)              |                 |
| `op_from_future`      | the op's version is newer than the dashboard                       | stays open      |
| `already_created`     | a `create` op for a dashboard that exists                          | stays open      |
| `version_unavailable` | the version is older than the retained log: fetch a snapshot       | stays open      |
| `submit_timeout`      | not committed in time; it may still commit: resubmit the same      | stays open      |
|                       | `src`/`seq` and it is acknowledged once                            |                 |
| `store_unavailable`   | PostgreSQL or Redis cannot be reached right now                    | stays open      |
| `internal_error`      | a bug; logged on the server                                        | stays open      |

Refusals of the sequencer reach the client with the sequencer's code unchanged.
ShareDB's own `ERR_*` codes are used only where the stock client's behaviour depends on the
code; no Tandem refusal needs one, so none is sent today.

Close codes: 1000 normal, 1001 server going away, 1008 policy (Origin refused before accept,
which the client sees as HTTP 403), 1009 message too large, 1011 internal error, 4001
unauthenticated or authentication deadline passed, 4008 too many malformed messages, 4029 too
many rate-limited messages, 4030 slow consumer (send queue full), 4031 too many connections.
"""

from __future__ import annotations

from enum import IntEnum

from server.core.errors import TandemError

BAD_JSON = "bad_json"
MESSAGE_TOO_LARGE = "message_too_large"
UNKNOWN_ACTION = "unknown_action"
INVALID_MESSAGE = "invalid_message"
UNAUTHENTICATED = "unauthenticated"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
RATE_LIMITED = "rate_limited"
TOO_MANY_CONNECTIONS = "too_many_connections"
INVALID_OP = "invalid_op"
OP_FROM_FUTURE = "op_from_future"
VERSION_UNAVAILABLE = "version_unavailable"
SUBMIT_TIMEOUT = "submit_timeout"
STORE_UNAVAILABLE = "store_unavailable"
INTERNAL_ERROR = "internal_error"


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008
    TOO_LARGE = 1009
    INTERNAL = 1011
    UNAUTHENTICATED = 4001
    TOO_MANY_ERRORS = 4008
    RATE_LIMITED = 4029
    SLOW_CONSUMER = 4030
    TOO_MANY_CONNECTIONS = 4031


class ProtocolError(TandemError):
    """A message the gateway refuses.

    ``echo`` holds the request's routing fields (``a``, ``c``, ``d``, ``id``, ``ch``, ``seq`` ...)
    so the reply reaches the right doc, query or presence on the client. ``close_code`` is set
    when the error ends the connection.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        echo: dict[str, object] | None = None,
        close_code: CloseCode | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.echo: dict[str, object] = dict(echo or {})
        self.close_code = close_code
        self.fatal = close_code is not None


def not_found(echo: dict[str, object] | None = None) -> ProtocolError:
    """The one answer for "does not exist" and "not yours": existence is not leaked."""
    return ProtocolError(NOT_FOUND, "no such dashboard", echo=echo)
