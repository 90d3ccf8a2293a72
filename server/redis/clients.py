"""The two Redis clients a process opens, on one Redis or on a Redis Cluster."""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.core.settings import Settings
from server.redis.cluster import ClusterResp
from server.redis.resp import Resp
from server.sequencer.lock import connect


def open_clients(settings: Settings, url: str) -> tuple[Redis, Resp]:
    """redis-py (presence, leases, the watchdog, administration) and the lean hot-path client.

    On a cluster, redis-py's cluster client stands in for the plain one: it speaks the same
    commands and single-slot pipelines, routed by slot, and retries what the plain one retries
    (those callers' commands are safe to run twice)."""
    lean = ClusterResp.from_url(url) if settings.redis_cluster else Resp.from_url(url)
    return open_redis(settings, url, max_connections=settings.redis_pool_size), lean


def open_redis(settings: Settings, url: str, *, max_connections: int) -> Redis:
    """redis-py alone, on one Redis or (``TANDEM_REDIS_CLUSTER``) a cluster."""
    if not settings.redis_cluster:
        return connect(url, max_connections=max_connections)
    cluster = RedisCluster.from_url(
        url,
        max_connections=max_connections,
        socket_timeout=5.0,
        socket_connect_timeout=5.0,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return cast(Redis, cluster)
