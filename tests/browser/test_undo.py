"""Undo and redo take back one's own edits only, by button and by keyboard, and the page works
at tablet width."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Person, server_document, shot
from tests.browser.helpers import CELL, add_widget, box, ready, saved, text_of, wait_js, widget_ids
from tests.e2e.harness import Gateway

pytestmark = pytest.mark.browser


def test_undo_takes_back_only_my_edits(
    pair: Callable[[str], tuple[str, Any, Any]], people: dict[str, Person], server: Gateway
) -> None:
    dashboard_id, ana, ben = pair("Undo")
    notes = add_widget(ana, "text")
    ana.click(f'.widget[data-id="{notes}"] .ql-editor')
    ana.keyboard.type("Hello")
    saved(ana)
    # Ben moves the widget and types before Ana's word; Ana's undo leaves his edits alone.
    wait_js(ben, "id => !!document.querySelector(`.widget[data-id='${id}'] .ql-editor`)", notes)
    ben.locator(f'.widget[data-id="{notes}"]').focus()
    ben.keyboard.press("ArrowDown")
    ben.click(f'.widget[data-id="{notes}"] .ql-editor')
    ben.keyboard.press("Control+Home")
    ben.keyboard.type("Ben: ")
    saved(ben)
    wait_js(
        ana,
        "id => /^Ben: Hello/.test(document.querySelector(`.widget[data-id='${id}'] .ql-editor`).innerText)",
        notes,
    )

    ana.keyboard.press("Control+z")  # the typing, as one step
    wait_js(
        ana,
        "id => document.querySelector(`.widget[data-id='${id}'] .ql-editor`).innerText.trim() === 'Ben:'",
        notes,
    )
    ana.get_by_role("button", name="Undo (Ctrl+Z)").click()  # the widget itself
    wait_js(ben, "id => !document.querySelector(`.widget[data-id='${id}']`)", notes)
    ana.keyboard.press("Control+Shift+z")  # the widget is back, with Ben's text and move
    wait_js(ben, "id => !!document.querySelector(`.widget[data-id='${id}'] .ql-editor`)", notes)
    ana.get_by_role("button", name="Redo (Shift+Ctrl+Z)").click()
    wait_js(
        ben,
        "id => /Ben: Hello/.test(document.querySelector(`.widget[data-id='${id}'] .ql-editor`).innerText)",
        notes,
    )
    saved(ana)
    _, document = server_document(server, people["ana"].token, dashboard_id)
    assert text_of(ana, notes).strip() == text_of(ben, notes).strip() == "Ben: Hello"
    assert document["widgets"][notes]["position"]["y"] == box(ana, notes)["top"] // CELL
    assert widget_ids(ana) == widget_ids(ben) == [notes]


def test_tablet_width(
    open_as: Callable[..., Any], people: dict[str, Person], dashboard: Callable[..., str]
) -> None:
    dashboard_id = dashboard("Tablet")
    ana = open_as(people["ana"], f"/d/{dashboard_id}", width=820)
    ready(ana)
    add_widget(ana, "chart")
    add_widget(ana, "text")
    ana.get_by_role("button", name="History").click()
    ana.wait_for_selector(".side .panel-head")
    # Every control of the top bar is on screen, none cut off.
    overflow = ana.evaluate(
        "() => [...document.querySelectorAll('.topbar button, .topbar input')]"
        ".filter(e => e.offsetParent && e.getBoundingClientRect().right > innerWidth).length"
    )
    assert overflow == 0
    shot(ana, "tablet-history")
