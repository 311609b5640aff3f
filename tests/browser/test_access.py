"""Sign-in, roles, branch restriction and the audited upload, in real Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from bench.signin import IDLE, LOAD_MS, expect_settled_heading, sign_in
from core.store import Scope
from core.stores.embedded import EmbeddedStore
from tests.browser.figures import exact_figures, export_overview
from tests.conftest import (
    ADMIN,
    MOMBASA_VIEWER,
    VIEWER,
    own_data_dir,
    run_cli,
    serve_app,
)
from ui import format as fmt
from ui.login_cookie import COOKIE_NAME

pytestmark = [pytest.mark.browser, pytest.mark.anonymous]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


def test_no_page_shows_data_before_sign_in(page: Page, app_url: str) -> None:
    for path in ("", "branches?branch=Mombasa", "customers", "diagnostics", "upload"):
        page.goto(f"{app_url}/{path}")
        expect(page.get_by_test_id("stForm")).to_be_visible(timeout=LOAD_MS)
        expect(page.get_by_test_id("stMetric")).to_have_count(0)
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)


def test_wrong_password_is_refused(page: Page, app_url: str) -> None:
    page.goto(app_url)
    form = page.get_by_test_id("stForm")
    form.get_by_label("Username", exact=True).fill(ADMIN[0])
    form.get_by_label("Password", exact=True).fill("not-the-password")
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)


def test_viewer_has_no_upload_page(page: Page, app_url: str) -> None:
    sign_in(page, app_url, VIEWER)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Overview")).to_be_visible()
    expect(nav.get_by_role("link", name="Upload")).to_have_count(0)
    page.goto(f"{app_url}/upload")
    expect(page.get_by_text("Page not found")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_text("Upload sales")).to_have_count(0)
    expect(page.locator("input[type=file]")).to_have_count(0)


def test_branch_restricted_user_sees_only_their_branch(
    page: Page, app_url: str, sample_data_dir: Path
) -> None:
    sign_in(page, app_url, MOMBASA_VIEWER)
    page.goto(f"{app_url}/?start=2026-01-01&end=2026-06-30&branch=Nakuru")
    # Another branch's link: said to be out of reach, not unknown (it exists).
    expect(
        page.get_by_text("Ignored branch value(s) not available to you: 'Nakuru'")
    ).to_be_visible(timeout=LOAD_MS)
    figures = exact_figures(page)
    expected = export_overview(
        sample_data_dir, "--start", "2026-01-01", "--end", "2026-06-30", "--branch", "Mombasa"
    )
    assert figures["Net sales"] == fmt.kpi_exact("net_sales", expected["net_sales"])
    assert figures["Orders"] == fmt.kpi_exact("orders", expected["orders"])
    branches = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first
    # At the foot of the window its list would open below it, out of sight: centre it.
    branches.evaluate("box => box.scrollIntoView({block: 'center'})")
    branches.click()
    expect(page.get_by_role("option")).to_have_text(["Mombasa"])


def test_branch_restricted_user_sees_only_their_branchs_pipeline(
    page: Page, app_url: str, sample_data_dir: Path
) -> None:
    sign_in(page, app_url, MOMBASA_VIEWER)
    window = ("--start", "2026-07-01", "--end", "2026-09-30")
    page.goto(f"{app_url}/pipeline?start={window[1]}&end={window[3]}&compare=none")
    expect_settled_heading(page, "Pipeline")
    page.wait_for_function(IDLE, timeout=LOAD_MS)
    result = run_cli(["core", "export", "pipeline", "--format", "json", *window,
                      "--branch", "Mombasa"], sample_data_dir)  # fmt: skip
    assert result.returncode == 0, result.stderr
    mombasa = json.loads(result.stdout)[0]
    everyone = json.loads(
        run_cli(["core", "export", "pipeline", "--format", "json", *window], sample_data_dir).stdout
    )[0]
    assert mombasa["won_amount"] < everyone["won_amount"]  # the sample has other branches' deals
    tiles = page.get_by_test_id("stMetric")
    expect(tiles.filter(has_text="Won amount")).to_contain_text(
        fmt.kes_compact(mombasa["won_amount"])
    )
    expect(tiles.filter(has_text="Open pipeline")).to_contain_text(
        fmt.kes_compact(mombasa["open_amount"])
    )
    # Exact: "Win rate with a visit" is a tile too.
    win_rate = tiles.filter(has=page.get_by_text("Win rate", exact=True))
    expect(win_rate).to_contain_text(fmt.pct(mombasa["win_rate"]))
    branches = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first
    branches.evaluate("box => box.scrollIntoView({block: 'center'})")
    branches.click()
    expect(page.get_by_role("option")).to_have_text(["Mombasa"])


@pytest.fixture(scope="module")
def upload_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of its own, so loading files does not move other tests' numbers."""
    return own_data_dir(tmp_path_factory, "upload-data", lines=5_000, seed=5)


@pytest.fixture(scope="module")
def upload_app_url(
    upload_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from serve_app(upload_data_dir, tmp_path_factory)


HEADER = "Invoice,Date,Branch,Closer,SKU,Category,Qty,Unit Price,Unit Cost,Discount\n"
GOOD_ROWS = [
    # net = qty x price - discount; cogs = qty x cost
    "UPL-1,2026-10-30 10:00,Mombasa,Test Rep,TST-1,Dairy,2,100,60,0\n",  # net 200, cogs 120
    "UPL-1,2026-10-30 10:00,Mombasa,Test Rep,TST-2,Dairy,1,250,200,10\n",  # net 240, cogs 200
    "UPL-2,2026-10-30 12:00,Nakuru,Test Rep,TST-1,Dairy,3,100,60,0\n",  # net 300, cogs 180
]
FILE_NET_SALES, FILE_GROSS_PROFIT, FILE_ORDERS = 740.0, 240.0, 2


def kes_number(text: str) -> float:
    return float(re.sub(r"[^0-9.-]", "", text))


def upload(page: Page, path: Path) -> None:
    page.locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("1. Preview")).to_be_visible(timeout=LOAD_MS)


def map_column(page: Page, column: str, header: str) -> None:
    box: Locator = page.get_by_test_id("stSelectbox").filter(has_text=column)
    # A second file's run draws its own boxes; the first file's stay until that run ends.
    expect(box).to_have_count(1, timeout=LOAD_MS)
    box.click()
    page.get_by_role("option", name=header, exact=True).click()


def test_admin_upload_flow_is_validated_loaded_and_audited(
    page: Page, upload_app_url: str, upload_data_dir: Path, tmp_path: Path
) -> None:
    overview = f"{upload_app_url}/?start=2026-10-01&end=2026-10-31"
    sign_in(page, overview, ADMIN)
    before = exact_figures(page)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Upload").click()
    expect_settled_heading(page, "Upload sales")
    bad = tmp_path / "october.csv"
    bad.write_text(HEADER + GOOD_ROWS[0] + GOOD_ROWS[1].replace(",250,", ",-250,") + GOOD_ROWS[2])
    upload(page, bad)
    expect(page.get_by_text("Required column(s) still unmapped: salesperson")).to_be_visible()
    map_column(page, "salesperson *", "Closer")
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("1 of 3 rows has problems")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_role("button", name="Download every rejected row (CSV)")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "upload-rejected.png"), full_page=True)

    good = tmp_path / "october-fixed.csv"
    good.write_text(HEADER + "".join(GOOD_ROWS))
    upload(page, good)
    # The new file's run has ended once the old file's check result is gone.
    expect(page.get_by_text("1 of 3 rows have problems")).to_have_count(0, timeout=LOAD_MS)
    expect(page.get_by_text("Required column(s) still unmapped: salesperson")).to_be_visible(
        timeout=LOAD_MS
    )
    map_column(page, "salesperson *", "Closer")
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("All 3 rows are valid")).to_be_visible(timeout=LOAD_MS)
    page.get_by_role("button", name="Load 3 rows").click()
    expect(page.get_by_text("Loaded october-fixed.csv: 3 new lines")).to_be_visible(timeout=LOAD_MS)
    page.screenshot(path=str(ARTIFACTS / "upload-loaded.png"), full_page=True)

    page.goto(overview)
    after = exact_figures(page)
    assert (
        round(kes_number(after["Net sales"]) - kes_number(before["Net sales"]), 2) == FILE_NET_SALES
    )
    gross_profit = round(kes_number(after["Gross profit"]) - kes_number(before["Gross profit"]), 2)
    assert gross_profit == FILE_GROSS_PROFIT
    assert round(kes_number(after["Orders"]) - kes_number(before["Orders"]), 2) == FILE_ORDERS

    log = (upload_data_dir / "audit" / "uploads.jsonl").read_text().splitlines()
    attempts = [json.loads(line) for line in log]
    assert [(a["file_name"], a["outcome"]) for a in attempts] == [
        ("october.csv", "rejected"),
        ("october-fixed.csv", "loaded"),
    ]
    assert all(a["user"] == "admin" and len(a["sha256"]) == 64 for a in attempts)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Upload").click()
    history = page.get_by_test_id("stDataFrame").last
    expect(history).to_be_visible(timeout=LOAD_MS)
    expect(history.locator("[role=grid]")).to_have_attribute("aria-rowcount", "3")  # header + 2


def test_a_shared_link_survives_the_sign_in(page: Page, app_url: str) -> None:
    sign_in(page, f"{app_url}/branches?start=2026-01-01&end=2026-03-31&branch=Thika", ADMIN)
    expect_settled_heading(page, "Branches")
    expect(page).to_have_url(re.compile(r"/branches\?.*branch=Thika"))
    caption = page.get_by_text("01 Jan 2026 to 31 Mar 2026")
    expect(caption).to_have_count(1)
    expect(caption.first).to_be_visible()


def test_the_login_cookie_signs_in_a_new_tab_until_sign_out(page: Page, app_url: str) -> None:
    sign_in(page, app_url, ADMIN)
    tab = page.context.new_page()
    tab.goto(f"{app_url}/branches?start=2026-01-01&end=2026-03-31")
    expect_settled_heading(tab, "Branches")
    expect(tab.get_by_test_id("stForm")).to_have_count(0)
    tab.wait_for_function(IDLE, timeout=LOAD_MS)
    # Signed in from the request's cookie: no cookie component (an iframe) on the page.
    expect(tab.locator("iframe")).to_have_count(0)
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_text("You have signed out.")).to_be_visible(timeout=LOAD_MS)
    tab.wait_for_function(
        "name => !document.cookie.includes(name + '=')", arg=COOKIE_NAME, timeout=LOAD_MS
    )
    tab.close()
    again = page.context.new_page()
    again.goto(f"{app_url}/branches")
    expect(again.get_by_test_id("stForm")).to_be_visible(timeout=LOAD_MS)
    expect(again.get_by_test_id("stMetric")).to_have_count(0)


def test_a_file_that_renames_a_stored_product_says_so_before_loading(
    page: Page, upload_app_url: str, upload_data_dir: Path, tmp_path: Path
) -> None:
    names = EmbeddedStore(upload_data_dir / "sales").aggregate(
        Scope(), None, ("product_id",), None, ("last_sale",), ("product_name", "product_line")
    )
    product_id, stored_name, line = (
        names.sort("product_id").select("product_id", "product_name", "product_line").row(0)
    )
    renaming = tmp_path / "november.csv"
    renaming.write_text(
        "Invoice,Date,Branch,Sales Rep,SKU,Item Name,Category,Qty,Unit Price,Unit Cost\n"
        f"REN-1,2026-11-15 10:00,Mombasa,Test Rep,{product_id},Test Soda,{line},1,100,60\n"
    )
    sign_in(page, upload_app_url, ADMIN)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Upload").click()
    expect_settled_heading(page, "Upload sales")
    upload(page, renaming)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("The file's one row is valid")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_text("Loading this file renames 1 product name")).to_be_visible()
    changes = page.get_by_test_id("stDataFrame").filter(has_text="What changes")
    expect(changes).to_contain_text(stored_name)
    expect(changes).to_contain_text("Test Soda")
    page.screenshot(path=str(ARTIFACTS / "upload-renames.png"), full_page=True)


def test_an_admins_upload_link_opens_the_upload_page_after_sign_in(
    page: Page, app_url: str
) -> None:
    page.goto(f"{app_url}/upload")
    expect(page.get_by_test_id("stForm")).to_be_visible(timeout=LOAD_MS)
    # The sign-in form must be usable: no "Page not found" dialog over it.
    expect(page.get_by_text("Page not found")).to_have_count(0)
    sign_in(page, f"{app_url}/upload", ADMIN)
    expect_settled_heading(page, "Upload sales")
    expect(page).to_have_url(re.compile(r"/upload$"))


def test_a_column_that_reads_two_ways_is_asked_about_then_loads_as_chosen(
    page: Page, upload_app_url: str, tmp_path: Path
) -> None:
    overview = f"{upload_app_url}/?start=2026-10-01&end=2026-10-31"
    sign_in(page, overview, ADMIN)
    before = exact_figures(page)
    ambiguous = tmp_path / "thousands.csv"
    ambiguous.write_text(
        "Invoice,Date,Branch,Sales Rep,SKU,Category,Qty,Unit Price,Unit Cost\n"
        "AMB-1,2026-10-29 10:00,Mombasa,Test Rep,TST-1,Dairy,2,1.500,1.000\n"
        "AMB-2,2026-10-29 11:00,Mombasa,Test Rep,TST-1,Dairy,1,2.250,1.250\n"
    )
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Upload").click()
    expect_settled_heading(page, "Upload sales")
    upload(page, ambiguous)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("read two ways")).to_be_visible(timeout=LOAD_MS)
    readings = page.get_by_test_id("stDataFrame").filter(has_text="Read with a decimal comma")
    expect(readings).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "upload-decimal-question.png"), full_page=True)
    page.get_by_text("Comma: 1.234,50").click()
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("All 2 rows are valid")).to_be_visible(timeout=LOAD_MS)
    page.get_by_role("button", name="Load 2 rows").click()
    expect(page.get_by_text("Loaded thousands.csv: 2 new lines")).to_be_visible(timeout=LOAD_MS)
    page.goto(overview)
    after = exact_figures(page)
    # 2 x 1,500 + 1 x 2,250, read with the decimal comma the admin chose.
    assert round(kes_number(after["Net sales"]) - kes_number(before["Net sales"]), 2) == 5250.0


# A HubSpot deals export: its own headers, Branch a custom property of the portal.
HUBSPOT_HEADER = "Record ID,Deal Name,Deal Stage,Create Date,Close Date,Amount,Deal owner,Branch\n"
HUBSPOT_ROWS = [
    "9001,Kilimo Traders - Dairy,Closed won,2026-09-01 09:00,2026-09-21 15:00,120000,Amina,Thika\n",
    "9002,Baraka Stores - Flour,Closed lost,2026-09-03 10:00,2026-09-30 11:00,80000,Amina,Thika\n",
    "9003,Mwangaza Hotel - Oils,Presentation scheduled,2026-09-10 10:00,,50000,Amina,Thika\n",
]


def test_admin_loads_a_crm_export_and_the_pipeline_page_shows_it(
    page: Page, upload_app_url: str, tmp_path: Path
) -> None:
    sign_in(page, upload_app_url, ADMIN)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Upload").click()
    expect_settled_heading(page, "Upload sales")
    page.get_by_text("CRM deals", exact=True).click()
    expect_settled_heading(page, "Upload opportunities")
    expect_crm_uploader(page)
    bad = tmp_path / "hubspot-deals.csv"
    bad.write_text(
        HUBSPOT_HEADER + HUBSPOT_ROWS[0].replace("2026-09-21 15:00", "") + "".join(HUBSPOT_ROWS[1:])
    )
    upload(page, bad)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("1 of 3 rows has problems")).to_be_visible(timeout=LOAD_MS)
    good = tmp_path / "hubspot-deals-fixed.csv"
    good.write_text(HUBSPOT_HEADER + "".join(HUBSPOT_ROWS))
    upload(page, good)
    expect(page.get_by_text("1 of 3 rows has problems")).to_have_count(0, timeout=LOAD_MS)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("All 3 rows are valid")).to_be_visible(timeout=LOAD_MS)
    page.get_by_role("button", name="Load 3 deals").click()
    expect(page.get_by_text("Loaded hubspot-deals-fixed.csv: deals inserted 3")).to_be_visible(
        timeout=LOAD_MS
    )

    page.goto(f"{upload_app_url}/pipeline?start=2026-09-01&end=2026-09-30&compare=none")
    expect_settled_heading(page, "Pipeline")
    page.wait_for_function(IDLE, timeout=LOAD_MS)
    tiles = page.get_by_test_id("stMetric")
    # Won 9001 (120,000), lost 9002: win rate 1 / 2; 9003 open on 09-30 (50,000).
    expect(tiles.filter(has_text="Win rate")).to_contain_text("50.0%")
    expect(tiles.filter(has_text="Won amount")).to_contain_text("KES 120.0K")
    expect(tiles.filter(has_text="Open pipeline")).to_contain_text("KES 50.0K")
    expect(tiles.filter(has_text="Sales cycle (median)")).to_contain_text("20 days")

    load_crm_file(page, upload_app_url, "Deal stage history", tmp_path / "hubspot-stages.csv",
                  HUBSPOT_STAGES, "Load 7 stage entries", "stage entries inserted 7")  # fmt: skip
    load_crm_file(page, upload_app_url, "Sales activities", tmp_path / "hubspot-activities.csv",
                  HUBSPOT_ACTIVITIES, "Load 3 activities", "activities inserted 3")  # fmt: skip
    page.goto(f"{upload_app_url}/pipeline?start=2026-09-01&end=2026-09-30&compare=none")
    expect_settled_heading(page, "Pipeline")
    page.wait_for_function(IDLE, timeout=LOAD_MS)
    # 9001 (won) had a visit before closing, 9002 (lost) only a call.
    expect(tiles.filter(has_text="Win rate with a visit")).to_contain_text("100.0%")
    expect(tiles.filter(has_text="Win rate without a visit")).to_contain_text("0.0%")
    expect(tiles.filter(has_text="Closed without a visit")).to_contain_text("1")
    page.screenshot(path=str(ARTIFACTS / "pipeline-loaded.png"), full_page=True)


# HubSpot's deals export with its "Date entered" column per stage of the pipeline.
HUBSPOT_STAGES = (
    'Record ID,Date entered "Appointment scheduled (Sales Pipeline)",'
    'Date entered "Presentation scheduled (Sales Pipeline)",'
    'Date entered "Closed won (Sales Pipeline)",Date entered "Closed lost (Sales Pipeline)"\n'
    "9001,2026-09-01 09:00,2026-09-08 10:00,2026-09-21 15:00,\n"
    "9002,2026-09-03 10:00,,,2026-09-30 11:00\n"
    "9003,2026-09-10 10:00,2026-09-15 12:00,,\n"
)
# HubSpot's activities export: one row per engagement, the deal it is associated with.
HUBSPOT_ACTIVITIES = (
    "Activity ID,Activity type,Activity date,Activity assigned to,Associated Deal IDs\n"
    "A-1,Site visit,2026-09-05 11:00,Amina,9001\n"
    "A-2,Call,2026-09-06 09:30,Amina,9001\n"
    "A-3,Call,2026-09-10 14:00,Amina,9002\n"
)


def expect_crm_uploader(page: Page) -> None:
    """Wait until the CRM export's uploader is the only one. The title names the new
    dataset as its run starts, while the sales uploader stays until that run ends: a
    file set on that one is lost with it."""
    page.wait_for_function(IDLE, timeout=LOAD_MS)
    expect(page.locator("input[type=file]")).to_have_count(1, timeout=LOAD_MS)
    expect(page.get_by_test_id("stFileUploader")).to_contain_text("CRM export")


def load_crm_file(
    page: Page, url: str, dataset: str, path: Path, text: str, button: str, done: str
) -> None:
    """Pick the dataset on the Upload page, check the file (named `<crm>-<dataset>.csv`)
    and load it."""
    page.goto(f"{url}/upload")
    expect_settled_heading(page, "Upload sales")
    page.get_by_text(dataset, exact=True).click()
    expect_settled_heading(page, f"Upload {path.stem.split('-')[-1]}")
    expect_crm_uploader(page)
    path.write_text(text)
    upload(page, path)
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("rows are valid")).to_be_visible(timeout=LOAD_MS)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_text(f"Loaded {path.name}: {done}")).to_be_visible(timeout=LOAD_MS)
