"""The cache warm-up: each page's default view is computed before anyone opens it.

Read from the app's own log: the store logs every query with the request id of
the page run that asked (the warm-up thread has none), so a page served from
the warmed cache leaves no query line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from bench.signin import expect_settled_heading, sign_in
from tests.browser.figures import exact_figures, export_overview
from tests.conftest import (
    ADMIN,
    MOMBASA_VIEWER,
    own_data_dir,
    run_cli,
    serve_app,
)
from ui import format as fmt
from ui.warmup import POLL_SECONDS, WARMED

pytestmark = [pytest.mark.browser, pytest.mark.anonymous]
PAGES = {
    "Overview": "",
    "Salespeople": "salespeople",
    "Products": "products",
    "Branches": "branches",
    "Customers": "customers",
}
HEADER = (
    "invoice_id,line_no,sold_at,branch,salesperson,customer_id,customer_name,customer_type,"
    "product_id,product_name,product_line,quantity,unit_price,unit_cost,discount,payment_method\n"
)
LATE_LINE = (
    "WRM-1,1,2026-10-31 18:00:00,Mombasa,Warm Rep,C-WRM,Warm Shop,Retail,"
    "WRM-P,Warm Tea,Beverages,4,250,150,0,Cash\n"
)


@pytest.fixture(scope="module")
def warm_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of its own: the second test loads a file into it."""
    return own_data_dir(tmp_path_factory, "warm-data", lines=5_000, seed=9)


@pytest.fixture(scope="module")
def warm_app(
    warm_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("warm-app") / "streamlit.log"
    for url in serve_app(warm_data_dir, tmp_path_factory, log=log):
        yield url, log


def _records(log: Path) -> list[dict[str, Any]]:
    records = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def _warm_ups(log: Path) -> list[dict[str, Any]]:
    return [r for r in _records(log) if r.get("message") == WARMED]


def _wait_for_warm_ups(log: Path, count: int, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(_warm_ups(log)) < count:
        assert time.monotonic() < deadline, f"no warm-up number {count} in {timeout:.0f} s"
        time.sleep(0.5)
    return _warm_ups(log)


def _page_queries(log: Path, after: int) -> list[dict[str, Any]]:
    """Store queries a page run asked for, among the log records after the first `after`."""
    return [
        r
        for r in _records(log)[after:]
        if r.get("logger") == "core.store" and r.get("request_id") and r.get("page") in PAGES
    ]


def _open_every_page(page: Page, url: str) -> None:
    for title, path in PAGES.items():
        page.goto(f"{url}/{path}")
        expect_settled_heading(page, title)


def test_every_page_opens_from_the_warmed_cache(page: Page, warm_app: tuple[str, Path]) -> None:
    url, log = warm_app
    sign_in(page, url, ADMIN)  # Streamlit runs nothing of ours before a first session
    warmed = _wait_for_warm_ups(log, 1, timeout=120)[0]
    # Unrestricted, and the Mombasa viewer's restriction from the users file.
    assert warmed["views"] == 2
    mark = len(_records(log))
    _open_every_page(page, url)
    viewer = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        restricted = viewer.new_page()
        sign_in(restricted, url, MOMBASA_VIEWER)
        _open_every_page(restricted, url)
    finally:
        viewer.close()
    assert _page_queries(log, mark) == []
    # A view the warm-up never computed is asked of the store, by the page itself: the
    # check above can fail.
    before = len(_records(log))
    page.goto(f"{url}/?start=2026-01-01&end=2026-03-31")
    expect_settled_heading(page, "Overview")
    after = _records(log)[before:]
    assert not any(r.get("message") == WARMED for r in after), "the warm-up asked too"
    assert any(r["operation"] == "aggregate" for r in _page_queries(log, before))


def test_a_data_change_is_warmed_before_the_next_visit(
    page: Page, warm_app: tuple[str, Path], warm_data_dir: Path, tmp_path: Path
) -> None:
    url, log = warm_app
    sign_in(page, url, ADMIN)
    before = _wait_for_warm_ups(log, 1, timeout=120)
    upload = tmp_path / "late-october.csv"
    upload.write_text(HEADER + LATE_LINE)
    loaded = run_cli(["ingest", str(upload), "--mode", "append"], warm_data_dir)
    assert loaded.returncode == 0, loaded.stderr
    after = _wait_for_warm_ups(log, len(before) + 1, timeout=POLL_SECONDS + 90)
    assert after[-1]["version"] != before[-1]["version"]
    mark = len(_records(log))
    page.goto(url)
    expect_settled_heading(page, "Overview")
    figures = exact_figures(page)
    expected = export_overview(warm_data_dir)  # no dates: all the data, as the default view
    assert figures["Net sales"] == fmt.kpi_exact("net_sales", expected["net_sales"])
    assert figures["Orders"] == fmt.kpi_exact("orders", expected["orders"])
    assert _page_queries(log, mark) == []
