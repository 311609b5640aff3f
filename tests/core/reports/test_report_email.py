"""A report e-mail received from a real SMTP server holds the export's numbers, for its owner."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest

from core.reports import manage
from core.reports.book import ReportBook
from core.reports.content import shown
from core.reports.schedules import parse_schedule
from core.reports.service import ReportService
from core.stores.embedded import EmbeddedStore
from core.users import UserFile
from tests.conftest import run_cli
from tests.core.reports.conftest import Inbox, report_settings

# The day the reports are sent on: the day after the sample's last day.
SENT = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
OCTOBER = {"start": ["2026-10-01"], "end": ["2026-10-31"]}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Figures(HTMLParser):
    """Every element with `data-value`: (row key, column) -> (exact value, text shown)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], tuple[str, str]] = {}
        self.links: list[str] = []
        self.images: list[str] = []
        self._row = ""
        self._table = ""
        self._open: tuple[str, str] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._table = a.get("data-members", a.get("data-table", ""))
        if tag == "tr":
            self._row = a.get("data-kpi") or a.get("data-member") or ""
        if "data-value" in a:
            self._open = (f"{self._table}:{self._row}", a["data-column"])
            self._value, self._text = a["data-value"], ""
        if tag == "a":
            self.links.append(a["href"])
        if tag == "img":
            self.images.append(a["src"])

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("td", "th"):
            self.cells[self._open] = (self._value, self._text)
            self._open = None


def export(store_dir: Path, area: str, user: str, *args: str) -> list[dict[str, object]]:
    """`python -m core export AREA ... --user USER --format json`, in a fresh process."""
    result = run_cli(["core", "export", area, *args, "--user", user, "--format", "json"], store_dir)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sheet(attachment: EmailMessage, name: str) -> pl.DataFrame:
    """An attached workbook's data sheet, with the CSV's snake_case headers back."""
    data = attachment.get_content()
    columns = pl.read_excel(io.BytesIO(data), sheet_name="columns")
    names = dict(zip(columns["Header"], columns["Column (CSV)"], strict=True))
    return pl.read_excel(io.BytesIO(data), sheet_name=name).rename(names)


def same(a: object, b: object) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return abs(a - b) <= 0.005 + 1e-9 * abs(b)
    return a == b


def send_one(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, smtp: tuple[int, Inbox], **sub: object
) -> tuple[EmailMessage, Figures]:
    port, inbox = smtp
    settings = report_settings(store_dir, tmp_path, f"smtp://127.0.0.1:{port}")
    book = ReportBook(settings.data_dir)
    subscription = book.add_subscription(
        sub["owner"],
        "manager@example.co.ke",
        sub["page"],
        sub["params"],
        parse_schedule("daily 07:00"),
    )  # type: ignore[arg-type]
    result = ReportService(settings, store, clock=lambda: SENT).run_report(subscription.id)
    assert result.status == "sent", result.detail
    (message,) = inbox.wait(1)
    figures = Figures()
    figures.feed(message.get_body(("html",)).get_content())
    return message, figures


def test_received_report_equals_the_export(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    params = {**OCTOBER, "line": ["Beverages", "Dairy"]}
    message, figures = send_one(
        store_dir, store, tmp_path, smtp, owner="admin", page="branches", params=params
    )
    args = [f"--{k}={v}" for k, vs in params.items() for v in vs]
    # Headline KPIs against the comparison window: exactly the overview export.
    (overview,) = export(store_dir, "overview", "admin", *args)
    for kpi in ("net_sales", "gross_profit", "gross_margin_pct", "orders", "aov"):
        for column in (kpi, f"{kpi}_prev", f"{kpi}_growth_pct"):
            value, text = figures.cells[(f"headline:{kpi}", column)]
            expected = overview[column]
            assert (float(value) if value else None) == expected, column
            assert text == shown(column, expected, pl.Float64()), column
    # Top and bottom branches: the branches export's first and last sellers.
    branches = export(store_dir, "branches", "admin", *args)
    selling = [b for b in branches if b["net_sales"]]
    ranked = sorted(selling, key=lambda b: (-b["net_sales"], b["branch"]))
    for which, members in (("top", ranked[:3]), ("bottom", ranked[::-1][:3])):
        for member in members:
            value, _ = figures.cells[(f"{which}:{member['branch']}", "net_sales")]
            assert float(value) == member["net_sales"]
    # The attachment is the page's Excel download: the same table, sheet and name.
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == XLSX
    assert attachment.get_filename().startswith("branches_2026-10-01_to_2026-10-31")
    table = sheet(attachment, "branches")
    expected_table = pl.DataFrame(branches)
    assert table.columns == expected_table.columns
    assert table.height == expected_table.height
    for got, want in zip(
        table.iter_rows(named=True), expected_table.iter_rows(named=True), strict=True
    ):
        for column, value in want.items():
            assert same(got[column], value), (column, got[column], value)
    # One inline chart, a link back to the exact view, and a plain-text part.
    (src,) = figures.images
    related = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(related) == 1 and related[0]["Content-ID"] == f"<{src.removeprefix('cid:')}>"
    assert related[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    (link,) = figures.links
    assert link.startswith("https://sales.example.co.ke/branches?")
    assert parse_qs(urlsplit(link).query) == params
    text = message.get_body(("plain",)).get_content()
    assert shown("net_sales", overview["net_sales"], pl.Float64()) in text
    assert link in text


def test_a_viewer_kept_to_mombasa_gets_only_mombasa_whatever_the_filters(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    # Stored as if saved before the restriction: it asks for another branch.
    params = {**OCTOBER, "branch": ["Nairobi CBD"]}
    message, figures = send_one(
        store_dir, store, tmp_path, smtp, owner="mombasa", page="branches", params=params
    )
    args = [f"--{k}={v}" for k, vs in OCTOBER.items() for v in vs]
    (overview,) = export(store_dir, "overview", "mombasa", *args)
    (unrestricted,) = export(store_dir, "overview", "admin", *args, "--branch=Mombasa")
    assert overview["net_sales"] == unrestricted["net_sales"]
    assert float(figures.cells[("headline:net_sales", "net_sales")][0]) == overview["net_sales"]
    members = {
        key.split(":", 1)[1] for key, _ in figures.cells if key.startswith(("top:", "bottom:"))
    }
    assert members == {"Mombasa"}
    (attachment,) = list(message.iter_attachments())
    assert sheet(attachment, "branches")["branch"].to_list() == ["Mombasa"]
    text = message.get_body(("plain",)).get_content()
    assert "Nairobi CBD" in text and "not available to you" in text  # the notice says so
    assert "Nairobi CBD" not in "".join(
        f"{k}{v}" for k, v in figures.cells.items() if not k[0].startswith("headline")
    )


def test_adding_a_subscription_refuses_a_branch_the_owner_may_not_see(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path
) -> None:
    settings = report_settings(store_dir, tmp_path)
    mombasa = UserFile(settings.auth_file).get("mombasa")
    assert mombasa is not None
    with pytest.raises(manage.ManageError, match="branch 'Nairobi CBD' is not in the branches"):
        manage.add_subscription(
            settings,
            store,
            mombasa,
            "mombasa",
            "m@example.co.ke",
            "branches",
            {"branch": ["Nairobi CBD"]},
            "daily 07:00",
        )
    with pytest.raises(manage.ManageError, match="only an admin"):
        manage.add_subscription(
            settings, store, mombasa, "viewer", "m@example.co.ke", "branches", {}, "daily 07:00"
        )
    added = manage.add_subscription(
        settings,
        store,
        mombasa,
        "mombasa",
        "m@example.co.ke",
        "overview",
        {"period": ["yesterday"]},
        "weekly mon 06:30",
    )
    assert str(added.schedule) == "weekly mon 06:30"
    assert ReportBook(settings.data_dir).subscriptions("mombasa") == [added]


def test_names_in_the_mail_are_text_not_html(tmp_path: Path) -> None:
    from datetime import date

    from core.reports.content import build_report, render_html
    from ingest.sample import generate_sales
    from tests.conftest import SAMPLE_END, to_stored

    hostile = "<script>alert('x')</script> & \"Mombasa\""
    lines = generate_sales(400, seed=3, end=SAMPLE_END).with_columns(
        pl.when(pl.col("branch") == "Mombasa")
        .then(pl.lit(hostile))
        .otherwise(pl.col("branch"))
        .alias("branch")
    )
    store = EmbeddedStore(tmp_path / "sales")
    store.write(to_stored(lines), "append")
    report = build_report(store, "branches", {}, today=date(2026, 11, 1), allowed_branches=None)
    assert hostile in report.tables["branches"]["branch"].to_list()
    page = render_html(report, "https://sales.example.co.ke", "chart")
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_a_view_with_targets_carries_the_target_and_its_attainment(tmp_path: Path) -> None:
    from datetime import date

    from core.reports.content import build_report, render_html, render_text
    from tests.fixtures.hand_fixture import build_store
    from tests.fixtures.targets_fixture import WINDOW, stored_targets

    # tests/fixtures/targets_fixture.py: over its window the branches' targets add up to
    # 10,700 (6,200 + 1,400 prorated + 3,100) against 7,950 of their net sales.
    store = build_store(tmp_path / "sales")
    store.write_targets(stored_targets())
    params = {"start": [WINDOW[0].isoformat()], "end": [WINDOW[1].isoformat()]}
    report = build_report(store, "overview", params, today=date(2026, 11, 1), allowed_branches=None)
    text = render_text(report, "https://sales.example.co.ke")
    assert "Net sales target: KES 10,700" in text
    assert "Attainment: 74.3%" in text  # 7,950 / 10,700
    page = render_html(report, "https://sales.example.co.ke", "chart")
    assert 'data-kpi="target"' in page and "74.3%" in page
    without = build_report(
        store,
        "overview",
        {"period": ["last-month"]},
        today=date(2026, 11, 1),
        allowed_branches=None,
    )
    assert "Net sales target" not in render_text(without, "https://sales.example.co.ke")
