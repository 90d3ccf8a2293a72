"""``tandem serve --workers 2``: every worker keeps its metrics in the shared directory, and a
scrape answered by either worker counts the requests both served."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import ROOT, free_port, tandem_command

REQUESTS = 40


def _get(url: str) -> bytes:
    # A new connection each time, so the workers share them out.
    request = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=5) as response:
        body: bytes = response.read()
        return body


def _healthz_count(base: str) -> float:
    text = _get(f"{base}/metrics").decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "tandem_http_requests_total" and sample.labels == {
                "route": "/healthz",
                "status": "200",
            }:
                return float(sample.value)
    return 0.0


def test_metrics_add_up_over_workers(e2e_env: dict[str, str], gateway_logs: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in e2e_env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    log = gateway_logs / "workers.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            tandem_command("serve", "--port", str(port), "--workers", "2"),
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.2)
        directory = Path(env["TANDEM_HOME"]).resolve() / "metrics" / str(process.pid)
        before = _healthz_count(base)
        for _ in range(REQUESTS):
            _get(f"{base}/healthz")
        # Both workers write their values there (files named after their pids) ...
        deadline = time.monotonic() + 20
        while len({p.stem.rsplit("_", 1)[-1] for p in directory.glob("counter_*.db")}) < 2:
            assert time.monotonic() < deadline, sorted(p.name for p in directory.iterdir())
            _get(f"{base}/healthz")
            before += 1  # counted too
        # ... and whichever answers the scrape counts every request.
        counts = {_healthz_count(base) - before for _ in range(6)}
        assert counts == {REQUESTS}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert not directory.exists()
