"""No module in ``server/`` or ``ot/`` grows past 400 lines: a reader finds a part by its name."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 400


def test_no_module_in_server_or_ot_exceeds_the_line_limit() -> None:
    paths = sorted([*ROOT.glob("ot/**/*.py"), *ROOT.glob("server/**/*.py")])
    assert len(paths) > 20  # the globs find the packages
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in paths}
    over = {path: lines for path, lines in sizes.items() if lines > LIMIT}
    assert over == {}, f"modules over {LIMIT} lines: {over}"
