"""The gateway's refusal of one message, in ShareDB's error shape.

The codes and close codes themselves are the registry's (:mod:`server.core.codes`): this module
only carries one of them, with the routing fields the reply echoes back.
"""

from __future__ import annotations

from server.core.codes import CloseCode, Code
from server.core.errors import TandemError


class ProtocolError(TandemError):
    """A message the gateway refuses.

    ``echo`` holds the request's routing fields (``a``, ``c``, ``d``, ``id``, ``ch``, ``seq`` ...)
    so the reply reaches the right doc, query or presence on the client. ``close_code`` is set
    when the error ends the connection (only codes whose registry entry names a close code do).
    """

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        echo: dict[str, object] | None = None,
        close_code: CloseCode | None = None,
    ) -> None:
        super().__init__(message)
        assert close_code is None or close_code == code.close, (code, close_code)
        self.code = code
        self.echo: dict[str, object] = dict(echo or {})
        self.close_code = close_code
        self.fatal = close_code is not None


def not_found(echo: dict[str, object] | None = None) -> ProtocolError:
    """The one answer for "does not exist" and "not yours": existence is not leaked."""
    return ProtocolError(Code.NOT_FOUND, "no such dashboard", echo=echo)
