"""Local wall-clock time and UTC instants, fast when the zone's offset does not change.

Polars converts named time zones value by value (0.7-1 s per 10M lines);
Africa/Nairobi has kept UTC+3 since 1942, so over the span of a file the
conversion is almost always one subtraction. Where the offset does change
in the span (a zone with summer time, or dates from the 1930s) the named
zone's own rules are used.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

# A conversion's span is checked hour by hour: every real change of offset lasts
# far longer than an hour. Spans outside these years take the named zone's rules.
_FIRST_YEAR, _LAST_YEAR = 1900, 2200


def steady_offset(timezone: str, first: datetime, last: datetime) -> timedelta | None:
    """The zone's UTC offset if it is the same throughout [first, last], else None.

    `first` and `last` may be naive (either local or UTC: a day of margin covers both).
    """
    first, last = first.replace(tzinfo=None), last.replace(tzinfo=None)
    if first.year < _FIRST_YEAR or last.year > _LAST_YEAR:
        return None
    grid = pl.datetime_range(
        first - timedelta(days=1), last + timedelta(days=1), "1h", time_zone="UTC", eager=True
    ).dt.convert_time_zone(timezone)
    offsets = (grid.dt.base_utc_offset() + grid.dt.dst_offset()).unique()
    return offsets.item() if len(offsets) == 1 else None


def _steady_offset_of(values: pl.Series, timezone: str) -> timedelta | None:
    """`steady_offset` over the span of `values` (None when they are all null)."""
    first, last = values.min(), values.max()
    return steady_offset(timezone, first, last) if first is not None else None  # type: ignore[arg-type]


def local_to_utc(local: pl.Series, timezone: str) -> pl.Series:
    """Naive wall-clock times in `timezone` as UTC instants.

    A time the zone skips, or repeats, at a change of its clocks is null: which
    instant it meant cannot be known.
    """
    offset = _steady_offset_of(local, timezone)
    if offset is None:
        return local.dt.replace_time_zone(
            timezone, non_existent="null", ambiguous="null"
        ).dt.convert_time_zone("UTC")
    return (local - offset).dt.replace_time_zone("UTC")


def local_dates(instants: pl.Series, timezone: str) -> pl.Series:
    """The calendar day in `timezone` of each UTC instant."""
    offset = _steady_offset_of(instants, timezone)
    if offset is None:
        return instants.dt.convert_time_zone(timezone).dt.date()
    return (instants.dt.replace_time_zone(None) + offset).dt.date()
