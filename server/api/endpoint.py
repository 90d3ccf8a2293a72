"""How an API endpoint is declared and served.

An :class:`Endpoint` names its method and path, the typed models of its path parameters, query,
body and response (pydantic; the same models make the OpenAPI document, :mod:`server.api.openapi`),
who may call it, and the handler. :func:`router` serves a list of them. For every request it:

1. refuses a body larger than the endpoint's ``max_body`` (413) without reading past it, a body
   that is not ``application/json`` (415) or not strict JSON (400 ``bad_json``: no NaN, no
   Infinity, no lone surrogates, no U+0000);
2. validates path parameters, query and body against their models, unknown fields refused
   (422 ``validation_failed`` with one entry per problem and its JSON path);
3. authenticates (:mod:`server.api.principal`) and rate-limits the caller (per user, or per
   address without one) on the same Redis counters the WebSocket uses;
4. calls the handler and serialises what it returns with the response model.

Every failure is a problem+json response (:mod:`server.api.problem`); an exception nobody
expected is logged and answered as a 500 problem, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from server.api.principal import Principal, authenticate
from server.api.problem import from_error, invalid, problem, validation_failed
from server.core import log
from server.core.codes import Code
from server.core.errors import (
    BadJson,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TandemError,
    Unauthenticated,
    UnsupportedMediaType,
)
from server.core.jsonvalue import check_jsonb

if TYPE_CHECKING:
    from server.api.context import ApiServices

_log = log.get(__name__)

DEFAULT_MAX_BODY = 64 * 1024
Auth = Literal["none", "optional", "user", "any"]  # any: a user or a guest
M = TypeVar("M", bound=BaseModel)


@dataclass
class Call:
    """One request as a handler sees it."""

    request: Request
    api: ApiServices
    principal: Principal | None
    params: BaseModel | None
    query: BaseModel | None
    body: BaseModel | None
    ip: str | None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    cookies: list[tuple[str, str, int | None]] = field(default_factory=list)  # name, value, age

    def take(self, part: Literal["params", "query", "body"], model: type[M]) -> M:
        value = getattr(self, part)
        assert isinstance(value, model), f"{part} is not a {model.__name__}"
        return value

    @property
    def user(self) -> Principal:
        """The caller; the framework guarantees one for endpoints with auth user/any."""
        assert self.principal is not None
        return self.principal


@dataclass(frozen=True)
class Reply:
    """A handler's answer when it is not the endpoint's usual status or has no body."""

    model: BaseModel | None = None
    status: int | None = None
    json: bytes | None = None  # the body already serialised, in the shape of the response model


Handler = Callable[[Call], Awaitable[BaseModel | Reply | None]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # Starlette syntax, relative to /api: "/dashboards/{id}"
    handler: Handler
    summary: str
    tag: str
    response: type[BaseModel] | None = None  # None: 204 No Content
    status: int = 200
    params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    auth: Auth = "user"
    errors: tuple[type[TandemError], ...] = ()  # documented besides the usual ones
    max_body: int = DEFAULT_MAX_BODY
    rate_scope: str = "http"  # which Redis counter the request spends


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLarge(f"the body may be at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _validate(model: type[M], location: str, data: Any, *, json: bytes | None = None) -> M:
    try:
        if json is not None:
            return model.model_validate_json(json, strict=True)
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(location, exc) from exc


async def _body(endpoint: Endpoint, request: Request) -> BaseModel | None:
    raw = await _read_body(request, endpoint.max_body)
    if endpoint.body is None:
        if raw.strip():
            raise UnsupportedMediaType("this endpoint takes no body")
        return None
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType("the body must be application/json")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadJson(f"the body is not strict JSON: {exc}") from exc
    check_jsonb(parsed)
    return _validate(endpoint.body, "body", None, json=raw)


def _query(endpoint: Endpoint, request: Request) -> BaseModel | None:
    items = request.query_params.multi_items()
    if endpoint.query is None:
        if items:
            raise invalid(f"query.{items[0][0]}", "this endpoint takes no query")
        return None
    data: dict[str, str] = {}
    for key, value in items:
        if key in data:
            raise invalid(f"query.{key}", "given more than once")
        check_jsonb(value)
        data[key] = value
    return _validate(endpoint.query, "query", data)


async def _serve(endpoint: Endpoint, request: Request, api: ApiServices) -> Response:
    params = None
    if endpoint.params is not None:
        params = _validate(endpoint.params, "path", dict(request.path_params))
    query = _query(endpoint, request)
    principal = None
    if endpoint.auth != "none":
        principal = await authenticate(
            request.headers,
            request.method,
            sessions=api.sessions,
            guests=api.guests,
            allowed_origins=api.settings.allowed_origins,
            own_origins=api.own_origins,
        )
        if principal is None and endpoint.auth != "optional":
            raise Unauthenticated("sign in first: a bearer token or the session cookie")
        if endpoint.auth == "user" and principal is not None and principal.guest is not None:
            raise Forbidden("a guest session cannot do this")
    ip = request.client.host if request.client else None
    await api.limits.check(endpoint.rate_scope, principal, ip)
    body = await _body(endpoint, request)
    call = Call(request, api, principal, params, query, body, ip)
    result = await endpoint.handler(call)
    reply = result if isinstance(result, Reply) else Reply(result)
    has_body = reply.model is not None or reply.json is not None
    status = reply.status or (endpoint.status if has_body else 204)
    if reply.json is not None:
        response = Response(
            reply.json, status_code=status, media_type="application/json", headers=call.headers
        )
    elif reply.model is None:
        response = Response(status_code=status, headers=call.headers)
    else:
        response = Response(
            reply.model.model_dump_json().encode(),
            status_code=status,
            media_type="application/json",
            headers=call.headers,
        )
    secure = request.url.scheme == "https"
    for name, value, age in call.cookies:
        response.set_cookie(
            name, value, max_age=age, path="/", httponly=True, samesite="lax", secure=secure
        )
    response.headers["cache-control"] = "no-store"
    return response


class _PathApp:
    """Every endpoint of one path, dispatched by method (405 problem for the others)."""

    def __init__(self, endpoints: Sequence[Endpoint], services: Callable[[Request], Any]) -> None:
        self._by_method = {e.method: e for e in endpoints}
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        endpoint = self._by_method.get(request.method)
        try:
            if endpoint is None:
                allow = ", ".join(sorted(self._by_method))
                exc = MethodNotAllowed(f"{request.method} is not allowed here; use {allow}")
                return from_error(exc, headers={"allow": allow})
            return await _serve(endpoint, request, self._services(request))
        except TandemError as exc:
            if exc.code.status >= 500:
                _log.warning("api.unavailable", path=request.url.path, error=exc.code)
            return from_error(exc)
        except Exception:
            # The outermost point of a request: a bug. Logged, answered as a problem.
            _log.exception("api.failed", method=request.method, path=request.url.path)
            return problem(
                Code.INTERNAL_ERROR.status,
                Code.INTERNAL_ERROR,
                "the server failed; the failure was logged",
            )


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    response = from_error(NotFound(f"no such endpoint: {scope.get('path', '')}"))
    await response(scope, receive, send)


def router(endpoints: Sequence[Endpoint], services: Callable[[Request], Any]) -> Router:
    """A Starlette router serving ``endpoints`` (paths relative to where it is mounted)."""
    by_path: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, []).append(endpoint)
    routes: list[BaseRoute] = [
        Route(path, cast(Any, _PathApp(group, services))) for path, group in by_path.items()
    ]
    return Router(routes=routes, default=not_found)
