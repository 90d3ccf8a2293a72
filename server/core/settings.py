"""One frozen settings object, built from the environment once and passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(item.strip() for item in raw.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Secrets are kept out of ``repr``."""

    # Services. None means "start the embedded one under home".
    database_url: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    home: Path = Path(".tandem")
    redis_prefix: str = "tandem:"

    # HTTP / WebSocket
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    allowed_origins: tuple[str, ...] = ()
    allow_token_in_url: bool = False
    auth_timeout: float = 5.0
    max_message_bytes: int = 1_000_000
    max_json_depth: int = 64
    send_queue_size: int = 1000
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    # permessage-deflate: small JSON ops gain little from it and it costs CPU on every frame.
    ws_compression: bool = False
    ops_per_second_per_connection: int = 200
    ops_per_second_per_user: int = 500
    connections_per_user: int = 50
    # How often every open connection's session, user and roles are re-checked (one query for
    # all of a process's connections): the bound on how long a change made directly in
    # PostgreSQL takes to reach open sockets. Changes Tandem makes are announced at once.
    revalidate_interval: float = 0.5

    # Sequencer and storage
    checkpoint_interval: int = 100
    lock_ttl_ms: int = 5000
    batch_size: int = 200
    submit_timeout: float = 30.0
    migrate_on_start: bool = True
    pool_min_size: int = 2
    pool_max_size: int = 10
    redis_pool_size: int = 64
    # This process's id among the gateways (its pub/sub channel, the name in the lock tokens it
    # holds). None: a fresh random one. Set it only with one worker per id: two processes sharing
    # an id would each take the other's batch messages for their own.
    gateway_id: str | None = None
    # Does this process sequence dashboards? False makes it a front gateway only: the records it
    # queues are sequenced by the processes that do (at least one must), which it calls on the
    # sequencers' channel. Splitting the roles puts the WebSocket work and the sequencing on
    # different cores.
    sequencer: bool = True

    # Presence
    presence_ttl: float = 30.0
    presence_throttle: float = 0.05

    # Logging
    log_format: str = "auto"  # "json", "console" or "auto" (console on a TTY)
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        d = cls()
        return cls(
            database_url=e.get("DATABASE_URL") or None,
            redis_url=e.get("REDIS_URL") or None,
            home=Path(e.get("TANDEM_HOME") or d.home),
            redis_prefix=e.get("TANDEM_REDIS_PREFIX") or d.redis_prefix,
            host=e.get("TANDEM_HOST") or d.host,
            port=_int(e, "TANDEM_PORT", d.port),
            workers=_int(e, "TANDEM_WORKERS", d.workers),
            allowed_origins=_list(e, "TANDEM_ALLOWED_ORIGINS"),
            allow_token_in_url=_bool(e, "TANDEM_ALLOW_TOKEN_IN_URL", d.allow_token_in_url),
            auth_timeout=_float(e, "TANDEM_AUTH_TIMEOUT", d.auth_timeout),
            max_message_bytes=_int(e, "TANDEM_MAX_MESSAGE_BYTES", d.max_message_bytes),
            max_json_depth=_int(e, "TANDEM_MAX_JSON_DEPTH", d.max_json_depth),
            send_queue_size=_int(e, "TANDEM_SEND_QUEUE_SIZE", d.send_queue_size),
            ping_interval=_float(e, "TANDEM_PING_INTERVAL", d.ping_interval),
            ping_timeout=_float(e, "TANDEM_PING_TIMEOUT", d.ping_timeout),
            ws_compression=_bool(e, "TANDEM_WS_COMPRESSION", d.ws_compression),
            ops_per_second_per_connection=_int(
                e, "TANDEM_OPS_PER_SECOND_PER_CONNECTION", d.ops_per_second_per_connection
            ),
            ops_per_second_per_user=_int(
                e, "TANDEM_OPS_PER_SECOND_PER_USER", d.ops_per_second_per_user
            ),
            connections_per_user=_int(e, "TANDEM_CONNECTIONS_PER_USER", d.connections_per_user),
            revalidate_interval=_float(e, "TANDEM_REVALIDATE_INTERVAL", d.revalidate_interval),
            checkpoint_interval=_int(e, "TANDEM_CHECKPOINT_INTERVAL", d.checkpoint_interval),
            lock_ttl_ms=_int(e, "TANDEM_LOCK_TTL_MS", d.lock_ttl_ms),
            batch_size=_int(e, "TANDEM_BATCH_SIZE", d.batch_size),
            submit_timeout=_float(e, "TANDEM_SUBMIT_TIMEOUT", d.submit_timeout),
            migrate_on_start=_bool(e, "TANDEM_MIGRATE_ON_START", d.migrate_on_start),
            pool_min_size=_int(e, "TANDEM_POOL_MIN_SIZE", d.pool_min_size),
            pool_max_size=_int(e, "TANDEM_POOL_MAX_SIZE", d.pool_max_size),
            redis_pool_size=_int(e, "TANDEM_REDIS_POOL_SIZE", d.redis_pool_size),
            gateway_id=e.get("TANDEM_GATEWAY_ID") or None,
            sequencer=_bool(e, "TANDEM_SEQUENCER", d.sequencer),
            presence_ttl=_float(e, "TANDEM_PRESENCE_TTL", d.presence_ttl),
            presence_throttle=_float(e, "TANDEM_PRESENCE_THROTTLE", d.presence_throttle),
            log_format=e.get("TANDEM_LOG_FORMAT") or d.log_format,
            log_level=e.get("TANDEM_LOG_LEVEL") or d.log_level,
        )
