"""``POST /api/dashboards/{id}/sync``: an offline client's document or patch merged into the
live dashboard (:mod:`server.sync.inbound` does the merging).

Body: ``{base_version, document, strategy}`` (the whole state) or ``{base_version, changes:
{added, updated, deleted, fields}, strategy}`` (a patch), and optionally ``changed_at: [{path,
at}]``, when the client made each change (strategy ``merge``: the newer side wins a scalar both
changed; without a time, the server's). Answer: ``{version, document, conflict_resolutions:
[{path, resolution}]}``. ``manual`` with conflicts applies nothing: 409 ``sync_conflict`` with
``conflicts: [{path, base, local, remote}]``. A base older than the retained log is 410
``sync_base_expired``; a document that breaks the schema is 422 ``invalid_document`` with the
JSON path. The caller needs the editor role. With an ``Idempotency-Key``
(:mod:`server.api.idempotency`) a retry applies nothing again and gets the first answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from server.api.endpoint import Call, Endpoint, Reply
from server.api.idempotency import Attempt, once
from server.api.models import DashboardParams, Request
from server.api.roles import authorise
from server.core.errors import InvalidDocument, SyncBaseAhead, SyncBaseExpired, SyncConflict
from server.core.ids import DashboardId
from server.store.idempotency import IdempotencyKeys, committed_version
from server.sync.inbound import SyncRequest, sync

Strategy = Literal["merge", "local-wins", "remote-wins", "manual"]
JsonPath = list[str | int]
MAX_SYNC_BODY = 4 * 1024 * 1024


class Patch(Request):
    added: dict[str, dict[str, Any]] = Field(default_factory=dict)
    updated: dict[str, dict[str, Any]] = Field(default_factory=dict)
    deleted: list[str] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=dict)


class ChangedAt(Request):
    path: JsonPath
    at: datetime


class SyncBody(Request):
    """Exactly one of ``document`` (the whole state) and ``changes`` (a patch)."""

    base_version: Annotated[int, Field(ge=1)]
    strategy: Strategy = "merge"
    document: dict[str, Any] | None = None
    changes: Patch | None = None
    changed_at: list[ChangedAt] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_form(self) -> SyncBody:
        if (self.document is None) == (self.changes is None):
            raise ValueError("give exactly one of document (the whole state) and changes")
        return self


class Resolution(BaseModel):
    path: JsonPath
    resolution: Literal["local-won", "remote-won", "merged"]


class SyncAnswer(BaseModel):
    version: int
    document: dict[str, Any]
    conflict_resolutions: list[Resolution]


async def post(call: Call) -> Reply:
    dashboard = DashboardId(call.take("params", DashboardParams).id)
    body = call.take("body", SyncBody)
    await authorise(call, dashboard, "editor")
    pool = call.api.pool
    request = SyncRequest(
        dashboard=dashboard,
        user=call.user.user_id,
        base_version=body.base_version,
        strategy=body.strategy,
        document=body.document,
        changes=None if body.changes is None else body.changes.model_dump(exclude_unset=True),
        changed_at={tuple(c.path): c.at.timestamp() for c in body.changed_at},
    )

    async def find_op(d: DashboardId, src: str, seq: int) -> int | None:
        return await committed_version(pool, d, src, seq)

    async def work(attempt: Attempt) -> tuple[SyncAnswer, int]:
        # After a dead attempt, its op is looked for even when it recorded no plan.
        earlier = {} if attempt.plan is None and attempt.taken_over else attempt.plan
        result = await sync(
            call.api.hub, request, src=attempt.src, plan=earlier,
            record_plan=attempt.record_plan if attempt.key is not None else None,
            find_op=find_op,
        )  # fmt: skip
        attempt.rebuildable = result.rebuildable
        answer = SyncAnswer(
            version=result.version,
            document=result.document,
            conflict_resolutions=[Resolution.model_validate(r) for r in result.resolutions],
        )
        return answer, 200

    def keep(answer: SyncAnswer) -> Any:
        return answer.model_dump(mode="json", exclude={"document"})

    async def restore(kept: Any) -> SyncAnswer:
        snapshot = await call.api.hub.snapshot(dashboard, version=int(kept["version"]))
        return SyncAnswer.model_validate({**kept, "document": snapshot.document})

    return await once(call, IdempotencyKeys(pool), SyncAnswer, work, keep=keep, restore=restore)


ENDPOINTS = [
    Endpoint("POST", "/dashboards/{id}/sync", post,
             "Merge an offline client's document or patch into the live one (Idempotency-Key)",
             "sync", SyncAnswer, params=DashboardParams, body=SyncBody, auth="any",
             errors=(SyncConflict, SyncBaseExpired, SyncBaseAhead, InvalidDocument),
             max_body=MAX_SYNC_BODY),
]  # fmt: skip
