"""Browser tests: the web app in a real Chromium (Debian's package, driven by Playwright with its
executable path), against ``tandem serve`` processes on loopback with the run's PostgreSQL and
Redis. Screenshots go to ``tests/browser/artifacts/`` (gitignored).

Without Chromium these tests are skipped with one line saying how to enable them; with
``CI=true`` a missing Chromium fails them instead.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import ready
from tests.e2e.conftest import e2e_env
from tests.e2e.harness import ROOT, Gateway, run_cli, start_gateways

__all__ = ["e2e_env"]  # the same environment as the end-to-end tests' gateways

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DIST = ROOT / "web" / "dist"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENABLE = "install Chromium (apt-get install -y chromium) to run the browser tests"


def chromium_path() -> str | None:
    configured = os.environ.get("TANDEM_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium is missing and CI=true: {ENABLE}")
        pytest.skip(f"Chromium not found: {ENABLE}")
    if not (DIST / "index.html").is_file():
        pytest.fail("web/dist is missing: run `make web` (make test does)")
    return path


@pytest.fixture(scope="module")
def browser(chromium: str, server: Gateway, people: dict[str, Person]) -> Iterator[Any]:
    """One Chromium per test module, started after the server and accounts and stopped with the
    module: Playwright's sync API keeps an event loop running in this thread meanwhile, and
    nothing else may find it there (asyncio.run, the async tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def server(
    chromium: str, e2e_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    started = start_gateways(1, e2e_env, tmp_path_factory.mktemp("web-logs"), "web")
    try:
        yield started[0]
    finally:
        for gateway in started:
            gateway.stop()


@dataclass(frozen=True)
class Person:
    user_id: str
    username: str
    password: str
    token: str


@pytest.fixture(scope="session")
def people(e2e_env: dict[str, str], server: Gateway) -> dict[str, Person]:
    """ana (owner), ben (editor), vic (viewer): users with passwords and session tokens."""
    made = {}
    for name in ("ana", "ben", "vic"):
        username = f"{name}{uuid.uuid4().hex[:6]}"
        password = f"pw-{uuid.uuid4().hex}"
        user = run_cli(
            e2e_env,
            "user", "create", "--email", f"{username}@web.test", "--username", username,
            "--password", password,
        )  # fmt: skip
        token = run_cli(e2e_env, "token", "issue", "--user", str(user["id"]))["token"]
        made[name] = Person(str(user["id"]), username, password, str(token))
    return made


@pytest.fixture
def dashboard(e2e_env: dict[str, str], people: dict[str, Person]) -> Callable[..., str]:
    """A new dashboard owned by ana, ben an editor and vic a viewer on it."""

    def create(title: str = "Launch plan") -> str:
        made = run_cli(
            e2e_env, "dashboard", "create", "--owner", people["ana"].user_id, "--title", title
        )
        dashboard_id = str(made["id"])
        for name, role in (("ben", "editor"), ("vic", "viewer")):
            run_cli(
                e2e_env, "dashboard", "share", "--dashboard", dashboard_id,
                "--user", people[name].user_id, "--role", role,
            )  # fmt: skip
        return dashboard_id

    return create


@pytest.fixture
def open_as(browser: Any, server: Gateway) -> Iterator[Callable[..., Any]]:
    """A page in a fresh browser context, logged in as a person by the session cookie (what
    POST /api/sessions sets), at a given width."""
    contexts: list[Any] = []

    def open_page(person: Person, path: str, *, width: int = 1280) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 820})
        contexts.append(context)
        context.add_cookies(
            [
                {
                    "name": "tandem_session",
                    "value": person.token,
                    "url": server.http,
                    "httpOnly": True,
                }
            ]
        )
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(server.http + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def pair(
    open_as: Callable[..., Any], people: dict[str, Person], dashboard: Callable[..., str]
) -> Callable[[str], tuple[str, Any, Any]]:
    """A new dashboard open in two pages, ana's and ben's, both subscribed."""

    def open_pair(title: str) -> tuple[str, Any, Any]:
        dashboard_id = dashboard(title)
        pages = [open_as(people[name], f"/d/{dashboard_id}") for name in ("ana", "ben")]
        for page in pages:
            ready(page)
        return dashboard_id, pages[0], pages[1]

    return open_pair


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def server_document(server: Gateway, token: str, dashboard_id: str) -> tuple[int, dict[str, Any]]:
    """The dashboard's version and document as the server has them (a fresh ShareDB fetch)."""
    from websockets.sync.client import connect

    with connect(server.url, open_timeout=10) as ws:
        ws.send(json.dumps({"a": "auth", "token": token}))
        ws.send(json.dumps({"a": "f", "c": "dashboards", "d": dashboard_id}))
        while True:
            message = json.loads(ws.recv(timeout=10))
            if message.get("a") == "f":
                assert "error" not in message, message
                return int(message["data"]["v"]), message["data"]["data"]
