"""Idempotency keys in PostgreSQL: claim a key before the work, settle it with the answer after.

A key belongs to one user. :meth:`IdempotencyKeys.claim` answers one of:

- :class:`Claimed`: this request does the work (a new key, or one whose earlier attempt died
  with its lease; then ``plan`` is what that attempt recorded before submitting, so the retry
  can find its op instead of applying it again);
- :class:`Answered`: an earlier attempt finished; its status and body are the answer;
- :class:`Busy`: another attempt holds the lease right now;
- :class:`Mismatch`: the key was used for a different request (another fingerprint).

Why a table and not Redis with a TTL: the answer has to outlive a Redis restart or flush
(Redis holds nothing that cannot be rebuilt), and it sits in the same database as the op it
describes. The TTL is ``expires_at``; a user's expired keys are purged when the user claims
another, and :meth:`IdempotencyKeys.purge` clears everyone's.

What waits for the disk: the claim and the plan do, before the work submits anything. The op
then sits in a Redis queue and may be committed later, even by a PostgreSQL restarted after a
crash that lost every write not yet flushed; a retry must find the claim (a takeover, which
looks for the op) and the plan then. An answer that a retry would rebuild anyway
(``flush=False``: a sync whose op committed) and a release do not wait for their WAL to be
flushed (``synchronous_commit`` off for that one transaction), which saves a flush each, most
of what these writes cost: a crash may lose them, and the retry then takes the key over (after
the lease, for a lost release) and rebuilds the answer from the plan and the op. Any other
answer (a refusal, a sync with nothing to apply, a created dashboard) waits for the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from server.core.ids import DashboardId, UserId
from server.store import statements as sql
from server.store.pool import translated

DEFAULT_TTL = timedelta(hours=24)
DEFAULT_LEASE = timedelta(seconds=30)
# In a write's RETURNING: its transaction commits without waiting for the WAL flush (see the
# module docstring). Evaluated for each row written, so only a write that wrote skips it.
_UNFLUSHED = "set_config('synchronous_commit', 'off', true)"

# One statement (one round trip, its own transaction): delete the user's other expired keys;
# insert the key, start an expired one over, or take over an attempt whose lease ran out (same
# fingerprint only); and when none of that happened, the key's row as it was, to tell an
# answer from a mismatch or an attempt still running. created_at = now() tells a key started
# now (new or expired) from a takeover.
_CLAIM = """
WITH purged AS (
    DELETE FROM idempotency_keys
     WHERE user_id = $1 AND key <> $2 AND expires_at < now()
), claimed AS (
    INSERT INTO idempotency_keys AS k (user_id, key, fingerprint, locked_until, expires_at)
    VALUES ($1, $2, $3, now() + $4::interval, now() + $5::interval)
    ON CONFLICT (user_id, key) DO UPDATE SET
        locked_until = EXCLUDED.locked_until,
        fingerprint = EXCLUDED.fingerprint,
        status = NULL,
        response = NULL,
        plan = CASE WHEN k.expires_at < now() THEN NULL ELSE k.plan END,
        created_at = CASE WHEN k.expires_at < now() THEN now() ELSE k.created_at END,
        expires_at = CASE WHEN k.expires_at < now() THEN EXCLUDED.expires_at
                          ELSE k.expires_at END
     WHERE k.expires_at < now()
        OR (k.status IS NULL AND k.locked_until < now() AND k.fingerprint = EXCLUDED.fingerprint)
    RETURNING k.plan, k.created_at = now() AS fresh
)
SELECT true AS claimed, plan, fresh, NULL::bytea AS fingerprint, NULL::integer AS status,
       NULL::jsonb AS response
  FROM claimed
UNION ALL
SELECT false, NULL, NULL, fingerprint, status, response
  FROM idempotency_keys
 WHERE user_id = $1 AND key = $2 AND NOT EXISTS (SELECT FROM claimed)
"""


@dataclass(frozen=True)
class Claimed:
    plan: Any  # None for a new key; what a dead attempt recorded otherwise
    fresh: bool


@dataclass(frozen=True)
class Answered:
    status: int
    body: Any


@dataclass(frozen=True)
class Busy:
    pass


@dataclass(frozen=True)
class Mismatch:
    pass


Claim = Claimed | Answered | Busy | Mismatch


class IdempotencyKeys:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        ttl: timedelta = DEFAULT_TTL,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self._pool = pool
        self._ttl = ttl
        self._lease = lease

    async def claim(self, user: UserId, key: str, fingerprint: bytes) -> Claim:
        with translated():
            row = await self._pool.fetchrow(_CLAIM, user, key, fingerprint, self._lease, self._ttl)
        if row is None:  # settled and purged in between, or claimed by a racing first attempt
            return Busy()
        if row["claimed"]:
            return Claimed(row["plan"], bool(row["fresh"]))
        if bytes(row["fingerprint"]) != fingerprint:
            return Mismatch()
        if row["status"] is not None:
            return Answered(int(row["status"]), row["response"])
        return Busy()

    async def record_plan(self, user: UserId, key: str, plan: Any) -> None:
        """What the attempt is about to do (before it submits), for a retry that takes over."""
        with translated():
            await self._pool.execute(
                "UPDATE idempotency_keys SET plan = $3 WHERE user_id = $1 AND key = $2",
                user,
                key,
                plan,
            )

    async def settle(
        self, user: UserId, key: str, status: int, body: Any, *, flush: bool = True
    ) -> None:
        """The answer every later retry gets. ``flush=False`` when a retry that finds the key
        unanswered rebuilds the same answer from what the request committed (its plan and its
        op): then the commit does not wait for the disk."""
        returning = "" if flush else f" RETURNING {_UNFLUSHED}"
        with translated():
            await self._pool.execute(
                "UPDATE idempotency_keys SET status = $3, response = $4, locked_until = now()"
                " WHERE user_id = $1 AND key = $2" + returning,
                user,
                key,
                status,
                body,
            )

    async def release(self, user: UserId, key: str) -> None:
        """The attempt failed without an answer worth keeping (the server's fault): a retry
        may take over at once (keeping the plan, in case the op did commit)."""
        with translated():
            await self._pool.execute(
                "UPDATE idempotency_keys SET locked_until = now() - interval '1 second'"
                f" WHERE user_id = $1 AND key = $2 AND status IS NULL RETURNING {_UNFLUSHED}",
                user,
                key,
            )

    async def purge(self) -> int:
        """Delete every expired key; how many went."""
        with translated():
            result = await self._pool.execute(
                "DELETE FROM idempotency_keys WHERE expires_at < now()"
            )
        return int(result.split()[-1])


async def committed_version(
    pool: asyncpg.Pool, dashboard: DashboardId, src: str, seq: int
) -> int | None:
    """The version of an op an earlier attempt submitted as ``(src, seq)``, if it committed."""
    with translated():
        version = await pool.fetchval(sql.FIND_OP, dashboard, src, seq)
    return None if version is None else int(version)
