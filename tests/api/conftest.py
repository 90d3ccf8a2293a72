"""An app with the HTTP API on real PostgreSQL and Redis, an httpx client on it, and helpers
that make users and dashboards through the API itself."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette

from server.app import Running, create_app
from server.core.settings import Settings

PASSWORD = "correct horse battery"


def api_settings(database_url: str, redis_url: str, prefix: str, **changes: Any) -> Settings:
    base = Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        http_requests_per_second_per_user=10_000,
        http_requests_per_second_per_address=10_000,
    )
    return dataclasses.replace(base, **changes)


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Api(http, app)


@dataclasses.dataclass
class Account:
    id: str
    username: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclasses.dataclass
class Api:
    http: httpx.AsyncClient
    app: Starlette

    @property
    def services(self) -> Running:
        running: Running = self.app.state.services
        return running

    async def account(self, name: str | None = None) -> Account:
        name = name or f"u{uuid4().hex[:10]}"
        r = await self.http.post(
            "/api/users",
            json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        r = await self.http.post("/api/sessions", json={"login": name, "password": PASSWORD})
        assert r.status_code == 201, r.text
        self.http.cookies.clear()
        return Account(r.json()["user"]["id"], name, r.json()["token"])

    async def dashboard(self, owner: Account, title: str = "Ops", **body: Any) -> dict[str, Any]:
        r = await self.http.post(
            "/api/dashboards", json={"title": title, **body}, headers=owner.auth
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def share(self, owner: Account, dashboard: str, user: Account, role: str) -> None:
        r = await self.http.put(
            f"/api/dashboards/{dashboard}/collaborators/{user.id}",
            json={"role": role},
            headers=owner.auth,
        )
        assert r.status_code == 200, r.text


@pytest.fixture(scope="session")
async def api(database_url: str, redis_url: str, redis_prefix: str) -> AsyncIterator[Api]:
    async with api_client(api_settings(database_url, redis_url, redis_prefix)) as client:
        yield client
