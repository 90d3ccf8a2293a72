"""The HTTP API under ``/api``: one module per resource, each a list of
:class:`~server.api.endpoint.Endpoint`; :func:`routes` mounts them with the OpenAPI document
and the docs page. The contract is in README.md ("HTTP API")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route

from server.api import accounts, audit, collaborators, dashboards, share_links
from server.api.endpoint import Endpoint, router
from server.api.openapi import Docs

VERSION = "1.0.0"


def endpoints() -> list[Endpoint]:
    return [
        *accounts.ENDPOINTS,
        *dashboards.ENDPOINTS,
        *collaborators.ENDPOINTS,
        *share_links.ENDPOINTS,
        *audit.ENDPOINTS,
    ]


def _services(request: Request) -> Any:
    return request.app.state.services.api


def routes(extra: Sequence[Endpoint] = ()) -> list[BaseRoute]:
    """``/api``: every endpoint (and ``extra`` ones), ``/api/openapi.json`` and ``/api/docs``."""
    every = [*endpoints(), *extra]
    docs = Docs(every, version=VERSION)
    return [
        Mount(
            "/api",
            routes=[
                Route("/openapi.json", docs.openapi),
                Route("/docs", docs.page),
                Route("/docs/docs.js", docs.script),
                Route("/docs/docs.css", docs.style),
                Mount("", app=router(every, _services)),
            ],
        )
    ]
