"""The OpenAPI document and the offline docs page."""

from __future__ import annotations

from server.api import endpoints
from tests.api.conftest import Api


async def test_document_lists_every_endpoint_with_schemas(api: Api) -> None:
    r = await api.http.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert documented == {(e.method, "/api" + e.path) for e in endpoints()}
    refs = r.text.count('"$ref":"#/components/schemas/')
    assert refs > 0
    for ref in set(
        part.split('"')[0] for part in r.text.split('"$ref":"#/components/schemas/')[1:]
    ):
        assert ref in doc["components"]["schemas"], ref


async def test_docs_page_is_served_locally(api: Api) -> None:
    page = await api.http.get("/api/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("/api/", "")  # nothing from elsewhere
    for asset in ("/api/docs/docs.js", "/api/docs/docs.css"):
        assert (await api.http.get(asset)).status_code == 200
