"""``Idempotency-Key``: a request retried after a lost response applies once and gets the first
answer. Any endpoint opts in by running its work through :func:`once`.

The key (1 to 200 printable ASCII characters, chosen by the client, one per logical request)
belongs to the caller. The first request with it claims it (:mod:`server.store.idempotency`),
does the work and stores its answer: the response, or a refusal the client caused (any 4xx).
A retry with the same key and the same request gets that stored answer, with the header
``Idempotent-Replayed: true``, and nothing is applied again. The same key with another method,
path or body is refused (422 ``idempotency_key_reused``); a retry while the first attempt is
still running is told to wait (409 ``idempotency_key_busy``). A failure on the server's side
(5xx: PostgreSQL or Redis down, a submit that timed out) stores nothing, so the retry does the
work again, and an op the failed attempt did submit is not applied twice: work that submits
uses :attr:`Attempt.src`, the same submitter id on every attempt of one key, and records what
its answer will need beyond the op with :meth:`Attempt.record_plan` first, so a retry that
takes the key over (:attr:`Attempt.taken_over`) can look the op up by its submitter id and
answer as the first attempt would have (the sequencer also recognises a resubmitted ``(src,
seq)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from server.api.endpoint import Call, Reply
from server.api.problem import invalid
from server.core.codes import Code
from server.core.errors import IdempotencyKeyBusy, IdempotencyKeyReused, TandemError
from server.core.ids import UserId
from server.store.idempotency import Answered, Busy, Claimed, IdempotencyKeys, Mismatch

HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
MAX_KEY = 200
M = TypeVar("M", bound=BaseModel)


@dataclass
class Attempt:
    """What the work needs to know about the key it runs under."""

    keys: IdempotencyKeys | None
    user: UserId
    key: str | None
    plan: Any  # what an earlier attempt of this key that died recorded; None otherwise
    src: str | None  # the submitter id of every attempt of this key; None without a key
    taken_over: bool = False  # an earlier attempt of this key died (it may have submitted)
    # Set by work whose answer a retry that finds the key unanswered rebuilds from what the
    # work committed (a sync's plan and op): the answer's settle need not wait for the disk.
    rebuildable: bool = False

    async def record_plan(self, plan: Any) -> None:
        """Remember, before submitting, what a retry needs to find this attempt's op."""
        if self.keys is not None and self.key is not None:
            await self.keys.record_plan(self.user, self.key, plan)
        self.plan = plan


class StoredRefusal(TandemError):
    """A refusal replayed from the key's stored answer."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(str(body.get("detail", "")))
        self.code = Code.of(str(body["code"]))
        self.errors = body.get("errors") or []
        self.extensions = {k: v for k, v in body.items() if k in _EXTENSIONS}
        self.headers = {REPLAYED_HEADER: "true"}  # a replay, like a replayed success


_EXTENSIONS = ("conflicts",)


def request_key(call: Call) -> str | None:
    key = call.request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY or not all(" " <= ch <= "~" for ch in key):
        raise invalid(f"header.{HEADER}", f"must be 1 to {MAX_KEY} printable ASCII characters")
    return key


def fingerprint(method: str, path: str, body: BaseModel | None) -> bytes:
    """The request a key stands for: method, path and body (canonical, so the same request
    sent again with other whitespace or key order is the same)."""
    data = None if body is None else body.model_dump(mode="json", exclude_unset=True)
    canonical = orjson.dumps([method, path, data], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


def submitter(user: UserId, key: str) -> str:
    """The submitter id for the ops of every attempt of one key (no key itself in the log)."""
    digest = hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()[:32]
    return f"api:idem:{digest}"


def refusal_body(exc: TandemError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": str(exc.code), "detail": exc.message}
    errors = getattr(exc, "errors", None)
    if errors:
        body["errors"] = errors
    body.update(getattr(exc, "extensions", {}) or {})
    return body


async def once(
    call: Call,
    keys: IdempotencyKeys,
    model: type[M],
    work: Callable[[Attempt], Awaitable[tuple[M, int]]],
    *,
    keep: Callable[[M], Any] | None = None,
    restore: Callable[[Any], Awaitable[M]] | None = None,
) -> Reply:
    """Run ``work`` once per Idempotency-Key (every time without one) and answer with the
    model it returns and its status, or with the first attempt's answer on a retry.

    ``keep`` and ``restore`` let an endpoint store less than its whole answer (a sync keeps
    its version, not the document, which the log gives back exactly for that version)."""
    user = call.user.user_id
    key = request_key(call)
    if key is None:
        result, status = await work(Attempt(None, user, None, None, None))
        return Reply(result, status)
    claim = await keys.claim(
        user, key, fingerprint(call.request.method, call.request.url.path, call.body)
    )
    if isinstance(claim, Mismatch):
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key"
        )
    if isinstance(claim, Busy):
        raise IdempotencyKeyBusy("the first request with this Idempotency-Key is still running")
    if isinstance(claim, Answered):
        call.headers[REPLAYED_HEADER] = "true"
        if claim.status >= 400:
            raise StoredRefusal(claim.body)
        if restore is not None:
            return Reply(await restore(claim.body), claim.status)
        return Reply(model.model_validate(claim.body), claim.status)
    assert isinstance(claim, Claimed)
    attempt = Attempt(keys, user, key, claim.plan, submitter(user, key), taken_over=not claim.fresh)
    try:
        result, status = await work(attempt)
    except TandemError as exc:
        if exc.code.status >= 500:
            await keys.release(user, key)
        else:
            await keys.settle(user, key, exc.code.status, refusal_body(exc))
        raise
    except Exception:
        await keys.release(user, key)
        raise
    # Cancelled: nothing awaited; the claim's lease runs out and a retry takes over.
    stored = keep(result) if keep is not None else result.model_dump(mode="json")
    await keys.settle(user, key, status, stored, flush=not attempt.rebuildable)
    return Reply(result, status)
