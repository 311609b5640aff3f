"""`python -m core.health`: is the configured store usable? For container health checks.

Prints one line (`ok: ...` or `unhealthy: ...`) and exits 0 or 1. The check
is the store's own `health()`, the same one the Diagnostics page shows.

A store with no data yet (a fresh deployment before the first upload) is
healthy: the app serves its pages and the upload page, and an orchestrator
that restarted an "unhealthy" empty container would never let anyone load
the first file. The line says "no data yet" so a wrong `SALES_DATA_DIR` is
still visible to whoever reads it. A store that exists but cannot be read
(a corrupt table, an unreadable file) is unhealthy.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from core.logs import configure_logging, new_request_id, redact_text
from core.settings import Settings, SettingsError, load_settings
from core.store import SalesStore, StoreError, StoreHealth
from core.stores import open_store

log = logging.getLogger("core.health")
# A monitor asks every few seconds and gives up after a few: answer within them.
DRUID_CHECK_TIMEOUT_SECONDS = 3.0


def check(settings: Settings, store: SalesStore | None = None) -> StoreHealth:
    """The store's health (default: the configured one, opened for the check); never raises
    (a failure is an unhealthy answer)."""
    try:
        health = (store or open_store(settings)).health()
    except Exception as exc:  # health must answer whatever the store does
        return StoreHealth(settings.backend, False, f"{type(exc).__name__}: {exc}")
    return health


@dataclass(frozen=True)
class DruidHealth:
    """Druid at `DRUID_URL`: an SQL round trip and each service's own health check."""

    ok: bool
    reason: str | None  # why not ok; None when ok
    round_trip_ms: float | None  # None: SQL did not answer
    services: list[dict[str, Any]] = field(default_factory=list)


def check_druid(settings: Settings) -> DruidHealth:
    """Druid's health, whichever store the app is set to use; never raises.

    Each service is listed as `service` (broker, historical, ...), `server`
    (host:port) and `healthy`; the reason names what failed (credentials in
    URLs masked). One try, short timeouts: a monitor wants an answer, not a retry.
    """
    from core.stores.druid import DruidStore
    from core.stores.druid_http import DruidClient

    url = settings.druid_url
    client = DruidClient(
        url,
        read_timeout=DRUID_CHECK_TIMEOUT_SECONDS,
        connect_timeout=DRUID_CHECK_TIMEOUT_SECONDS,
        retries=1,
    )
    store = DruidStore(url, settings.druid_datasource, settings.timezone, client=client)
    started = time.perf_counter()
    try:
        client.sql("SELECT 1", [], {})
        round_trip_ms = round((time.perf_counter() - started) * 1000, 1)
        facts = store.service_facts()
    except Exception as exc:  # health must answer whatever Druid does
        reason = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
        return DruidHealth(False, redact_text(reason), None)
    services = [
        {"service": f["service"], "server": f["server"], "healthy": bool(f["healthy"])}
        for f in facts
    ]
    unhealthy = [f"{s['service']} {s['server']}" for s in services if not s["healthy"]]
    if not services:
        return DruidHealth(False, "Druid lists no services", round_trip_ms, services)
    if unhealthy:
        return DruidHealth(False, f"not healthy: {', '.join(unhealthy)}", round_trip_ms, services)
    return DruidHealth(True, None, round_trip_ms, services)


def summary(health: StoreHealth) -> str:
    """The one line the command prints."""
    detail = " ".join(health.detail.split())  # one line, whatever the store said
    return f"{'ok' if health.ok else 'unhealthy'}: {health.backend}: {detail}"


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"unhealthy: configuration: {exc}")
        return 1
    # Health checks run every few seconds: only problems are worth a log line.
    configure_logging(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    new_request_id(page="cli:health")
    health = check(settings)
    if not health.ok:
        log.warning(
            "health check failed", extra={"backend": health.backend, "detail": health.detail}
        )
    print(summary(health))
    return 0 if health.ok else 1


if __name__ == "__main__":
    sys.exit(main())
