"""The fault suite's deployment, started once for the module, and CI's rule that a skipped
fault test is a failure (a skip there would hide that the faults were never tried)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import Stack, running_stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get("CI") == "true":
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run the fault suite: {report.longrepr}"


@pytest.fixture(scope="module")
def stack(node_dir: object) -> Iterator[Stack]:
    if shutil.which(os.environ.get("NODE", "node")) is None:
        pytest.skip("Node.js is not installed")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "PROMETHEUS_"))}
    base.pop("DATABASE_URL", None)
    base.pop("REDIS_URL", None)
    # A directory of its own, not pytest's: another pytest run on the machine prunes old
    # pytest directories, and that must not take this run's PostgreSQL data with it.
    root = Path(tempfile.mkdtemp(prefix="tandem-faults-"))
    try:
        with running_stack(root, base) as started:
            yield started
    finally:
        shutil.rmtree(root, ignore_errors=True)
