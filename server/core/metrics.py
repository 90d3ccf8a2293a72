"""Every Prometheus metric of the server, declared in one place, and ``GET /metrics``.

The metrics are the official ``prometheus-client``'s. With several worker processes
(``tandem serve --workers N``) each writes its values to files under ``PROMETHEUS_MULTIPROC_DIR``
(``tandem serve`` makes that directory when the variable is unset) and ``/metrics`` in any worker
adds up every worker's, so a scrape sees the whole server whichever worker answers it. The
variable must be set before ``prometheus_client`` is first imported: it decides at import time
where values are kept.

Conventions: names are ``tandem_<noun>_<unit>`` (``_total`` for counters, ``_seconds`` for
times); no label takes a dashboard id, a user id or any other unbounded value. ``code`` labels
take the registered error codes, ``route`` the route templates of the app (``other`` for any path
no route matched), ``status`` the HTTP status.

The declarations below are the process's metric families, the way a module's logger is; they
hold counts only. On the per-op path a metric costs one locked add (about a microsecond, and a
little more in multiprocess mode where the add goes to a memory-mapped file).
"""

from __future__ import annotations

import os
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"

# Acks: most take a millisecond or two; the tail is what an outage makes (submits wait for
# the service to come back, up to the submit deadline).
_ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
_COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
_HTTP_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)

# -- ops ------------------------------------------------------------------------------------
OPS_RECEIVED = Counter("tandem_ops_received_total", "Ops submitted by clients to this gateway.")
OPS_COMMITTED = Counter("tandem_ops_committed_total", "Ops this process committed to the log.")
OPS_DEDUPLICATED = Counter(
    "tandem_ops_deduplicated_total",
    "Resubmitted ops found already committed (by src and seq) and answered with their version.",
)
OPS_REJECTED = Counter(
    "tandem_ops_rejected_total", "Submits answered with an error, by error code.", ["code"]
)
ACK_SECONDS = Histogram(
    "tandem_ack_seconds", "From a submit's arrival to its ack.", buckets=_ACK_BUCKETS
)
BATCH_OPS = Histogram(
    "tandem_batch_ops", "Ops committed per sequencer batch.", buckets=_BATCH_BUCKETS
)
BATCH_COMMIT_SECONDS = Histogram(
    "tandem_batch_commit_seconds",
    "From a batch's read off the queue to its ops' publication.",
    buckets=_COMMIT_BUCKETS,
)
QUEUE_DEPTH = Gauge(
    "tandem_queue_depth",
    "Records waiting in the dashboard queues, as the sequencers' watchdog last counted them.",
    multiprocess_mode="livemax",
)
QUEUES_PENDING = Gauge(
    "tandem_queues_pending",
    "Dashboards with a queue the watchdog watches.",
    multiprocess_mode="livemax",
)

# -- the lock and the fence --------------------------------------------------------------------
LOCK_ACQUISITIONS = Counter(
    "tandem_lock_acquisitions_total", "Dashboard locks this process took to sequence."
)
LOCK_HANDOVERS = Counter(
    "tandem_lock_handovers_total",
    "Dashboard locks this process let go of: released (queue empty), lost (expired or fenced), "
    "shutdown (released on SIGTERM for another process to take at once).",
    ["reason"],
)
FENCE_REFUSALS = Counter(
    "tandem_fence_refusals_total",
    "Batches PostgreSQL refused because another holder took the fence meanwhile.",
)

# -- connections ---------------------------------------------------------------------------------
CONNECTIONS_OPEN = Gauge(
    "tandem_connections_open", "Open WebSocket connections.", multiprocess_mode="livesum"
)
FRAMES_RECEIVED = Counter("tandem_frames_received_total", "WebSocket frames read from clients.")
FRAMES_SENT = Counter("tandem_frames_sent_total", "WebSocket frames written to clients.")
SLOW_CONSUMERS = Counter(
    "tandem_slow_consumers_closed_total", "Connections closed for not reading what they were sent."
)
PRESENCE_UPDATES = Counter("tandem_presence_updates_total", "Presence updates sent by clients.")

# -- HTTP ----------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "tandem_http_requests_total", "HTTP requests, by route and status.", ["route", "status"]
)
HTTP_SECONDS = Histogram(
    "tandem_http_request_seconds", "HTTP request time, by route.", ["route"], buckets=_HTTP_BUCKETS
)

# -- the services ------------------------------------------------------------------------------
POSTGRES_ERRORS = Counter(
    "tandem_postgresql_errors_total", "Operations that failed because PostgreSQL was unreachable."
)
REDIS_ERRORS = Counter(
    "tandem_redis_errors_total", "Redis connections lost or timed out, and commands they failed."
)
RETRIES = Counter(
    "tandem_retries_total",
    "Work retried after PostgreSQL or Redis failed it, by service.",
    ["service"],
)

# The handover reasons and services, bound once (a child lookup per event costs a dict access
# and a lock; a bound child costs neither).
HANDOVER_RELEASED = LOCK_HANDOVERS.labels("released")
HANDOVER_LOST = LOCK_HANDOVERS.labels("lost")
HANDOVER_SHUTDOWN = LOCK_HANDOVERS.labels("shutdown")
RETRIES_POSTGRES = RETRIES.labels("postgresql")
RETRIES_REDIS = RETRIES.labels("redis")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


def exposition() -> tuple[bytes, str]:
    """The current values in the text format, and its content type. In multiprocess mode the
    values of every worker (live or dead: counters keep what a dead worker counted; the live
    gauges count live workers only)."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Forget a worker's live gauges (its counters stay counted)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
