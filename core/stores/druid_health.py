"""What the Druid store says of itself: each service's health, the datasource's facts
for the Diagnostics page."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.store import Scope, StoreError, StoreHealth
from core.stores import druid_segments as segments
from core.stores.druid_http import parameter

if TYPE_CHECKING:
    from core.stores.druid import DruidStore

# Health checks of individual services must not hang the Diagnostics page.
SERVICE_CHECK_TIMEOUT_SECONDS = 2.0


def _parse_instant(value: object) -> datetime | None:
    """An ISO instant from a Druid system table (`...Z`) as an aware UTC datetime."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def service_facts(store: DruidStore) -> list[dict[str, Any]]:
    """Each Druid service's type, health and version, as seen from this process."""
    answer = store.query(
        'SELECT "server", "server_type", "tier", "curr_size", "max_size" FROM sys.servers',
        [],
        {},
    )
    services: list[dict[str, Any]] = []
    for server, server_type, tier, current, maximum in answer[1] if answer else []:
        fact: dict[str, Any] = {"service": server_type, "server": server, "tier": tier}
        base = f"{store.url.split('://')[0]}://{server}"
        try:
            health = store.client.request(
                "GET", "/status/health", base=base, timeout=SERVICE_CHECK_TIMEOUT_SECONDS
            )
            status = store.client.request(
                "GET", "/status", base=base, timeout=SERVICE_CHECK_TIMEOUT_SECONDS
            )
            fact["healthy"] = health is True
            fact["version"] = status.get("version") if isinstance(status, dict) else None
        except StoreError as exc:
            fact["healthy"] = False
            fact["error"] = str(exc)
        if server_type == "historical" and maximum:
            fact["segment_cache_used_pct"] = round(100 * (current or 0) / maximum, 1)
        services.append(fact)
    return sorted(services, key=lambda f: (str(f["service"]), str(f["server"])))


def health(store: DruidStore) -> StoreHealth:
    started = time.perf_counter()
    try:
        store.client.sql("SELECT 1", [], {})
        round_trip_ms = round((time.perf_counter() - started) * 1000, 1)
        router = store.client.request("GET", "/status", timeout=SERVICE_CHECK_TIMEOUT_SECONDS)
    except StoreError as exc:
        return StoreHealth(
            store.name, False, str(exc), {"url": store.url, "datasource": store.datasource}
        )
    facts: dict[str, Any] = {
        "url": store.url,
        "datasource": store.datasource,
        "druid_version": router.get("version") if isinstance(router, dict) else None,
        "round_trip_ms": round_trip_ms,
    }
    try:
        services = service_facts(
            store,
        )
        rows = store.count_lines(Scope(), None)
        span = store.date_range(Scope())
        listed = segments.listed(store.client, store.datasource)
        tasks = store.query(
            'SELECT "created_time", "status", "duration" FROM sys.tasks WHERE "datasource" = ? '
            'ORDER BY "created_time" DESC LIMIT 1',
            [parameter(store.datasource)],
            {},
        )
    except StoreError as exc:
        return StoreHealth(
            store.name, False, f"Druid answers but the datasource check failed: {exc}", facts
        )
    last_task = tasks[1][0] if tasks and tasks[1] else [None, None, None]
    # One flat fact per service: the Diagnostics page renders facts as a two-column table.
    for service in services:
        state = "healthy" if service["healthy"] else "NOT healthy"
        about = service.get("version") or service.get("error", "")
        facts[f"service {service['service']} {service['server']}"] = f"{state}, {about}"
    facts.update(
        {
            "rows": rows,
            "segments": len(listed.published),
            "size_bytes": listed.published_bytes,
            "first_day": span.start if span else None,
            "last_day": span.end if span else None,
            "last_ingestion": _parse_instant(last_task[0]),
            "last_ingestion_status": last_task[1],
            "last_ingestion_seconds": (
                round(last_task[2] / 1000, 1) if last_task[2] and last_task[2] > 0 else None
            ),
            "data_version": listed.data_version,
            "check_seconds": round(time.perf_counter() - started, 4),
        }
    )
    unhealthy = [f"{s['service']} {s['server']}" for s in services if not s["healthy"]]
    ok = not unhealthy
    detail = f"{rows:,} lines in {store.datasource} on Druid {facts['druid_version']}"
    if unhealthy:
        detail += f"; not healthy: {', '.join(unhealthy)}"
    return StoreHealth(store.name, ok, detail, facts)
