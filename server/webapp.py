"""The browser app's static files: ``/`` and the single-page routes, ``/assets/...``.

The bundle is built from ``web/`` into ``web/dist`` (``make run`` builds it when missing or
stale); ``TANDEM_WEB_DIST`` points elsewhere. Hashed assets are cached for a year (their names
change with their content); ``index.html`` is never cached, so a new build is picked up at once.
Every response carries a strict Content-Security-Policy: scripts and styles from this origin
only (no inline script, no eval), connections to this origin's HTTP and WebSocket only.
``/sw.js``, the service worker that keeps the app's shell for offline use, is never cached.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from server.core.errors import NotFound, TandemError, WebAppNotBuilt

DIST_ENV = "TANDEM_WEB_DIST"
DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
ASSET_CACHE = "public, max-age=31536000, immutable"
# Names the build writes: ``main-ABCD1234.js``; nothing else under /assets is served.
_ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+-[A-Z0-9]{8}\.(js|css|woff2|svg|png)$")
# Client-side routes answered with index.html.
SPA_PATHS = ("/", "/login", "/signup", "/d/{rest:path}", "/s/{rest:path}")


def dist_dir() -> Path:
    configured = os.environ.get(DIST_ENV)
    return Path(configured) if configured else DEFAULT_DIST


def content_security_policy(request: Request) -> str:
    host = request.headers.get("host", "")
    ws = "wss" if request.url.scheme == "https" else "ws"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src 'self' {ws}://{host}" if host else "connect-src 'self'",
            "img-src 'self' data: https:",
            "media-src https:",
            "frame-src https:",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _secured(request: Request, response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _problem(request: Request, error: TandemError) -> Response:
    status = error.code.status
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": error.message,
            "status": status,
            "code": error.code,
            "detail": error.message,
        }
    )
    response = Response(body, status_code=status, media_type="application/problem+json")
    response.headers["Cache-Control"] = "no-store"
    return _secured(request, response)


def _file(request: Request, path: Path, media_type: str | None, cache: str) -> Response:
    response = FileResponse(path, media_type=media_type)
    response.headers["Cache-Control"] = cache
    return _secured(request, response)


async def index(request: Request) -> Response:
    page = dist_dir() / "index.html"
    if not page.is_file():
        return _problem(request, WebAppNotBuilt("the web app is not built: run `make run`"))
    return _file(request, page, "text/html; charset=utf-8", "no-cache")


async def service_worker(request: Request) -> Response:
    path = dist_dir() / "sw.js"
    if not path.is_file():
        return _problem(request, NotFound("the web app is not built"))
    return _file(request, path, "text/javascript; charset=utf-8", "no-cache")


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    path = dist_dir() / "assets" / name
    if not _ASSET_NAME.match(name) or not path.is_file():
        return _problem(request, NotFound("no such file in the web app's bundle"))
    return _file(request, path, None, ASSET_CACHE)


def routes() -> list[BaseRoute]:
    """The app's routes, to be mounted after every API route (they answer only GET/HEAD)."""
    return [
        Route("/assets/{name}", asset, methods=["GET", "HEAD"]),
        Route("/sw.js", service_worker, methods=["GET", "HEAD"]),
        *(Route(path, index, methods=["GET", "HEAD"]) for path in SPA_PATHS),
    ]
