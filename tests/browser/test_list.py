"""The dashboard list is live: a dashboard another user shares appears without a reload, and
leaves when they take it back (the list's subscribed query over the socket); what changed while
the page was offline shows once it reconnects."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.browser.conftest import Person, shot
from tests.e2e.harness import Gateway


def test_a_shared_dashboard_appears_in_the_list_without_reload(
    open_as: Any, server: Gateway, people: dict[str, Person]
) -> None:
    ana, vic = people["ana"], people["vic"]
    page = open_as(vic, "/")
    page.wait_for_selector(".cards > *")
    page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads
    title = f"Shared live {time.monotonic_ns() % 100_000}"
    with httpx.Client(
        base_url=f"{server.http}/api", headers={"Authorization": f"Bearer {ana.token}"}
    ) as http:
        made = http.post("/dashboards", json={"title": title})
        assert made.status_code == 201, made.text
        dashboard = made.json()["id"]
        shared_at = time.monotonic()
        shared = http.put(f"/dashboards/{dashboard}/collaborators/{vic.user_id}",
                          json={"role": "viewer"})  # fmt: skip
        assert shared.status_code == 200, shared.text
        card = page.locator(".card", has_text=title)
        card.wait_for(timeout=5_000)
        appeared = time.monotonic() - shared_at
        assert appeared < 2.0, appeared
        assert card.locator(".badge").text_content() == "viewer"
        assert f"by {ana.username}" in card.inner_text()
        shot(page, "list-shared-live")
        removed = http.delete(f"/dashboards/{dashboard}/collaborators/{vic.user_id}")
        assert removed.status_code == 204, removed.text
        card.wait_for(state="detached", timeout=5_000)
        # Shared while the page is offline: nothing can reach it then, and the list is fetched
        # again once the socket is back.
        page.context.set_offline(True)
        page.wait_for_timeout(300)
        shared = http.put(f"/dashboards/{dashboard}/collaborators/{vic.user_id}",
                          json={"role": "editor"})  # fmt: skip
        assert shared.status_code == 200, shared.text
        page.wait_for_timeout(500)
        assert card.count() == 0
        page.context.set_offline(False)
        card.wait_for(timeout=10_000)
        assert card.locator(".badge").text_content() == "editor"
    assert page.evaluate("() => window.sameDocument") is True
    assert page.errors == []
