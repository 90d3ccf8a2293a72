"""Opaque page cursors: a small JSON array, base64url without padding. Only the server reads
them; one it cannot read is ``bad_cursor`` (400)."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from server.core.errors import BadCursor


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise BadCursor("the cursor is not one this server gave") from exc
