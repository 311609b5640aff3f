"""The Reports page in real Chromium: an admin subscribes a view and its run arrives by a
real SMTP server; a viewer sees only their own; alert rules show their last state."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.signin import IDLE, LOAD_MS, expect_settled_heading, sign_in
from core.reports import manage
from core.reports.book import ReportBook
from core.reports.schedules import parse_schedule
from core.reports.service import ReportService
from core.settings import Settings, load_settings
from core.stores.embedded import EmbeddedStore
from core.users import UserFile
from tests.conftest import ADMIN, ROOT, VIEWER, app_env, own_data_dir, serve_app
from tests.core.reports.conftest import Inbox, free_port

pytestmark = [pytest.mark.browser, pytest.mark.anonymous]
# Enough lines for every branch to sell on most days of October 2026, built in a second.
LINES = 20_000
NAIROBI = ZoneInfo("Africa/Nairobi")
OCTOBER = "start=2026-10-01&end=2026-10-31"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on a free loopback port, for the whole module."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture(scope="module")
def mail_env(smtp: tuple[int, Inbox]) -> dict[str, str]:
    return {
        "SALES_SMTP_URL": f"smtp://127.0.0.1:{smtp[0]}",
        "SALES_PUBLIC_URL": "https://sales.example.co.ke",
        "SALES_MAIL_FROM": "reports@example.co.ke",
    }


@pytest.fixture(scope="module")
def reports_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store of its own and the test users: the tests write reports to it."""
    return own_data_dir(tmp_path_factory, "reports-page", LINES, seed=11)


@pytest.fixture(scope="module")
def reports_url(
    reports_data_dir: Path, tmp_path_factory: pytest.TempPathFactory, mail_env: dict[str, str]
) -> Iterator[str]:
    yield from serve_app(reports_data_dir, tmp_path_factory, env=mail_env)


def settings_of(data_dir: Path, mail_env: dict[str, str]) -> Settings:
    """The settings the app runs with: its data directory, users and mail server."""
    return load_settings({**app_env(data_dir), **mail_env})


# A column only each table of the page has: its scheduled reports, alert rules, failed sends.
TABLES = {"subscriptions": "schedule", "alerts": "rule", "failed_sends": "attempts"}


def grid(page: Page, table: str) -> Locator:
    """The `st.dataframe` of `table`; its cells are in the grid's accessible table."""
    column = page.locator("thead th").filter(has_text=re.compile(f"^{TABLES[table]}$"))
    frame = page.get_by_test_id("stDataFrame").filter(has=column)
    expect(frame).to_be_visible(timeout=LOAD_MS)
    return frame


# The grid's accessible table as (headers, rows) by aria index: {column: text}, and
# {row: {column: text}}. It holds only the columns scrolled into sight.
READ_TABLE = """table => {
    const text = e => e.textContent.trim();
    const headers = Object.fromEntries([...table.querySelectorAll('thead th')]
        .map(th => [th.getAttribute('aria-colindex'), text(th)]));
    const rows = Object.fromEntries([...table.querySelectorAll('tbody tr')]
        .map(tr => [tr.getAttribute('aria-rowindex'), Object.fromEntries(
            [...tr.querySelectorAll('td')].map(td => [td.getAttribute('aria-colindex'), text(td)])
        )]));
    return [headers, rows];
}"""


def grid_rows(frame: Locator) -> list[dict[str, str]]:
    """Each row of a small `st.dataframe` as {column header: text shown}.

    Glide draws only the columns in sight: a wide table is read scrolled to the left,
    then to the right, as a person would scroll it.
    """
    headers: dict[str, str] = {}
    rows: dict[str, dict[str, str]] = {}
    table = frame.locator("table[role=grid]")
    last = table.get_attribute("aria-colcount")
    for left, edge in (("0", "1"), ("e.scrollWidth", last)):
        frame.locator(".dvn-scroller").evaluate(f"e => {{ e.scrollLeft = {left}; }}")
        deadline = time.monotonic() + 5  # the accessible table follows the scroll a frame later
        while True:
            seen_headers, seen_rows = table.evaluate(READ_TABLE)
            if edge in seen_headers or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        headers |= seen_headers
        for index, cells in seen_rows.items():
            rows[index] = rows.get(index, {}) | cells
    assert all(set(cells) == set(headers) for cells in rows.values()), (headers, rows)
    return [
        {headers[c]: cells[c] for c in sorted(cells, key=int)}
        for _, cells in sorted(rows.items(), key=lambda item: int(item[0]))
    ]


def expect_listed(page: Page, table: str, text: str) -> None:
    """Wait until a row of `table` shows `text`: what a person sees once a save is done."""
    row = grid(page, table).locator("tbody tr").filter(has_text=text)
    expect(row).to_have_count(1, timeout=LOAD_MS)
    page.wait_for_function(IDLE, timeout=LOAD_MS)


def open_reports(page: Page, url: str, who: tuple[str, str]) -> None:
    sign_in(page, f"{url}/reports", who)
    expect_settled_heading(page, "Reports")
    page.wait_for_function(IDLE, timeout=LOAD_MS)


def reload_reports(page: Page) -> None:
    page.reload()
    expect_settled_heading(page, "Reports")
    page.wait_for_function(IDLE, timeout=LOAD_MS)


def form_of(page: Page, button: str) -> Locator:
    """The form whose submit button is `button`.

    Found by test ids, not roles: while a selectbox's list is open, the rest of the
    page is hidden from the accessibility tree.
    """
    submit = page.get_by_test_id("stFormSubmitButton").filter(has_text=button)
    return page.get_by_test_id("stForm").filter(has=submit)


def selectbox(page: Page, scope: Locator, label: str) -> Locator:
    """The selectbox labelled `label` inside `scope`."""
    name = page.get_by_test_id("stWidgetLabel").filter(has_text=re.compile(f"^{re.escape(label)}$"))
    return scope.get_by_test_id("stSelectbox").filter(has=name)


def open_list(page: Page, scope: Locator, label: str) -> Locator:
    """Open the selectbox labelled `label` inside `scope`, and keep it open; its options.

    Leaving a text input of a form draws the form again, which closes a list opened in
    the same moment: the input is left first, and a list that closed is opened again.
    """
    box = selectbox(page, scope, label)
    # At the foot of the window its list would open below it, out of sight: centre it.
    box.evaluate("box => box.scrollIntoView({block: 'center'})")
    page.evaluate("() => document.activeElement?.blur()")
    options = page.get_by_role("option")
    for _ in range(5):  # a redraw closes it once at most; a few more tries are headroom
        box.click()
        try:
            options.first.wait_for(timeout=2_000)  # a list opens in a frame when it opens
            page.wait_for_timeout(300)  # a redraw that closes it comes within a frame or two
            if options.count():
                return options
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the list of {label!r} does not stay open")


def pick(page: Page, scope: Locator, label: str, option: str) -> None:
    """Choose `option` in the selectbox labelled `label` inside `scope`."""
    open_list(page, scope, label).filter(has_text=re.compile(f"^{re.escape(option)}$")).click()
    expect(selectbox(page, scope, label).locator("input")).to_have_value(option)


def test_an_admin_subscribes_a_view_and_its_run_arrives(
    page: Page,
    reports_url: str,
    reports_data_dir: Path,
    smtp: tuple[int, Inbox],
    mail_env: dict[str, str],
) -> None:
    _, inbox = smtp
    open_reports(page, reports_url, ADMIN)
    expect(page.get_by_text("No mail server is set")).to_have_count(0)

    page.get_by_text("Subscribe to a report").click()
    form = form_of(page, "Subscribe")
    form.get_by_label("Send to (e-mail address)").fill("mombasa.manager@example.co.ke")
    # A link from *Share this view*: its page (Branches) and filters.
    form.get_by_role("textbox", name=re.compile(r"^View: a link from")).fill(
        f"{reports_url}/branches?{OCTOBER}&branch=Mombasa"
    )
    form.get_by_role("radio", name="weekly").click()
    pick(page, form, "Weekday (weekly)", "fri")
    form.get_by_role("button", name="Subscribe").click()
    expect_listed(page, "subscriptions", "mombasa.manager@example.co.ke")

    (row,) = [r for r in grid_rows(grid(page, "subscriptions")) if r["to"].startswith("mombasa.")]
    assert row == {
        "id": row["id"],
        "owner": "admin",
        "to": "mombasa.manager@example.co.ke",
        "page": "Branches",
        "view": "start=2026-10-01&end=2026-10-31&branch=Mombasa",
        "schedule": "weekly fri 07:00",
        "last run": "never",
        "last status": "-",
    }
    saved = f"Report {row['id']} saved: Branches, weekly fri 07:00."
    expect(page.get_by_text(saved, exact=True)).to_be_visible()  # said once the page is redrawn
    (stored,) = [
        s for s in ReportBook(reports_data_dir).subscriptions("admin") if s.id == int(row["id"])
    ]
    assert stored.email == "mombasa.manager@example.co.ke" and stored.page == "branches"

    # The page has no "send now": an admin sends it with the command line, in its own process.
    sent = subprocess.run(
        [sys.executable, "-m", "core.reports", "run", row["id"]],
        cwd=ROOT,
        env={**app_env(reports_data_dir), **mail_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith(f"report {row['id']}: sent")
    (message,) = [m for m in inbox.wait(1) if m["To"] == "mombasa.manager@example.co.ke"]
    assert message["Subject"].startswith("Branches, 2026-10-01 to 2026-10-31: net sales KES ")
    html = message.get_body(("html",))
    assert html is not None
    assert (
        "https://sales.example.co.ke/branches?" in html.get_content()
        and "branch=Mombasa" in html.get_content()
    )

    reload_reports(page)
    (row,) = [r for r in grid_rows(grid(page, "subscriptions")) if r["id"] == row["id"]]
    assert row["last status"] == "sent"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row["last run"]), row["last run"]
    expect(page.get_by_text("No failed sends.")).to_be_visible()


def test_a_viewer_sees_and_adds_only_their_own(
    page: Page, reports_url: str, reports_data_dir: Path, mail_env: dict[str, str]
) -> None:
    book = ReportBook(reports_data_dir)
    daily = parse_schedule("daily 06:00")
    for owner in ("admin", "mombasa", "viewer"):
        book.add_subscription(owner, f"{owner}.own@example.co.ke", "overview", {}, daily)
        alert = {"branch": "Mombasa", "by": "14:00"}
        book.add_alert(owner, f"{owner}.alert@example.co.ke", "stale-feed", alert)
    open_reports(page, reports_url, VIEWER)

    subscriptions = grid_rows(grid(page, "subscriptions"))
    assert {r["owner"] for r in subscriptions} == {"viewer"}
    assert "viewer.own@example.co.ke" in {r["to"] for r in subscriptions}
    alerts = grid_rows(grid(page, "alerts"))
    assert {r["owner"] for r in alerts} == {"viewer"}

    # A viewer subscribes for themself: there is no owner to pick.
    page.get_by_text("Subscribe to a report").click()
    form = form_of(page, "Subscribe")
    expect(form.get_by_text("Owner (whose branches the numbers follow)")).to_have_count(0)
    form.get_by_label("Send to (e-mail address)").fill("viewer.daily@example.co.ke")
    pick(page, form, "Page", "Products")
    form.get_by_role("button", name="Subscribe").click()
    expect_listed(page, "subscriptions", "viewer.daily@example.co.ke")
    subscriptions = grid_rows(grid(page, "subscriptions"))
    added = [r for r in subscriptions if r["to"] == "viewer.daily@example.co.ke"]
    assert [(r["owner"], r["page"], r["schedule"]) for r in added] == [
        ("viewer", "Products", "daily 07:00")
    ]
    assert {r["owner"] for r in subscriptions} == {"viewer"}
    # What a viewer may remove is theirs alone too; removing the new one takes it off.
    own = [f"report {x.id}" for x in book.subscriptions("viewer")]
    own += [f"alert {x.id}" for x in book.alerts("viewer")]
    page.get_by_text("Remove a report or rule").click()
    expect(open_list(page, page.get_by_test_id("stMain"), "Which")).to_have_text(own)
    page.keyboard.press("Escape")
    pick(page, page.get_by_test_id("stMain"), "Which", f"report {added[0]['id']}")
    page.get_by_role("button", name="Remove", exact=True).click()
    row = grid(page, "subscriptions").locator("tbody tr")
    expect(row.filter(has_text="viewer.daily@example.co.ke")).to_have_count(0, timeout=LOAD_MS)
    assert int(added[0]["id"]) not in {x.id for x in book.subscriptions()}


def test_alert_rules_are_listed_with_their_last_state(
    page: Page,
    reports_url: str,
    reports_data_dir: Path,
    smtp: tuple[int, Inbox],
    mail_env: dict[str, str],
) -> None:
    _, inbox = smtp
    settings = settings_of(reports_data_dir, mail_env)
    store = EmbeddedStore(reports_data_dir / "sales")
    admin = UserFile(settings.auth_file).get("admin")
    assert admin is not None
    by_two = {"by": "14:00"}
    breach, not_due = (
        manage.add_alert(settings, store, admin, "admin", to, "stale-feed", {**by_two, **where})
        for to, where in (
            ("breach@example.co.ke", {"branch": "Mombasa"}),
            ("not-due@example.co.ke", {"branch": "Thika"}),
        )
    )
    # The sample's last day is 31 October: on 1 November at 14:30 nothing is recorded.
    breached_at = datetime(2026, 11, 1, 14, 30, tzinfo=NAIROBI)
    result = ReportService(settings, store, clock=lambda: breached_at).check_alert(breach)
    assert result.status == "sent", result.detail
    checked_at = datetime(2026, 10, 31, 9, 0, tzinfo=NAIROBI)
    result = ReportService(settings, store, clock=lambda: checked_at).check_alert(not_due)
    assert result.status == "ok", result.detail
    (alert,) = [m for m in inbox.wait(1) if m["To"] == "breach@example.co.ke"]
    assert alert["Subject"] == "Alert: No sales recorded today for Mombasa by 14:00"
    # A report whose mail server is down: its failure is listed with the reason.
    nothing_listens = f"smtp://127.0.0.1:{free_port()}"
    down = settings_of(reports_data_dir, {**mail_env, "SALES_SMTP_URL": nothing_listens})
    failing = ReportBook(reports_data_dir).add_subscription(
        "admin", "failing@example.co.ke", "overview", {}, parse_schedule("daily 07:00")
    )
    result = ReportService(down, store, backoff=()).run_report(failing.id)
    assert result.status == "failed"

    open_reports(page, reports_url, ADMIN)
    # An admin adds a rule on the page: listed, not checked yet.
    page.get_by_text("Add an alert rule").click()
    form = form_of(page, "Add rule")
    form.get_by_label("Send to (e-mail address)").fill("added@example.co.ke")
    pick(page, form, "Branch", "Kisumu")
    form.get_by_role("button", name="Add rule").click()
    expect_listed(page, "alerts", "added@example.co.ke")

    rules = {r["to"]: r for r in grid_rows(grid(page, "alerts"))}
    assert {k: rules["breach@example.co.ke"][k] for k in ("rule", "state", "since", "detail")} == {
        "rule": "no sales recorded today for Mombasa by 14:00",
        "state": "BREACH",
        "since": "2026-11-01 14:30",
        "detail": "No sales recorded today for Mombasa by 14:00",
    }
    assert {k: rules["not-due@example.co.ke"][k] for k in ("state", "last check", "detail")} == {
        "state": "ok",
        "last check": "2026-10-31 09:00",
        "detail": "not due: checked from 14:00",
    }
    added = rules["added@example.co.ke"]
    assert (added["owner"], added["rule"], added["state"], added["last check"]) == (
        "admin",
        "no sales recorded today for Kisumu by 14:00",
        "not checked yet",
        "-",
    )
    failures = [
        r for r in grid_rows(grid(page, "failed_sends")) if r["to"] == "failing@example.co.ke"
    ]
    assert [(r["what"], r["attempts"]) for r in failures] == [(f"report {failing.id}", "1")]
    assert (
        failures[0]["reason"]
        == f"cannot reach the mail server {nothing_listens}: connection refused"
    )
