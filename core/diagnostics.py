"""Facts for the Diagnostics page and health checks: freshness, versions, redacted settings."""

from __future__ import annotations

import platform
import re
from datetime import UTC, date, datetime, time
from importlib import metadata
from typing import Any

from core.pipeline_store import PipelineStore
from core.settings import SETTINGS, Settings
from core.store import SalesStore, Scope

LIBRARIES = (
    "streamlit",
    "polars",
    "pandera",
    "deltalake",
    "pyarrow",
    "pydruid",
    "streamlit-authenticator",
    "APScheduler",
)
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|COOKIE", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
REDACTED = "•••"


def crm_datasets(pipeline: PipelineStore) -> list[dict[str, str]]:
    """Per CRM dataset (deals, stage history, activities): healthy or not, and why."""
    rows = []
    for name, health in (
        ("CRM deals", pipeline.health()),
        ("Deal stage history", pipeline.stages.health()),
        ("Sales activities", pipeline.activities.health()),
    ):
        rows.append(
            {"dataset": name, "status": "ok" if health.ok else "failing", "detail": health.detail}
        )
    return rows


def latest_sale(store: SalesStore, settings: Settings) -> datetime | None:
    """The newest sale (UTC): exact where the store knows it, else the end of its last day."""
    exact = getattr(store, "latest_sale", None)
    if callable(exact):
        value = exact()
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    span = store.date_range(Scope())
    if span is None:
        return None
    return datetime.combine(span.end, time.max, tzinfo=settings.tz).astimezone(UTC)


def age_text(then: datetime | date | None, now: datetime) -> str:
    """ "3 hours ago", "2 days ago": how old the newest data is."""
    if then is None:
        return "no data yet"
    if not isinstance(then, datetime):
        then = datetime.combine(then, time.min, tzinfo=UTC)
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return "in the future (check the source system's clock)"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def redact(name: str, value: str) -> str:
    """Hide secret-looking settings and credentials embedded in URLs."""
    if SECRET_NAME.search(name):
        return REDACTED if value else "(not set)"
    return URL_CREDENTIALS.sub(f"{REDACTED}@", value)


def settings_table(settings: Settings) -> list[dict[str, str]]:
    """Every setting with its value in force (redacted) and its meaning."""
    values: dict[str, Any] = {
        "SALES_BACKEND": settings.backend,
        "SALES_DATA_DIR": settings.data_dir,
        "DRUID_URL": settings.druid_url,
        "DRUID_DATASOURCE": settings.druid_datasource,
        "SALES_TIMEZONE": settings.timezone,
        "SALES_AUTH_FILE": settings.auth_file,
        "SALES_LOG_LEVEL": settings.log_level,
        "SALES_ENV": settings.environment,
        "SALES_COOKIE_KEY": settings.cookie_key,
        "SALES_WARM_UP": "on" if settings.warm_up else "off",
        "SALES_PUBLIC_URL": settings.public_url,
        "SALES_SMTP_URL": settings.smtp_url,
        "SALES_SMTP_USER": settings.smtp_user,
        "SALES_SMTP_PASSWORD": settings.smtp_password,
        "SALES_MAIL_FROM": settings.mail_from,
    }
    return [
        {
            "setting": s.name,
            "value": redact(s.name, str(values.get(s.name, REDACTED))),
            "default": s.default,
            "meaning": s.help,
        }
        for s in SETTINGS
    ]


def versions() -> dict[str, str]:
    """Python and library versions (`not installed` where missing)."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
