"""Each customer's first sale, kept by Druid in a small datasource beside the lines.

The Customers table and cohorts ask for every customer's first purchase over
the whole history. In Druid that is a group-by of every line by customer
(10M lines: 0.3-0.5 s, a third of the Customers area) whose answer changes
only when lines are written. So each write ends by grouping the lines once
more, inside Druid (an MSQ task: no line leaves Druid), into the datasource
`<lines>_first_sales`: one row per customer id (walk-ins, a null id,
included), `__time` its first sale, and `describes` the newest segment
version of the lines it was grouped from.

Every REPLACE of lines publishes a newer version, so a read that finds the
lines' newest version different from `describes` (a write under way, a
refresh that failed, lines written before this existed) groups the lines as
before. Deleting whole months publishes no version: the record is dropped
before the months are. The record can lag; it never gives a wrong date,
except for the seconds in which two processes write at once (a refresh may
then read the other's lines before the broker serves them).

As with the embedded store's file (first_sales.py), only the unfiltered
scope is kept: a filter or a role's branches change who bought first.
"""

from __future__ import annotations

import json
import time

from core.store import StoreError
from core.stores.druid_http import DruidClient, DruidQueryError, SqlParameter, parameter
from core.stores.druid_sql import DAY, quote, sql_string

SUFFIX = "_first_sales"
# A record this small (one row per customer) loads within a coordinator period or two.
LOAD_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 1.0


def datasource_of(lines: str) -> str:
    return f"{lines}{SUFFIX}"


def refresh_sql(lines: str, version: str) -> str:
    """The MSQ statement that replaces the record with the first sales of `lines`,
    stamped as describing segment version `version`."""
    return (
        f"REPLACE INTO {quote(datasource_of(lines))} OVERWRITE ALL\n"
        f'SELECT MIN("__time") AS "__time", "customer_id", '
        f'{sql_string(version)} AS "describes"\n'
        f'FROM {quote(lines)} GROUP BY "customer_id"\n'
        "PARTITIONED BY ALL"
    )


def read_sql(lines: str, version: str) -> tuple[str, list[SqlParameter]]:
    """`customer_id`, `first_sale` (a business day, as `aggregate` gives it) of the
    record if it describes `version`; no rows if it does not."""
    return (
        f'SELECT "customer_id", TIME_FORMAT("__time", {DAY}) AS "first_sale" '
        f'FROM {quote(datasource_of(lines))} WHERE "describes" = ?',
        [parameter(version)],
    )


def _described(client: DruidClient, lines: str) -> str | None:
    """The version the served record describes; None while none is served."""
    try:
        _, rows = client.sql(
            f'SELECT "describes" FROM {quote(datasource_of(lines))} GROUP BY 1', [], {}
        )
    except DruidQueryError as exc:
        if exc.unknown_table:
            return None
        raise
    return str(rows[0][0]) if len(rows) == 1 else None


def wait_described(
    client: DruidClient,
    lines: str,
    version: str | None,
    timeout: float = LOAD_TIMEOUT_SECONDS,
) -> None:
    """Wait until the broker serves the record of `version` (None: no record at all)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _described(client, lines) == version:
            return
        time.sleep(POLL_SECONDS)
    wanted = "gone" if version is None else f"of version {version}"
    raise StoreError(
        f"the first sales record of {lines} was not {wanted} after {timeout:.0f} s; "
        "reads group the lines instead"
    )


def drop(client: DruidClient, lines: str) -> None:
    """Stop serving the record: mark its segments unused and wait until the broker
    no longer answers from them."""
    # Druid answers 200 also when there is nothing to drop.
    client.request(
        "DELETE", f"/druid/coordinator/v1/datasources/{datasource_of(lines)}", idempotent=False
    )
    wait_described(client, lines, None)


def describe(client: DruidClient, lines: str) -> str:
    """For the Diagnostics page: which version the record describes, if any."""
    try:
        version = _described(client, lines)
    except DruidQueryError as exc:
        return f"unreadable: {json.dumps(exc.druid_message)}"
    return "none" if version is None else version
