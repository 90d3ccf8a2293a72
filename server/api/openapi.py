"""The OpenAPI 3.1 document, generated from the endpoints and their pydantic models, and the
offline docs page that renders it (``/api/docs``: our own small page and script, no CDN).

The same model classes validate requests, serialise responses and become the document's
schemas (JSON Schema 2020-12, which OpenAPI 3.1 uses), so the document cannot drift from the
code. Every operation documents its success response and, as ``default``, the problem+json
shape every failure has.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response

from server.api.endpoint import Endpoint
from server.api.models import Problem
from server.api.problem import MEDIA_TYPE

REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "a session or guest token"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "tandem_session"},
}
DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'"


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query or path parameter is absent or a string, never JSON null."""
    options = schema.get("anyOf")
    if isinstance(options, list):
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1:
            merged = {k: v for k, v in schema.items() if k != "anyOf"}
            merged.update(rest[0])
            return merged
    return schema


def _parameters(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(dict(prop))
        description = prop.pop("description", None)
        param: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": prop,
        }
        if description:
            param["description"] = description
        params.append(param)
    return params


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def document(endpoints: Sequence[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for e in endpoints:
        if e.body is not None:
            models.append((e.body, "validation"))
        if e.response is not None:
            models.append((e.response, "serialization"))
    keys, schemas = models_json_schema(models, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        operation: dict[str, Any] = {
            "summary": e.summary,
            "tags": [e.tag],
            "operationId": f"{e.method.lower()}_{e.handler.__name__.strip('_')}_{e.tag}",
            "parameters": _parameters(e.params, "path") + _parameters(e.query, "query"),
            "responses": {
                "default": {
                    "description": "a problem (every failure)",
                    "content": {MEDIA_TYPE: {"schema": _ref(Problem)}},
                }
            },
        }
        if e.response is not None:
            operation["responses"][str(e.status)] = {
                "description": "success",
                "content": {"application/json": {"schema": keys[(e.response, "serialization")]}},
            }
        else:
            operation["responses"]["204"] = {"description": "done"}
        if e.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keys[(e.body, "validation")]}},
            }
        if e.auth != "none":
            operation["security"] = [{"bearer": []}, {"cookie": []}]
            if e.auth == "optional":
                operation["security"].append({})
        openapi_path = "/api" + e.path
        paths.setdefault(openapi_path, {})[e.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


class Docs:
    """``/api/openapi.json``, ``/api/docs`` and its script, built once per process."""

    def __init__(self, endpoints: Sequence[Endpoint], *, version: str) -> None:
        self._body = orjson.dumps(document(endpoints, title="Tandem API", version=version))
        folder = resources.files("server.api") / "docs"
        self._page = (folder / "index.html").read_bytes()
        self._script = (folder / "docs.js").read_bytes()
        self._style = (folder / "docs.css").read_bytes()

    async def openapi(self, request: Request) -> Response:
        return Response(self._body, media_type="application/json")

    async def page(self, request: Request) -> Response:
        return Response(
            self._page, media_type="text/html", headers={"content-security-policy": DOCS_CSP}
        )

    async def script(self, request: Request) -> Response:
        return Response(self._script, media_type="text/javascript")

    async def style(self, request: Request) -> Response:
        return Response(self._style, media_type="text/css")
