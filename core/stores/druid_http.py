"""A small, thread-safe HTTP client for Druid: SQL with typed parameters, tasks, status.

Every call has a connect and a read timeout (passed to Druid as the query's
own timeout, so it stops working when we stop waiting). Reads (SQL queries,
status calls) are retried with back-off when Druid is unreachable or answers
502, 503 or 504 (a router whose broker is restarting), never after a read
timeout or Druid's own query timeout; a task submission is retried only when the connection itself
failed, so a task is never submitted twice. Failures become `StoreError`s
whose message a user can act on: Druid down, a timeout, or Druid's own
error message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl
import requests

from core.store import StoreError

# A query on 10M lines answers in seconds; two minutes means something is wrong.
READ_TIMEOUT_SECONDS = 120.0
# Loopback or a LAN: a connection that takes longer than this is not coming.
CONNECT_TIMEOUT_SECONDS = 3.0
# Three tries with 0.5 s, 1 s back-off: rides over a broker restart, fails fast when down.
RETRIES = 3
BACKOFF_SECONDS = 0.5
RETRY_STATUSES = frozenset({502, 503, 504})

SqlParameter = dict[str, Any]


class DruidUnavailable(StoreError):
    """Druid cannot be reached at all."""


class DruidQueryError(StoreError):
    """Druid answered with an error; `druid_message` is Druid's own text."""

    def __init__(self, message: str, druid_message: str, status: int) -> None:
        super().__init__(message)
        self.druid_message = druid_message
        self.status = status

    @property
    def unknown_table(self) -> bool:
        """The datasource does not exist (yet): nothing has been written to it."""
        return "not found" in self.druid_message and "Object" in self.druid_message

    def unknown_column(self, column: str) -> bool:
        """The query names `column`, which the datasource does not have (or no longer
        has, once the broker's schema refresh drops it)."""
        return f"Column '{column}' not found" in self.druid_message


class DruidTimeout(DruidQueryError):
    """Druid stopped a query at its time limit; the message says what to do."""


def parameter(value: str | int | float | date | datetime) -> SqlParameter:
    """A Druid SQL typed parameter; dates become midnight in the query's time zone."""
    if isinstance(value, bool):
        return {"type": "BOOLEAN", "value": value}
    if isinstance(value, int):
        return {"type": "BIGINT", "value": value}
    if isinstance(value, float):
        return {"type": "DOUBLE", "value": value}
    if isinstance(value, datetime):
        return {"type": "TIMESTAMP", "value": value.strftime("%Y-%m-%d %H:%M:%S")}
    if isinstance(value, date):
        return {"type": "TIMESTAMP", "value": f"{value.isoformat()} 00:00:00"}
    return {"type": "VARCHAR", "value": value}


def _druid_message(response: requests.Response) -> str:
    """Druid's own error text: `errorMessage`, at the top or under `error` (task submissions)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or str(response.reason)
    if isinstance(body, dict):
        nested = body.get("error")
        if isinstance(nested, dict) and nested.get("errorMessage"):
            return str(nested["errorMessage"])
        for key in ("errorMessage", "message", "error"):
            if body.get(key):
                return str(body[key])
    return str(body)[:500]


def _is_query_timeout(response: requests.Response) -> bool:
    """Druid's own "Query timeout" answer (HTTP 504, category TIMEOUT)."""
    if response.status_code != 504:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and (
        body.get("error") == "Query timeout" or body.get("category") == "TIMEOUT"
    )


class DruidClient:
    """HTTP calls to one Druid router (or broker). Safe to share between threads."""

    def __init__(
        self,
        url: str,
        *,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        retries: int = RETRIES,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self.retries = max(1, retries)
        self.auth = auth
        # requests.Session is not documented as thread-safe: one per thread.
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self.auth
            self._local.session = session
        return session

    def request(
        self,
        method: str,
        path: str,
        body: object | None = None,
        *,
        timeout: float | None = None,
        idempotent: bool = True,
        base: str | None = None,
    ) -> Any:
        """Call `path` and return the decoded JSON (None for an empty body).

        Raises as `respond` does.
        """
        response = self.respond(
            method, path, body, timeout=timeout, idempotent=idempotent, base=base
        )
        return response.json() if response.content else None

    def respond(
        self,
        method: str,
        path: str,
        body: object | None = None,
        *,
        timeout: float | None = None,
        idempotent: bool = True,
        base: str | None = None,
    ) -> requests.Response:
        """Call `path` and return Druid's successful answer.

        Raises
        ------
        DruidUnavailable
            If Druid cannot be reached after the retries.
        DruidQueryError
            If Druid answers with an error status.
        """
        url = (base or self.url).rstrip("/") + path
        last: Exception | None = None
        for attempt in range(self.retries):
            if attempt:
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                response = self._session().request(
                    method,
                    url,
                    json=body,
                    timeout=(self.connect_timeout, timeout or self.read_timeout),
                )
            except requests.ConnectionError as exc:
                last = exc
                continue  # nothing reached Druid: safe to retry even a submission
            except requests.Timeout as exc:
                # Not retried: a slow query asked again only adds load to a busy Druid.
                waited = timeout or self.read_timeout
                raise StoreError(
                    f"Druid at {self.url} did not answer within {waited:.0f} s"
                ) from exc
            if _is_query_timeout(response):
                # Druid stopped the query at the context's time limit: asking again would
                # only repeat the wait (a 504 from a router whose broker is away is retried).
                raise DruidTimeout(
                    "Druid stopped the query at its time limit: narrow the dates or "
                    "filters, or try again when Druid is less busy",
                    _druid_message(response),
                    response.status_code,
                )
            if response.status_code in RETRY_STATUSES and idempotent:
                last = DruidQueryError(
                    f"Druid at {self.url} is not ready (HTTP {response.status_code})",
                    _druid_message(response),
                    response.status_code,
                )
                continue
            if response.status_code >= 400:
                message = _druid_message(response)
                raise DruidQueryError(
                    f"Druid refused the request: {message}", message, response.status_code
                )
            return response
        if isinstance(last, DruidQueryError):
            raise last
        raise DruidUnavailable(
            f"Druid is not reachable at {self.url}: start it (make druid-up) or check DRUID_URL"
        ) from last

    def _sql_body(
        self,
        query: str,
        parameters: Sequence[SqlParameter],
        context: Mapping[str, Any] | None,
        timeout: float | None,
        result_format: str,
    ) -> dict[str, Any]:
        return {
            "query": query,
            "resultFormat": result_format,
            "header": True,
            "parameters": list(parameters),
            # Druid cancels the query when this client stops waiting for it.
            "context": {"timeout": int((timeout or self.read_timeout) * 1000), **(context or {})},
        }

    def sql(
        self,
        query: str,
        parameters: Sequence[SqlParameter] = (),
        context: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> tuple[list[str], list[list[Any]]]:
        """Run a Druid SQL query; returns (column names, rows)."""
        body = self._sql_body(query, parameters, context, timeout, "array")
        rows = self.request("POST", "/druid/v2/sql", body, timeout=timeout)
        if not rows:
            return [], []
        return [str(c) for c in rows[0]], rows[1:]

    def sql_frame(
        self,
        query: str,
        schema: Mapping[str, pl.DataType],
        parameters: Sequence[SqlParameter] = (),
        context: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> pl.DataFrame:
        """Run a Druid SQL query whose columns are `schema`'s, in order, as a frame.

        The answer travels as CSV and is parsed by Polars: for a million rows
        that is seconds less than JSON arrays turned into Python lists. An
        empty text reads as null, as Druid itself stores it.
        """
        body = self._sql_body(query, parameters, context, timeout, "csv")
        text = self.respond("POST", "/druid/v2/sql", body, timeout=timeout).content
        # Druid ends a complete answer with an empty line; a cut-off one lacks it.
        if not text.endswith(b"\n\n"):
            raise StoreError("Druid's answer ended before its last row: try again")
        return pl.read_csv(
            text[:-1],
            has_header=True,
            new_columns=list(schema),
            schema_overrides=dict(schema),
        )
