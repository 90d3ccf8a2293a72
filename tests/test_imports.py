"""Imports point one way: pure <- I/O <- wiring (the graph is drawn in README.md).

Read from the source (every ``import`` statement, at any depth), so a module cannot slip an
import of the wrong direction in behind a function.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# No I/O: values in, values out.
PURE = (
    "ot",
    "server.protocol",
    "server.core.codes",
    "server.core.errors",
    "server.core.ids",
    "server.core.jsonvalue",
    "server.core.oplog",
    "server.core.settings",
    "server.core.submission",
    "server.sequencer.batch",
    "server.sequencer.size",
    "server.store.model",
)
# What assembles the rest into a process: nothing below imports it.
WIRING = ("server.app", "server.cli", "server.embedded", "server.webapp")
IO_LIBRARIES = ("asyncio", "asyncpg", "redis", "starlette", "structlog", "websockets", "uvicorn")


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted([*ROOT.glob("ot/**/*.py"), *ROOT.glob("server/**/*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[module] = imported
    return graph


def _modules(graph: dict[str, set[str]], names: set[str]) -> set[str]:
    """The names that are modules of ours (``from pkg import module`` names one too)."""
    return {n for n in names if n in graph}


def test_pure_modules_import_only_pure_modules_and_no_io_library() -> None:
    graph = _graph()
    wrong = []
    for module, imported in graph.items():
        if not _within(module, PURE):
            continue
        for name in imported:
            if _within(name, IO_LIBRARIES):
                wrong.append(f"{module} imports {name}")
        for name in _modules(graph, imported):
            if not _within(name, PURE):
                wrong.append(f"{module} imports {name}")
    assert not wrong, wrong


def test_the_ot_core_imports_nothing_of_the_server() -> None:
    graph = _graph()
    wrong = [
        f"{m} imports {n}"
        for m, imported in graph.items()
        if _within(m, ("ot",))
        for n in imported
        if _within(n, ("server",))
    ]
    assert not wrong, wrong


def test_the_protocol_does_not_import_the_store() -> None:
    graph = _graph()
    wrong = [
        f"{m} imports {n}"
        for m, imported in graph.items()
        if _within(m, ("server.protocol",))
        for n in imported
        if _within(n, ("server.store",))
    ]
    assert not wrong, wrong


def test_nothing_below_the_wiring_imports_it() -> None:
    graph = _graph()
    wrong = [
        f"{m} imports {n}"
        for m, imported in graph.items()
        if not _within(m, WIRING)
        for n in _modules(graph, imported)
        if _within(n, WIRING)
    ]
    assert not wrong, wrong


def test_the_graph_sees_every_package() -> None:
    graph = _graph()
    for package in ("ot.json0", "server.gateway", "server.sequencer", "server.store", *PURE):
        assert package in graph, package


def test_every_ot_module_imports_on_its_own() -> None:
    """Each module of the OT core imports first in a fresh interpreter (no import cycle that
    only the usual import order hides)."""
    modules = sorted(m for m in _graph() if _within(m, ("ot",)))
    script = (
        "import subprocess, sys\n"
        "bad = [m for m in sys.argv[1:] if subprocess.run([sys.executable, '-c', 'import ' + m],"
        " capture_output=True).returncode]\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *modules], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []
