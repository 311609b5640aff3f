"""`python -m core.reports`: scheduled e-mail reports and alerts from the command line.

    python -m core.reports list
    python -m core.reports add OWNER EMAIL VIEW --schedule "daily 07:00" [--page PAGE]
        VIEW: a shared link (https://host/branches?period=yesterday&branch=Mombasa),
        or a query string with --page
    python -m core.reports add-alert OWNER EMAIL KIND [--branch B] [--line L] [--by HH:MM]
        [--below FRACTION] [--days N] [--weeks N] [--baseline NAME]
        KIND: stale-feed, gross-margin or net-sales
    python -m core.reports remove ID | remove-alert ID
    python -m core.reports run ID          (send a report now)
    python -m core.reports check           (check every alert rule now)
    python -m core.reports serve           (the scheduler; runs until stopped)

Exit status 0 on success; 2 with a one-line reason on bad input; 1 when a send failed.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from typing import NoReturn

from core.logs import configure_logging
from core.reports import manage
from core.reports.alerts import BASELINES, KINDS
from core.reports.book import ReportBook
from core.reports.content import PAGES
from core.reports.service import ReportService, build_scheduler
from core.settings import SettingsError, load_settings
from core.store import StoreError
from core.stores import open_store
from core.users import User

# The command line acts as an admin: whoever runs it can read the data directory.
CLI_USER = User("cli", "command line", "admin", None)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see python -m core.reports --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core.reports", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="subscriptions, alert rules and recent failed sends")
    add = commands.add_parser("add", help="subscribe a user to a page's view")
    add.add_argument("owner", help="the user whose role and branches the numbers follow")
    add.add_argument("email")
    add.add_argument("view", help="a shared link, or its query string with --page")
    add.add_argument("--page", choices=tuple(PAGES))
    add.add_argument(
        "--schedule", required=True, help="'daily 07:00', 'weekly mon 07:00', 'monthly 1 07:00'"
    )
    alert = commands.add_parser("add-alert", help="add an alert rule")
    alert.add_argument("owner")
    alert.add_argument("email")
    alert.add_argument("kind", choices=tuple(KINDS))
    alert.add_argument("--branch")
    alert.add_argument("--line", help="product line (gross-margin)")
    alert.add_argument("--by", help="time of day, HH:MM (stale-feed)")
    alert.add_argument("--below", help="a fraction: 0.7 is 70%%")
    alert.add_argument("--days", help="days the margin is taken over (gross-margin, default 7)")
    alert.add_argument("--weeks", help="weeks of the weekday average (net-sales, default 4)")
    alert.add_argument("--baseline", choices=tuple(BASELINES))
    for name in ("remove", "remove-alert", "run"):
        command = commands.add_parser(name)
        command.add_argument("id", type=int)
    commands.add_parser("check", help="check every alert rule now")
    commands.add_parser("serve", help="run the scheduler until stopped")
    return parser


def _list(book: ReportBook) -> None:
    for s in book.subscriptions():
        last = f"{s.last_run_at:%Y-%m-%d %H:%M} UTC {s.last_status}" if s.last_run_at else "never"
        query = "&".join(f"{k}={v}" for k, vs in s.params.items() for v in vs)
        print(f"report {s.id}\t{s.owner}\t{s.email}\t{s.page}?{query}\t{s.schedule}\tlast: {last}")
    for a in book.alerts():
        rule = KINDS[a.kind].describe(a.params) if a.kind in KINDS else a.kind
        print(f"alert {a.id}\t{a.owner}\t{a.email}\t{rule}\t{a.state}\t{a.detail or ''}")
    for d in book.deliveries(status="failed", limit=10):
        print(f"failed {d.kind} {d.ref}\t{d.at:%Y-%m-%d %H:%M} UTC\t{d.request_id}\t{d.error}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command in ("run", "check", "serve"):  # sends: JSON log lines with request ids
            configure_logging(settings.log_level)
        book = ReportBook(settings.data_dir)
        if args.command == "list":
            _list(book)
        elif args.command == "add":
            page, params = manage.parse_view(args.view, args.page)
            added = manage.add_subscription(
                settings,
                open_store(settings),
                CLI_USER,
                args.owner,
                args.email,
                page,
                params,
                args.schedule,
            )
            print(f"report {added.id}: {added.page} to {added.email}, {added.schedule}")
        elif args.command == "add-alert":
            names = ("branch", "line", "by", "below", "days", "weeks", "baseline")
            params = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
            rule = manage.add_alert(
                settings, open_store(settings), CLI_USER, args.owner, args.email, args.kind, params
            )
            print(f"alert {rule.id}: {KINDS[rule.kind].describe(rule.params)}, to {rule.email}")
        elif args.command in ("remove", "remove-alert"):
            what = "report" if args.command == "remove" else "alert"
            manage.remove(settings, CLI_USER, what, args.id)
            print(f"removed {what} {args.id}")
        elif args.command == "run":
            if book.subscription(args.id) is None:
                raise manage.ManageError(f"no report {args.id}")
            result = ReportService(settings).run_report(args.id)
            print(f"report {args.id}: {result.status} (request {result.request_id})")
            if result.status != "sent":
                print(f"error: {result.detail}", file=sys.stderr)
                return 1
        elif args.command == "check":
            failed = False
            for rule, result in ReportService(settings).check_alerts():
                print(f"alert {rule.id}: {result.status} {result.detail}")
                failed = failed or result.status == "failed"
            return 1 if failed else 0
        elif args.command == "serve":
            scheduler = build_scheduler(ReportService(settings))
            # `docker compose stop` sends SIGTERM: start nothing new and exit.
            signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
            with contextlib.suppress(KeyboardInterrupt):
                scheduler.start()
    except (manage.ManageError, SettingsError, StoreError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
