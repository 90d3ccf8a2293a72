"""The caches every process shares, in Redis: roles, dashboard metadata, sessions, profiles.

The HTTP API and the socket read a user's role on a dashboard, the dashboard's metadata, the
session a token opens and a user's profile on most requests; while nothing changed, Redis
answers (:data:`~server.redis.keys` names the keys). Each entry has a TTL, and two rules keep it
from outliving the change that made it stale:

- whoever changes what an entry says forgets it in Redis before answering
  (:func:`forget`, called by :func:`server.access.changes.announce`): a dashboard's entries by
  bumping its generations and deleting them, a session's or a profile by overwriting it with a
  tombstone (``-``) that lives as long as any entry may. A commit forgets its dashboard's
  metadata in the sequencer's settle script (:mod:`server.sequencer.lock`);
- a reader that missed writes what PostgreSQL told it only if nothing was forgotten meanwhile:
  a dashboard's entry only while the generation it read with the miss is still current (one
  script checks and writes), a session or profile only where neither an entry nor a tombstone
  is (``SET NX``).

So a change made through Tandem takes effect at once for every process's next read; a change
made directly in PostgreSQL, without an announcement, is served until the entry's TTL. A Redis
that cannot be reached is a miss: PostgreSQL answers and nothing is written.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import orjson
from redis.exceptions import RedisError

from server.core import log
from server.core.ids import DashboardId, UserId
from server.redis.keys import Keys
from server.redis.resp import Script
from server.store.model import LiveSession, Role

_log = log.get(__name__)

NO_ROLE = b"-"  # a role entry: no access
FORGOTTEN = b"-"  # a session or profile entry: forgotten (a tombstone), ask PostgreSQL
GENERATION_MS = 86_400_000  # far longer than any read between a miss and its write
MAX_TTL_SECONDS = 3600.0  # no entry lives longer (TANDEM_CACHE_SECONDS is bounded by it) ...
TOMBSTONE_MS = int(MAX_TTL_SECONDS * 1000)  # ... so a tombstone outlives any entry it hides
ROLES: frozenset[str] = frozenset({"viewer", "editor", "admin"})


class Miss:
    """Not in the cache."""


MISS = Miss()

# KEYS: the entry, its generation. ARGV: field ('' for a plain string), value, generation seen
# with the miss ('' for none), TTL in ms. Writes only while the generation is unchanged.
_REMEMBER = Script("""
if (redis.call('get', KEYS[2]) or '') ~= ARGV[3] then
    return 0
end
if ARGV[1] == '' then
    redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[4])
else
    redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
    if redis.call('pttl', KEYS[1]) < 0 then
        redis.call('pexpire', KEYS[1], ARGV[4])
    end
end
return 1
""")

# KEYS: roles, meta, access generation, change generation. ARGV: the user whose role changed
# ('' for every user's), the generations' lifetime in ms.
FORGET_DASHBOARD = """
redis.call('incr', KEYS[3])
redis.call('pexpire', KEYS[3], ARGV[2])
redis.call('incr', KEYS[4])
redis.call('pexpire', KEYS[4], ARGV[2])
if ARGV[1] == '' then
    redis.call('del', KEYS[1])
else
    redis.call('hdel', KEYS[1], ARGV[1])
end
redis.call('del', KEYS[2])
return 1
"""


@dataclass(frozen=True)
class Meta:
    """A dashboard's row as the API answers it, without the caller's role."""

    owner_id: UserId
    owner_username: str
    title: str
    description: str
    collaborator_count: int
    head_version: int
    is_archived: bool
    is_public: bool
    created_at: str  # ISO 8601, as stored
    updated_at: str

    def encode(self) -> bytes:
        return orjson.dumps({**vars(self), "owner_id": str(self.owner_id)})

    @classmethod
    def decode(cls, data: bytes) -> Meta:
        raw = orjson.loads(data)
        return cls(**{**raw, "owner_id": UserId(UUID(raw["owner_id"]))})


@dataclass(frozen=True)
class Seen:
    """What one read found for a dashboard (and a user), with the generations to write under."""

    role: Role | Miss | None
    meta: Meta | Miss
    access: str
    change: str


class SharedCache:
    """Reads and guarded writes on the lean client (``resp``: one round trip a read)."""

    def __init__(self, resp: Any, keys: Keys, *, ttl: float) -> None:
        self._resp = resp
        self._keys = keys
        self._ttl_ms = max(1, int(min(ttl, MAX_TTL_SECONDS) * 1000))

    # -- a dashboard's role and metadata -----------------------------------------------

    async def dashboard(self, dashboard: DashboardId, user: UserId | None) -> Seen:
        """The user's role (MISS without a user) and the metadata, in one round trip."""
        k = self._keys
        commands: list[tuple[Any, ...]] = [
            ("GET", k.cache_meta(dashboard)),
            ("GET", k.cache_access(dashboard)),
            ("GET", k.cache_change(dashboard)),
        ]
        if user is not None:
            commands.append(("HGET", k.cache_roles(dashboard), str(user)))
        replies = await _quietly(self._resp.pipeline(*commands), None)
        if replies is None:
            return Seen(MISS, MISS, "", "")
        meta, access, change = replies[0], replies[1], replies[2]
        role = _role(replies[3]) if user is not None else MISS
        return Seen(role, MISS if meta is None else Meta.decode(meta), _gen(access), _gen(change))

    async def role(self, dashboard: DashboardId, user: UserId) -> tuple[Role | Miss | None, str]:
        """The cached role and the access generation to write a fresh one under."""
        k = self._keys
        replies = await _quietly(
            self._resp.pipeline(
                ("HGET", k.cache_roles(dashboard), str(user)), ("GET", k.cache_access(dashboard))
            ),
            None,
        )
        if replies is None:
            return MISS, "\0"  # a generation no key holds: nothing will be written
        raw, access = replies
        return _role(raw), _gen(access)

    async def remember_role(
        self, dashboard: DashboardId, user: UserId, role: Role | None, access: str
    ) -> None:
        k = self._keys
        value = NO_ROLE if role is None else role.encode()
        await self._remember(
            (k.cache_roles(dashboard), k.cache_access(dashboard)), str(user), value, access
        )

    async def remember_meta(self, dashboard: DashboardId, meta: Meta, change: str) -> None:
        k = self._keys
        await self._remember(
            (k.cache_meta(dashboard), k.cache_change(dashboard)), "", meta.encode(), change
        )

    async def _remember(self, keys: tuple[str, str], field: str, value: bytes, gen: str) -> None:
        await _quietly(self._resp.run(_REMEMBER, keys, (field, value, gen, self._ttl_ms)), None)

    # -- sessions and profiles ---------------------------------------------------------

    async def session(self, token_hash: bytes) -> LiveSession | Miss:
        raw = await self._get(self._keys.cache_session(token_hash))
        if raw is None or raw == FORGOTTEN:
            return MISS
        session, user, expires = orjson.loads(raw)
        if expires <= time.time():
            return MISS
        return LiveSession(UUID(session), UserId(UUID(user)))

    async def remember_session(
        self, token_hash: bytes, session: LiveSession, expires_at: float
    ) -> None:
        """Kept no longer than the session lives, nor than the cache's TTL."""
        left_ms = int((expires_at - time.time()) * 1000)
        if left_ms <= 0:
            return
        value = orjson.dumps([str(session.id), str(session.user_id), expires_at])
        await self._set_nx(self._keys.cache_session(token_hash), value, min(left_ms, self._ttl_ms))

    async def profile(self, user: UserId) -> dict[str, Any] | Miss:
        raw = await self._get(self._keys.cache_user(user))
        if raw is None or raw == FORGOTTEN:
            return MISS
        profile: dict[str, Any] = orjson.loads(raw)
        return profile

    async def remember_profile(self, user: UserId, profile: dict[str, Any]) -> None:
        await self._set_nx(self._keys.cache_user(user), orjson.dumps(profile), self._ttl_ms)

    async def _get(self, key: str) -> bytes | None:
        raw: bytes | None = await _quietly(self._resp.call("GET", key), None)
        return raw

    async def _set_nx(self, key: str, value: bytes, ttl_ms: int) -> None:
        await _quietly(self._resp.call("SET", key, value, "PX", ttl_ms, "NX"), None)


class SessionSource(Protocol):
    async def session_until(self, token_hash: bytes) -> tuple[LiveSession, datetime] | None: ...

    async def create_session(
        self, user_id: UserId, token_hash: bytes, expires_at: datetime
    ) -> object: ...


class CachedSessions:
    """The live session a token opens (by its SHA-256): the shared cache, else PostgreSQL,
    whose answer is remembered. A dead token is not remembered: it asks PostgreSQL again."""

    def __init__(self, source: SessionSource, cache: SharedCache) -> None:
        self._source = source
        self._cache = cache

    async def session_for(self, token_hash: bytes) -> LiveSession | None:
        cached = await self._cache.session(token_hash)
        if not isinstance(cached, Miss):
            return cached
        found = await self._source.session_until(token_hash)
        if found is None:
            return None
        session, expires_at = found
        await self._cache.remember_session(token_hash, session, expires_at.timestamp())
        return session

    async def create_session(self, user_id: UserId, token_hash: bytes, expires_at: datetime) -> Any:
        return await self._source.create_session(user_id, token_hash, expires_at)


async def forget(
    redis: Any,
    keys: Keys,
    *,
    dashboard: DashboardId | None = None,
    user: UserId | None = None,
    tokens: Iterable[bytes] = (),
    profile: UserId | None = None,
) -> None:
    """Forget ``dashboard``'s entries (only ``user``'s role, with a user), the sessions of
    ``tokens`` (their SHA-256) and ``profile``'s profile, on a redis-py client. Errors are the
    caller's: an entry that could not be forgotten would be served until its TTL."""
    if dashboard is not None:
        await redis.eval(
            FORGET_DASHBOARD, 4,
            keys.cache_roles(dashboard), keys.cache_meta(dashboard),
            keys.cache_access(dashboard), keys.cache_change(dashboard),
            "" if user is None else str(user), GENERATION_MS,
        )  # fmt: skip
    for digest in tokens:
        await redis.set(keys.cache_session(digest), FORGOTTEN, px=TOMBSTONE_MS)
    if profile is not None:
        await redis.set(keys.cache_user(profile), FORGOTTEN, px=TOMBSTONE_MS)


async def _quietly(work: Awaitable[Any], fallback: Any) -> Any:
    """``await work``; a Redis that cannot be reached is a miss: ``fallback``, logged."""
    try:
        return await work
    except (RedisError, OSError) as exc:
        _log.warning("cache.unavailable", error=type(exc).__name__)
        return fallback


def _role(raw: bytes | None) -> Role | Miss | None:
    if raw is None:
        return MISS
    text = raw.decode()
    if text in ROLES:
        role: Role = text  # type: ignore[assignment]
        return role
    return None


def _gen(raw: bytes | None) -> str:
    return "" if raw is None else raw.decode()
