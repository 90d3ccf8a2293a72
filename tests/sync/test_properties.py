"""Property: syncs of random offline edits against random concurrent server edits, through
the real hub and store. Merge keeps every change only one side made; local-wins and
remote-wins keep the chosen side on conflicting paths; the result passes the schema; the
server's document is the answer's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ot.dashboard.diff import diff
from server.core.ids import UserId
from server.sequencer.hub import RedisHub
from server.sync.inbound import SyncRequest, sync
from tests.sync.conftest import create, edit
from tests.sync.properties import as_patch as patch_of
from tests.sync.properties import bases, check_sync, edits

STRATEGIES = ("merge", "local-wins", "remote-wins")


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str, bool]:
    base = draw(bases())
    local = draw(edits(base, ("n1", "n2")))
    remote = draw(edits(base, ("r1", "r2")))
    return base, local, remote, draw(st.sampled_from(STRATEGIES)), draw(st.booleans())


@pytest_asyncio.fixture(scope="session")
async def loop() -> asyncio.AbstractEventLoop:
    """The loop the session's fixtures (the hub) run on; hypothesis drives it from a sync test."""
    return asyncio.get_running_loop()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
def test_sync_keeps_what_it_must(
    hub: RedisHub, user: UserId, loop: asyncio.AbstractEventLoop, case: Any
) -> None:
    base, local, remote, strategy, as_patch = case

    async def run() -> None:
        d = await create(hub, user, base)
        if diff(base, remote):
            await edit(hub, user, d, diff(base, remote))
        if as_patch:
            request = SyncRequest(d, user, 1, strategy, changes=patch_of(base, local))
        else:
            request = SyncRequest(d, user, 1, strategy, document=local)
        result = await sync(hub, request)
        answer = {"document": result.document, "conflict_resolutions": result.resolutions}
        check_sync(base, local, remote, strategy, answer)
        head = await hub.snapshot(d)
        assert (head.version, head.document) == (result.version, result.document)

    loop.run_until_complete(run())
