"""The query language of ``qf``/``qs`` over the dashboards a user may see.

Grammar (every key optional; nothing else is accepted)::

    query := {"title"?: str,          case-insensitive substring of the title
              "$search"?: str,        words that must all appear in the title or description
              "$limit"?: int 1..100,  default 20
              "$skip"?: int >= 0}     default 0

Example: ``{"title": "ops", "$limit": 5}``, the first five dashboards whose title contains
"ops", most recently changed first. Results are ShareDB's: ``data: [{d, v, data, type}]``.

``qs`` answers like ``qf`` and keeps the result set live: when an access change may alter it
(a dashboard created, shared, unshared, archived, restored or deleted) the gateway runs it again
and sends ``{a:'q', id, diff}`` (:mod:`server.protocol.query_diff`). The docs in the answer are
not subscribed: subscribe to them for their ops. ``qu`` ends it and is acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.core.codes import Code
from server.protocol.errors import ProtocolError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_TEXT = 200


@dataclass(frozen=True)
class DashboardQuery:
    title: str | None = None
    search: str | None = None
    limit: int = DEFAULT_LIMIT
    skip: int = 0


def _text(query: dict[str, Any], key: str, echo: dict[str, object]) -> str | None:
    value = query.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ProtocolError(
            Code.INVALID_MESSAGE,
            f"{key!r} must be a string of at most {MAX_TEXT} characters",
            echo=echo,
        )
    return value.strip() or None


def _int(
    query: dict[str, Any], key: str, default: int, low: int, high: int, echo: dict[str, object]
) -> int:
    value = query.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(
            Code.INVALID_MESSAGE, f"{key!r} must be an integer in {low}..{high}", echo=echo
        )
    return value


def parse_query(query: dict[str, Any], *, echo: dict[str, object] | None = None) -> DashboardQuery:
    """The typed query; raises ProtocolError(invalid_message) for anything outside the grammar."""
    where = dict(echo or {})
    unknown = sorted(set(query) - {"title", "$search", "$limit", "$skip"})
    if unknown:
        raise ProtocolError(
            Code.INVALID_MESSAGE, f"unsupported query field {unknown[0]!r}", echo=where
        )
    return DashboardQuery(
        title=_text(query, "title", where),
        search=_text(query, "$search", where),
        limit=_int(query, "$limit", DEFAULT_LIMIT, 1, MAX_LIMIT, where),
        skip=_int(query, "$skip", 0, 0, 1_000_000, where),
    )
