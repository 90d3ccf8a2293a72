"""Real gateway processes and Node scenario runs for the end-to-end tests.

A :class:`Gateway` is one ``tandem serve`` subprocess on a loopback port, its output in a log
file; :func:`run_scenario` runs one ``tests/node/e2e_*.js`` script with a JSON input on stdin
and returns its JSON result. Everything has a deadline and every process is reaped.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 45.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tandem_command(*args: str) -> list[str]:
    """The ``tandem`` command line run by this interpreter (so the same virtualenv)."""
    return [
        sys.executable,
        "-c",
        "import sys; from server.cli import main; sys.exit(main())",
        *args,
    ]


def run_cli(env: Mapping[str, str], *args: str, timeout: float = 60.0) -> Any:
    """Run ``tandem ARGS --json`` and return its parsed output; fail loudly on a non-zero exit."""
    done = subprocess.run(
        tandem_command(*args, "--json"),
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"tandem {' '.join(args)} exited {done.returncode}\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}"
        )
    return json.loads(done.stdout)


@dataclass
class Gateway:
    """One ``tandem serve`` process, started with ``gateway_id`` as its id (the name its lock
    tokens carry)."""

    port: int
    log_path: Path
    gateway_id: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, env: Mapping[str, str]) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                tandem_command("serve", "--host", "127.0.0.1", "--port", str(self.port)),
                env={**env, "TANDEM_GATEWAY_ID": self.gateway_id},
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so teardown reaches anything it spawned.
                start_new_session=True,
            )

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT, path: str = "/healthz") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"gateway on port {self.port} exited with {self.process.returncode}\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.http}{path}", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise AssertionError(
            f"gateway on port {self.port} not healthy in {timeout}s\n{self.log_tail()}"
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (locks, presences and queues are left behind)."""
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                # A test may have left it stopped (SIGSTOP); SIGTERM waits for a SIGCONT.
                os.killpg(self.process.pid, signal.SIGCONT)
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                self.process.wait(timeout=10)
        else:
            # The group may outlive its leader; take it down too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return f"--- {self.log_path.name} ---\n{text[-chars:]}"


def start_gateways(
    count: int,
    env: Mapping[str, str],
    log_dir: Path,
    name: str,
    extra: Sequence[Mapping[str, str]] = (),
) -> list[Gateway]:
    """Start ``count`` gateways, the first alone (it migrates the database), the rest together;
    ``extra[i]``, if given, adds to gateway i's environment."""
    gateways = [
        Gateway(port=free_port(), log_path=log_dir / f"{name}-{i}.log", gateway_id=f"{name}-{i}")
        for i in range(count)
    ]
    envs = [{**env, **(extra[i] if i < len(extra) else {})} for i in range(count)]
    try:
        gateways[0].start(envs[0])
        gateways[0].wait_healthy()
        for gateway, gateway_env in zip(gateways[1:], envs[1:], strict=True):
            gateway.start(gateway_env)
        for gateway in gateways[1:]:
            gateway.wait_healthy()
    except BaseException:
        for gateway in gateways:
            gateway.stop()
        raise
    return gateways


class ScenarioFailed(AssertionError):
    pass


def _node() -> str:
    return os.environ.get("NODE", "node")


def run_scenario(
    node_dir: Path,
    script: str,
    payload: Mapping[str, Any],
    *,
    timeout: float = 120.0,
    gateways: Sequence[Gateway] = (),
) -> dict[str, Any]:
    """Run ``node_dir/script`` with ``payload`` on stdin; its last stdout line is the result."""
    try:
        done = subprocess.run(
            [_node(), str(node_dir / script)],
            input=json.dumps(payload),
            cwd=node_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ScenarioFailed(f"{script} ran past {timeout}s\n{_tails(gateways)}") from exc
    return _result(script, done.returncode, done.stdout, done.stderr, gateways)


def _result(
    script: str, code: int, stdout: str, stderr: str, gateways: Sequence[Gateway]
) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ScenarioFailed(f"{script} printed nothing (exit {code})\n{stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if code != 0 or "error" in result:
        raise ScenarioFailed(
            f"{script} failed (exit {code}): {result.get('error')}\n"
            f"stderr: {stderr[-3000:]}\n{_tails(gateways)}"
        )
    return result


def _tails(gateways: Sequence[Gateway]) -> str:
    return "\n".join(g.log_tail(2500) for g in gateways)


class LiveScenario:
    """A Node scenario that reports progress lines while it runs (the crash test acts on them)."""

    def __init__(self, node_dir: Path, script: str, payload: Mapping[str, Any]) -> None:
        self.script = script
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stdout: list[str] = []
        self.process = subprocess.Popen(
            [_node(), str(node_dir / script)],
            cwd=node_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(payload))
        self.process.stdin.close()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._stdout.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def next_event(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty as exc:
            raise ScenarioFailed(f"{self.script}: no progress line in {timeout}s") from exc
        if line is None:
            raise ScenarioFailed(f"{self.script} ended early: {''.join(self._stdout)[-3000:]}")
        event: dict[str, Any] = json.loads(line)
        if "error" in event:
            raise ScenarioFailed(f"{self.script} failed: {event['error']}")
        return event

    def result(self, timeout: float, gateways: Sequence[Gateway] = ()) -> dict[str, Any]:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.close()
            raise ScenarioFailed(f"{self.script} ran past {timeout}s\n{_tails(gateways)}") from exc
        self._reader.join(timeout=5)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        self.close()
        return _result(
            self.script, self.process.returncode, "".join(self._stdout), stderr, gateways
        )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        # The reader ends at EOF; closing the pipe under it would raise in its thread.
        self._reader.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def editing_scenario(
    node_dir: Path,
    urls: Sequence[str],
    tokens: Sequence[str],
    dashboard: str,
    *,
    clients: int,
    ops: int,
    interval_ms: int,
    seed: int,
) -> LiveScenario:
    """Reconnecting stock clients that each insert ``ops`` unique markers into one list
    (``tests/node/e2e_crash.js``); client i starts on ``urls[i % len(urls)]``."""
    return LiveScenario(
        node_dir,
        "e2e_crash.js",
        {
            "urls": list(urls),
            "tokens": list(tokens),
            "dashboard": dashboard,
            "clients": clients,
            "ops": ops,
            "interval_ms": interval_ms,
            "seed": seed,
        },
    )
