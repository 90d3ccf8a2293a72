"""One frozen settings object, built from the environment once and passed explicitly.

Every tunable of the server is a field here, named ``TANDEM_<FIELD>`` in the environment (the two
service URLs are ``DATABASE_URL`` and ``REDIS_URL``). Values are checked when the object is made:
a boolean that is not one of ``1/0 true/false yes/no on/off``, a number that does not parse, or one
outside its range is refused with :class:`InvalidSetting`, naming the variable, rather than read
as something else.
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from server.core.codes import Code
from server.core.errors import BadRequest

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
LOG_FORMATS = ("json", "console", "auto")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class InvalidSetting(BadRequest):
    """A setting the server cannot start with."""

    code = Code.INVALID_SETTING


def _tunable(default: Any, *, minimum: float | None = None, **metadata: Any) -> Any:
    """A field with its checks: ``minimum`` and ``maximum`` (inclusive), ``choices``, ``env`` (its variable),
    ``secret`` (kept out of ``repr``)."""
    return field(
        default=default,
        repr=not metadata.get("secret", False),
        metadata={"minimum": minimum, **metadata},
    )


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Secrets are kept out of ``repr``."""

    # Services. None means "start the embedded one under home".
    database_url: str | None = _tunable(None, env="DATABASE_URL", secret=True)
    redis_url: str | None = _tunable(None, env="REDIS_URL", secret=True)
    home: Path = Path(".tandem")
    redis_prefix: str = "tandem:"
    # REDIS_URL names one node of a Redis Cluster (any; the others are found from it).
    redis_cluster: bool = False

    # HTTP / WebSocket
    host: str = "127.0.0.1"
    port: int = _tunable(8000, minimum=0)
    workers: int = _tunable(1, minimum=1)
    allowed_origins: tuple[str, ...] = ()
    allow_token_in_url: bool = False
    auth_timeout: float = _tunable(5.0, minimum=0)
    max_message_bytes: int = _tunable(1_000_000, minimum=1)
    max_json_depth: int = _tunable(64, minimum=1)
    send_queue_size: int = _tunable(1000, minimum=1)
    ping_interval: float = _tunable(20.0, minimum=0)
    ping_timeout: float = _tunable(20.0, minimum=0)
    # permessage-deflate: small JSON ops gain little from it and it costs CPU on every frame.
    ws_compression: bool = False
    ops_per_second_per_connection: int = _tunable(200, minimum=1)
    ops_per_second_per_user: int = _tunable(500, minimum=1)
    connections_per_user: int = _tunable(50, minimum=1)
    # Submits of one connection waiting for their answer; more are refused as rate_limited.
    max_pending_submits: int = _tunable(100, minimum=1)
    # Error replies a connection may provoke before it is closed: a burst, then a few a second.
    error_burst: int = _tunable(50, minimum=1)
    errors_per_second: float = _tunable(5.0, minimum=0.001)
    # How long a closing connection may take to flush its last messages and the close frame
    # (seconds; a process shutting down waits twice this for its connections to go).
    close_timeout: float = _tunable(2.0, minimum=0)
    # Roles a process remembers (per user and dashboard), and for how long one fetched on a miss
    # counts (seconds); the re-validation sweep refreshes those of watched dashboards.
    role_cache_seconds: float = _tunable(1.0, minimum=0)
    role_cache_size: int = _tunable(10_000, minimum=1)
    # How often every open connection's session, user and roles are re-checked (one query for
    # all of a process's connections): the bound on how long a change made directly in
    # PostgreSQL takes to reach open sockets. Changes Tandem makes are announced at once.
    revalidate_interval: float = _tunable(0.5, minimum=0.001)
    # How long an entry of the caches every process shares in Redis (roles, dashboard metadata,
    # sessions, profiles) lives: the bound on how long a change made directly in PostgreSQL,
    # without an announcement, is served from them. Changes Tandem makes forget them at once.
    cache_seconds: float = _tunable(30.0, minimum=0.001, maximum=3600.0)

    # HTTP API
    registration_open: bool = True
    http_requests_per_second_per_user: int = _tunable(100, minimum=1)
    http_requests_per_second_per_address: int = _tunable(50, minimum=1)
    # Wrong passwords (login, share links) per login name, link and address, per minute.
    password_attempts_per_minute: int = _tunable(10, minimum=1)
    session_days: int = _tunable(30, minimum=1)

    # Sequencer and storage
    checkpoint_interval: int = _tunable(100, minimum=1)
    lock_ttl_ms: int = _tunable(5000, minimum=1)
    batch_size: int = _tunable(200, minimum=1)
    submit_timeout: float = _tunable(30.0, minimum=0)
    # On SIGTERM, how long /readyz fails before the process stops listening (a load balancer's
    # time to notice); 0 stops at once.
    drain_seconds: float = _tunable(0.0, minimum=0)
    migrate_on_start: bool = True
    pool_min_size: int = _tunable(2, minimum=0)
    pool_max_size: int = _tunable(10, minimum=1)
    # Connections one process opens to Redis at most (the pub/sub connection included). Commands
    # beyond that wait for a free connection, up to the client's timeout, instead of failing.
    redis_pool_size: int = _tunable(64, minimum=1)
    # This process's id among the gateways (its pub/sub channel, the name in the lock tokens it
    # holds). None: a fresh random one. Set it only with one worker per id: two processes sharing
    # an id would each take the other's batch messages for their own.
    gateway_id: str | None = None
    # Does this process sequence dashboards? False makes it a front gateway only: the records it
    # queues are sequenced by the processes that do (at least one must), which it calls on the
    # sequencers' channel. Splitting the roles puts the WebSocket work and the sequencing on
    # different cores.
    sequencer: bool = True
    # How long a holder keeps a dashboard's lock once its queue is empty (seconds). A push, by
    # this process or another, nudges it meanwhile, so it costs nothing while it waits.
    hold_linger: float = _tunable(0.1, minimum=0)
    # Ops a holder keeps in memory for transforms and dedup; older ones are read from the store.
    hold_recent_ops: int = _tunable(1000, minimum=1)
    # Of those, the ones kept for the next holding once the lock is released, and for how many
    # recently released dashboards.
    hold_memory_ops: int = _tunable(200, minimum=0)
    hold_memories: int = _tunable(128, minimum=0)
    # How often a sequencer looks for queues whose holder died (seconds).
    watchdog_interval: float = _tunable(1.0, minimum=0.001)

    # Fan-out
    # While a submitter waits, a dashboard's feed reads the log this often in case the outcome's
    # message was lost (seconds).
    feed_poll_interval: float = _tunable(1.0, minimum=0.001)
    # An idle feed stays subscribed this long, so a gateway that submits now and then does not
    # resubscribe each time (seconds).
    feed_linger: float = _tunable(10.0, minimum=0)
    # Delivered ops a feed keeps for presence transforms and late listeners.
    feed_recent_ops: int = _tunable(256, minimum=1)

    # Presence
    presence_ttl: float = _tunable(30.0, minimum=0)
    presence_throttle: float = _tunable(0.05, minimum=0)
    presence_max_bytes: int = _tunable(8192, minimum=1)  # one presence value, as JSON
    presence_per_connection: int = _tunable(16, minimum=1)  # ids one connection holds at once
    presence_per_dashboard: int = _tunable(500, minimum=1)  # ids on one dashboard, all gateways
    # How many versions behind the head a presence's ``v`` may be: older ones are refused (or,
    # for a dashboard the connection does not subscribe to, dropped) rather than carried
    # through an unbounded history.
    presence_max_lag: int = _tunable(100, minimum=0)

    # Abuse limits
    # The whole HTTP request and WebSocket upgrade must arrive within this many seconds.
    handshake_timeout: float = _tunable(10.0, minimum=0.001)
    # Connections that have not authenticated yet, per process: in all and per client address.
    max_unauthenticated: int = _tunable(1000, minimum=1)
    max_unauthenticated_per_ip: int = _tunable(50, minimum=1)
    max_bulk_ids: int = _tunable(100, minimum=1)  # dashboards one bulk fetch or subscribe names
    max_document_bytes: int = _tunable(5_000_000, minimum=1)  # a dashboard document, as JSON
    # Failed authentications audited one row each, per client address and minute; beyond that
    # one row per address and minute counts the rest.
    failed_auth_audit_per_minute: int = _tunable(5, minimum=0)
    # Peers (addresses or CIDR networks) whose X-Forwarded-For is believed; nobody by default.
    trusted_proxies: tuple[str, ...] = ()
    # The URL browsers reach Tandem at (https://tandem.example.com): its origin is allowed.
    public_url: str | None = None

    # Logging
    log_format: str = _tunable("auto", choices=LOG_FORMATS)  # console on a TTY when "auto"
    log_level: str = _tunable("info", choices=LOG_LEVELS)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            minimum = f.metadata.get("minimum")
            if minimum is not None and value < minimum:
                raise InvalidSetting(f"{env_name(f)} must be at least {minimum}, got {value!r}")
            maximum = f.metadata.get("maximum")
            if maximum is not None and value > maximum:
                raise InvalidSetting(f"{env_name(f)} must be at most {maximum}, got {value!r}")
            choices = f.metadata.get("choices")
            if choices is not None and value not in choices:
                raise InvalidSetting(f"{env_name(f)} must be one of {', '.join(choices)}")
        if self.redis_cluster and self.redis_url is None:
            raise InvalidSetting("TANDEM_REDIS_CLUSTER needs REDIS_URL (a node of the cluster)")
        if self.redis_cluster and urlsplit(self.redis_url or "").path.strip("/") not in ("", "0"):
            raise InvalidSetting("TANDEM_REDIS_CLUSTER: a Redis Cluster has only database 0")
        if self.pool_min_size > self.pool_max_size:
            raise InvalidSetting("TANDEM_POOL_MIN_SIZE must not exceed TANDEM_POOL_MAX_SIZE")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment names; unset (or empty) variables keep the default."""
        e = os.environ if env is None else env
        hints = typing.get_type_hints(cls)
        given: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = env_name(f)
            raw = e.get(name)
            if raw is not None and raw.strip() != "":
                value = _parse(name, hints[f.name], raw.strip())
                given[f.name] = value.lower() if f.metadata.get("choices") else value
        return cls(**given)


def env_name(f: dataclasses.Field[Any]) -> str:
    """The environment variable a field is read from."""
    return str(f.metadata.get("env", f"TANDEM_{f.name.upper()}"))


def _parse(name: str, kind: Any, raw: str) -> Any:
    if kind is bool:
        word = raw.lower()
        if word not in _TRUE | _FALSE:
            raise InvalidSetting(f"{name} must be a boolean (true/false, 1/0, yes/no, on/off)")
        return word in _TRUE
    if kind in (int, float):
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            what = "an integer" if kind is int else "a finite number"
            raise InvalidSetting(f"{name} must be {what}, got {raw!r}")
        return value
    if kind is Path:
        return Path(raw)
    if kind == tuple[str, ...]:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw  # str, or str | None
