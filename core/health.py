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

from core.logs import configure_logging, new_request_id
from core.settings import Settings, SettingsError, load_settings
from core.store import StoreHealth
from core.stores import open_store

log = logging.getLogger("core.health")


def check(settings: Settings) -> StoreHealth:
    """The configured store's health; never raises (a failure is an unhealthy answer)."""
    try:
        health = open_store(settings).health()
    except Exception as exc:  # health must answer whatever the store does
        return StoreHealth(settings.backend, False, f"{type(exc).__name__}: {exc}")
    return health


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
