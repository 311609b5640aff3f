"""`python -m core export AREA [--start D] [--end D | --period P] [--branch B ...] ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from core.export_query import FORMATS, BadExportRequest, export_table, rendered
from core.exports import AREAS
from core.filters import COMPARES
from core.presets import PERIODS, business_today
from core.settings import SettingsError, load_settings
from core.store import GRAINS, StoreError
from core.stores import open_store
from core.users import UserFile


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
    export.add_argument("--format", choices=FORMATS, default="csv")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument(
        "--user",
        help="compute as this user of SALES_AUTH_FILE: only the branches it may see "
        "(as its scheduled reports and its API token do)",
    )
    return parser


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
    allowed: tuple[str, ...] | None = None
    if args.user:
        user = UserFile(settings.auth_file).get(args.user)
        if user is None:
            print(f"error: --user {args.user[:40]!r} is not a user", file=sys.stderr)
            return 2
        allowed = user.branches
    store = open_store(settings)
    try:
        table = export_table(store, args.area, params, today=today, allowed_branches=allowed)
    except BadExportRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = rendered(table, args.format)
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
