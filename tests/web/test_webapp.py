"""The browser app's files: caching, the single-page routes, the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.core.settings import Settings
from server.webapp import DIST_ENV

ASSET = "main-ABCD2345.js"


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(f'<script type="module" src="/assets/{ASSET}"></script>')
    (tmp_path / "assets" / ASSET).write_text("export {};")
    (tmp_path / "secret.txt").write_text("not served")
    monkeypatch.setenv(DIST_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings.from_env())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8100") as c:
        yield c


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/d/6b1d0c4e", "/s/abc"])
async def test_spa_routes_answer_index_uncached(
    dist: Path, client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert ASSET in response.text
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/html")


async def test_hashed_assets_are_cached_for_a_year(dist: Path, client: httpx.AsyncClient) -> None:
    response = await client.get(f"/assets/{ASSET}")
    assert response.status_code == 200
    assert response.text == "export {};"
    assert "immutable" in response.headers["cache-control"]
    assert "max-age=31536000" in response.headers["cache-control"]


@pytest.mark.parametrize("name", ["missing-ABCD2345.js", "..%2Fsecret.txt", "secret.txt"])
async def test_only_built_assets_are_served(
    dist: Path, client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(f"/assets/{name}")
    assert response.status_code == 404
    assert "not served" not in response.text


async def test_missing_asset_is_a_problem(dist: Path, client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/gone-ABCD2345.css")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


async def test_policy_forbids_inline_script_and_eval(dist: Path, client: httpx.AsyncClient) -> None:
    policy = (await client.get("/")).headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'", "ws://127.0.0.1:8100"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in policy


async def test_unbuilt_app_says_how_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    monkeypatch.setenv(DIST_ENV, str(tmp_path / "nothing"))
    response = await client.get("/d/x")
    assert response.status_code == 503
    assert response.json()["code"] == "web_not_built"
    assert "make run" in response.json()["detail"]
