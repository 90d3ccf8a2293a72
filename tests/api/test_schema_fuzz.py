"""The API driven from its own OpenAPI document (schemathesis): valid and invalid requests to
every operation, as a signed-in user with a dashboard of its own, against a served process.
No response may be a 5xx, and every response must match the documented status, content type and
schema."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.app import create_app
from tests.api.conftest import PASSWORD, api_settings

EXAMPLES = 12  # per operation and mode: the whole test stays near a minute
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served(database_url: str, redis_url: str, redis_prefix: str) -> Iterator[dict[str, Any]]:
    """The app in uvicorn on its own thread and loop (schemathesis calls it synchronously)."""
    app = create_app(api_settings(database_url, redis_url, redis_prefix + "fuzz:"))
    server = uvicorn.Server(
        # loop="asyncio": the default would install uvloop's policy for the whole process,
        # and the tests after this one would find no event loop in the main thread.
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", loop="asyncio"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    name = f"fz{uuid4().hex[:10]}"
    with httpx.Client(base_url=base) as http:
        http.post("/api/users", json={"email": f"{name}@x.io", "username": name,
                                      "password": PASSWORD})  # fmt: skip
        token = http.post("/api/sessions", json={"login": name, "password": PASSWORD}).json()[
            "token"
        ]
        auth = {"authorization": f"Bearer {token}"}
        http.post("/api/dashboards", json={"title": "fuzzed"}, headers=auth)
    try:
        yield {"base": base, "auth": auth}
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_keeps_its_contract(served: dict[str, Any], mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(served["base"] + "/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    for operation in operations:

        @given(operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
            database=None,
        )  # fmt: skip
        def run(case: Any) -> None:
            case.call_and_validate(base_url=served["base"], headers=served["auth"], checks=CHECKS)

        run()
