"""Page tables: how numbers show, download file names, and which tables download."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from core.filters import Filters
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from tests.views.apps import run_page
from ui import tables

ROOT = Path(__file__).resolve().parents[2]
WINDOW = Window(date(2023, 12, 3), date(2026, 12, 2))


def test_file_name_carries_the_resolved_window() -> None:
    assert tables.file_stem("salespeople", Filters(), WINDOW) == (
        "salespeople_2023-12-03_to_2026-12-02"
    )


def test_file_name_keeps_member_filters_and_drops_unsafe_characters() -> None:
    filters = Filters(branches=("Mombasa", "Nakuru"), salespeople=("<b>Kibet</b>/../x",))
    stem = tables.file_stem("branches", filters, WINDOW)
    assert stem.startswith("branches_2023-12-03_to_2026-12-02_branch-Mombasa+Nakuru_rep-")
    assert "/" not in stem and "<" not in stem


def test_file_name_without_a_window_describes_the_filters() -> None:
    assert tables.file_stem("products", Filters(), None) == "products_first_to_last"


def shares() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "branch": ["Mombasa", "Kisumu"],
            "net_sales": [24065676.24, 1.5],
            "gross_margin_pct": [0.13, 0.1317],
            "share_of_net_sales": [0.003, 0.6087],
            "growth_pct": [0.123, None],
            "rank_change": [2, 0],
            "units": [32543.0, 1.0],
        }
    )


def test_display_copy_shows_fractions_in_percent_and_leaves_the_rest() -> None:
    frame = shares()
    shown = tables.for_display(frame)
    assert shown["gross_margin_pct"].to_list() == pytest.approx([13.0, 13.17])
    assert shown["share_of_net_sales"].to_list() == pytest.approx([0.3, 60.87])
    assert shown["growth_pct"].to_list()[0] == pytest.approx(12.3)
    assert shown["growth_pct"][1] is None
    for column in ("branch", "net_sales", "rank_change", "units"):
        assert shown[column].to_list() == frame[column].to_list()
    assert frame["gross_margin_pct"].to_list() == [0.13, 0.1317], "the data is not changed"


def test_column_formats_fix_decimals_and_signs() -> None:
    config = tables.column_config(shares())

    def number_format(column: str) -> str | None:
        type_config = config[column]["type_config"]
        return type_config.get("format")  # type: ignore[union-attr]

    assert number_format("net_sales") == "KES %,.0f"
    assert number_format("gross_margin_pct") == "%,.1f%%"
    assert number_format("share_of_net_sales") == "%,.1f%%"
    assert number_format("growth_pct") == "%+,.1f%%"
    assert number_format("rank_change") == "%+d"
    assert number_format("units") == "%,.0f"
    assert config["gross_margin_pct"]["label"] == "Gross margin"
    assert config["growth_pct"]["help"]


@pytest.fixture()
def file_stems(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names the pages' download buttons are given, in page order."""
    stems: list[str] = []
    make = tables.file_stem

    def recorded(name: str, filters: Filters, window: Window | None) -> str:
        stems.append(make(name, filters, window))
        return stems[-1]

    monkeypatch.setattr(tables, "file_stem", recorded)
    return stems


def download_keys(app: AppTest) -> list[str]:
    return [str(button.key) for button in app.download_button]


def test_overview_figures_trend_and_forecast_download(
    sample_env: Path, file_stems: list[str]
) -> None:
    app = run_page("overview", start="2026-01-01", end="2026-06-30")
    assert not app.exception
    keys = download_keys(app)
    assert {"exact_figures_csv", "exact_figures_xlsx"} <= set(keys)
    assert any(k.startswith("table_trend_") and k.endswith("_csv") for k in keys)
    assert file_stems == [
        "overview_2026-01-01_to_2026-06-30",
        "trend_2026-01-01_to_2026-06-30",
        "forecast_2026-01-01_to_2026-06-30",
    ]


def test_customers_side_tables_download(
    sample_env: Path, sample_store: EmbeddedStore, file_stems: list[str]
) -> None:
    app = run_page("customers")
    assert not app.exception
    keys = download_keys(app)
    for name in ("new-and-returning", "concentration", "segments", "cohorts", "customers"):
        assert any(k.startswith(f"table_{name}_") for k in keys), name
    # Without dates in the URL the names carry the data's first and last day.
    data = sample_store.date_range(Scope())
    assert data is not None
    window = f"{data.start}_to_{data.end}"
    assert file_stems[:2] == [f"new-and-returning_{window}", f"concentration_{window}"]
    assert all(stem.endswith(window) for stem in file_stems)
