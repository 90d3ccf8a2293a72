"""The HTTP API under ``/api``: one module per resource, each a list of
:class:`~server.api.endpoint.Endpoint`; :func:`routes` mounts them with the OpenAPI document
and the docs page. The contract is in README.md ("HTTP API")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from server.api import (
    accounts,
    audit,
    changes,
    collaborators,
    dashboards,
    history,
    revert,
    share_links,
    sync,
    transfer,
)
from server.api.endpoint import Endpoint, not_found, router
from server.api.openapi import Docs

VERSION = "1.0.0"


def endpoints() -> list[Endpoint]:
    return [
        *accounts.ENDPOINTS,
        # Before /dashboards/{id}: routes match in order, and "import" would be taken for an id.
        *transfer.ENDPOINTS,
        *dashboards.ENDPOINTS,
        *collaborators.ENDPOINTS,
        *share_links.ENDPOINTS,
        *audit.ENDPOINTS,
        *sync.ENDPOINTS,
        *changes.ENDPOINTS,
        *history.ENDPOINTS,
        *revert.ENDPOINTS,
    ]


def _services(request: Request) -> Any:
    return request.app.state.services.api


class Prefix(BaseRoute):
    """Everything under ``prefix`` goes to ``app``, whatever the rest of the path holds.

    Starlette's Mount matches its rest with ``.*``, which stops at a newline, so a path such as
    ``/api/x%0Ay`` would fall through to the outer app's plain-text 404; under ``/api`` every
    answer must be a problem."""

    def __init__(self, prefix: str, app: ASGIApp) -> None:
        self.prefix = prefix
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == self.prefix or path.startswith(self.prefix + "/")):
            return Match.FULL, {"root_path": scope.get("root_path", "") + self.prefix}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NotImplementedError("API routes are not named")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def routes(extra: Sequence[Endpoint] = ()) -> list[BaseRoute]:
    """``/api``: every endpoint (and ``extra`` ones), ``/api/openapi.json`` and ``/api/docs``."""
    every = [*endpoints(), *extra]
    docs = Docs(every, version=VERSION)
    inner = Router(
        routes=[
            Route("/openapi.json", docs.openapi),
            Route("/docs", docs.page),
            Route("/docs/docs.js", docs.script),
            Route("/docs/docs.css", docs.style),
            *router(every, _services).routes,
        ],
        default=not_found,
    )
    return [Prefix("/api", inner)]
