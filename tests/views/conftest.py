"""Fixtures of the in-process page tests (Streamlit's AppTest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core import cache


@pytest.fixture()
def sample_env(sample_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SALES_DATA_DIR", str(sample_data_dir))
    monkeypatch.setenv("SALES_BACKEND", "embedded")
    # In-process pages: a warm-up thread would fill the shared cache behind the tests.
    monkeypatch.setenv("SALES_WARM_UP", "off")
    monkeypatch.setenv("SALES_AUTH_FILE", str(sample_data_dir / "users.yaml"))
    cache.get_store.clear()  # the store is a process-wide resource: open the sample's
    cache.clear()
    yield sample_data_dir
    cache.get_store.clear()
    cache.clear()
