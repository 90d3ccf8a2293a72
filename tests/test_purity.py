"""The pure core stays pure: importing ``ot`` and ``server.protocol`` pulls in no I/O library."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("asyncio", "asyncpg", "redis", "starlette", "structlog", "websockets", "uvicorn")


def _modules(package: str) -> list[str]:
    path = ROOT.joinpath(*package.split("."))
    found = pkgutil.walk_packages([str(path)], prefix=f"{package}.")
    return [package] + [m.name for m in found]


@pytest.mark.parametrize("package", ["ot", "server.protocol"])
def test_pure_packages_import_no_io(package: str) -> None:
    modules = _modules(package)
    assert len(modules) > 1, f"{package} has no modules"
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(','.join(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{package} imports I/O: {result.stdout.strip()}"
