"""Each customer's first sale, kept by Druid in a small datasource beside the lines.

The Customers table and cohorts ask for every customer's first purchase over
the whole history. In Druid that is a group-by of every line by customer
(10M lines: 0.3-0.5 s, a third of the Customers area) whose answer changes
only when lines are written. So each write ends by grouping the lines once
more, inside Druid (an MSQ task: no line leaves Druid), into the datasource
`<lines>_first_sales`: one row per customer id (walk-ins, a null id,
included), `__time` its first sale, and `describes` the fingerprint of the
lines' published segments (`druid_segments`) taken before the task read them.

A read uses the record only while its stamp is the fingerprint of the
segments published now. Any write or deletion, by this process or another,
changes the fingerprint, so a record grouped before it is passed over and
the lines are grouped as before. The stamp is taken before the task reads,
so a change that lands while the task runs leaves a record stamped with a
fingerprint that is no longer published. The record can lag; it is wrong
only if segments are published and withdrawn again while its task runs
(two more writes within those seconds), or while a change is still
reaching the historicals that serve the lines.

As with the embedded store's file (first_sales.py), only the unfiltered
scope is kept: a filter or a role's branches change who bought first.
"""

from __future__ import annotations

import time

from core.store import StoreError
from core.stores import druid_ingest as ingest
from core.stores.druid_http import DruidClient, DruidQueryError, SqlParameter, parameter
from core.stores.druid_sql import DAY, quote, sql_string

SUFFIX = "_first_sales"
# The refresh is one small task (10M lines: about 6 s); a write waits for it, so a
# Druid too busy to run it in minutes leaves the record stale rather than the write held.
REFRESH_TIMEOUT_SECONDS = 180.0
# A record this small (one row per customer) loads within a coordinator period or two.
LOAD_TIMEOUT_SECONDS = 120.0
# Each poll is a query to the broker: once a second is quick enough for a load of seconds.
POLL_SECONDS = 1.0


def datasource_of(lines: str) -> str:
    """The record's datasource, named after the lines it describes."""
    return f"{lines}{SUFFIX}"


def refresh_sql(lines: str, fingerprint: str) -> str:
    """The MSQ statement that replaces the record with the first sales of `lines`,
    stamped as describing the segments of `fingerprint`."""
    return (
        f"REPLACE INTO {quote(datasource_of(lines))} OVERWRITE ALL\n"
        f'SELECT MIN("__time") AS "__time", "customer_id", '
        f'{sql_string(fingerprint)} AS "describes"\n'
        f'FROM {quote(lines)} GROUP BY "customer_id"\n'
        "PARTITIONED BY ALL"
    )


def read_sql(lines: str, fingerprint: str) -> tuple[str, list[SqlParameter]]:
    """`customer_id`, `first_sale` (a business day, as `aggregate` gives it) of the
    record if it describes `fingerprint`; no rows if it does not."""
    return (
        f'SELECT "customer_id", TIME_FORMAT("__time", {DAY}) AS "first_sale" '
        f'FROM {quote(datasource_of(lines))} WHERE "describes" = ?',
        [parameter(fingerprint)],
    )


def described(client: DruidClient, lines: str) -> str | None:
    """The fingerprint the served record describes; None while no stamped record is served
    (none, or one without its stamp column).

    Raises
    ------
    StoreError
        If Druid cannot be reached, or refuses to read the record otherwise.
    """
    try:
        _, rows = client.sql(
            f'SELECT "describes" FROM {quote(datasource_of(lines))} GROUP BY 1', [], {}
        )
    except DruidQueryError as exc:
        # No record yet, or one without the stamp column (written by hand or by mistake):
        # either way none is stamped, and the next write replaces it.
        if exc.unknown_table or exc.unknown_column("describes"):
            return None
        raise
    return str(rows[0][0]) if len(rows) == 1 and rows[0][0] is not None else None


def refresh(client: DruidClient, lines: str, fingerprint: str) -> None:
    """Group the first sales of `lines` into the record, stamped `fingerprint`, and
    wait until the broker serves it.

    Raises
    ------
    StoreError
        If the task fails or takes longer than `REFRESH_TIMEOUT_SECONDS` (it may
        still publish later: its stamp keeps it from being read if the lines
        changed meanwhile), or the record is not served within `LOAD_TIMEOUT_SECONDS`.
    """
    ingest.run_task(
        client,
        refresh_sql(lines, fingerprint),
        lambda _stage, _fraction: None,
        timeout=REFRESH_TIMEOUT_SECONDS,
        attempts=1,  # a lost worker is not worth a second wait: the next write refreshes
    )
    wait_described(client, lines, fingerprint)


def wait_described(
    client: DruidClient, lines: str, fingerprint: str, timeout: float = LOAD_TIMEOUT_SECONDS
) -> None:
    """Wait until the broker serves the record stamped `fingerprint`.

    Raises
    ------
    StoreError
        If it is not served within `timeout` seconds.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if described(client, lines) == fingerprint:
            return
        time.sleep(POLL_SECONDS)
    raise StoreError(
        f"the first sales record of {lines} was not served {timeout:.0f} s after its task; "
        "reads group the lines instead"
    )
