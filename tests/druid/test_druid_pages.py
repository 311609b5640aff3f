"""Every page runs on the Druid store (`SALES_BACKEND=druid`), and Druid down is a message.

Streamlit's AppTest runs the real app (sign-in, navigation, page) against the
session's Druid datasource holding the generated sample.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.stores.druid import DruidStore
from tests.conftest import ROOT

pytestmark = pytest.mark.druid

PAGES = ("overview", "salespeople", "products", "branches", "customers", "diagnostics")
WINDOW = {"start": "2026-01-01", "end": "2026-06-30"}


def _use(monkeypatch: pytest.MonkeyPatch, data_dir: Path, url: str, datasource: str) -> None:
    monkeypatch.setenv("SALES_BACKEND", "druid")
    # In-process pages: a warm-up thread would fill the shared cache behind the tests.
    monkeypatch.setenv("SALES_WARM_UP", "off")
    monkeypatch.setenv("DRUID_URL", url)
    monkeypatch.setenv("DRUID_DATASOURCE", datasource)
    monkeypatch.setenv("SALES_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SALES_AUTH_FILE", str(data_dir / "users.yaml"))
    cache.get_store.clear()  # the store is a process-wide resource: open Druid's
    cache.clear()


@pytest.fixture()
def druid_env(
    druid_sample_store: DruidStore, sample_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DruidStore]:
    _use(monkeypatch, sample_data_dir, druid_sample_store.url, druid_sample_store.datasource)
    yield druid_sample_store
    cache.get_store.clear()
    cache.clear()


def run_page(name: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state["username"] = "admin"
    app.switch_page(f"views/{name}.py")
    for key, value in WINDOW.items():
        app.query_params[key] = value
    return app.run()


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_from_druid(druid_env: DruidStore, name: str) -> None:
    app = run_page(name)
    errors = [e.value for e in app.error]
    assert not app.exception and not any("Something went wrong" in e for e in errors), errors
    assert app.title[0].value == name.capitalize()
    assert app.metric, "every page leads with headline tiles"
    if name == "diagnostics":
        text = " ".join(str(e.value) for e in app.success)
        assert "druid" in text and druid_env.datasource in text


def test_druid_down_is_a_message_not_a_traceback(
    sample_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _use(monkeypatch, sample_data_dir, f"http://127.0.0.1:{port}", "sales_analytics")
    try:
        app = run_page("overview")
    finally:
        cache.get_store.clear()
        cache.clear()
    assert not app.exception
    shown = " ".join(str(e.value) for e in app.error)
    assert "Druid is not reachable" in shown, shown
