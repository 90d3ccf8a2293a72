"""``deploy/nginx.conf`` run by a real nginx in front of two Tandem processes: stock clients that
name their dashboard all reach the gateway it hashes to, converge, and when that gateway is
killed they reconnect through nginx to the other one without losing or doubling an op."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Account, GatewayPair
from tests.e2e.harness import ROOT, Gateway, editing_scenario, free_port, run_cli
from tests.e2e.oplog import assert_sound_log
from tests.faults.stack import counter

pytestmark = [pytest.mark.node, pytest.mark.slow]


def nginx_conf(gateways: list[Gateway], port: int) -> str:
    """The deployment's file, its upstream and listen lines pointed at loopback ports."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    upstream = "server gateway:8000 max_fails=1 fail_timeout=5s;"
    assert upstream in site and "listen 80;" in site
    servers = "\n    ".join(
        upstream.replace("gateway:8000", f"127.0.0.1:{g.port}") for g in gateways
    )
    site = site.replace(upstream, servers).replace("listen 80;", f"listen 127.0.0.1:{port};")
    return f"events {{}}\nhttp {{\n    access_log off;\n{site}\n}}\n"


@pytest.fixture
def nginx(gateway_pair: GatewayPair, tmp_path: Path) -> Iterator[tuple[str, list[Gateway]]]:
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (.ci/run installs it)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    for gateways in gateway_pair({}):
        port = free_port()
        (tmp_path / "nginx.conf").write_text(nginx_conf(gateways, port))
        process = subprocess.Popen(
            [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g",
             f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                        break
                except (urllib.error.URLError, OSError):
                    assert process.poll() is None, (tmp_path / "error.log").read_text()
                    assert time.monotonic() < deadline, "nginx did not answer"
                    time.sleep(0.1)
            yield f"ws://127.0.0.1:{port}/ws", gateways
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_clients_through_nginx_survive_the_loss_of_their_gateway(
    node_dir: Path,
    node_bin: str,
    nginx: tuple[str, list[Gateway]],
    accounts: dict[str, Account],
    new_dashboard: Callable[[], str],
    e2e_env: dict[str, str],
    database_url: str,
) -> None:
    url, gateways = nginx
    dashboard = new_dashboard()
    scenario = editing_scenario(
        node_dir,
        [f"{url}?dashboard={dashboard}"],
        [accounts["owner"].token, accounts["editor"].token],
        dashboard,
        clients=4,
        ops=150,
        interval_ms=20,
        seed=21,
    )
    try:
        assert scenario.next_event(timeout=30)["event"] == "ready"
        # Routed by dashboard: every client is on one gateway.
        open_ = [counter(g, "tandem_connections_open") for g in gateways]
        assert sorted(open_) == [0, 4], open_
        [victim] = [g for g, n in zip(gateways, open_, strict=True) if n == 4]
        time.sleep(0.8)
        victim.kill()
        result = scenario.result(timeout=120, gateways=gateways)
    finally:
        scenario.close()
    assert result["rejected"] == [] and result["unacked"] == []
    acked = result["acked"]
    assert len(acked) == len(set(acked)) == 4 * 150
    fresh = result["fresh"]
    assert Counter(fresh["data"]["widgets"]["log"]["data"]["marks"]) == Counter(acked)
    for client in result["clients"]:
        assert client["data"] == fresh["data"] and client["v"] == fresh["v"], client["name"]
        assert client["connects"] >= 2, client["name"]  # reconnected through nginx
    assert_sound_log(database_url, dashboard, fresh["v"])
    assert run_cli(e2e_env, "verify", dashboard)["ok"] is True
