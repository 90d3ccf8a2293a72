"""The error-code registry: every code defined once, and nowhere spelt out again."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import ot
import server
from ot.errors import OTError
from server.core.codes import CloseCode, Code
from server.core.errors import TandemError

ROOT = Path(__file__).resolve().parents[2]


def _subclasses(root: type) -> list[type]:
    found, todo = [], [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def _import_all() -> None:
    for package in (ot, server):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)


def test_every_error_class_names_a_registered_code() -> None:
    _import_all()
    for cls in [TandemError, *_subclasses(TandemError)]:
        assert Code.of(cls.code) is cls.code, cls
    for cls in _subclasses(OTError):
        assert Code.of(cls.code) == cls.code, cls


def test_every_code_is_described() -> None:
    for code in Code:
        assert code.meaning and 400 <= code.status < 600, code
        assert code.close is None or code.close in CloseCode


def test_an_unknown_string_is_no_code() -> None:
    assert Code.of("not_found") is Code.NOT_FOUND
    try:
        Code.of("no_such_code")
    except ValueError as exc:
        assert "no_such_code" in str(exc)
    else:
        raise AssertionError("an unknown code was accepted")


def test_no_code_is_spelt_outside_the_registry() -> None:
    spelt = {code.value for code in Code}
    registry = {ROOT / "server/core/codes.py", ROOT / "ot/errors.py"}
    found = []
    for path in sorted([*(ROOT / "server").rglob("*.py"), *(ROOT / "ot").rglob("*.py")]):
        if path in registry:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in spelt:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not found, found
