"""What the Diagnostics page shows for Druid, from a real Druid."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.store import Scope
from core.stores.druid import DruidStore

pytestmark = pytest.mark.druid


def test_health_facts(druid_sample_store: DruidStore) -> None:
    health = druid_sample_store.health()
    assert health.ok, health.detail
    facts = health.facts
    services = {key: value for key, value in facts.items() if key.startswith("service ")}
    types = {key.split()[1] for key in services}
    assert {"broker", "coordinator", "historical", "router"} <= types
    assert all(value == f"healthy, {facts['druid_version']}" for value in services.values())
    assert facts["rows"] == druid_sample_store.count_lines(Scope(), None) > 0
    assert facts["segments"] > 0 and facts["size_bytes"] > 0
    span = druid_sample_store.date_range(Scope())
    assert span is not None and (facts["first_day"], facts["last_day"]) == (span.start, span.end)
    assert isinstance(facts["last_ingestion"], datetime)
    assert facts["last_ingestion_status"] == "SUCCESS"
    assert 0 < facts["round_trip_ms"] < 5000
    assert facts["data_version"] == druid_sample_store.data_version()
