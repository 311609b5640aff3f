"""`python -m core.forecast [forecast|anomalies|backtest] [options]`.

- `forecast` (the default): the `forecast` export area (`python -m core export
  forecast`), for the same filters; `--months N` keeps the first N months after
  the current one.
- `anomalies`: the branch-days outside their one-step 95% interval.
- `backtest`: the rolling-origin backtest of the store's sales and of the
  AirPassengers series, as a Markdown table (docs/forecast.md).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

import polars as pl

from core.export_query import FORMATS, BadExportRequest, export_table, rendered, stored_members
from core.filters import MEMBER_COLUMNS, from_query_params
from core.forecast import backtest
from core.forecast.anomalies import anomalies
from core.forecast.projection import MAX_MONTHS, MONTHS, add_months
from core.kpi.view import View, resolve_view
from core.presets import PERIODS, business_today
from core.settings import SettingsError, load_settings
from core.store import SalesStore, StoreError
from core.stores import open_store

COMMANDS = ("forecast", "anomalies", "backtest")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line reason on bad input (not the usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see python -m core.forecast --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core.forecast", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=COMMANDS, default="forecast")
    parser.add_argument("--start", help="first day of the view, YYYY-MM-DD")
    parser.add_argument("--end", help="last day learnt from, YYYY-MM-DD (default: the data's)")
    parser.add_argument("--period", choices=tuple(PERIODS), help="a named range instead")
    parser.add_argument("--branch", action="append", default=[])
    parser.add_argument("--line", action="append", default=[])
    parser.add_argument("--product", action="append", default=[])
    parser.add_argument("--rep", action="append", default=[])
    parser.add_argument(
        "--grain", choices=("day", "month"), default="month", help="daily rows or month totals"
    )
    parser.add_argument("--months", type=int, default=MONTHS, help=f"1-{MAX_MONTHS}")
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument("--out", type=Path, help="file to write (default: standard output)")
    return parser


def _params(args: argparse.Namespace) -> dict[str, str | list[str]]:
    members = {"branch": args.branch, "line": args.line, "product": args.product, "rep": args.rep}
    params: dict[str, str | list[str]] = {"grain": args.grain, "compare": "none", **members}
    for name in ("start", "end", "period"):
        if getattr(args, name):
            params[name] = getattr(args, name)
    return params


def _write(data: bytes, out: Path | None) -> None:
    if out:
        out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


def _forecast(args: argparse.Namespace, table: pl.DataFrame) -> pl.DataFrame:
    if not table.is_empty():
        first = table["period"].min()
        assert first is not None
        table = table.filter(pl.col("period") < add_months(first, args.months + 1))  # type: ignore[arg-type]
    return table


def _view(store: SalesStore, params: dict[str, str | list[str]], today: date) -> View:
    """The view of the parameters, refused as `export_table` refuses them."""
    parsed = from_query_params(params, today=today)
    if parsed.notices:
        raise BadExportRequest(parsed.notices[0])
    lists = {k: [v] if isinstance(v, str) else list(v) for k, v in params.items()}
    spelled, reason = stored_members(store, {p: lists.get(p, []) for p in MEMBER_COLUMNS})
    if reason:
        raise BadExportRequest(reason)
    return resolve_view(store, from_query_params({**params, **spelled}, today=today).filters)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 1 <= args.months <= MAX_MONTHS:
        print(f"error: --months must be 1 to {MAX_MONTHS}", file=sys.stderr)
        return 2
    if args.period and (args.start or args.end):
        print("error: --period sets the dates: give it or --start/--end", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        store = open_store(settings)
        if args.command == "backtest":
            results = backtest.backtest_store(store) + backtest.backtest_air_passengers()
            months = backtest.month_totals(backtest.store_series(store), "store")
            text = backtest.markdown(results) + "\n" + backtest.month_markdown(months)
            _write(text.encode(), args.out)
            return 0
        today = business_today(settings.timezone)
        params = _params(args)
        if args.command == "forecast":
            table = _forecast(args, export_table(store, "forecast", params, today=today))
        else:
            table = anomalies(store, _view(store, params, today), today=today)
    except BadExportRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SettingsError, StoreError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _write(rendered(table, args.format) + (b"\n" if args.format == "json" else b""), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
