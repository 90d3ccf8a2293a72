"""OT core throughput against the Node reference libraries, on the same cases.

Typical dashboard ops on a 24-widget dashboard: move a widget (od+oi on x and y), edit a
setting, type into a text field (text-unicode), format a range of a body (rich-text), reorder
the layout (lm). For each: ``apply`` (the op then its inverse, so the document keeps its
size) and ``transform`` against a concurrent op on the same spot. Then what the sequencer does
with a submit: transform it through every op committed since its base version, here a widget
move through 20 concurrent moves (one of them of the same widget), once with plain ops
(``transform``: each call validates both) and once ``checked`` (the submit checked once, the
committed ops checked when they were committed, as :class:`ot.json0.CheckedOp`); one op is one
submit through the whole chain, and the reference runs the plain chain for both.

The cases go to a temporary JSON file that tests/node/ot_bench.js reads too. Each side runs
every case for about ``SECONDS``, in ``ROUNDS`` rounds of which the fastest counts (the least
disturbed by other work on the machine), and reports ops/s; ``ratio`` is python_time /
node_time per op.

The reference applies in place (as ShareDB uses it); ours returns a new document and leaves
the old one untouched, which costs a copy of the path to the change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ot import json0

SECONDS = 1.0
ROUNDS = 3
NODE_DIR = Path(__file__).resolve().parents[2] / "tests" / "node"
# Ratios above this are worth a profile (the goal for single-component ops).
GOAL = 5.0


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "apply" or "transform"
    doc: Any
    op: Any
    inverse: Any = None
    other: Any = None
    side: str = "left"
    # Ops to transform ``op`` through in turn, instead of ``other``.
    chain: list[Any] | None = None


def dashboard(widgets: int = 24) -> dict[str, Any]:
    ids = [f"w{i:02d}" for i in range(widgets)]
    body = {
        "ops": [
            {"insert": "Quarterly numbers, "},
            {"insert": "up 4%", "attributes": {"bold": True}},
            {"insert": " since last week.\nSee the chart below for detail.\n"},
        ]
    }
    return {
        "title": "Operations",
        "description": "Live view of the fleet",
        "settings": {"theme": "dark", "gridSize": 8, "refresh": 30},
        "widgets": {
            wid: {
                "type": "text" if n % 3 == 0 else "chart",
                "title": f"Widget {n} title",
                "position": {"x": n % 6 * 2, "y": n // 6 * 3, "width": 2, "height": 3, "zIndex": n},
                "config": {"color": "#36c", "thresholds": [10, 50, 90]},
                "data": {"series": list(range(12)), "labels": ["a", "b", "c"]},
                "isLocked": False,
                "body": body,
            }
            for n, wid in enumerate(ids)
        },
        "layout": ids,
    }


def _move(doc: dict[str, Any], widget: str, x: int, y: int) -> list[dict[str, Any]]:
    path = ["widgets", widget, "position"]
    old = doc["widgets"][widget]["position"]
    return [
        {"p": [*path, "x"], "od": old["x"], "oi": x},
        {"p": [*path, "y"], "od": old["y"], "oi": y},
    ]


def cases() -> list[Case]:
    doc = dashboard()
    pos = ["widgets", "w07", "position"]
    move = [{"p": [*pos, "x"], "od": 2, "oi": 6}, {"p": [*pos, "y"], "od": 3, "oi": 9}]
    move_back = [{"p": [*pos, "y"], "od": 9, "oi": 3}, {"p": [*pos, "x"], "od": 6, "oi": 2}]
    other_move = [{"p": [*pos, "x"], "od": 2, "oi": 4}, {"p": [*pos, "y"], "od": 3, "oi": 4}]
    setting = [{"p": ["settings", "theme"], "od": "dark", "oi": "light"}]
    setting_back = [{"p": ["settings", "theme"], "od": "light", "oi": "dark"}]
    other_setting = [{"p": ["settings", "theme"], "od": "dark", "oi": "contrast"}]
    title = ["widgets", "w07", "title"]
    typing = [{"p": title, "t": "text-unicode", "o": [7, "x"]}]
    typing_back = [{"p": title, "t": "text-unicode", "o": [7, {"d": "x"}]}]
    other_typing = [{"p": title, "t": "text-unicode", "o": [3, "ab"]}]
    body = ["widgets", "w07", "body"]
    bold = [
        {
            "p": body,
            "t": "rich-text",
            "o": [{"retain": 8}, {"retain": 11, "attributes": {"bold": True}}],
        }
    ]
    unbold = [
        {
            "p": body,
            "t": "rich-text",
            "o": [{"retain": 8}, {"retain": 11, "attributes": {"bold": None}}],
        }
    ]
    other_edit = [{"p": body, "t": "rich-text", "o": [{"retain": 12}, {"insert": "ly"}]}]
    reorder = [{"p": ["layout", 3], "lm": 17}]
    reorder_back = [{"p": ["layout", 17], "lm": 3}]
    other_reorder = [{"p": ["layout", 10], "lm": 0}]
    # Every fifth widget, wrapping: w07 comes up once.
    concurrent = [_move(doc, f"w{n * 5 % 24:02d}", n, n + 1) for n in range(20)]
    return [
        Case("move widget", "apply", doc, move, inverse=move_back),
        Case("move widget", "transform", doc, move, other=other_move),
        Case("edit setting", "apply", doc, setting, inverse=setting_back),
        Case("edit setting", "transform", doc, setting, other=other_setting),
        Case("type text", "apply", doc, typing, inverse=typing_back),
        Case("type text", "transform", doc, typing, other=other_typing),
        Case("format range", "apply", doc, bold, inverse=unbold),
        Case("format range", "transform", doc, bold, other=other_edit),
        Case("reorder layout", "apply", doc, reorder, inverse=reorder_back),
        Case("reorder layout", "transform", doc, reorder, other=other_reorder),
        Case("move vs 20 moves", "transform", doc, move, chain=concurrent),
        Case("move vs 20 moves", "checked", doc, move, chain=concurrent),
    ]


def _chain(case: Case, chain: list[Any]) -> Callable[[], int]:
    if case.kind == "checked":
        committed = [json0.check(op) for op in chain]

        def checked() -> int:
            op = json0.check(case.op)
            for other in committed:
                op = json0.transform(op, other, case.side)
            return 1

        return checked

    def plain() -> int:
        op = case.op
        for other in chain:
            op = json0.transform(op, other, case.side)
        return 1

    return plain


def _step(case: Case) -> Callable[[], int]:
    if case.chain is not None:
        return _chain(case, case.chain)
    if case.kind == "apply":
        state = {"doc": case.doc}

        def apply_both() -> int:
            state["doc"] = json0.apply(json0.apply(state["doc"], case.op), case.inverse)
            return 2

        return apply_both

    def transform() -> int:
        json0.transform(case.op, case.other, case.side)
        return 1

    return transform


def measure(case: Case, seconds: float = SECONDS) -> float:
    """Our ops per second on ``case``: the best of ``ROUNDS`` rounds sharing ``seconds``."""
    step = _step(case)
    for _ in range(200):
        step()
    best = 0.0
    for _ in range(ROUNDS):
        ops, start = 0, time.perf_counter()
        elapsed = 0.0
        while elapsed < seconds / ROUNDS:
            for _ in range(50):
                ops += step()
            elapsed = time.perf_counter() - start
        best = max(best, ops / elapsed)
    return best


def measure_node(all_cases: list[Case], seconds: float = SECONDS) -> list[float] | None:
    """The reference's ops per second on the same cases; None without Node and its packages."""
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules").is_dir():
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        json.dump([case.__dict__ for case in all_cases], handle)
        handle.flush()
        result = subprocess.run(
            [node, "ot_bench.js", handle.name, str(seconds)],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
    return [row["ops"] / row["seconds"] for row in json.loads(result.stdout)]


def main() -> None:
    all_cases = cases()
    node = measure_node(all_cases)
    ours = [measure(case) for case in all_cases]
    print(f"{'case':<16} {'fn':<10} {'python ops/s':>13} {'node ops/s':>13} {'ratio':>7}")
    for n, (case, python_rate) in enumerate(zip(all_cases, ours, strict=True)):
        if node is None:
            print(f"{case.name:<16} {case.kind:<10} {python_rate:>13,.0f} {'-':>13} {'-':>7}")
            continue
        ratio = node[n] / python_rate
        flag = "  over goal" if ratio > GOAL else ""
        print(
            f"{case.name:<16} {case.kind:<10} {python_rate:>13,.0f} {node[n]:>13,.0f}"
            f" {ratio:>6.1f}x{flag}"
        )
    if node is None:
        print("(node or tests/node/node_modules missing: run `make node` for the reference column)")
    print(f"ratio = python time / node time per op; goal <= {GOAL:.0f}x")
