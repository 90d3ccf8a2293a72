"""Property: ``POST /api/dashboards/{id}/sync`` over HTTP, on random base documents, random
offline edits (sent whole or as a patch) and random concurrent server edits committed first
(in one op or several), by every strategy. Merge keeps every change only one side made;
local-wins and remote-wins keep the chosen side on conflicting paths; manual applies all or
nothing; the result passes the schema and is the dashboard's head; the same request again with
its Idempotency-Key gets the same answer and changes nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ot.dashboard.diff import diff
from tests.api.conftest import Account, Api
from tests.api.test_sync import document, server_edit, sync
from tests.sync.properties import as_patch, bases, check_sync, edits

STRATEGIES = ("merge", "local-wins", "remote-wins", "manual")


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    base = draw(bases())
    # The server's edits: one commit, or two in a row (the second on top of the first).
    steps = [draw(edits(base, ("r1", "r2")))]
    if draw(st.booleans()):
        steps.append(draw(edits(steps[0], ("r3",))))
    return {
        "base": base,
        "local": draw(edits(base, ("n1", "n2"))),
        "remote": steps[-1],
        "steps": steps,
        "strategy": draw(st.sampled_from(STRATEGIES)),
        "as_patch": draw(st.booleans()),
    }


@pytest.fixture(scope="module")
async def editor(api: Api) -> Account:
    return await api.account()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
async def test_sync_over_http_keeps_what_it_must(api: Api, editor: Account, case: Any) -> None:
    base, local, remote = case["base"], case["local"], case["remote"]
    made = await api.dashboard(editor, "Offline")
    d = made["id"]
    base_version = await server_edit(api, editor, d, diff(made["document"], base))
    assert await document(api, editor, d) == (base_version, base)
    for before_step, step in zip([base, *case["steps"]], case["steps"], strict=False):
        if diff(before_step, step):
            await server_edit(api, editor, d, diff(before_step, step))
    before = await document(api, editor, d)
    assert before[1] == remote

    body: dict[str, Any] = {"base_version": base_version, "strategy": case["strategy"]}
    if case["as_patch"]:
        body["changes"] = as_patch(base, local)
    else:
        body["document"] = local
    key = uuid4().hex
    first = await sync(api, editor, d, body, key=key)
    after = await document(api, editor, d)
    if first.status_code == 409:
        assert case["strategy"] == "manual" and first.json()["code"] == "sync_conflict"
        assert first.json()["conflicts"]
        assert after == before  # nothing applied
    else:
        assert first.status_code == 200, first.text
        answer = first.json()
        check_sync(base, local, remote, case["strategy"], answer)
        assert after == (answer["version"], answer["document"])
        if case["strategy"] == "manual":
            assert all(r["resolution"] == "merged" for r in answer["conflict_resolutions"])

    again = await sync(api, editor, d, body, key=key)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert await document(api, editor, d) == after
