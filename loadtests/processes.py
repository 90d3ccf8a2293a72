"""Child server processes of tests and benchmarks: waiting for one to answer, and stopping one."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

START_TIMEOUT = 30.0


def wait_until(condition: Callable[[], bool], what: str, log: Path | None = None) -> None:
    """Until ``condition()`` holds; after :data:`START_TIMEOUT` s an AssertionError with the
    tail of ``log``."""
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"{what} did not start in {START_TIMEOUT}s\n{tail}")
        time.sleep(0.05)


def reap(process: subprocess.Popen[bytes] | None, sig: int, timeout: float = 20.0) -> None:
    """Send ``sig`` and wait for the exit (SIGKILL after ``timeout`` s)."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
