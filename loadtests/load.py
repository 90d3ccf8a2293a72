"""``make load``: a bounded Locust run against a Tandem gateway started for it.

Starts PostgreSQL and Redis (embedded under ``.tandem/load``, or ``DATABASE_URL`` /
``REDIS_URL``), a fresh database, the accounts and dashboards, one gateway on a loopback port,
then ``locust -f loadtests/locustfile.py --headless`` for ``LOAD_TIME``; the report (CSV files
and an HTML page) goes to ``.tandem/load``. Everything started is stopped and dropped at the end.

Environment: ``LOAD_USERS`` (20), ``LOAD_SPAWN_RATE`` users per second (5), ``LOAD_TIME``
(``30s``; Locust's syntax), ``LOAD_DASHBOARDS`` the users are spread over (1),
``LOAD_OP_WAIT`` seconds between an ack and the next op (0).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

from loadtests.stack import running_stack

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".tandem" / "load"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# Locust's own start and stop around the run time.
GRACE = 120.0


def seconds(text: str) -> float:
    """Locust's run-time syntax (``90``, ``30s``, ``2m``, ``1h30m``) in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?", text.strip())
    if not text.strip() or parts is None:
        raise ValueError(f"not a run time: {text!r}")
    hours, minutes, secs = (int(p) if p else 0 for p in parts.groups())
    return hours * 3600 + minutes * 60 + secs


def _summary(prefix: Path) -> str:
    path = prefix.with_name(prefix.name + "_stats.csv")
    if not path.exists():
        return "(no statistics written)"
    lines = [f"{'type':<8}{'name':<12}{'requests':>9}{'failures':>9}{'p50':>7}{'p99':>7}{'rps':>9}"]
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            lines.append(
                f"{row['Type']:<8}{row['Name']:<12}{row['Request Count']:>9}"
                f"{row['Failure Count']:>9}{row['50%']:>7}{row['99%']:>7}"
                f"{float(row['Requests/s']):>9.1f}"
            )
    return "\n".join(lines)


def main() -> int:
    users = int(os.environ.get("LOAD_USERS", "20"))
    spawn_rate = os.environ.get("LOAD_SPAWN_RATE", "5")
    run_time = os.environ.get("LOAD_TIME", "30s")
    dashboards = max(1, int(os.environ.get("LOAD_DASHBOARDS", "1")))
    limit = seconds(run_time) + GRACE
    OUT.mkdir(parents=True, exist_ok=True)
    prefix = OUT / "load"
    print(f"load: {users} users on {dashboards} dashboard(s) for {run_time}; starting services ...")
    with running_stack(OUT, users) as stack:
        # Locust deals tokens and dashboards in turn: user n has token n and dashboard n % D.
        groups = [[i for i in range(users) if i % dashboards == d] for d in range(dashboards)]
        ids = stack.dashboards(groups)
        gateway = stack.start_gateways(1, "load")[0]
        env = dict(os.environ)
        env.update(
            TANDEM_TOKENS=",".join(a.token for a in stack.accounts[:users]),
            TANDEM_DASHBOARDS=",".join(ids),
            TANDEM_OP_WAIT=os.environ.get("LOAD_OP_WAIT", "0"),
        )
        command = [
            sys.executable, "-m", "locust",
            "-f", str(LOCUSTFILE),
            "--headless",
            "-u", str(users),
            "-r", spawn_rate,
            "-t", run_time,
            "--host", f"ws://127.0.0.1:{gateway.port}",
            "--csv", str(prefix),
            "--html", str(OUT / "report.html"),
            "--only-summary",
            "--stop-timeout", "5",
        ]  # fmt: skip
        try:
            done = subprocess.run(command, env=env, cwd=ROOT, timeout=limit, check=False)
            code = done.returncode
        except subprocess.TimeoutExpired:
            print(f"locust ran past {limit:.0f} s; stopped")
            code = 1
    print(_summary(prefix))
    print(f"report: {OUT / 'report.html'} and {prefix}_*.csv")
    return code


if __name__ == "__main__":
    sys.exit(main())
