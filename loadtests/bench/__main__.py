"""``python -m loadtests.bench [SECTION ...]``: run benchmark sections and print their numbers.

Sections are modules of this package with a ``main() -> None``: ``ot`` (OT core against the Node
references), ``store`` (PostgreSQL log), ``history`` (export, import, restore, diff, widget history of a
big dashboard), ``api`` (the HTTP API on 100,000 dashboards and 1,000,000 ops), ``gateway`` (protocol-level load against a ShareDB
reference server), ``abuse`` (what hostile messages cost the server), ``web`` (the browser app in
headless Chromium), ``sync`` (offline sync through the HTTP API: a big merge, a drained queue,
the changes feed), ``cluster`` (the gateway scenarios on a Redis Cluster beside a single Redis;
``BENCH_CLUSTER=0`` skips it).
"""

from __future__ import annotations

import importlib
import sys

SECTIONS = ("ot", "store", "history", "api", "gateway", "cluster", "abuse", "web", "sync")


def main(argv: list[str]) -> int:
    chosen = argv or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        print(f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
        return 2
    for name in chosen:
        module = importlib.import_module(f"loadtests.bench.{name}")
        print(f"\n=== {name} ===", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
