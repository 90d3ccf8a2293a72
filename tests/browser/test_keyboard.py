"""The editor with the keyboard alone, every control named for assistive technology (the names
Chromium's accessibility tree computes), and the page at laptop and tablet sizes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import Person, server_document, shot
from tests.browser.helpers import ready, saved, wait_js, widget_ids
from tests.e2e.harness import Gateway

pytestmark = pytest.mark.browser

# Roles a person operates; each needs a name.
CONTROL_ROLES = {
    "button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio", "slider",
    "spinbutton", "menuitem", "switch", "tab", "listbox", "menuitemcheckbox",
}  # fmt: skip
SIZES = [(1280, 800), (820, 1180), (768, 1024)]


def unnamed_controls(page: Any) -> list[str]:
    """Controls in the page's accessibility tree without an accessible name."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        missing = []
        for node in nodes:
            role = (node.get("role") or {}).get("value")
            if node.get("ignored") or role not in CONTROL_ROLES:
                continue
            if str((node.get("name") or {}).get("value", "")).strip():
                continue
            described = cdp.send("DOM.describeNode", {"backendNodeId": node["backendDOMNodeId"]})
            attributes = described["node"].get("attributes", [])
            missing.append(f"{role} <{described['node']['nodeName'].lower()} {attributes}>")
        return missing
    finally:
        cdp.detach()


def tab_to(page: Any, css: str, *, back: bool = False, limit: int = 80) -> None:
    """Press Tab (Shift+Tab) until the focused element matches ``css``."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.evaluate("css => !!document.activeElement?.matches(css)", css):
            return
    raise AssertionError(f"{css} is not reachable with Tab")


def focused(page: Any, css: str) -> bool:
    found: bool = page.evaluate("css => !!document.activeElement?.matches(css)", css)
    return found


def open_dialog(page: Any, opener: str, key: str) -> None:
    """Focus ``opener`` and press ``key``: its dialog opens. Up to three tries: once, in a run
    of the whole suite, the dialog did not open within 30 s of the key (alone, and with the other
    browser tests, it always has); a canvas re-rendered between the focus and the key would do
    that."""
    for attempt in range(3):
        page.focus(opener)
        page.keyboard.press(key)
        try:
            page.wait_for_selector("dialog[open]", timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def add_with_keyboard(page: Any, label: str) -> str:
    """Add a widget from the Add menu with the keys alone; the new widget takes the focus."""
    before = set(widget_ids(page))
    tab_to(page, ".add-btn", back=True)
    page.keyboard.press("Enter")
    assert focused(page, ".menu-item")
    for _ in range(10):
        if (
            page.evaluate("() => document.activeElement.querySelector('strong').textContent")
            == label
        ):
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    wait_js(page, "n => document.querySelectorAll('.canvas > .widget').length > n", len(before))
    (new,) = set(widget_ids(page)) - before
    wait_js(page, "id => document.activeElement?.dataset?.id === id", new)
    return new


def test_the_editor_with_the_keyboard_alone(
    open_as: Callable[..., Any],
    people: dict[str, Person],
    dashboard: Callable[..., str],
    server: Gateway,
) -> None:
    title = "Keyboard only"
    dashboard_id = dashboard(title)
    ana = open_as(people["ana"], "/")
    # Open the dashboard from the list: Tab to its link, Enter.
    ana.wait_for_selector(f".card-link:has-text('{title}')", timeout=15_000)
    tab_to(ana, f"a[href='/d/{dashboard_id}']")
    ana.keyboard.press("Enter")
    ready(ana)

    # Add a chart from the menu (arrow keys), then move and resize it with the arrow keys.
    chart = add_with_keyboard(ana, "Chart")
    saved(ana)
    _, document = server_document(server, people["ana"].token, dashboard_id)
    start = document["widgets"][chart]["position"]
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "Shift+ArrowRight", "Shift+ArrowDown"):
        ana.keyboard.press(key)
    saved(ana)
    _, document = server_document(server, people["ana"].token, dashboard_id)
    position = document["widgets"][chart]["position"]
    assert (position["x"], position["y"]) == (start["x"] + 2, start["y"] + 1)
    assert (position["width"], position["height"]) == (start["width"] + 1, start["height"] + 1)
    # The focused widget is selected: ringed, its actions shown (once their fade-in ends).
    ana.wait_for_function(
        "id => { const w = document.querySelector(`.widget[data-id='${id}']`);"
        " return w === document.activeElement && getComputedStyle(w).boxShadow !== 'none'"
        " && getComputedStyle(w.querySelector('.w-actions')).opacity === '1'; }",
        arg=chart,
        timeout=2000,
    )
    shot(ana, "keyboard-widget-focused")

    # Enter opens its settings; Escape closes them and the focus is back on the widget.
    ana.keyboard.press("Enter")
    ana.wait_for_selector("dialog[open]")
    assert ana.evaluate(
        "() => document.querySelector('dialog[open]').contains(document.activeElement)"
    )
    ana.keyboard.press("Escape")
    ana.wait_for_selector("dialog[open]", state="detached")
    assert focused(ana, f".widget[data-id='{chart}']")

    # History: the slider has the focus; an arrow previews an older version; Escape closes the
    # panel (and the preview) and gives the focus back to the History button.
    tab_to(ana, "button[aria-label='History']", back=True)
    ana.keyboard.press("Enter")
    ana.wait_for_selector(".side .panel-head")
    assert focused(ana, ".side input[type=range]")
    ana.keyboard.press("ArrowLeft")
    wait_js(ana, "() => !document.querySelector('.banner').hidden")
    assert ana.locator(".canvas .preview-layer").count() == 1
    shot(ana, "keyboard-history-preview")
    ana.keyboard.press("Escape")
    wait_js(ana, "() => document.querySelector('.side').hidden")
    assert ana.locator(".banner").is_hidden()
    assert ana.locator(".canvas .preview-layer").count() == 0
    assert focused(ana, "button[aria-label='History']")

    # Share: the focus goes into the panel, Escape brings it back.
    tab_to(ana, "button[aria-label='Share']")
    ana.keyboard.press("Enter")
    ana.wait_for_selector(".side .invite")
    assert ana.evaluate("() => document.querySelector('.side').contains(document.activeElement)")
    shot(ana, "keyboard-share")
    ana.keyboard.press("Escape")
    wait_js(ana, "() => document.querySelector('.side').hidden")
    assert focused(ana, "button[aria-label='Share']")

    # Delete removes the focused widget.
    tab_to(ana, f".widget[data-id='{chart}']")
    ana.keyboard.press("Delete")
    wait_js(ana, "id => !document.querySelector(`.widget[data-id='${id}']`)", chart)
    saved(ana)
    _, document = server_document(server, people["ana"].token, dashboard_id)
    assert chart not in document["widgets"]
    assert ana.errors == []


def test_every_control_has_a_name_and_fits_laptop_and_tablet_screens(
    open_as: Callable[..., Any], people: dict[str, Person], dashboard: Callable[..., str]
) -> None:
    dashboard_id = dashboard("Every widget on a tablet")
    ana = open_as(people["ana"], f"/d/{dashboard_id}")
    ready(ana)
    for label in ("Text", "Chart", "Table", "Image", "Video", "Embed", "Custom"):
        add_with_keyboard(ana, label)
    saved(ana)
    ana.click(".widget[data-type=text] .ql-editor")  # the text editor and its toolbar
    ana.keyboard.type("Notes")
    ana.click(".add-btn")
    problems = {"editor": unnamed_controls(ana)}
    ana.keyboard.press("Escape")
    for panel in ("History", "Share"):
        ana.get_by_role("button", name=panel, exact=True).click()
        ana.wait_for_selector(".side .panel-head")
        problems[panel] = unnamed_controls(ana)
        ana.keyboard.press("Escape")
    saved(ana)  # every edit acknowledged: nothing re-renders the canvas from here on
    for opener in (".widget[data-type=chart]", "button[aria-label='Dashboard settings']"):
        open_dialog(ana, opener, "Enter" if opener.startswith(".widget") else "Space")
        problems[opener] = unnamed_controls(ana)
        ana.keyboard.press("Escape")
        ana.wait_for_selector("dialog[open]", state="detached")
    assert all(not missing for missing in problems.values()), problems

    for width, height in SIZES:
        page = open_as(people["ana"], f"/d/{dashboard_id}", width=width)
        page.set_viewport_size({"width": width, "height": height})
        ready(page)
        wait_js(page, "() => document.querySelectorAll('.canvas > .widget').length === 7")
        for panel in (None, "History", "Share"):
            if panel:
                page.get_by_role("button", name=panel, exact=True).click()
                page.wait_for_selector(".side .panel-head")
            name = f"size-{width}x{height}" + (f"-{panel.lower()}" if panel else "")
            shot(page, name)
            # The page itself never scrolls sideways (the canvas scrolls inside its own box).
            assert page.evaluate(
                "() => document.documentElement.scrollWidth <= innerWidth"
                " && document.body.scrollWidth <= innerWidth"
            ), name
            # Every visible control of the bar and the panel is on screen and not covered.
            hidden = page.evaluate(
                "() => [...document.querySelectorAll('.topbar button, .topbar input, .topbar a,"
                " .side button, .side input, .side select')]"
                ".filter(e => e.offsetParent && getComputedStyle(e).visibility !== 'hidden')"
                ".filter(e => { const r = e.getBoundingClientRect();"
                "  if (r.left < 0 || r.right > innerWidth + 0.5 || r.top < 0) return true;"
                "  if (r.bottom > innerHeight) return false;"  # below the fold: scrolls into view
                "  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
                "  return !(hit && (e === hit || e.contains(hit) || hit.contains(e))); })"
                ".map(e => e.getAttribute('aria-label') || e.textContent.trim() || e.outerHTML.slice(0, 80))"
            )
            assert hidden == [], (name, hidden)
            if panel:
                page.keyboard.press("Escape")
                wait_js(page, "() => document.querySelector('.side').hidden")
