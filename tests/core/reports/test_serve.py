"""`python -m core.reports serve` as the compose service runs it: a real process."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.reports.book import ReportBook
from core.reports.schedules import parse_schedule
from tests.conftest import ROOT, app_env
from tests.core.reports.conftest import SMTP_USER, Inbox, free_port, start_smtp


# aiosmtpd warns that AUTH without TLS is unsafe: this server only lives on loopback.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_serve_catches_up_records_a_refused_login_keeps_running_and_stops_on_sigterm(
    store_dir: Path, tmp_path: Path
) -> None:
    port, inbox = free_port(), Inbox()
    controller = start_smtp(port, inbox, auth=True)
    book_dir = tmp_path / "data"
    book_dir.mkdir()
    (book_dir / "sales").symlink_to(store_dir / "sales")
    book = ReportBook(book_dir)
    subscription = book.add_subscription(
        "admin",
        "m@example.co.ke",
        "overview",
        {"period": ["yesterday"]},
        parse_schedule("daily 06:00"),
    )
    book.mark_run(subscription.id, datetime.now(UTC) - timedelta(days=2, hours=1), "sent")
    env = {
        **app_env(book_dir),
        "SALES_AUTH_FILE": str(store_dir / "users.yaml"),
        "SALES_SMTP_URL": f"smtp://127.0.0.1:{port}",
        "SALES_SMTP_USER": SMTP_USER,
        "SALES_SMTP_PASSWORD": "wrong-password-9",
    }
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.reports", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while not book.deliveries(status="failed"):
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        (failed,) = book.deliveries(status="failed")
        assert "refused the login of 'reporter'" in (failed.error or "")
        time.sleep(1)
        assert process.poll() is None  # the scheduler goes on
        assert (book_dir / "reports.heartbeat").exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        controller.stop()
    text = log.read_text()
    assert "wrong-password-9" not in text
    assert failed.request_id in text and '"missed report runs coalesced into one"' in text
