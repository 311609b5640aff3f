"""The HTTP API on the Druid store, over real HTTP: health follows Druid down and back,
KPIs equal the command line's export from the same Druid."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import polars as pl
import pytest

from core import tokens
from core.stores.druid import DruidStore
from core.users import UserFile
from tests.api.client import Answer, call
from tests.conftest import ROOT, app_env, serve_app
from tests.druid.parity import assert_same
from tests.druid.proxy import DruidProxy

pytestmark = pytest.mark.druid

FILTERS = [("start", "2026-01-01"), ("end", "2026-09-30"), ("compare", "yoy")]


@pytest.fixture(scope="module")
def proxy(druid_sample_store: DruidStore) -> Iterator[DruidProxy]:
    target = urlparse(druid_sample_store.url)
    with DruidProxy(target.hostname or "127.0.0.1", target.port or 8888) as running:
        yield running


@pytest.fixture(scope="module")
def druid_env(proxy: DruidProxy, druid_sample_store: DruidStore) -> dict[str, str]:
    return {
        "SALES_BACKEND": "druid",
        "DRUID_URL": proxy.url,
        "DRUID_DATASOURCE": druid_sample_store.datasource,
    }


@pytest.fixture(scope="module")
def server(
    sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory, druid_env: dict[str, str]
) -> Iterator[str]:
    """server.py on the Druid store, reached through the fault proxy."""
    yield from serve_app(sample_data_dir, tmp_path_factory, env=druid_env)


@pytest.fixture(scope="module")
def mombasa_token(sample_data_dir: Path) -> str:
    return tokens.issue(UserFile(sample_data_dir / "users.yaml"), "mombasa")[0]


def _until(url: str, path: str, status: int, seconds: float = 20) -> Answer:
    """The first answer with `status` (a store reconnecting may need a try or two)."""
    deadline = time.monotonic() + seconds
    while True:
        answer = call(url, path)
        if answer.status == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_health_goes_to_503_when_druid_is_away_and_back_to_200(
    server: str, proxy: DruidProxy
) -> None:
    for path in ("/api/health", "/api/health/druid"):
        answer = call(server, path)
        assert answer.status == 200, answer.body[:500]
        assert answer.json["data"]["status"] == "ok" and answer.json["error"] is None
    services = {s["service"] for s in call(server, "/api/health/druid").json["data"]["services"]}
    assert {"broker", "coordinator", "historical", "router"} <= services
    assert call(server, "/api/health").json["data"]["backend"] == "druid"

    proxy.down()
    try:
        for path in ("/api/health", "/api/health/druid"):
            started = time.monotonic()
            answer = call(server, path)
            assert answer.status == 503, answer.body[:500]
            assert time.monotonic() - started < 10, "a monitor gets its answer in time"
            body = answer.json
            assert body["data"]["status"] == "unhealthy"
            assert body["error"]["code"] == "unhealthy"
            assert "not reachable" in body["error"]["message"], body
            assert body["metadata"]["requestId"]
    finally:
        proxy.up()
    for path in ("/api/health", "/api/health/druid"):
        back = _until(server, path, 200)
        assert back.status == 200, back.body[:500]


def _cli_export(data_dir: Path, env: dict[str, str], area: str, options: list[str]) -> list:
    result = subprocess.run(
        [sys.executable, "-m", "core", "export", area, *options, "--format", "json"],
        cwd=ROOT,
        env={**app_env(data_dir), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("area", ["overview", "branches", "customers"])
def test_kpis_from_druid_are_the_export_from_druid(
    server: str,
    mombasa_token: str,
    sample_data_dir: Path,
    druid_env: dict[str, str],
    area: str,
) -> None:
    answer = call(server, f"/api/kpis/{area}", FILTERS, token=mombasa_token)
    assert answer.status == 200, answer.body[:500]
    options = [p for name, value in FILTERS for p in (f"--{name}", value)]
    expected = _cli_export(sample_data_dir, druid_env, area, [*options, "--branch", "Mombasa"])
    assert expected, "the filters should leave rows to compare"
    # Two Druid queries may sum floats in another order: ratios agree to 1e-9, money to the cent.
    served = answer.json["data"]
    assert [sorted(row) for row in served] == [sorted(row) for row in expected]
    assert_same(pl.DataFrame(served), pl.DataFrame(expected), area)


def test_kpis_while_druid_is_away_are_503(
    server: str, mombasa_token: str, proxy: DruidProxy
) -> None:
    proxy.down()
    try:
        answer = call(server, "/api/kpis/trend", [("grain", "quarter")], token=mombasa_token)
    finally:
        proxy.up()
    assert answer.status == 503, answer.body[:500]
    body = answer.json
    assert body["data"] is None and body["error"]["code"] == "store_unavailable"
    assert "not reachable" in body["error"]["message"]
