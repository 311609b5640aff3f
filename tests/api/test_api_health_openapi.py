"""GET /api/health and /api/openapi.json over real HTTP; the document covers every route."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route

import api
from api.openapi import document
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.api.client import call
from tests.api.conftest import Server
from tests.conftest import serve_app, to_stored


def test_health_is_200_without_a_login_and_shows_no_data(api_server: Server) -> None:
    answer = call(api_server.url, "/api/health")
    assert answer.status == 200
    body = answer.json
    assert body["error"] is None and body["data"] == {"status": "ok", "backend": "embedded"}
    assert body["metadata"]["requestId"] == answer.headers["x-request-id"]


@pytest.fixture()
def damaged_server(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    store_dir = tmp_path / "sales"
    lines = generate_sales(200, seed=5, end=date(2026, 6, 30), years=1)
    EmbeddedStore(store_dir).write(to_stored(lines), "append")
    for url in serve_app(tmp_path, tmp_path_factory):
        yield url, store_dir


def test_health_of_a_damaged_store_is_503_with_the_reason(
    damaged_server: tuple[str, Path],
) -> None:
    url, store_dir = damaged_server
    assert call(url, "/api/health").status == 200
    next(store_dir.glob("*.parquet")).unlink()
    answer = call(url, "/api/health")
    assert answer.status == 503
    body = answer.json
    assert body["data"] == {"status": "unhealthy", "backend": "embedded"}
    assert body["error"]["code"] == "unhealthy" and "No such file" in body["error"]["message"]


def _operations() -> list[tuple[str, str]]:
    """(path, method) of every API route, from the route definitions."""
    (mount,) = api.ROUTES
    assert isinstance(mount, Mount)
    found = []
    for route in mount.routes:
        if isinstance(route, Route) and route.include_in_schema:
            found += [
                (mount.path + route.path, m.lower()) for m in route.methods or () if m != "HEAD"
            ]
    return found


def test_every_route_is_in_the_document() -> None:
    paths = document(api.ROUTES)["paths"]
    operations = _operations()
    assert len(operations) == len(api.API_ROUTES) == 4
    for path, method in operations:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"
        assert paths[path][method]["responses"], f"{path}: no responses"
    assert set(paths) == {path for path, _ in operations}, "nothing documented that is not served"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_in_the_document_resolves() -> None:
    doc = document(api.ROUTES)
    for ref in set(_refs(doc)):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]
    areas = doc["components"]["parameters"]["area"]["schema"]["enum"]
    assert "overview" in areas and "cohorts" in areas


def test_the_served_document_is_the_generated_one(api_server: Server) -> None:
    answer = call(api_server.url, "/api/openapi.json")
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    served = answer.json
    assert served["openapi"].startswith("3.") and served["paths"].keys() == {
        "/api/health",
        "/api/health/druid",
        "/api/kpis/{area}",
        "/api/openapi.json",
    }
    assert served["paths"]["/api/kpis/{area}"]["get"]["security"] == [{"bearer": []}]


def test_under_a_base_url_path_the_api_is_there_too(
    sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Behind a proxy at /sales, the API answers at /sales/api and its document says so."""
    for url in serve_app(sample_data_dir, tmp_path_factory, base_path="sales"):
        health = call(url, "/sales/api/health")
        assert health.status == 200 and health.json["data"]["status"] == "ok"
        served = call(url, "/sales/api/openapi.json").json
        assert served["servers"] == [{"url": "/sales"}] and "/api/health" in served["paths"]
        missing = call(url, "/sales/api/nothing")
        assert missing.status == 404 and missing.json["error"]["code"] == "not_found"
