"""Two people on one dashboard in two browser contexts: presence, layout changes, typing
together, a viewer, and edits made offline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Person, server_document, shot
from tests.browser.helpers import (
    CELL,
    REMOTE_MS,
    add_widget,
    box,
    card,
    drag,
    plain,
    ready,
    saved,
    state,
    text_of,
    wait_js,
    widget_ids,
)
from tests.e2e.harness import Gateway

pytestmark = pytest.mark.browser

OpenAs = Callable[..., Any]
Pair = Callable[[str], tuple[str, Any, Any]]
# The card's laid-out box has every given value (left, top, width, height in pixels).
BOX_IS = (
    "([id, want]) => { const e = document.querySelector(`.widget[data-id='${id}']`);"
    " return Object.entries(want).every(([k, v]) => parseFloat(e.style[k]) === v); }"
)


def test_presence_and_layout_reach_the_other_page(pair: Pair) -> None:
    _, ana, ben = pair("Presence and layout")

    # Each sees the other: two avatars, and the other's pointer on the canvas.
    for page in (ana, ben):
        wait_js(page, "() => document.querySelectorAll('.avatars .avatar').length === 2")
    ben.mouse.move(600, 400)
    ben.mouse.move(640, 420)
    wait_js(ana, "() => document.querySelector('.canvas .pointer') !== null")

    # Add: the widget appears in the other page within the limit.
    chart = add_widget(ana, "chart")
    took = wait_js(ben, "id => !!document.querySelector(`.widget[data-id='${id}']`)", chart)
    assert took < REMOTE_MS, f"add took {took:.0f} ms"
    before = box(ana, chart)

    # Move by dragging the header five cells right and three down.
    drag(ana, f'.widget[data-id="{chart}"] .w-title', 5 * CELL, 3 * CELL)
    moved = {"left": before["left"] + 5 * CELL, "top": before["top"] + 3 * CELL}
    took = wait_js(ben, BOX_IS, [chart, moved])
    assert took < REMOTE_MS, f"move took {took:.0f} ms"

    # Resize by the corner handle.
    ana.hover(f'.widget[data-id="{chart}"]')
    drag(ana, f'.widget[data-id="{chart}"] .resize', 4 * CELL, 2 * CELL)
    size = {"width": before["width"] + 4 * CELL, "height": before["height"] + 2 * CELL}
    took = wait_js(ben, BOX_IS, [chart, size])
    assert took < REMOTE_MS, f"resize took {took:.0f} ms"
    shot(ana, "layout-ana")
    shot(ben, "layout-ben")

    # Remove, with the widget's own button.
    card(ben, chart).hover()
    card(ben, chart).get_by_role("button", name="Remove widget").click()
    took = wait_js(ana, "id => !document.querySelector(`.widget[data-id='${id}']`)", chart)
    assert took < REMOTE_MS, f"remove took {took:.0f} ms"
    assert ana.errors == [] and ben.errors == []


def test_typing_together_converges(pair: Pair, people: dict[str, Person], server: Gateway) -> None:
    dashboard_id, ana, ben = pair("Typing together")
    notes = add_widget(ana, "text")
    wait_js(ben, "id => !!document.querySelector(`.widget[data-id='${id}'] .ql-editor`)", notes)
    editor = f'.widget[data-id="{notes}"] .ql-editor'
    ana.click(editor)
    ben.click(editor)
    words = ("alpha beta gamma ", "one two three ")
    for a, b in zip(words[0], words[1].ljust(len(words[0])), strict=True):
        ana.keyboard.type(a)
        ben.keyboard.type(b)
    ben.keyboard.press("Control+b")  # ben's last words in bold: attributes merge too
    ben.keyboard.type("bold")
    expected = len(words[0]) + len(words[1].ljust(len(words[0]))) + len("bold")
    for page in (ana, ben):
        wait_js(
            page,
            "([id, n]) => document.querySelector(`.widget[data-id='${id}'] .ql-editor`)"
            ".innerText.replace(/\\n/g, '').length === n",
            [notes, expected],
        )
    assert text_of(ana, notes) == text_of(ben, notes)
    saved(ana)
    saved(ben)
    _, document = server_document(server, people["ana"].token, dashboard_id)
    assert plain(document["widgets"][notes]["body"]).rstrip("\n") == text_of(ana, notes).rstrip(
        "\n"
    )
    # Each person's characters stay in their own order: merged by character, not overwritten.
    merged = text_of(ana, notes)
    for typed in (words[0], words[1]):
        it = iter(merged)
        assert all(ch in it for ch in typed), (typed, merged)
    assert any(
        op.get("attributes", {}).get("bold") for op in document["widgets"][notes]["body"]["ops"]
    )
    # Someone's caret inside the text is drawn in the other page.
    wait_js(ana, "id => !!document.querySelector(`.widget[data-id='${id}'] .remote-sel`)", notes)
    shot(ana, "typing-ana")


def test_viewer_cannot_change_anything(
    open_as: OpenAs, people: dict[str, Person], dashboard: Callable[..., str], server: Gateway
) -> None:
    dashboard_id = dashboard("Read only")
    ana = open_as(people["ana"], f"/d/{dashboard_id}")
    ready(ana)
    notes = add_widget(ana, "text")
    ana.click(f'.widget[data-id="{notes}"] .ql-editor')
    ana.keyboard.type("Owner's words")
    saved(ana)
    version, before = server_document(server, people["ana"].token, dashboard_id)

    vic = open_as(people["vic"], f"/d/{dashboard_id}")
    ready(vic)
    wait_js(vic, "id => !!document.querySelector(`.widget[data-id='${id}']`)", notes)
    # Every way in: drag, resize, keyboard, typing, the title, undo.
    drag(vic, f'.widget[data-id="{notes}"] .w-title', 6 * CELL, 6 * CELL)
    card(vic, notes).focus()
    vic.keyboard.press("ArrowRight")
    vic.keyboard.press("Delete")
    vic.click(f'.widget[data-id="{notes}"] .ql-editor')
    vic.keyboard.type("viewer was here")
    vic.click(".doc-title")
    vic.keyboard.type(" hijacked")
    vic.keyboard.press("Enter")
    vic.keyboard.press("Control+z")
    vic.wait_for_timeout(800)

    assert vic.locator(".badge", has_text="View only").is_visible()
    assert vic.locator(".add-btn").is_hidden()
    assert (
        vic.eval_on_selector(f'.widget[data-id="{notes}"] .ql-editor', "e => e.isContentEditable")
        is False
    )
    assert server_document(server, people["ana"].token, dashboard_id) == (version, before)
    assert "viewer" not in text_of(ana, notes)
    shot(vic, "viewer")


def test_offline_edits_survive_a_reload_and_arrive_once(
    pair: Pair, people: dict[str, Person], server: Gateway
) -> None:
    dashboard_id, ana, ben = pair("Offline")
    notes = add_widget(ana, "text")
    saved(ana)
    # The service worker keeps the app's shell, so the page reloads without a network.
    wait_js(ana, "() => navigator.serviceWorker.controller !== null", timeout_ms=15_000)

    ana.context.set_offline(True)
    state(ana, "offline")
    chart = add_widget(ana, "chart")
    ana.click(f'.widget[data-id="{notes}"] .ql-editor')
    ana.keyboard.type("written offline")
    wait_js(ana, "() => /kept on this device/.test(document.querySelector('.status').textContent)")
    shot(ana, "offline-before-reload")

    ana.reload()
    wait_js(ana, "id => !!document.querySelector(`.widget[data-id='${id}']`)", chart)
    assert "written offline" in text_of(ana, notes)
    assert "kept on this device" in ana.locator(".status").inner_text()
    assert chart not in widget_ids(ben)

    ana.context.set_offline(False)
    saved(ana)
    wait_js(ben, "id => !!document.querySelector(`.widget[data-id='${id}']`)", chart)
    wait_js(
        ben,
        "id => /written offline/.test(document.querySelector(`.widget[data-id='${id}'] .ql-editor`).innerText)",
        notes,
    )
    ben.wait_for_timeout(500)
    _, document = server_document(server, people["ana"].token, dashboard_id)
    assert sorted(document["widgets"]) == sorted([notes, chart])
    assert document["layout"].count(chart) == 1
    assert plain(document["widgets"][notes]["body"]).count("written offline") == 1
    assert text_of(ben, notes).count("written offline") == 1
    shot(ben, "offline-arrived")
