"""The scheduler: missed runs coalesced, each run logged with its request id, mail failures
recorded with a clear reason while the scheduler keeps running."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from core.logs import configure_logging
from core.reports.book import ReportBook
from core.reports.mail import MailError, send, smtp_config
from core.reports.schedules import missed_times, parse_schedule
from core.reports.service import ReportService, build_scheduler
from core.stores.embedded import EmbeddedStore
from tests.core.reports.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    Inbox,
    free_port,
    report_settings,
    start_smtp,
)

OCTOBER = {"start": ["2026-10-01"], "end": ["2026-10-31"]}
# Retries in tests wait milliseconds, not minutes.
FAST = (0.01, 0.02)


def wait_for(condition, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def subscribe(settings, schedule: str = "daily 07:00") -> int:  # type: ignore[no-untyped-def]
    book = ReportBook(settings.data_dir)
    return book.add_subscription(
        "admin", "manager@example.co.ke", "overview", OCTOBER, parse_schedule(schedule)
    ).id


def test_a_down_mail_server_is_retried_then_recorded_and_the_scheduler_goes_on(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here yet
    settings = report_settings(store_dir, tmp_path, f"smtp://127.0.0.1:{port}")
    subscription = subscribe(settings)
    service = ReportService(settings, store, backoff=FAST)
    scheduler = build_scheduler(service, BackgroundScheduler())
    scheduler.start()
    try:
        job = scheduler.add_job(service.run_report, args=[subscription], id="now")
        book = ReportBook(settings.data_dir)
        wait_for(lambda: book.deliveries(status="failed"))
        (failed,) = book.deliveries(status="failed")
        assert failed.error == (
            f"cannot reach the mail server smtp://127.0.0.1:{port}: connection refused"
            " (after 3 attempts)"
        )
        assert failed.attempts == 3 and failed.kind == "report" and failed.ref == subscription
        stored = book.subscription(subscription)
        assert stored is not None and stored.last_status == f"failed: {failed.error}"
        assert scheduler.running and scheduler.get_job("alerts") is not None
        # The server comes up: the same scheduler sends the next run.
        inbox = Inbox()
        controller = start_smtp(port, inbox)
        try:
            job = scheduler.add_job(service.run_report, args=[subscription], id="again")
            assert len(inbox.wait(1)) == 1
            wait_for(lambda: book.deliveries(status="sent"))
        finally:
            controller.stop()
        del job
    finally:
        scheduler.shutdown(wait=True)


# aiosmtpd warns that AUTH without TLS is unsafe: this server only lives on loopback.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_is_one_clear_error_without_the_password(
    store_dir: Path,
    store: EmbeddedStore,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, inbox = free_port(), Inbox()
    controller = start_smtp(port, inbox, auth=True)
    try:
        settings = report_settings(
            store_dir,
            tmp_path,
            f"smtp://127.0.0.1:{port}",
            SALES_SMTP_USER=SMTP_USER,
            SALES_SMTP_PASSWORD=SMTP_PASSWORD,
        )
        subscription = subscribe(settings)
        with caplog.at_level(logging.INFO):
            result = ReportService(settings, store, backoff=FAST).run_report(subscription)
    finally:
        controller.stop()
    assert result.status == "failed" and result.attempts == 1  # a refusal is not retried
    assert result.detail.startswith(f"smtp://127.0.0.1:{port} refused the login of 'reporter': 535")
    (failed,) = ReportBook(settings.data_dir).deliveries(status="failed")
    assert failed.error == result.detail and failed.request_id == result.request_id
    assert not inbox.messages
    logged = "\n".join(r.getMessage() + json.dumps(vars(r), default=str) for r in caplog.records)
    assert SMTP_PASSWORD not in logged and SMTP_PASSWORD not in result.detail


def test_credentials_in_the_url_are_used_and_never_shown(tmp_path: Path) -> None:
    from core.settings import load_settings

    settings = load_settings(
        {"SALES_SMTP_URL": "smtps://bot:s3cret@mail.example.co.ke?starttls=off"}
    )
    config = smtp_config(settings)
    assert (config.host, config.port, config.tls, config.user) == (
        "mail.example.co.ke",
        465,
        True,
        "bot",
    )
    assert config.password == "s3cret" and "s3cret" not in repr(config)
    assert "s3cret" not in config.address
    from core.diagnostics import settings_table

    shown = {row["setting"]: row["value"] for row in settings_table(settings)}
    assert (
        "s3cret" not in shown["SALES_SMTP_URL"] and "mail.example.co.ke" in shown["SALES_SMTP_URL"]
    )


def test_sending_without_a_mail_server_says_which_setting(tmp_path: Path) -> None:
    from core.settings import load_settings

    with pytest.raises(MailError, match="set SALES_SMTP_URL"):
        send(smtp_config(load_settings({})), None)  # type: ignore[arg-type]


def test_missed_runs_after_a_restart_run_once_with_a_logged_request_id(
    store_dir: Path,
    store: EmbeddedStore,
    tmp_path: Path,
    smtp: tuple[int, Inbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, inbox = smtp
    settings = report_settings(store_dir, tmp_path, f"smtp://127.0.0.1:{port}")
    now = datetime.now(UTC)
    local = (now - timedelta(hours=1)).astimezone(settings.tz)
    schedule = f"daily {local:%H:%M}"  # an hour ago today, and each day before
    subscription = subscribe(settings, schedule)
    book = ReportBook(settings.data_dir)
    # The last run was three days and half an hour ago: three times were missed since.
    book.mark_run(subscription, now - timedelta(days=3, minutes=30), "sent")
    since = book.subscription(subscription).last_run_at  # type: ignore[union-attr]
    assert missed_times(parse_schedule(schedule), settings.timezone, since, now) == 3
    service = ReportService(settings, store, backoff=FAST)
    scheduler = build_scheduler(service, BackgroundScheduler())
    logs = io.StringIO()
    configure_logging("INFO", stream=logs)  # the JSON lines `serve` writes
    with caplog.at_level(logging.INFO):
        scheduler.start()
        try:
            inbox.wait(1)
            wait_for(lambda: book.deliveries(status="sent"))
            time.sleep(1.5)  # a second run, if one were coming, would be here by now
            job = scheduler.get_job(f"report-{subscription}")
            next_run = job.next_run_time
        finally:
            scheduler.shutdown(wait=True)
            configure_logging("INFO")
    assert len(inbox.messages) == 1
    assert next_run > now and next_run - now < timedelta(days=1)  # the next daily time
    coalesced = [
        r for r in caplog.records if r.getMessage() == "missed report runs coalesced into one"
    ]
    assert [r.missed for r in coalesced] == [3]  # type: ignore[attr-defined]
    (sent,) = book.deliveries(status="sent")
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    run = [line for line in lines if line["request_id"] == sent.request_id]
    assert {line["message"] for line in run} >= {"report run", "sent"}
    assert {line["page"] for line in run} == {f"report {subscription}"}
