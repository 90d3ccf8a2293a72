"""Page helpers for the browser tests: what a person does in the editor, and reading it back."""

from __future__ import annotations

import time
from typing import Any

CELL = 24  # the editor's grid cell, in pixels (web/src/model.js)
REMOTE_MS = 500  # a change by one person shows in the other's page within this


def ready(page: Any) -> None:
    page.wait_for_selector(".editor[data-ready]", timeout=15_000)


def widget_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        ".canvas > .widget", "els => els.map(e => e.dataset.id)"
    )
    return ids


def add_widget(page: Any, kind: str) -> str:
    before = set(widget_ids(page))
    page.click(".add-btn")
    page.click(f".menu-item[data-type={kind}]")
    page.wait_for_function(
        "n => document.querySelectorAll('.canvas > .widget').length > n", arg=len(before)
    )
    (new,) = set(widget_ids(page)) - before
    return new


def card(page: Any, widget_id: str) -> Any:
    return page.locator(f'.canvas > .widget[data-id="{widget_id}"]')


def box(page: Any, widget_id: str) -> dict[str, float]:
    """The card's left/top/width/height in pixels, as laid out from the document."""
    result: dict[str, float] = page.eval_on_selector(
        f'.canvas > .widget[data-id="{widget_id}"]',
        "e => ({left: parseFloat(e.style.left), top: parseFloat(e.style.top),"
        " width: parseFloat(e.style.width), height: parseFloat(e.style.height)})",
    )
    return result


def drag(page: Any, selector: str, dx: int, dy: int) -> None:
    handle = page.locator(selector).first
    b = handle.bounding_box()
    assert b is not None
    x, y = b["x"] + min(40, b["width"] / 2), b["y"] + b["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 6):
        page.mouse.move(x + dx * i / 5, y + dy * i / 5)
    page.mouse.up()


def wait_js(page: Any, expression: str, arg: Any = None, *, timeout_ms: float = 10_000) -> float:
    """Wait until ``expression`` (a function of ``arg``) is truthy; the milliseconds it took."""
    start = time.monotonic()
    page.wait_for_function(expression, arg=arg, timeout=timeout_ms, polling="raf")
    return (time.monotonic() - start) * 1000


def text_of(page: Any, widget_id: str) -> str:
    value: str = page.eval_on_selector(
        f'.canvas > .widget[data-id="{widget_id}"] .ql-editor', "e => e.innerText"
    )
    return value


def plain(body: Any) -> str:
    if isinstance(body, str):
        return body
    return "".join(op["insert"] for op in body["ops"] if isinstance(op.get("insert"), str))


def saved(page: Any) -> None:
    """Wait until the page is connected and the server has acknowledged all its edits."""
    wait_js(page, "() => document.querySelector('.status').dataset.state === 'live'")


def state(page: Any, value: str) -> None:
    wait_js(page, "s => document.querySelector('.status').dataset.state === s", value)
