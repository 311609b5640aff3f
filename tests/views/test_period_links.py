"""The Period box and `period=` links in AppTest: a named period stays a period in the URL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import cache
from core.presets import business_today, opening_period, period_window
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from ingest.sample import generate_sales
from tests.conftest import add_test_users, to_stored
from tests.views.apps import page_failed, run_page


def own_data_dir_ending(tmp_path: Path, end: date) -> Path:
    """A small store whose sales run to `end` (the others end on a fixed past day)."""
    EmbeddedStore(tmp_path / "sales").write(
        to_stored(generate_sales(3_000, seed=4, end=end, years=1)), "append"
    )
    add_test_users(tmp_path)
    return tmp_path


@pytest.fixture()
def current_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Pages over a store whose sales run to today."""
    data_dir = own_data_dir_ending(tmp_path, business_today("Africa/Nairobi"))
    monkeypatch.setenv("SALES_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SALES_BACKEND", "embedded")
    monkeypatch.setenv("SALES_WARM_UP", "off")
    monkeypatch.setenv("SALES_AUTH_FILE", str(data_dir / "users.yaml"))
    cache.get_store.clear()
    cache.clear()
    yield data_dir
    cache.get_store.clear()
    cache.clear()


def period_box(app: AppTest):  # type: ignore[no-untyped-def]
    (box,) = [s for s in app.selectbox if s.label == "Period"]
    return box


def url(app: AppTest) -> dict[str, list[str]]:
    return {k: [v] if isinstance(v, str) else list(v) for k, v in app.query_params.items()}


def test_a_period_link_shows_its_days_and_keeps_the_period(sample_env: Path) -> None:
    app = run_page("overview", period="year-to-date", compare="none")
    assert not page_failed(app), [e.value for e in app.error]
    window = period_window("year-to-date", business_today("Africa/Nairobi"))
    caption = f"Year to date: {window.start:%d %b %Y} to {window.end:%d %b %Y}"
    assert any(c.value.startswith(caption) for c in app.caption), [c.value for c in app.caption]
    assert period_box(app).value == "Year to date"
    assert url(app) == {"period": ["year-to-date"], "compare": ["none"]}


def test_picking_a_period_writes_the_period_not_the_dates(sample_env: Path) -> None:
    app = run_page("branches", start="2026-01-01", end="2026-06-30")
    assert period_box(app).value == "Custom"
    period_box(app).set_value("Last 12 months").run()
    assert not page_failed(app)
    assert url(app) == {"period": ["last-12-months"]}
    assert period_box(app).value == "Last 12 months"


def test_dates_picked_by_hand_end_the_period(sample_env: Path) -> None:
    app = run_page("overview", period="last-12-months")
    window = period_window("last-12-months", business_today("Africa/Nairobi"))
    new_start = window.start + timedelta(days=10)
    (dates,) = app.date_input
    dates.set_value((new_start, window.end)).run()
    assert not page_failed(app)
    assert url(app) == {"start": [new_start.isoformat()], "end": [window.end.isoformat()]}
    assert period_box(app).value == "Custom"


def test_custom_pins_a_period_to_its_dates(sample_env: Path) -> None:
    app = run_page("overview", period="last-month")
    window = period_window("last-month", business_today("Africa/Nairobi"))
    period_box(app).set_value("Custom").run()
    assert url(app) == {"start": [window.start.isoformat()], "end": [window.end.isoformat()]}


def test_custom_on_all_data_pins_the_datas_days(
    sample_env: Path, sample_store: EmbeddedStore
) -> None:
    """From All data, Custom fixes the days the picker shows: the data's first to last."""
    app = run_page("overview")
    assert period_box(app).value == "All data"
    period_box(app).set_value("Custom").run()
    assert not page_failed(app)
    span = sample_store.date_range(Scope())
    assert span is not None
    assert url(app) == {"start": [span.start.isoformat()], "end": [span.end.isoformat()]}
    assert period_box(app).value == "Custom"


def test_all_data_clears_the_dates_and_shows_months(sample_env: Path) -> None:
    app = run_page("overview", period="yesterday", grain="day")
    period_box(app).set_value("All data").run()
    # Said in the link: a link without dates opens on the month so far instead.
    assert url(app) == {"period": ["all"]}
    assert period_box(app).value == "All data"


def test_a_short_period_is_shown_by_day(sample_env: Path) -> None:
    app = run_page("overview", start="2026-01-01", end="2026-06-30")
    period_box(app).set_value("Last 7 days").run()
    assert url(app) == {"period": ["last-7-days"], "grain": ["day"]}
    period_box(app).set_value("Last quarter").run()
    assert url(app) == {"period": ["last-quarter"], "grain": ["week"]}


def test_a_window_ending_today_says_today_is_in_progress(sample_env: Path) -> None:
    app = run_page("overview", period="this-month", compare="yoy")
    captions = [c.value for c in app.caption]
    assert any("today is still in progress: its sales so far" in c for c in captions), captions
    alone = run_page("overview", period="this-month", compare="none")
    assert any(c.value.endswith("(today is still in progress)") for c in alone.caption)
    fixed = run_page("overview", start="2026-01-01", end="2026-06-30")
    assert not any("in progress" in c.value for c in fixed.caption)
    assert not any(c.value.startswith("All data") for c in fixed.caption)
    everything = run_page("overview")
    assert any(c.value.startswith("All data: ") for c in everything.caption)


def test_a_single_day_is_written_once(sample_env: Path) -> None:
    app = run_page("overview", start="2026-06-30", end="2026-06-30")
    assert any(
        c.value.startswith("30 Jun 2026 · compared with 29 Jun 2026") for c in app.caption
    ), [c.value for c in app.caption]


def test_a_link_without_dates_opens_on_the_month_so_far_compared(current_env: Path) -> None:
    today = business_today("Africa/Nairobi")
    app = run_page("overview")
    assert not page_failed(app), [e.value for e in app.error]
    month = period_window("this-month", today)
    if month.start == today:  # the 1st: the month has no whole day yet, last month shows
        month = period_window("last-month", today)
    box = period_box(app).value
    assert box in ("This month", "Last month")
    assert url(app)["period"] in (["this-month"], ["last-month"])
    assert any(f"{month.start:%d %b %Y} to" in c.value for c in app.caption)
    assert "compared with" in " ".join(c.value for c in app.caption)
    # The tiles carry their change against the same days before.
    net = next(m for m in app.metric if m.label == "Net sales")
    assert net.proto.delta


def test_all_data_stays_all_data_in_its_link(current_env: Path) -> None:
    app = run_page("overview", period="all")
    assert period_box(app).value == "All data"
    assert any(c.value.startswith("All data:") for c in app.caption)


def test_the_opening_period_follows_the_latest_sale() -> None:
    today = date(2026, 12, 7)
    assert opening_period(Window(date(2024, 1, 1), date(2026, 12, 6)), today) == "this-month"
    assert opening_period(Window(date(2024, 1, 1), date(2026, 11, 30)), today) == "last-month"
    assert opening_period(Window(date(2024, 1, 1), date(2026, 10, 31)), today) is None
    assert opening_period(None, today) is None
