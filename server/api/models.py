"""The models every resource shares: users as others see them, pages, problems.

Request models refuse unknown fields (``extra="forbid"``); bodies are validated strictly (no
string for a number), query strings loosely (they are all strings). The OpenAPI document is
generated from these same classes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

# Eight colours of similar lightness; a user keeps one for life (derived from the id).
AVATAR_COLORS = (
    "#e8590c", "#2f9e44", "#1971c2", "#9c36b5", "#c2255c", "#0c8599", "#5f3dc4", "#e67700",
)  # fmt: skip

Limit = Annotated[int, Field(ge=1, le=100, description="page size")]
Cursor = Annotated[str, Field(min_length=1, max_length=512, description="opaque, from next_cursor")]


def avatar_color(user_id: UUID) -> str:
    return AVATAR_COLORS[hashlib.sha256(user_id.bytes).digest()[0] % len(AVATAR_COLORS)]


class Request(BaseModel):
    """A request body or query: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class UserRef(BaseModel):
    id: UUID
    username: str


class UserCard(BaseModel):
    id: UUID
    username: str
    full_name: str
    avatar_color: str


def card(user_id: UUID, username: str, full_name: str) -> UserCard:
    return UserCard(
        id=user_id, username=username, full_name=full_name, avatar_color=avatar_color(user_id)
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Items(BaseModel, Generic[T]):
    items: list[T]


class ProblemDetail(BaseModel):
    path: str
    message: str


class Problem(BaseModel):
    """An error (``application/problem+json``)."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[ProblemDetail] | None = None


class PageQuery(Request):
    limit: Limit = 50
    cursor: Cursor | None = None


class DashboardParams(Request):
    id: UUID


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
