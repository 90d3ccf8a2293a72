"""The embedded PostgreSQL stops with its last living holder, even after a holder was killed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from server.embedded import EmbeddedPostgres


@pytest.mark.slow
def test_a_killed_holder_does_not_keep_postgres_running(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg")
    pg.start()
    # A holder that died without leaving (as a process killed by SIGKILL does).
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    handles = tmp_path / "pg" / ".handle_pids.json"
    handles.write_text(json.dumps([*json.loads(handles.read_text()), int(dead.stdout)]))
    assert (tmp_path / "pg" / "postmaster.pid").exists()

    pg.stop()

    assert not (tmp_path / "pg" / "postmaster.pid").exists()
