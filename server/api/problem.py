"""Errors as ``application/problem+json`` (RFC 9457), the only shape an API failure takes.

``{type, title, status, code, detail, errors?}``: ``code`` is the error's stable code from
:mod:`server.core.errors`, ``status`` its HTTP status, ``errors`` (validation only) one entry per
problem with the JSON path it concerns (``$.title`` in the body, ``query.limit``,
``path.id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response

from server.core.errors import TandemError, ValidationFailed

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:tandem:problem:"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    return Response(
        orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=dict(headers or {})
    )


def from_error(exc: TandemError, headers: Mapping[str, str] | None = None) -> Response:
    # ``errors`` (paths) and other members (a sync's ``conflicts``) where the error has them.
    errors = getattr(exc, "errors", None) or None
    extensions = getattr(exc, "extensions", None)
    # And the response headers the error carries (a replayed refusal says it is one).
    headers = {**getattr(exc, "headers", {}), **(headers or {})}
    return problem(
        exc.code.status, str(exc.code), exc.message, errors=errors, headers=headers,
        extensions=extensions,
    )  # fmt: skip


def json_path(location: str, loc: Iterable[int | str]) -> str:
    """``$.a[0].b`` for the body, ``query.limit`` / ``path.id`` for parameters."""
    parts = list(loc)
    if location != "body":
        return ".".join([location, *map(str, parts)])
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def validation_failed(location: str, exc: ValidationError) -> ValidationFailed:
    errors = [
        {"path": json_path(location, e["loc"]), "message": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    first = errors[0] if errors else {"path": location, "message": "invalid"}
    return ValidationFailed(f"{first['path']}: {first['message']}", errors)


def invalid(path: str, message: str) -> ValidationFailed:
    """A validation failure found outside the models (``path`` as :func:`json_path` makes)."""
    return ValidationFailed(f"{path}: {message}", [{"path": path, "message": message}])
