"""Someone else's text selection in a text widget stays on the same characters while people type:
moved through every op applied to the text, its author's own included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import shot
from tests.browser.helpers import add_widget, saved, text_of, wait_js

pytestmark = pytest.mark.browser

# The client x of the gap before character `i` of a one-line text widget's text.
X_AT = """(root, i) => {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let node, last = null;
  while ((node = walker.nextNode())) {
    if (i <= node.length) {
      const range = document.createRange();
      range.setStart(node, i);
      range.collapse(true);
      return range.getBoundingClientRect().left;
    }
    i -= node.length;
    last = node;
  }
  return null;
}"""

# Where the other person's selection is drawn in a widget, checked against character positions:
# true when its one box runs from character `start` to `end` (a caret when they are equal).
DRAWN_AT = (
    "([id, start, end]) => { const xAt = " + X_AT + ";"
    " const w = document.querySelector(`.widget[data-id='${id}']`);"
    " const root = w.querySelector('.ql-editor');"
    " const boxes = [...w.querySelectorAll('.remote-sel')];"
    " if (boxes.length !== 1 || boxes[0].classList.contains('caret') !== (start === end))"
    "   return false;"
    " const b = boxes[0].getBoundingClientRect();"
    " const near = (a, x) => x !== null && Math.abs(a - x) <= 1.5;"
    " return near(b.left, xAt(root, start)) && (start === end || near(b.right, xAt(root, end))); }"
)

# Every frame from now on: once a '!' is in the text, is the other person's caret drawn right
# after the last one (where they are typing)? Frames where it is not are kept in
# window.caretMisses.
WATCH_CARET = (
    "id => { const xAt = " + X_AT + ";"
    " const w = document.querySelector(`.widget[data-id='${id}']`);"
    " const root = w.querySelector('.ql-editor');"
    " window.caretFrames = 0; window.caretMisses = [];"
    " const tick = () => {"
    "   const text = root.textContent; const i = text.lastIndexOf('!');"
    "   if (i >= 0) {"
    "     window.caretFrames++;"
    "     const caret = w.querySelector('.remote-sel.caret');"
    "     const want = xAt(root, i + 1);"
    "     const got = caret ? caret.getBoundingClientRect().left : null;"
    "     if (got === null || Math.abs(got - want) > 1.5) window.caretMisses.push({text, want, got});"
    "   }"
    "   if (!window.stopWatching) requestAnimationFrame(tick);"
    " };"
    " requestAnimationFrame(tick); }"
)


def test_a_remote_selection_moves_with_everyone_s_typing(
    pair: Callable[[str], tuple[str, Any, Any]],
) -> None:
    _, ana, ben = pair("Selections")
    notes = add_widget(ana, "text")
    editor = f'.widget[data-id="{notes}"] .ql-editor'
    ana.click(editor)
    ana.keyboard.type("Hello world")
    saved(ana)
    wait_js(ben, "id => /Hello world/.test(document.querySelector(`.widget[data-id='${id}']`)"
            ".textContent)", notes)  # fmt: skip

    # Ben selects "world" (characters 6 to 11); Ana's page draws it there.
    ben.click(editor)
    ben.keyboard.press("Control+End")
    for _ in range(5):
        ben.keyboard.press("Shift+ArrowLeft")
    wait_js(ana, DRAWN_AT, [notes, 6, 11])
    shot(ana, "selection-drawn")

    # Ana types in front of it: the selection moves with "world" (now 10 to 14 + 1).
    ana.keyboard.press("Control+Home")
    ana.keyboard.type("Big ")
    assert text_of(ana, notes).strip() == "Big Hello world"
    wait_js(ana, DRAWN_AT, [notes, 10, 15])
    saved(ana)
    wait_js(ben, "id => document.querySelector(`.widget[data-id='${id}'] .ql-editor`).textContent"
            ".startsWith('Big ')", notes)  # fmt: skip
    wait_js(ana, DRAWN_AT, [notes, 10, 15])  # and stays there once Ben's page has the text

    # Ben types at the end of his selection: in Ana's page his caret follows each character,
    # in every frame, whether his op or his next presence arrives first.
    ana.evaluate(WATCH_CARET, notes)
    ben.keyboard.press("ArrowRight")
    for ch in "!!!":
        ben.keyboard.type(ch)
        ben.wait_for_timeout(60)
    saved(ben)
    wait_js(ana, "id => document.querySelector(`.widget[data-id='${id}']`).textContent"
            ".includes('world!!!')", notes)  # fmt: skip
    wait_js(ana, DRAWN_AT, [notes, 18, 18])
    ana.wait_for_timeout(300)
    ana.evaluate("() => { window.stopWatching = true; }")
    frames, misses = ana.evaluate("() => [window.caretFrames, window.caretMisses]")
    assert frames > 0
    assert misses == [], misses[:5]
    shot(ana, "selection-after-typing")

    # Ana types right at Ben's caret: her text lands after it, his caret stays put.
    ana.keyboard.press("Control+End")
    ana.keyboard.type("?")
    wait_js(ana, DRAWN_AT, [notes, 18, 18])
    assert text_of(ana, notes).strip() == "Big Hello world!!!?"
    assert ana.errors == [] and ben.errors == []
