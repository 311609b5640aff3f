"""`python -m core export AREA [--start D] [--end D | --period P] [--branch B ...] ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from core.exports import AREAS, area_table, to_csv_bytes, to_json_text
from core.filters import COMPARES, MEMBER_COLUMNS, from_query_params, member_matcher
from core.kpi.view import resolve_view
from core.presets import PERIODS, business_today
from core.settings import SettingsError, load_settings
from core.store import GRAINS, SalesStore, Scope, StoreError
from core.stores import open_store

# Known values a bad member's message lists before "...": enough to spot a typo.
SHOWN_MEMBERS = 8


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line reason on bad input (not the usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see python -m core export --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    export = commands.add_parser("export", help="write one area's table")
    export.add_argument("area", choices=tuple(AREAS))
    export.add_argument("--start", help="first day, YYYY-MM-DD (default: first day with data)")
    export.add_argument("--end", help="last day, YYYY-MM-DD (default: last day with data)")
    export.add_argument(
        "--period",
        choices=tuple(PERIODS),
        help="a range relative to today in SALES_TIMEZONE, instead of --start/--end "
        "(a scheduled report of last month stays last month's)",
    )
    export.add_argument("--branch", action="append", default=[])
    export.add_argument("--line", action="append", default=[])
    export.add_argument("--product", action="append", default=[])
    export.add_argument("--rep", action="append", default=[])
    export.add_argument("--grain", choices=GRAINS, default="month")
    export.add_argument("--compare", choices=COMPARES, default="previous")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    return parser


def stored_members(
    store: SalesStore, params: dict[str, list[str]]
) -> tuple[dict[str, list[str]], str | None]:
    """The member options as the store spells them, matched as a shared link's are
    (`core.filters.member_matcher`: `--branch mombasa` is Mombasa), and why one names
    nothing in the store (a typo in a scheduled report would otherwise export an empty
    table and succeed), or None."""
    resolved: dict[str, list[str]] = {}
    for param, column in MEMBER_COLUMNS.items():
        wanted = [v.strip() for v in params.get(param, []) if v.strip()]
        if not wanted:
            continue
        known = store.distinct_values(column, Scope())
        match = member_matcher(known)
        matched = [(value, match(value)) for value in wanted]
        unknown = [repr(value[:60]) for value, member in matched if member is None]
        if unknown:
            shown = ", ".join(known[:SHOWN_MEMBERS]) + (
                ", ..." if len(known) > SHOWN_MEMBERS else ""
            )
            named = ", ".join(unknown[:3]) + (
                f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            )
            verb = "is" if len(unknown) == 1 else "are"
            return resolved, f"--{param} {named} {verb} not in the store" + (
                f" (it has {shown})" if known else " (it holds no sales yet)"
            )
        resolved[param] = [member for _, member in matched if member is not None]
    return resolved, None


def export(args: argparse.Namespace) -> int:
    members = {"branch": args.branch, "line": args.line, "product": args.product, "rep": args.rep}
    params: dict[str, str | list[str]] = {"grain": args.grain, "compare": args.compare, **members}
    if args.start:
        params["start"] = args.start
    if args.end:
        params["end"] = args.end
    if args.period:
        if args.start or args.end:
            print("error: --period sets the dates: give it or --start/--end", file=sys.stderr)
            return 2
        params["period"] = args.period
    settings = load_settings()
    today = business_today(settings.timezone)
    parsed = from_query_params(params, today=today)
    if parsed.notices:
        print(f"error: {parsed.notices[0]}", file=sys.stderr)
        return 2
    store = open_store(settings)
    spelled, reason = stored_members(store, members)
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    parsed = from_query_params({**params, **spelled}, today=today)
    view = resolve_view(store, parsed.filters)
    table = area_table(args.area, store, view)
    data = to_json_text(table).encode("utf-8") if args.format == "json" else to_csv_bytes(table)
    if args.out:
        args.out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        if args.format == "json":
            sys.stdout.buffer.write(b"\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return export(args)
    except (SettingsError, StoreError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
