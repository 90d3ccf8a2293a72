"""Accounts, the dashboard list and share links, through the HTTP API: signing up and creating a
dashboard, and a share link with a password admitting a guest with exactly the link's role."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Person, server_document, shot
from tests.browser.helpers import add_widget, ready, saved, wait_js
from tests.e2e.harness import Gateway

pytestmark = pytest.mark.browser


def test_share_link_with_password_admits_a_guest_with_its_role(
    open_as: Callable[..., Any],
    browser: Any,
    people: dict[str, Person],
    dashboard: Callable[..., str],
    server: Gateway,
) -> None:
    dashboard_id = dashboard("Shared")
    ana = open_as(people["ana"], f"/d/{dashboard_id}")
    ready(ana)
    chart = add_widget(ana, "chart")
    saved(ana)
    ana.get_by_role("button", name="Share").click()
    ana.get_by_label("Link gives").select_option("viewer")
    ana.get_by_label("Password").fill("open sesame")
    ana.get_by_role("button", name="Create link").click()
    url = ana.locator(".link-url").input_value()
    assert "/s/" in url
    shot(ana, "share-dialog")

    guest_context = browser.new_context(viewport={"width": 1280, "height": 820})
    try:
        guest = guest_context.new_page()
        guest.goto(url)
        guest.get_by_label("Your name").fill("Visitor")
        guest.get_by_role("button", name="Open dashboard").click()
        guest.wait_for_selector("text=Enter the link's password.")
        guest.get_by_label("Password").fill("wrong")
        guest.get_by_role("button", name="Open dashboard").click()
        guest.wait_for_selector("text=That password is not right.")
        guest.get_by_label("Password").fill("open sesame")
        guest.get_by_role("button", name="Open dashboard").click()
        ready(guest)
        assert guest.url.endswith(f"/d/{dashboard_id}")
        wait_js(guest, "id => !!document.querySelector(`.widget[data-id='${id}']`)", chart)
        # A viewer link: a read-only page, and the server refuses what gets through anyway.
        assert guest.locator(".badge", has_text="View only").is_visible()
        assert guest.locator(".add-btn").is_hidden()
        version, before = server_document(server, people["ana"].token, dashboard_id)
        guest.locator(f'.widget[data-id="{chart}"]').focus()
        guest.keyboard.press("Delete")
        guest.wait_for_timeout(500)
        assert server_document(server, people["ana"].token, dashboard_id) == (version, before)
        # The owner sees the guest.
        wait_js(ana, "() => document.querySelectorAll('.avatars .avatar').length === 2")
        shot(guest, "guest-viewer")
    finally:
        guest_context.close()


def test_sign_up_create_a_dashboard_and_find_it(browser: Any, server: Gateway) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 820})
    try:
        page = context.new_page()
        page.goto(f"{server.http}/")
        page.wait_for_url("**/login")
        page.get_by_role("link", name="Create an account").click()
        username = f"zoe{uuid.uuid4().hex[:6]}"
        page.get_by_label("Full name").fill("Zoe Park")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Email").fill(f"{username}@web.test")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_selector("text=No dashboards yet")
        for title in ("Marketing KPIs", "Engineering on-call"):
            page.get_by_role("button", name="New dashboard").click()
            page.get_by_label("Title").fill(title)
            page.get_by_role("button", name="Create", exact=True).click()
            ready(page)
            assert page.locator(".doc-title").input_value() == title
            add_widget(page, "chart")
            saved(page)
            page.locator("a.back").click()
        page.locator(".card", has_text="Engineering on-call").wait_for()
        assert page.locator(".card").count() == 2
        page.get_by_label("Search dashboards").fill("marketing")
        page.wait_for_function("() => document.querySelectorAll('.card').length === 1")
        assert page.locator(".card mark").inner_text().lower() == "marketing"
        shot(page, "list-search")
        page.get_by_label("Search dashboards").fill("")
        page.locator(".card", has_text="Marketing KPIs").get_by_role(
            "button", name="Archive Marketing KPIs"
        ).click()
        page.wait_for_function("() => document.querySelectorAll('.card').length === 1")
        page.get_by_role("tab", name="Archived").click()
        page.locator(".card", has_text="Marketing KPIs").wait_for()
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login")
        page.goto(f"{server.http}/")
        page.wait_for_url("**/login")
    finally:
        context.close()
