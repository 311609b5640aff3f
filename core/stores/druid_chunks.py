"""A Druid datasource's time chunks (UTC months): naming them, the SQL condition that
selects them, deleting them, and waiting until the broker serves a write in them.

A chunk is the unit of every write (`core.stores.druid_ingest.replace_sql`): Druid
switches a chunk's whole partition set at once, so a write is visible chunk by chunk.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.store import StoreError
from core.stores.druid_http import DruidClient, DruidQueryError, parameter
from core.stores.druid_sql import quote
from core.stores.druid_tasks import LOAD_TIMEOUT_SECONDS, POLL_SECONDS

ETERNITY = "1000-01-01T00:00:00.000Z/3000-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class Chunk:
    """One UTC month: the datasource's time chunk (segment granularity)."""

    start: date  # first day of the month, UTC

    @property
    def end(self) -> date:
        return (self.start.replace(day=28) + timedelta(days=4)).replace(day=1)

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def interval(self) -> str:
        return utc_interval(self.start, self.end)


def utc_interval(start: date, end: date) -> str:
    """Druid's interval from `start`'s midnight to `end`'s, UTC (the end excluded)."""
    return f"{start.isoformat()}T00:00:00.000Z/{end.isoformat()}T00:00:00.000Z"


def chunk_of(moment: datetime) -> Chunk:
    utc = moment.astimezone(UTC)
    return Chunk(date(utc.year, utc.month, 1))


def chunks_between(first: datetime, last: datetime) -> list[Chunk]:
    """Every chunk from `first`'s to `last`'s, inclusive."""
    chunks = [chunk_of(first)]
    stop = chunk_of(last)
    while chunks[-1].start < stop.start:
        chunks.append(Chunk(chunks[-1].end))
    return chunks


def chunks_of_ms(millis: Iterable[int]) -> set[Chunk]:
    return {chunk_of(datetime.fromtimestamp(m / 1000, tz=UTC)) for m in millis}


def timestamp_literal(value: date | datetime) -> str:
    """A SQL TIMESTAMP literal (UTC: ingestion queries run with sqlTimeZone UTC)."""
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}'"
    return f"TIMESTAMP '{value.isoformat()} 00:00:00'"


def chunk_condition(chunks: Iterable[Chunk]) -> str:
    """`__time` inside any of `chunks`, adjacent months merged into one range."""
    ranges: list[tuple[date, date]] = []
    for chunk in sorted(chunks, key=lambda c: c.start):
        if ranges and ranges[-1][1] == chunk.start:
            ranges[-1] = (ranges[-1][0], chunk.end)
        else:
            ranges.append((chunk.start, chunk.end))
    if not ranges:
        raise ValueError("no time chunk to write")
    parts = [
        f'("__time" >= {timestamp_literal(a)} AND "__time" < {timestamp_literal(b)})'
        for a, b in ranges
    ]
    return "(" + " OR ".join(parts) + ")"


def wait_queryable(
    client: DruidClient,
    datasource: str,
    chunks: list[Chunk],
    write_id: str,
    expected: dict[str, int],
    timeout: float = LOAD_TIMEOUT_SECONDS,
) -> None:
    """Wait until the broker answers from this write's segments in every chunk.

    A chunk is switched when each of its rows carries `write_id` and, if
    the write left rows there, there are some (a chunk the broker does not
    know yet reads as empty). Druid switches a chunk only once its whole new
    partition set is loaded, so this is exact, not a guess.
    """
    sql = (
        "SELECT TIME_FORMAT(TIME_FLOOR(\"__time\", 'P1M'), 'yyyy-MM') AS \"chunk\", "
        'COUNT(*) AS "rows", COUNT(*) FILTER (WHERE "write_id" = ?) AS "mine" '
        f"FROM {quote(datasource)} WHERE {chunk_condition(chunks)} GROUP BY 1"
    )
    started = time.monotonic()
    last = "no answer yet"
    while time.monotonic() - started < timeout:
        try:
            _, rows = client.sql(sql, [parameter(write_id)], {"sqlTimeZone": "UTC"})
        except DruidQueryError as exc:
            if not exc.unknown_table:
                raise
            last = "datasource not visible yet"
        else:
            seen = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
            pending = [
                c.key
                for c in chunks
                if seen.get(c.key, (0, 0))[0] != seen.get(c.key, (0, 0))[1]
                or (expected.get(c.key, 0) > 0 and seen.get(c.key, (0, 0))[1] == 0)
            ]
            if not pending:
                return
            last = f"waiting for months {', '.join(pending)}"
        time.sleep(POLL_SECONDS)
    raise StoreError(
        f"Druid accepted the write but its segments were not queryable after {timeout:.0f} s "
        f"({last})"
    )


def wait_empty(
    client: DruidClient, datasource: str, chunks: list[Chunk], timeout: float = LOAD_TIMEOUT_SECONDS
) -> None:
    """Wait until the broker no longer returns rows in `chunks` (after marking them unused)."""
    sql = f"SELECT COUNT(*) FROM {quote(datasource)} WHERE {chunk_condition(chunks)}"
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        _, rows = client.sql(sql, [], {"sqlTimeZone": "UTC"})
        if not rows or int(rows[0][0]) == 0:
            return
        time.sleep(POLL_SECONDS)
    raise StoreError(f"Druid still serves the deleted months after {timeout:.0f} s")


def mark_unused(client: DruidClient, datasource: str, chunks: list[Chunk]) -> None:
    """Delete whole chunks: mark their segments unused (one metadata update per range)."""
    first = min(c.start for c in chunks)
    last = max(c.end for c in chunks)
    client.request(
        "POST",
        f"/druid/coordinator/v1/datasources/{datasource}/markUnused",
        {"interval": utc_interval(first, last)},
        idempotent=False,
    )
