"""What the Diagnostics page shows for Druid, from a real Druid."""

from __future__ import annotations

import pytest

from core.store import Scope
from core.stores.druid import DruidStore

pytestmark = pytest.mark.druid


def test_health_facts(druid_sample_store: DruidStore) -> None:
    health = druid_sample_store.health()
    assert health.ok, health.detail
    facts = health.facts
    types = {service["service"] for service in facts["services"]}
    assert {"broker", "coordinator", "historical", "router"} <= types
    assert all(service["healthy"] and service["version"] for service in facts["services"])
    assert facts["druid_version"] == facts["services"][0]["version"]
    assert facts["rows"] == druid_sample_store.count_lines(Scope(), None) > 0
    assert facts["segments"] > 0 and facts["size_bytes"] > 0
    span = druid_sample_store.date_range(Scope())
    assert span is not None and (facts["first_day"], facts["last_day"]) == (span.start, span.end)
    assert facts["last_ingestion"] and facts["last_ingestion_status"] == "SUCCESS"
    assert 0 < facts["round_trip_ms"] < 5000
    assert facts["data_version"] == druid_sample_store.data_version()
