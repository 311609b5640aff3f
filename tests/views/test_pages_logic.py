"""Each page's logic in Streamlit's AppTest: filters in, the right core tables out, empty states.

The pages run for real against the embedded sample store; only the browser is absent
(tests/browser covers what a person sees).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.exports import area_table
from core.filters import Filters
from core.kpi.view import resolve_view
from core.stores.embedded import EmbeddedStore
from tests.conftest import MOMBASA_VIEWER
from tests.views.apps import ROOT, page_app, page_failed, run_page
from ui import format as fmt

PAGES = ("overview", "salespeople", "products", "branches", "customers", "diagnostics")
WINDOW = {"start": "2026-01-01", "end": "2026-06-30"}


def table_of(app: AppTest, index: int = -1) -> pl.DataFrame:
    return pl.from_pandas(app.dataframe[index].value)


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_errors(sample_env: Path, name: str) -> None:
    app = run_page(name, **WINDOW)
    assert not page_failed(app), [e.value for e in app.error]
    assert app.title[0].value == name.capitalize()
    assert app.metric, "every page leads with headline tiles"


@pytest.mark.parametrize(
    ("name", "area", "key", "column_title"),
    [
        ("salespeople", "salespeople", "salesperson", "All salespeople"),
        ("branches", "branches", "branch", "All branches"),
        ("products", "products", "product_id", "All products"),
    ],
)
def test_page_table_is_the_export_for_the_url_filters(
    sample_env: Path,
    sample_store: EmbeddedStore,
    name: str,
    area: str,
    key: str,
    column_title: str,
) -> None:
    app = run_page(name, **WINDOW, branch=["Mombasa", "Kisumu"])
    assert not page_failed(app)
    filters = Filters(start=date(2026, 1, 1), end=date(2026, 6, 30), branches=("Kisumu", "Mombasa"))
    expected = area_table(area, sample_store, resolve_view(sample_store, filters))
    shown = next(
        table_of(app, i)
        for i in range(len(app.dataframe))
        if key in app.dataframe[i].value.columns and len(app.dataframe[i].value) == expected.height
    )
    assert shown[key].to_list() == expected[key].to_list()
    assert shown["net_sales"].round(2).to_list() == expected["net_sales"].round(2).to_list()
    assert any(h.value == column_title for h in app.subheader)


def test_branch_filter_reaches_the_headline(sample_env: Path, sample_store: EmbeddedStore) -> None:
    app = run_page("salespeople", **WINDOW, branch="Nakuru")
    filters = Filters(start=date(2026, 1, 1), end=date(2026, 6, 30), branches=("Nakuru",))
    overview = area_table("overview", sample_store, resolve_view(sample_store, filters))
    net_sales = next(m for m in app.metric if m.label == "Net sales")
    assert net_sales.value == fmt.kes_compact(overview["net_sales"][0])
    assert app.sidebar.multiselect[0].value == ["Nakuru"]


@pytest.mark.parametrize("name", PAGES[:-1])
def test_window_without_sales_shows_empty_state(sample_env: Path, name: str) -> None:
    app = run_page(name, start="2019-01-01", end="2019-01-31")
    assert not page_failed(app)
    assert any("match these filters" in i.value for i in app.info)
    assert not app.metric


def test_unknown_branch_is_dropped_with_a_notice(sample_env: Path) -> None:
    app = run_page("branches", **WINDOW, branch="Atlantis<script>")
    assert not page_failed(app)
    assert any("Atlantis" in w.value for w in app.warning)
    # The board's table, not the forecast's drawn after it: the one with a share per branch.
    tables = [pl.from_pandas(d.value) for d in app.dataframe]
    branches = next(t for t in tables if any("share" in str(c).lower() for c in t.columns))
    assert branches.height == 7, "the bad value was dropped, so every branch is listed"


def test_restricted_user_sees_only_their_branches(
    sample_env: Path, sample_store: EmbeddedStore
) -> None:
    app = page_app("branches", username="mombasa")
    app.query_params.update({**WINDOW, "branch": "Eldoret"})
    app.run()
    assert not page_failed(app)
    assert any("Eldoret" in w.value for w in app.warning), "the forbidden branch is reported"
    # Their one branch's figures, however the link is written.
    filters = Filters(start=date(2026, 1, 1), end=date(2026, 6, 30), branches=("Mombasa",))
    mombasa = area_table("overview", sample_store, resolve_view(sample_store, filters))
    net_sales = next(m for m in app.metric if m.label == "Net sales")
    assert net_sales.value == fmt.kes_compact(mombasa["net_sales"][0])


def test_customers_page_tables_match_core(sample_env: Path, sample_store: EmbeddedStore) -> None:
    app = run_page("customers", **WINDOW)
    view = resolve_view(sample_store, Filters(start=date(2026, 1, 1), end=date(2026, 6, 30)))
    customers = area_table("customers", sample_store, view)
    active = next(m for m in app.metric if m.label == "Active customers")
    assert active.value == fmt.count(customers.height)
    shown = table_of(app)
    assert shown["customer_id"].to_list() == customers["customer_id"].to_list()


def test_diagnostics_shows_store_facts_and_clears_cache(sample_env: Path) -> None:
    app = run_page("diagnostics")
    assert not page_failed(app)
    assert "embedded" in app.success[0].value
    facts = pl.from_pandas(app.table[0].value)
    rows = dict(zip(facts["fact"], facts["value"], strict=True))
    assert rows["rows"] == f"{60_000:,}"
    assert rows["first day"] <= rows["last day"] == "2026-10-31"
    app.button[0].click().run()
    assert not page_failed(app)


def test_diagnostics_shows_a_viewer_health_but_not_the_store_or_configuration(
    sample_env: Path,
) -> None:
    app = page_app("diagnostics", username=MOMBASA_VIEWER[0]).run()
    assert not page_failed(app)
    assert app.success[0].value == "**embedded** store: healthy"  # not its path and size
    assert not app.table  # no company-wide line count, paths or configuration
    assert [b.label for b in app.button] == ["Sign out"]  # nor the cache button


def test_diagnostics_configuration_names_every_setting_plainly(
    sample_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALES_COOKIE_KEY", raising=False)
    app = run_page("diagnostics")
    settings = next(pl.from_pandas(t.value) for t in app.table if "setting" in t.value.columns)
    shown = dict(zip(settings["setting"], settings["value"], strict=True))
    assert shown["SALES_WARM_UP"] == "off"  # not a secret: shown as it is
    assert shown["SALES_COOKIE_KEY"] == "(not set)"


def test_signed_out_session_sees_only_the_login_form(sample_env: Path) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.switch_page("views/branches.py")
    app.run()
    assert not page_failed(app)
    assert [t.label for t in app.text_input] == ["Username", "Password"]
    assert not app.metric and not app.dataframe


def test_production_without_a_cookie_key_refuses_to_serve(
    sample_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALES_ENV", "production")
    monkeypatch.delenv("SALES_COOKIE_KEY", raising=False)
    app = run_page("overview")
    assert not page_failed(app)
    assert "needs a cookie key" in app.error[0].value
    assert not app.metric and not app.text_input


def test_a_viewer_cannot_run_the_upload_page(sample_env: Path) -> None:
    app = AppTest.from_file(str(ROOT / "views" / "upload.py"), default_timeout=120)
    app.session_state["username"] = "viewer"
    app.run()
    assert "for administrators" in app.error[0].value
    assert not app.get("file_uploader")


def test_a_failing_page_shows_a_reference_and_logs_it(
    sample_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cache, "area", broken)
    app = run_page("salespeople", **WINDOW)
    message = next(e.value for e in app.error if "Something went wrong" in e.value)
    reference = message.rsplit("reference ", 1)[1].rstrip(".")
    assert len(reference) == 12
    logged = capsys.readouterr().err
    assert reference in logged and "boom" in logged


@pytest.mark.parametrize(
    ("start", "end", "warned"),
    [("2026-06-01", "2026-06-30", True), ("2026-01-01", "2026-06-30", False)],
)
def test_segments_over_a_short_window_say_they_are_noisy(
    sample_env: Path, start: str, end: str, warned: bool
) -> None:
    app = run_page("customers", start=start, end=end)
    assert not page_failed(app)
    notes = [c.value for c in app.caption if "Scored over" in c.value]
    assert bool(notes) == warned, notes
    if warned:
        assert notes[0].startswith("Scored over 30 days only")
    one_month = [c.value for c in app.caption if "100% by definition" in c.value]
    assert bool(one_month) == warned, one_month  # June alone: every cohort in its month 0
    overview = run_page("overview", start=start, end=end)
    labels = [link.proto.label for link in overview.get("page_link")]
    slipping = [label for label in labels if label.startswith("Customers slipping away")]
    assert len(slipping) == 1, labels
    assert slipping[0].endswith("(a short window)") == warned, slipping


@pytest.mark.parametrize(
    ("name", "param", "key", "attribute"),
    [("salespeople", "rep", "salesperson", "salespeople"),
     ("branches", "branch", "branch", "branches"),
     ("products", "product", "product_id", "products")],
)  # fmt: skip
def test_one_member_in_focus_gets_a_profile_against_its_peers(
    sample_env: Path, sample_store: EmbeddedStore, name: str, param: str, key: str, attribute: str
) -> None:
    everyone = Filters(start=date(2026, 1, 1), end=date(2026, 6, 30))
    board = area_table(name, sample_store, resolve_view(sample_store, everyone))
    selling = board.filter(pl.col("orders") > 0)
    selling = selling.sort(["net_sales", key], descending=[True, False])
    member = selling[key][2]  # the third by net sales
    app = run_page(name, **WINDOW, **{param: member})
    assert not page_failed(app), [e.value for e in app.error]
    shown_as = f"{selling['product_name'][2]} ({member})" if key == "product_id" else member
    assert any(h.value == f"{fmt.plain(shown_as)} among all {attribute}" for h in app.subheader)
    member_line = {"products": "Product", "branches": "Branch", "salespeople": "Salesperson"}
    assert any(
        c.value.endswith(f"\n{member_line[attribute]}: {fmt.plain(shown_as)}") for c in app.caption
    ), [c.value for c in app.caption]
    tiles = {m.label: m for m in app.metric}
    assert tiles["Rank by net sales"].value == f"3 of {selling.height}"
    row = selling.row(2, named=True)
    share = row["net_sales"] / board["net_sales"].sum()  # by hand: the products area has none
    assert tiles["Share of net sales"].value == fmt.plain(fmt.pct(share))
    everyone_margin = selling["gross_profit"].sum() / selling["net_sales"].sum()
    gap = (row["gross_margin_pct"] - everyone_margin) * 100
    expected_gap = "0.0" if f"{gap:+.1f}"[1:] == "0.0" else f"{gap:+.1f}"
    assert tiles["Margin against everyone"].value == fmt.plain(f"{expected_gap} pp")
    # The member's own products and customers, best first: the export of its view.
    mine = resolve_view(sample_store, everyone.with_members(**{attribute: (member,)}))
    if key != "product_id":
        products = area_table("products", sample_store, mine).head(10)
        shown = next(table_of(app, i) for i in range(len(app.dataframe))
                     if "product_id" in app.dataframe[i].value.columns)  # fmt: skip
        assert shown["product_id"].to_list() == products["product_id"].to_list()
    customers = area_table("customers", sample_store, mine)
    top = customers.sort(["monetary", "customer_id"], descending=[True, False]).head(10)
    listed = next(table_of(app, i) for i in range(len(app.dataframe))
                  if "customer_id" in app.dataframe[i].value.columns)  # fmt: skip
    assert listed["customer_id"].to_list() == top["customer_id"].to_list()
    assert not any(h.value.startswith("All ") for h in app.subheader), "no board of one"


def test_a_product_in_the_filters_is_named_by_its_latest_name(
    sample_env: Path, sample_store: EmbeddedStore
) -> None:
    catalogue = area_table("products", sample_store, resolve_view(sample_store, Filters()))
    product = catalogue.row(0, named=True)
    named = fmt.plain(f"{product['product_name']} ({product['product_id']})")
    app = run_page("overview", **WINDOW, product=product["product_id"])
    assert not page_failed(app), [e.value for e in app.error]
    assert [i.value for i in app.info if i.value.startswith("Showing")] == [
        f"Showing products: {named}"
    ]
    assert any(c.value.endswith(f"\nProduct: {named}") for c in app.caption)


def test_one_product_line_keeps_its_products_and_stands_among_the_lines(
    sample_env: Path, sample_store: EmbeddedStore
) -> None:
    everyone = Filters(start=date(2026, 1, 1), end=date(2026, 6, 30))
    lines = area_table("product-lines", sample_store, resolve_view(sample_store, everyone))
    line = lines.row(0, named=True)
    app = run_page("products", **WINDOW, line=line["product_line"])
    assert not page_failed(app), [e.value for e in app.error]
    assert any(h.value == f"{line['product_line']} among all product lines" for h in app.subheader)
    tiles = {m.label: m for m in app.metric}
    assert tiles["Rank by net sales"].value == f"1 of {lines.filter(pl.col('orders') > 0).height}"
    assert tiles["Share of net sales"].value == fmt.plain(fmt.pct(line["share_of_net_sales"]))
    assert not any(h.value == "Product lines" for h in app.subheader)
    assert [h.value for h in app.subheader if h.value in ("Branches", "Salespeople")] == [
        "Branches",
        "Salespeople",
    ]
    mine = everyone.with_members(product_lines=(line["product_line"],))
    products = area_table("products", sample_store, resolve_view(sample_store, mine))
    listed = next(table_of(app, i) for i in range(len(app.dataframe))
                  if len(app.dataframe[i].value) == products.height)  # fmt: skip
    assert set(listed["product_id"]) == set(products["product_id"])


def test_a_viewer_of_one_branch_sees_its_profile_not_a_board_of_one(sample_env: Path) -> None:
    app = page_app("branches", username="mombasa")
    app.query_params.update(WINDOW)
    app.run()
    assert not page_failed(app), [e.value for e in app.error]
    headings = [h.value for h in app.subheader]
    assert "Mombasa among all branches (your branches: Mombasa)" in headings, headings
    assert "All branches" not in headings
    assert any("nothing to rank it against" in c.value for c in app.caption)


def test_cohorts_say_when_their_last_month_is_partial(sample_env: Path) -> None:
    partial = run_page("customers", start="2026-01-01", end="2026-06-15")
    notes = [c.value for c in partial.caption if "still filling" in c.value]
    assert notes and "Jun 2026, has only 15 days" in notes[0], notes
    whole = run_page("customers", **WINDOW)  # ends on 30 June
    assert not any("still filling" in c.value for c in whole.caption)
