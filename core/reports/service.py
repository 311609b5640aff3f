"""Running reports and alert checks, once or on a schedule (`python -m core.reports serve`).

Each run has its own request id (`core.logs.request_context`), which its log
lines and its row in the sends table carry, so a failed send on the Reports
page can be found in the logs. Nothing a run meets (a store error, a mail
server that is down or refuses the login, a removed owner) leaves the run:
it is logged and recorded, and the scheduler goes on with the next.

The scheduler is APScheduler's: one cron trigger per subscription in the
business time zone, the alert checks on an interval, and a sync job that
picks up subscriptions added or removed by the CLI or the Reports page. Runs
missed while the process was down are found at start from each
subscription's last run and run once, not once per missed time; while it
runs, APScheduler coalesces late runs the same way (`coalesce`), within
`MISFIRE_GRACE`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.logs import request_context
from core.reports import alerts as alert_rules
from core.reports.book import AlertRule, Kind, ReportBook, Subscription
from core.reports.content import PAGES, build_report, report_message
from core.reports.mail import BACKOFF, MailError, send, smtp_config
from core.reports.schedules import missed_times
from core.settings import Settings
from core.store import SalesStore
from core.stores import open_store
from core.users import User, UserFile

log = logging.getLogger("core.reports")

# Alert rules are checked this often (minutes): a stale feed is noticed within the
# quarter hour after its deadline, and the store is asked a few small sums per rule.
ALERT_MINUTES = 15
# How often the scheduler rereads the subscriptions (seconds): a new one is scheduled
# within a minute of being saved.
SYNC_SECONDS = 60
# A run that could not start on time (the machine asleep, every worker busy) still
# runs up to this late (seconds); later than that it waits for its next time.
MISFIRE_GRACE = 3600
# Touched by every sync: docker-compose.yml's health check reads its age.
HEARTBEAT_FILE = "reports.heartbeat"
# Reports build in threads; two cores serve the pages too.
WORKERS = 2


@dataclass(frozen=True)
class RunResult:
    """What one run did: `sent`, `failed` (with the reason) or `skipped`."""

    status: str
    request_id: str
    detail: str = ""
    attempts: int = 0


class ReportService:
    """Runs reports and alert checks against one store, recording each in the book."""

    def __init__(
        self,
        settings: Settings,
        store: SalesStore | None = None,
        backoff: Sequence[float] = BACKOFF,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.book = ReportBook(settings.data_dir)
        self.users = UserFile(settings.auth_file)
        self._store = store
        self.backoff = tuple(backoff)
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def store(self) -> SalesStore:
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    def _now_local(self) -> datetime:
        return self.clock().astimezone(self.settings.tz)

    def _owner(self, username: str) -> User:
        user = self.users.get(username)
        if user is None:
            raise LookupError(f"the owner {username!r} is no longer a user")
        return user

    def _deliver(
        self, kind: Kind, ref: int, owner: str, message: EmailMessage, request_id: str
    ) -> RunResult:
        """Send `message`, recording the send (and a report's run) whatever happens."""
        recipient = str(message["To"])
        run_at = self.clock() if kind == "report" else None
        try:
            attempts = send(smtp_config(self.settings), message, self.backoff)
        except MailError as exc:
            log.error("send failed", extra={"reason": str(exc), "kind": kind, "ref": ref})
            self.book.record_delivery(
                kind, ref, owner, recipient, request_id, "failed", exc.attempts, str(exc), run_at
            )
            return RunResult("failed", request_id, str(exc), exc.attempts)
        log.info("sent", extra={"kind": kind, "ref": ref, "attempts": attempts})
        self.book.record_delivery(
            kind, ref, owner, recipient, request_id, "sent", attempts, run_at=run_at
        )
        return RunResult("sent", request_id, attempts=attempts)

    def report_message(self, subscription: Subscription) -> EmailMessage:
        """The e-mail `subscription` sends now, for its owner's role and branches."""
        owner = self._owner(subscription.owner)
        report = build_report(
            self.store,
            subscription.page,
            subscription.params,
            today=self._now_local().date(),
            allowed_branches=owner.branches,
        )
        return report_message(
            report, self.settings.public_url, self.settings.mail_from, subscription.email
        )

    def run_report(self, subscription_id: int) -> RunResult:
        """Build and send one subscription's report now; never raises."""
        subscription = self.book.subscription(subscription_id)
        owner = subscription.owner if subscription else None
        with request_context(page=f"report {subscription_id}", user=owner) as request_id:
            if subscription is None:
                log.info("report skipped: subscription removed", extra={"ref": subscription_id})
                return RunResult("skipped", request_id, "removed")
            log.info(
                "report run",
                extra={"ref": subscription_id, "report_page": subscription.page},
            )
            try:
                message = self.report_message(subscription)
            except Exception as exc:  # a store error, a removed owner: recorded, not raised
                log.exception("report failed", extra={"ref": subscription_id})
                reason = f"{type(exc).__name__}: {exc}"
                self.book.record_delivery(
                    "report",
                    subscription_id,
                    subscription.owner,
                    subscription.email,
                    request_id,
                    "failed",
                    0,
                    reason,
                    run_at=self.clock(),
                )
                return RunResult("failed", request_id, reason)
            return self._deliver("report", subscription_id, subscription.owner, message, request_id)

    def check_alert(self, rule: AlertRule) -> RunResult:
        """Check one rule; send when it has just entered a breach (or its send failed)."""
        now = self._now_local()
        with request_context(page=f"alert {rule.id}", user=rule.owner) as request_id:
            try:
                owner = self._owner(rule.owner)
                check = alert_rules.check_rule(
                    self.store, rule.kind, rule.params, now, owner.branches
                )
            except Exception as exc:
                log.exception("alert check failed", extra={"ref": rule.id})
                check = alert_rules.Check("error", f"{type(exc).__name__}: {exc}")
            log.info(
                "alert checked",
                extra={"ref": rule.id, "state": check.state, "detail": check.detail},
            )
            if check.state != "breach":
                # A rule that cannot be checked keeps its breach: an error is not a clearing.
                notified = rule.notified and check.state == "error"
                self.book.set_alert_state(rule.id, check.state, notified, check.detail, now)
                return RunResult(check.state, request_id, check.detail)
            if rule.notified:
                self.book.set_alert_state(rule.id, "breach", True, check.detail, now)
                return RunResult("breach", request_id, "already sent")
            message = alert_message(self.settings, rule, check)
            result = self._deliver("alert", rule.id, rule.owner, message, request_id)
            # A failed send stays unnotified: the next check tries again.
            self.book.set_alert_state(rule.id, "breach", result.status == "sent", check.detail, now)
            return result

    def check_alerts(self) -> list[tuple[AlertRule, RunResult]]:
        """Check every rule; never raises."""
        return [(rule, self.check_alert(rule)) for rule in self.book.alerts()]


def alert_message(settings: Settings, rule: AlertRule, check: alert_rules.Check) -> EmailMessage:
    """The alert's e-mail: what broke, the figures, and a link to the view that shows it."""
    path = PAGES[check.page].path
    query = urlencode(check.params or {}, doseq=True)
    link = f"{settings.public_url}/{path}" + (f"?{query}" if query else "")
    rule_text = alert_rules.KINDS[rule.kind].describe(rule.params)
    message = EmailMessage()
    message["Subject"] = f"Alert: {check.detail}"[:200]
    message["From"] = settings.mail_from
    message["To"] = rule.email
    text = (
        f"{check.detail}\n\nRule {rule.id}: {rule_text}.\nOpen the view: {link}\n\n"
        "You get this once per breach; the next one comes after the rule has cleared.\n"
    )
    message.set_content(text)
    message.add_alternative(
        f'<!DOCTYPE html><html><body style="font-family:Arial,Helvetica,sans-serif">'
        f'<h2 data-alert="{rule.id}">{html.escape(check.detail)}</h2>'
        f"<p>Rule {rule.id}: {html.escape(rule_text)}.</p>"
        f'<p><a href="{html.escape(link)}">Open the view in the dashboard</a></p>'
        '<p style="color:#555">You get this once per breach; the next one comes after the'
        " rule has cleared.</p></body></html>",
        subtype="html",
    )
    return message


def _job_id(subscription_id: int) -> str:
    return f"report-{subscription_id}"


def sync_jobs(scheduler: BaseScheduler, service: ReportService) -> None:
    """Schedule each subscription, unschedule removed ones; a subscription that missed
    times since its last run (or its creation) runs once now, however many it missed."""
    timezone = service.settings.timezone
    # A heartbeat for the compose health check: the scheduler is alive and syncing.
    heartbeat = service.settings.data_dir / HEARTBEAT_FILE
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    heartbeat.touch()
    wanted = {_job_id(s.id): s for s in service.book.subscriptions()}
    for job in scheduler.get_jobs():
        if job.id.startswith("report-") and job.id not in wanted:
            job.remove()
            log.info("report unscheduled", extra={"job": job.id})
    now = service.clock()
    for job_id, subscription in wanted.items():
        job = scheduler.get_job(job_id)
        schedule_text = str(subscription.schedule)
        if job is not None and job.name == schedule_text:
            continue
        if job is not None:
            job.remove()
        options: dict[str, Any] = {}
        since = subscription.last_run_at or subscription.created_at
        missed = missed_times(subscription.schedule, timezone, since, now)
        if missed:
            options["next_run_time"] = now
            log.info(
                "missed report runs coalesced into one",
                extra={"ref": subscription.id, "missed": missed, "since": since},
            )
        scheduler.add_job(
            service.run_report,
            subscription.schedule.trigger(timezone),
            args=[subscription.id],
            id=job_id,
            name=schedule_text,
            **options,
        )


def _log_job_error(event: JobExecutionEvent) -> None:
    log.error("scheduled job failed", extra={"job": event.job_id, "reason": str(event.exception)})


def build_scheduler(
    service: ReportService, scheduler: BaseScheduler | None = None
) -> BaseScheduler:
    """The scheduler with the sync and alert jobs; reports join at the first sync."""
    scheduler = scheduler or BlockingScheduler()
    scheduler.configure(
        timezone=service.settings.timezone,
        executors={"default": ThreadPoolExecutor(WORKERS)},
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE, "max_instances": 1},
    )
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
    scheduler.add_job(
        sync_jobs,
        IntervalTrigger(seconds=SYNC_SECONDS),
        args=[scheduler, service],
        id="sync",
        next_run_time=service.clock(),
    )
    scheduler.add_job(
        service.check_alerts,
        IntervalTrigger(minutes=ALERT_MINUTES),
        id="alerts",
        next_run_time=service.clock(),
    )
    return scheduler
