"""The Starlette application: ``/ws`` (the ShareDB gateway), ``/api`` (the HTTP API,
:mod:`server.api`), ``/healthz``, ``/readyz`` and ``/metrics``.

:func:`create_app` builds it from one :class:`~server.core.settings.Settings`; its lifespan starts
whatever the process needs, in order: embedded PostgreSQL and Redis when no URLs are set, the
migrations (``migrate_on_start``), this month's and the coming months' partitions, the store,
the Redis client and the hub. On SIGTERM the process drains (:mod:`server.probe`): ``/readyz``
fails at once, then the server stops listening and tells every client to reconnect elsewhere
(close code 1012), the hub finishes the batches under way and releases its locks, calling the
other sequencers for what is still queued, and the services close the other way round. Other parts of the server add routes with ``extra_routes`` and reach
the running services through ``app.state.services``. The browser app's files
(:mod:`server.webapp`) come last.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from server import api, probe, webapp
from server.access.cache import CachedSessions, SharedCache
from server.access.changes import announce
from server.access.revalidate import Revalidator
from server.access.roles import Roles
from server.api.context import ApiServices
from server.api.limits import HttpLimits
from server.core import log, metrics
from server.core.settings import Settings
from server.embedded import EmbeddedServices
from server.gateway import handshake
from server.gateway.audit import FailedAuthAudit
from server.gateway.auth import install_log_redaction, public_origin
from server.gateway.connection import Gateway
from server.gateway.handshake import GuardedHttp
from server.gateway.limits import ConnectionLimiter, UserRateLimiter
from server.gateway.patience import PatientHub
from server.gateway.services import Services
from server.gateway.wsbatch import PROTOCOL, SEND_MANY
from server.history.undo import UserUndo
from server.redis.clients import open_clients
from server.redis.keys import Keys
from server.sequencer.hub import RedisHub
from server.store.access import Access
from server.store.accounts import Accounts
from server.store.audit import AuditLog
from server.store.catalog import Catalog
from server.store.guests import GuestSessions, SessionsAndGuests
from server.store.migrate import migrate
from server.store.partitions import ensure_partitions
from server.store.pool import connection, translated
from server.store.postgres import PostgresStore

_log = log.get(__name__)

# Every message allocates many short-lived objects. With CPython's default thresholds (700, 10,
# 10) a young collection runs every few messages and a full one, which walks every long-lived
# object (connections, feeds, cached documents), stalls the event loop every few seconds. A
# serving process freezes what it imported out of collection and collects less often; under the
# gateway benchmark (scenario B) this lowered the ack p99 by about a third. The price: garbage
# in a reference cycle waits for the collection of its generation, at 700 ops/s about ten
# minutes for the middle one and hours for the oldest, so what a connection leaves when it
# closes must be freed by reference counting (tests/server/test_connection_memory.py).
GC_THRESHOLDS = (20_000, 20, 100)


def tune_gc() -> None:
    """What a serving process does to the collector once it is set up (see GC_THRESHOLDS); the
    benchmarks that run Tandem in process call it too, so they measure what is served."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@dataclasses.dataclass(frozen=True)
class Running:
    """The services of a started app (``app.state.services``)."""

    settings: Settings
    store: PostgresStore
    redis: Any
    hub: RedisHub
    gateway: Gateway
    accounts: Accounts
    access: Access
    catalog: Catalog
    audit: AuditLog
    api: ApiServices
    lifecycle: probe.Lifecycle


@contextlib.asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[Running]:
    embedded: EmbeddedServices | None = None
    if settings.database_url is None or settings.redis_url is None:
        embedded = EmbeddedServices(
            root=settings.home, database_url=settings.database_url, redis_url=settings.redis_url
        )
        urls = await asyncio.to_thread(embedded.start)
        settings = dataclasses.replace(
            settings, database_url=urls.database_url, redis_url=urls.redis_url
        )
    assert settings.database_url is not None and settings.redis_url is not None
    try:
        if settings.migrate_on_start:
            await migrate(settings.database_url)
        async with connection(settings.database_url) as conn:
            await ensure_partitions(conn)
        store = await PostgresStore.open(
            settings.database_url,
            checkpoint_interval=settings.checkpoint_interval,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
        )
        try:
            redis, resp = open_clients(settings, settings.redis_url)
            hub = RedisHub(
                redis=redis,
                resp=resp,
                store=store,
                settings=settings,
                gateway_id=settings.gateway_id or secrets.token_hex(8),
            )
            await hub.start()
            keys = Keys(settings.redis_prefix)
            pool = store.pool
            accounts, access = Accounts(pool), Access(pool)
            catalog, audit = Catalog(pool), AuditLog(pool)
            guests = GuestSessions(pool)
            own_origins = public_origin(settings.public_url, settings.host, settings.port)
            cache = SharedCache(resp, keys, ttl=settings.cache_seconds)
            sessions = CachedSessions(accounts, cache)
            roles = Roles(
                access, shared=cache, ttl=settings.role_cache_seconds, size=settings.role_cache_size
            )
            revalidator = Revalidator(access, roles, interval=settings.revalidate_interval)
            hub.subscriber.route(keys.access_channel(), revalidator.on_message)
            revalidator.start()
            failed_auth = FailedAuthAudit(audit, settings.failed_auth_audit_per_minute)
            running = Running(
                settings=settings,
                store=store,
                redis=redis,
                hub=hub,
                gateway=Gateway(
                    Services(
                        settings=settings,
                        hub=PatientHub(hub, settings.submit_timeout),
                        sessions=SessionsAndGuests(sessions, guests),
                        roles=roles,
                        revalidator=revalidator,
                        catalog=catalog,
                        audit=audit,
                        failed_auth=failed_auth,
                        own_origins=own_origins,
                        user_limiter=UserRateLimiter(resp, keys, settings.ops_per_second_per_user),
                        connection_limiter=ConnectionLimiter(
                            redis, keys, settings.connections_per_user
                        ),
                        history=UserUndo(store, hub),
                        announce=functools.partial(announce, redis, keys),
                    )
                ),
                accounts=accounts,
                access=access,
                catalog=catalog,
                audit=audit,
                api=ApiServices(
                    settings=settings,
                    pool=pool,
                    hub=hub,
                    redis=redis,
                    keys=keys,
                    accounts=accounts,
                    guests=guests,
                    own_origins=own_origins,
                    access=access,
                    audit=audit,
                    limits=HttpLimits(
                        resp,
                        keys,
                        per_user=settings.http_requests_per_second_per_user,
                        per_address=settings.http_requests_per_second_per_address,
                        password_attempts=settings.password_attempts_per_minute,
                    ),
                    store=store,
                    cache=cache,
                    sessions=sessions,
                ),
                lifecycle=probe.Lifecycle(),
            )
            try:
                yield running
            finally:
                running.lifecycle.drain()
                await running.gateway.close()
                await revalidator.close()
                await failed_auth.flush()
                await hub.close()
                await redis.aclose()
                await resp.aclose()
        finally:
            await store.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def create_app(
    settings: Settings | None = None, *, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    settings = settings or Settings.from_env()
    handshake.configure(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        install_log_redaction()
        async with _services(settings) as running:
            app.state.services = running
            running.lifecycle.on_sigterm(settings.drain_seconds)
            _log.info("app.started", host=settings.host, port=settings.port)
            yield
        metrics.process_exited(os.getpid())
        _log.info("app.stopped")

    class WebSocketEndpoint:
        """``/ws`` as a plain ASGI app, so the gateway can use the server's send-many extension
        (:mod:`server.gateway.wsbatch`) where it is advertised."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            ws = WebSocket(scope, receive, send)
            running: Running = ws.app.state.services
            batched = SEND_MANY in scope.get("extensions", {})
            await running.gateway.serve(ws, send_many=send if batched else None)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        running: Running = request.app.state.services

        async def postgresql() -> None:
            with translated():
                await running.store.pool.fetchval("SELECT 1")

        async def redis() -> None:
            await running.redis.ping()

        return await probe.readiness(running.lifecycle, {"postgresql": postgresql, "redis": redis})

    routes: list[BaseRoute] = [
        WebSocketRoute("/ws", WebSocketEndpoint()),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *api.routes(),
        Route("/metrics", probe.metrics_endpoint),
        *extra_routes,
        *webapp.routes(),
    ]
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(probe.Instrumented)])


def app_from_env() -> Starlette:
    """The factory ``tandem serve`` gives uvicorn (each worker process calls it)."""
    settings = Settings.from_env()
    log.configure(fmt=settings.log_format, level=settings.log_level)
    tune_gc()
    return create_app(settings)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's WebSocket options for these settings: keepalive pings and the frame limit
    (a little above ``max_message_bytes`` so an oversize message gets Tandem's own error), and
    permessage-deflate only when ``ws_compression`` asks for it."""
    return {
        "ws_ping_interval": settings.ping_interval,
        "ws_ping_timeout": settings.ping_timeout,
        "ws_max_size": settings.max_message_bytes + 64 * 1024,
        "ws_per_message_deflate": settings.ws_compression,
        # X-Forwarded-For is believed only from the configured proxies (uvicorn otherwise
        # trusts loopback peers): the client address feeds audit rows and per-address caps.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies) or None,
        **({"http": GuardedHttp} if GuardedHttp is not None else {}),
        **({"ws": PROTOCOL} if PROTOCOL is not None else {}),
    }
