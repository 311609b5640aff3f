"""One area's export table for a set of link parameters: the CLI export and the HTTP API.

The parameters are a shareable link's (`core.filters`); a bad one is refused
with a one-line reason (`BadExportRequest`) instead of being dropped, as a
script or another system that asked for a member the store does not hold
must not get an empty table that looks like an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

import polars as pl

from core.exports import AREAS, PIPELINE_AREA_NAMES, area_table, to_csv_bytes, to_json_text
from core.filters import MEMBER_COLUMNS, from_query_params, member_matcher
from core.kpi.view import resolve_view
from core.pipeline_store import PipelineStore
from core.store import SalesStore, Scope
from core.stores.pipeline import pipeline_of

# Known values a bad member's message lists before "...": enough to spot a typo.
SHOWN_MEMBERS = 8
Format = Literal["csv", "json"]
FORMATS: tuple[Format, ...] = ("csv", "json")


class BadExportRequest(ValueError):
    """A parameter names nothing usable; the message is the one-line reason."""


class UnknownArea(BadExportRequest):
    """The area is not one of `core.exports.AREAS`."""


def stored_members(
    store: SalesStore | PipelineStore,
    params: Mapping[str, list[str]],
    allowed_branches: tuple[str, ...] | None = None,
    option: str = "--",
) -> tuple[dict[str, list[str]], str | None]:
    """The member parameters as the store spells them, and why one names nothing, or None.

    Members match as a shared link's do (`core.filters.member_matcher`: `mombasa`
    is Mombasa), among those the user kept to `allowed_branches` may see; the
    reason starts with the parameter as `option` spells it (`--branch` on the
    command line) and lists only members the user may see.
    """
    resolved: dict[str, list[str]] = {}
    visible = Scope(allowed_branches=allowed_branches)
    for param, column in MEMBER_COLUMNS.items():
        wanted = [v.strip() for v in params.get(param, []) if v.strip()]
        if not wanted:
            continue
        known = store.distinct_values(column, visible)
        match = member_matcher(known)
        matched = [(value, match(value)) for value in wanted]
        unknown = [value for value, member in matched if member is None]
        if unknown:
            return resolved, _not_stored(option + param, unknown, known, allowed_branches)
        resolved[param] = [member for _, member in matched if member is not None]
    return resolved, None


def _not_stored(
    name: str, unknown: list[str], known: list[str], allowed: tuple[str, ...] | None
) -> str:
    shown = ", ".join(known[:SHOWN_MEMBERS]) + (", ..." if len(known) > SHOWN_MEMBERS else "")
    named = ", ".join(repr(v[:60]) for v in unknown[:3]) + (
        f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    )
    verb = "is" if len(unknown) == 1 else "are"
    # A restricted user is not told whether a member exists in a branch it may not see.
    where = "in the store" if allowed is None else "in the branches this user may see"
    return f"{name} {named} {verb} not {where}" + (
        f" (it has {shown})" if known else " (it holds no sales yet)"
    )


def export_table(
    store: SalesStore,
    area: str,
    params: Mapping[str, str | list[str]],
    *,
    today: date,
    allowed_branches: tuple[str, ...] | None = None,
    option: str = "--",
) -> pl.DataFrame:
    """The table `python -m core export AREA` writes for these link parameters.

    Parameters
    ----------
    store
        The store to read.
    area
        One of `core.exports.AREAS`.
    params
        `start`, `end`, `period`, `grain`, `compare` and repeatable `branch`,
        `line`, `product`, `rep`, as in a shareable link.
    today
        The business day a `period` is read on.
    allowed_branches
        The user's branch restriction (None: every branch), applied whatever
        the parameters ask.
    option
        How reasons spell a parameter's name ("--" for the command line).

    Raises
    ------
    UnknownArea
        `area` is not an export area.
    BadExportRequest
        A parameter is malformed, unknown, or names a member the user cannot see.
    """
    if area not in AREAS:
        raise UnknownArea(f"unknown area {area[:40]!r}: expected one of {', '.join(AREAS)}")
    parsed = from_query_params(params, today=today)
    if parsed.notices:
        raise BadExportRequest(parsed.notices[0])
    lists = {k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}
    members = {param: lists.get(param, []) for param in MEMBER_COLUMNS}
    # A pipeline area's members and open date ends are the deals', not the sales lines'.
    asked = pipeline_of(store) if area in PIPELINE_AREA_NAMES else store
    spelled, reason = stored_members(asked, members, allowed_branches, option)
    if reason:
        raise BadExportRequest(reason)
    filters = from_query_params({**params, **spelled}, today=today).filters
    view = resolve_view(asked, filters, allowed_branches)
    return area_table(area, store, view)


def rendered(table: pl.DataFrame, format: Format) -> bytes:
    """The export's bytes: JSON records or CSV, money to the cent (`core.exports`)."""
    return to_json_text(table).encode("utf-8") if format == "json" else to_csv_bytes(table)
