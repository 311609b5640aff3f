"""The API's endpoints: health for monitors, one export area's KPIs for other systems.

Each docstring's YAML after `---` is the endpoint's OpenAPI operation
(`api.openapi` collects them from the routes). Store work runs in a worker
thread, off the server's event loop, which also serves the pages.
"""

from __future__ import annotations

import functools
import json

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import authorised
from api.envelope import ApiError, envelope
from api.state import settings, store
from core import health as health_check
from core.export_query import FORMATS, BadExportRequest, UnknownArea, export_table, rendered
from core.logs import redact_text
from core.presets import business_today
from core.settings import Settings, SettingsError
from core.store import StoreError, StoreHealth
from core.users import User

# Each parameter of a link may repeat; beyond this many values in all, a query is abuse.
MAX_QUERY_VALUES = 1_000
# Exports computing at once; more wait their turn. One export of a year at 10M lines takes
# a core for up to a second, and the pages' sessions share these two cores.
MAX_CONCURRENT_EXPORTS = 2
_exports = anyio.CapacityLimiter(MAX_CONCURRENT_EXPORTS)


def _settings() -> Settings:
    try:
        return settings()
    except SettingsError as exc:
        raise ApiError(503, "misconfigured", f"configuration: {exc}") from exc


def _check_store(current: Settings) -> StoreHealth:
    try:
        opened = store()
    except Exception:  # a store that cannot even be opened: check() opens it and says why
        opened = None
    return health_check.check(current, opened)


async def health(request: Request) -> Response:
    """The app and its store: the check the Diagnostics page shows.
    ---
    summary: Is the app able to answer from its store?
    description: >-
      200 when the configured store (embedded or Druid) answers, a store with no
      data yet included; 503 with the reason when it does not. No sign-in needed;
      the answer holds no data and no secret.
    tags: [health]
    security: []
    responses:
      200:
        description: Healthy.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/HealthEnvelope"}
      503:
        description: Unhealthy; `error.message` says why.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/HealthEnvelope"}
    """
    result = await run_in_threadpool(_check_store, _settings())
    data = {"status": "ok" if result.ok else "unhealthy", "backend": result.backend}
    if result.ok:
        return envelope(data)
    reason = redact_text(" ".join(result.detail.split()))
    return envelope(data, error=ApiError(503, "unhealthy", reason))


async def druid_health(request: Request) -> Response:
    """Druid at DRUID_URL: an SQL round trip and each service's own health check.
    ---
    summary: Does Druid answer SQL, and is each of its services healthy?
    description: >-
      Checks the Druid that DRUID_URL names, whichever store the app uses. 200
      when SQL answers and every service reports healthy; 503 with the reason
      otherwise. No sign-in needed.
    tags: [health]
    security: []
    responses:
      200:
        description: Druid is healthy.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/DruidHealthEnvelope"}
      503:
        description: Druid, or one of its services, is not healthy; `error.message` says why.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/DruidHealthEnvelope"}
    """
    result = await run_in_threadpool(health_check.check_druid, _settings())
    data = {
        "status": "ok" if result.ok else "unhealthy",
        "round_trip_ms": result.round_trip_ms,
        "services": result.services,
    }
    if result.ok:
        return envelope(data)
    return envelope(data, error=ApiError(503, "unhealthy", result.reason or "not healthy"))


def _query(request: Request) -> tuple[dict[str, list[str]], str]:
    """The link parameters and the format asked for."""
    items = request.query_params.multi_items()
    if len(items) > MAX_QUERY_VALUES:
        raise ApiError(400, "bad_parameter", f"at most {MAX_QUERY_VALUES} query values allowed")
    params: dict[str, list[str]] = {}
    for name, value in items:
        params.setdefault(name, []).append(value)
    formats = params.pop("format", ["json"])
    if len(formats) != 1 or formats[0] not in FORMATS:
        raise ApiError(
            400, "bad_parameter", f"format={formats[-1][:40]!r}: expected one of json, csv"
        )
    return params, formats[0]


def _table_bytes(area: str, params: dict[str, list[str]], user: User, format: str) -> bytes:
    current = _settings()
    try:
        table = export_table(
            store(),
            area,
            dict(params),
            today=business_today(current.timezone),
            allowed_branches=user.branches,
            option="",
        )
    except UnknownArea as exc:
        raise ApiError(404, "unknown_area", str(exc)) from exc
    except BadExportRequest as exc:
        raise ApiError(400, "bad_parameter", str(exc)) from exc
    except StoreError as exc:
        raise ApiError(503, "store_unavailable", redact_text(str(exc))) from exc
    return rendered(table, "csv" if format == "csv" else "json")


async def kpis(request: Request) -> Response:
    """One export area's table, as `python -m core export AREA` writes it.
    ---
    summary: One area's KPI table for the filters of a shareable link.
    description: >-
      The same table as `python -m core export AREA --format json|csv` with the
      same filters (snake_case columns, money in KES to the cent, ratios as
      fractions, null where undefined). A user kept to some branches sees only
      those, whatever the parameters ask. A bad parameter is a 400 with the
      command line's one-line reason.
    tags: [kpis]
    security: [{bearer: []}]
    parameters:
      - {$ref: "#/components/parameters/area"}
      - {$ref: "#/components/parameters/start"}
      - {$ref: "#/components/parameters/end"}
      - {$ref: "#/components/parameters/period"}
      - {$ref: "#/components/parameters/grain"}
      - {$ref: "#/components/parameters/compare"}
      - {$ref: "#/components/parameters/branch"}
      - {$ref: "#/components/parameters/line"}
      - {$ref: "#/components/parameters/rep"}
      - {$ref: "#/components/parameters/product"}
      - {$ref: "#/components/parameters/format"}
    responses:
      200:
        description: >-
          The table: with format=json its rows in `data`; with format=csv the
          CSV itself (the request id in the X-Request-Id header).
        content:
          application/json:
            schema: {$ref: "#/components/schemas/TableEnvelope"}
          text/csv:
            schema: {type: string}
      400: {$ref: "#/components/responses/BadParameter"}
      401: {$ref: "#/components/responses/Unauthorized"}
      404: {$ref: "#/components/responses/UnknownArea"}
      429: {$ref: "#/components/responses/TooManyFailures"}
      503: {$ref: "#/components/responses/StoreUnavailable"}
    """
    user = await authorised(request)
    area = str(request.path_params["area"])
    params, format = _query(request)
    work = functools.partial(_table_bytes, area, params, user, format)
    body = await anyio.to_thread.run_sync(work, limiter=_exports)
    if format == "csv":
        name = f"{area}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return envelope(json.loads(body))
