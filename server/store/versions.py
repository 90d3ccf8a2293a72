"""Named versions: the major checkpoints a user sees, labelled, with who named them and when.

A named version is a row of ``checkpoints`` with ``is_major`` and a label. Naming a version
writes its checkpoint (the head, or a past version rebuilt from the log) or names the one that
is there; unnaming clears the label and ``is_major`` but keeps the checkpoint, which stays as
long as the log needs it (compaction decides, see :mod:`server.store.compact`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.core.codes import Code
from server.core.errors import BadRequest, Conflict, NotFound
from server.core.ids import DashboardId, UserId
from server.core.jsonvalue import check_jsonb
from server.store.model import Author
from server.store.pool import translated
from server.store.postgres import PostgresStore

MAX_LABEL = 200


class VersionNamed(Conflict):
    """The version has a name already (rename it instead)."""

    code = Code.VERSION_NAMED


LIST = """
SELECT c.version, c.label, c.created_at, u.id AS user_id, u.username
  FROM checkpoints c LEFT JOIN users u ON u.id = c.created_by
 WHERE c.dashboard_id = $1 AND c.is_major
 ORDER BY c.version DESC
"""

ONE = """
SELECT c.version, c.label, c.created_at, u.id AS user_id, u.username
  FROM checkpoints c LEFT JOIN users u ON u.id = c.created_by
 WHERE c.dashboard_id = $1 AND c.version = $2 AND c.is_major
"""

# Names an existing checkpoint, or writes one: $3 is the document (NULL when the checkpoint is
# known to exist). A version that is already named is refused by the caller's check first and
# by the WHERE here (a race between two namers ends in one conflict, not two labels).
NAME = """
INSERT INTO checkpoints (dashboard_id, version, document, is_major, label, created_by)
VALUES ($1, $2, $3, true, $4, $5)
ON CONFLICT (dashboard_id, version) DO UPDATE
   SET is_major = true, label = EXCLUDED.label, created_by = EXCLUDED.created_by,
       created_at = now()
 WHERE NOT checkpoints.is_major
RETURNING version
"""


@dataclass(frozen=True)
class NamedVersion:
    dashboard_id: DashboardId
    version: int
    label: str
    created_by: Author | None
    created_at: datetime


def check_label(label: str) -> str:
    text = label.strip()
    if not 1 <= len(text) <= MAX_LABEL:
        raise BadRequest(f"a version's label has 1 to {MAX_LABEL} characters")
    check_jsonb(text)
    return text


def _named(dashboard_id: DashboardId, row: asyncpg.Record) -> NamedVersion:
    author = None
    if row["user_id"] is not None:
        author = Author(UserId(row["user_id"]), str(row["username"]))
    return NamedVersion(
        dashboard_id, int(row["version"]), str(row["label"]), author, row["created_at"]
    )


class Versions:
    """Named versions of dashboards, over the log's store."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._pool = store.pool

    async def list_versions(self, dashboard_id: DashboardId) -> list[NamedVersion]:
        """Newest first. Raises NotFound for an unknown dashboard."""
        with translated():
            rows = await self._pool.fetch(LIST, dashboard_id)
        if not rows:
            await self._store.get_head(dashboard_id)
        return [_named(dashboard_id, r) for r in rows]

    async def get_version(self, dashboard_id: DashboardId, version: int) -> NamedVersion:
        with translated():
            row = await self._pool.fetchrow(ONE, dashboard_id, version)
        if row is None:
            raise NotFound(f"version {version} of dashboard {dashboard_id} is not named")
        return _named(dashboard_id, row)

    async def name_version(
        self,
        dashboard_id: DashboardId,
        *,
        label: str,
        version: int | None = None,
        user_id: UserId | None = None,
    ) -> NamedVersion:
        """Name the head (``version`` None) or a past version. Conflict when it is named
        already (rename it instead); VersionUnavailable below the retained log; NotFound
        beyond the head."""
        text = check_label(label)
        with translated():
            existing = await self._pool.fetchrow(
                "SELECT is_major FROM checkpoints WHERE dashboard_id = $1 AND version ="
                " coalesce($2, (SELECT head_version FROM dashboards WHERE id = $1))",
                dashboard_id,
                version,
            )
        if existing is not None and existing["is_major"]:
            raise VersionNamed("that version is named already: rename it instead")
        if existing is not None and version is not None:
            at, document = version, None
        else:
            snapshot = await self._store.load(dashboard_id, version=version)
            if snapshot.version == 0:
                raise BadRequest("version 0 is the empty dashboard: nothing to name")
            at, document = snapshot.version, snapshot.document
            check_jsonb(document)
        with translated():
            named = await self._pool.fetchval(NAME, dashboard_id, at, document, text, user_id)
        if named is None:
            raise VersionNamed("that version is named already: rename it instead")
        return await self.get_version(dashboard_id, at)

    async def rename_version(
        self, dashboard_id: DashboardId, version: int, label: str
    ) -> NamedVersion:
        text = check_label(label)
        with translated():
            done = await self._pool.fetchval(
                "UPDATE checkpoints SET label = $3 WHERE dashboard_id = $1 AND version = $2"
                " AND is_major RETURNING version",
                dashboard_id,
                version,
                text,
            )
        if done is None:
            raise NotFound(f"version {version} of dashboard {dashboard_id} is not named")
        return await self.get_version(dashboard_id, version)

    async def unname_version(self, dashboard_id: DashboardId, version: int) -> None:
        """Forget the label; the checkpoint itself stays while the log needs it."""
        with translated():
            done = await self._pool.fetchval(
                "UPDATE checkpoints SET is_major = false, label = NULL"
                " WHERE dashboard_id = $1 AND version = $2 AND is_major RETURNING version",
                dashboard_id,
                version,
            )
        if done is None:
            raise NotFound(f"version {version} of dashboard {dashboard_id} is not named")
