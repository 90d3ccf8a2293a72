"""The history panel in Chromium: name the current version, the named versions, a past version
previewed without changing anything, the diff since it and who changed a widget, and a restore
that both pages see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Person, shot
from tests.browser.helpers import add_widget, card, plain, saved, text_of, wait_js, widget_ids
from tests.e2e.harness import Gateway

pytestmark = pytest.mark.browser


def over_http(server: Gateway, person: Person, dashboard_id: str) -> dict[str, Any]:
    """The dashboard as GET /api/dashboards/{id} gives it: head version and document."""
    response = httpx.get(
        f"{server.http}/api/dashboards/{dashboard_id}",
        headers={"Authorization": f"Bearer {person.token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_history_names_previews_compares_and_restores(
    pair: Callable[[str], tuple[str, Any, Any]], people: dict[str, Person], server: Gateway
) -> None:
    dashboard_id, ana, ben = pair("History")
    ana_name, ben_name = people["ana"].username, people["ben"].username
    notes = add_widget(ana, "text")
    ana.click(f'.widget[data-id="{notes}"] .ql-editor')
    ana.keyboard.type("First draft")
    saved(ana)

    # Name the current version; it is listed.
    ana.get_by_role("button", name="History", exact=True).click()
    ana.get_by_label("Name the current version").fill("Draft one")
    ana.get_by_role("button", name="Save", exact=True).click()
    named = ana.locator(".versions .version", has_text="Draft one")
    named.wait_for()
    draft_version = over_http(server, people["ana"], dashboard_id)["head_version"]
    assert f"v{draft_version}" in named.inner_text() and ana_name in named.inner_text()

    # Ben changes things: more text, and a chart.
    wait_js(ben, "id => /First draft/.test(document.querySelector(`.widget[data-id='${id}'] .ql-editor`).textContent)", notes)  # fmt: skip
    ben.click(f'.widget[data-id="{notes}"] .ql-editor')
    ben.keyboard.press("Control+End")
    ben.keyboard.type(", revised by Ben")
    chart = add_widget(ben, "chart")
    saved(ben)
    wait_js(ana, "id => !!document.querySelector(`.widget[data-id='${id}']`)", chart)
    before = over_http(server, people["ana"], dashboard_id)
    assert before["head_version"] > draft_version

    # Who changed the text widget: both of them, newest first.
    card(ana, notes).hover()
    card(ana, notes).get_by_role("button", name="Who changed this").click()
    who = ana.locator(".side .panel-section").first
    who.get_by_text(ben_name).first.wait_for()
    assert ana_name in who.inner_text()
    assert who.inner_text().count(ben_name) == 1  # his typing, one row for the run of keys
    shot(ana, "history-who-changed")

    # Preview the named version: the past snapshot is drawn read-only, with the diff to now;
    # nothing changes on the server or in Ben's page.
    ana.locator(".versions .version", has_text="Draft one").get_by_role(
        "button", name="Preview"
    ).click()
    banner = ana.locator(".banner")
    banner.get_by_text(f"Previewing version {draft_version}").wait_for()
    assert ana.locator(".slider-label").inner_text() == f"Version {draft_version}"
    layer = ana.locator(".canvas .preview-layer")
    assert layer.locator(".widget").count() == 1
    # Once drawn (one full run read the layer while its text was not yet laid out: empty).
    layer.get_by_text("First draft").wait_for()
    assert "First draft" in layer.inner_text() and "revised" not in layer.inner_text()
    diff = ana.locator(".side .diff")
    diff.get_by_text(f"Changed since version {draft_version}").wait_for()
    rows = diff.inner_text()
    assert "added" in rows and "text edited" in rows and ben_name in rows, rows
    shot(ana, "history-preview")
    # The slider previews too: one step back from the head.
    slider = ana.get_by_label("Version to preview")
    slider.focus()
    ana.keyboard.press("End")
    ana.keyboard.press("ArrowLeft")
    banner.get_by_text(f"Previewing version {before['head_version'] - 1}").wait_for()
    assert over_http(server, people["ana"], dashboard_id) == before
    assert sorted(widget_ids(ben)) == sorted([notes, chart])
    assert "revised by Ben" in text_of(ben, notes)

    # Back to live, then restore the named version: both pages show it.
    banner.get_by_role("button", name="Back to live").click()
    assert layer.count() == 0
    ana.locator(".versions .version", has_text="Draft one").get_by_role(
        "button", name="Restore"
    ).click()
    for page in (ana, ben):
        wait_js(page, "id => !document.querySelector(`.widget[data-id='${id}']`)", chart)
        wait_js(page, "id => document.querySelector(`.widget[data-id='${id}'] .ql-editor`).textContent.trim() === 'First draft'", notes)  # fmt: skip
    saved(ana)
    after = over_http(server, people["ana"], dashboard_id)
    assert after["head_version"] > before["head_version"]
    assert sorted(after["document"]["widgets"]) == [notes]
    assert plain(after["document"]["widgets"][notes]["body"]).strip() == "First draft"
    shot(ana, "history-restored-ana")
    shot(ben, "history-restored-ben")
    assert ana.errors == [] and ben.errors == []
