"""The one exception tree of the OT core.

Every public function in :mod:`ot` raises only these, and only the leaves. ``code`` is stable:
the gateway sends it to clients unchanged (the server's registry, ``server/core/codes.py``, lists
each of them by reference).
"""

from __future__ import annotations


class OTError(Exception):
    """Root of every error the OT core raises."""

    code: str  # each leaf names its own

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidOpError(OTError):
    """The op is not well formed for its type (bad component, bad field types)."""

    code = "invalid_op"


class PathError(OTError):
    """The op names a path that does not exist in the document, or crosses a value of the wrong kind."""

    code = "invalid_path"


class ApplyError(OTError):
    """The op is well formed but does not fit the document (deleted text differs, index out of range)."""

    code = "apply_failed"


class UnknownTypeError(OTError):
    """A subtype or OT type name that is not registered."""

    code = "unknown_type"


class NotInvertibleError(OTError):
    """The op lacks what inversion needs (for example a delete that does not carry its text)."""

    code = "not_invertible"


class DocumentError(OTError):
    """A document (or a domain op against it) breaks the dashboard document's shape."""

    code = "invalid_document"
