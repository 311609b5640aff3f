"""Alert rules: each fires once per breach, again only after clearing, across restarts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from statsforecast.models import AutoETS

from core.reports import alerts, manage
from core.reports.book import ReportBook
from core.reports.service import ReportService
from core.store import Scope, Window
from core.stores.embedded import EmbeddedStore
from core.users import UserFile
from tests.core.reports.conftest import Inbox, report_settings
from tests.fixtures.hand_fixture import build_store
from tests.fixtures.targets_fixture import stored_targets

NAIROBI = ZoneInfo("Africa/Nairobi")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NAIROBI)


class Clock:
    """A clock the test moves; the service reads it for every check."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_stale_feed_fires_once_per_breach_and_again_after_clearing(
    store_dir: Path, store: EmbeddedStore, tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    settings = report_settings(store_dir, tmp_path, f"smtp://127.0.0.1:{port}")
    admin = UserFile(settings.auth_file).get("admin")
    assert admin is not None
    rule = manage.add_alert(
        settings,
        store,
        admin,
        "admin",
        "ops@example.co.ke",
        "stale-feed",
        {"branch": "Mombasa", "by": "14:00"},
    )
    # The sample's last day is 31 October: on 1 November nothing is recorded.
    day = date(2026, 11, 1)
    clock = Clock(at(day, 13, 59))
    service = ReportService(settings, store, clock=clock)
    assert service.check_alert(rule).status == "ok"  # not due before 14:00
    clock.now = at(day, 14, 0)
    assert service.check_alerts()[0][1].status == "sent"
    (message,) = inbox.wait(1)
    assert message["Subject"] == "Alert: No sales recorded today for Mombasa by 14:00"
    assert message["To"] == "ops@example.co.ke"
    clock.now = at(day, 14, 15)
    assert service.check_alerts()[0][1].detail == "already sent"
    # A restart keeps the state: no second mail for the same breach.
    clock.now = at(day, 16, 0)
    restarted = ReportService(settings, store, clock=clock)
    restarted.check_alerts()
    stored = ReportBook(settings.data_dir).alert(rule.id)
    assert stored is not None and stored.state == "breach" and stored.notified
    # The next morning it clears (not due yet); at 14:00 the new day's breach is sent.
    clock.now = at(day + timedelta(days=1), 9, 0)
    restarted.check_alerts()
    assert ReportBook(settings.data_dir).alert(rule.id).state == "ok"  # type: ignore[union-attr]
    clock.now = at(day + timedelta(days=1), 14, 30)
    restarted.check_alerts()
    assert len(inbox.wait(2)) == 2
    clock.now = at(day + timedelta(days=1), 15, 0)
    restarted.check_alerts()
    assert len(inbox.messages) == 2
    sends = ReportBook(settings.data_dir).deliveries(status="sent")
    assert [(d.kind, d.ref) for d in sends] == [("alert", rule.id)] * 2


def test_stale_feed_is_ok_once_the_branch_records_sales(store: EmbeddedStore) -> None:
    last = store.date_range(Scope(branches=("Mombasa",)))
    assert last is not None
    check = alerts.stale_feed(store, {"branch": "Mombasa", "by": "00:00"}, at(last.end, 23), None)
    assert check.state == "ok" and "lines recorded today for Mombasa" in check.detail


def test_gross_margin_of_a_line_over_seven_days(store: EmbeddedStore) -> None:
    now = at(date(2026, 11, 1), 8)
    window = Window(date(2026, 10, 25), date(2026, 10, 31))
    sums = store.aggregate(
        Scope(product_lines=("Dairy",)), window, measures=("net_sales", "gross_profit")
    )
    margin = sums["gross_profit"][0] / sums["net_sales"][0]
    above = alerts.gross_margin(store, {"line": "Dairy", "below": margin - 0.001}, now, None)
    below = alerts.gross_margin(store, {"line": "Dairy", "below": margin + 0.001}, now, None)
    assert above.state == "ok" and below.state == "breach"
    assert f"{margin:.1%} over 7 days (2026-10-25 to 2026-10-31)" in below.detail


def test_net_sales_against_the_same_weekday_of_the_four_weeks_before(
    store: EmbeddedStore,
) -> None:
    now = at(date(2026, 11, 1), 8)  # yesterday: Saturday 31 October
    scope = Scope(branches=("Kisumu",))
    by_day = {
        d: store.aggregate(scope, Window(d, d), measures=("net_sales",))["net_sales"][0]
        for d in (date(2026, 10, 31) - timedelta(weeks=n) for n in range(5))
    }
    average = sum(v for d, v in by_day.items() if d != date(2026, 10, 31)) / 4
    ratio = by_day[date(2026, 10, 31)] / average
    assert alerts.weekday_average(store, scope, date(2026, 10, 31), {}) == pytest.approx(average)
    rule = {"branch": "Kisumu", "below": min(1.0, ratio + 0.01)}
    assert alerts.net_sales(store, rule, now, None).state == "breach"
    assert alerts.net_sales(store, {**rule, "below": ratio - 0.01}, now, None).state == "ok"


def test_a_rule_is_read_with_the_owner_restriction(store: EmbeddedStore) -> None:
    now = at(date(2026, 11, 1), 15)
    check = alerts.stale_feed(store, {"branch": "Kisumu", "by": "14:00"}, now, ("Mombasa",))
    assert check.state == "error" and "not among the owner's branches" in check.detail
    with pytest.raises(alerts.AlertRuleError, match="not one the owner may see"):
        alerts.validate_rule(store, "stale-feed", {"branch": "Kisumu", "by": "14:00"}, ("Mombasa",))


@pytest.mark.parametrize(
    ("kind", "params", "reason"),
    [
        ("nonsense", {}, "unknown alert type"),
        ("stale-feed", {"branch": "Mombasa"}, "needs by"),
        ("stale-feed", {"branch": "Mombasa", "by": "2pm"}, "time of day"),
        ("gross-margin", {"line": "Dairy", "below": "20"}, "at most 1"),
        ("gross-margin", {"line": "Diary", "below": "0.2"}, "product line 'Diary'"),
        ("net-sales", {"below": "0.7", "baseline": "last-year"}, "unknown baseline"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(
    store: EmbeddedStore, kind: str, params: dict[str, str], reason: str
) -> None:
    with pytest.raises(alerts.AlertRuleError, match=reason):
        alerts.validate_rule(store, kind, params, None)


def test_a_target_baseline_is_the_days_share_of_the_months_target(tmp_path: Path) -> None:
    # tests/fixtures/targets_fixture.py: January 2025 targets Nairobi 6,200 and Mombasa
    # 3,100 (the branches' targets add up for the whole business), Alice's 3,100 a
    # salesperson's slice; a day of January is a 31st of each.
    hand = build_store(tmp_path / "sales")
    hand.write_targets(stored_targets())
    day = date(2025, 1, 15)
    nairobi = Scope(branches=("Nairobi",))
    assert alerts.day_target(hand, nairobi, day, {}) == pytest.approx(6200 / 31)
    assert alerts.day_target(hand, Scope(), day, {}) == pytest.approx((6200 + 3100) / 31)
    assert alerts.day_target(hand, Scope(branches=("Kisumu",)), day, {}) is None
    # Nairobi sold 600 on 10 January (invoice 102) and nothing on the 11th.
    rule = {"branch": "Nairobi", "baseline": "target", "below": 0.7}
    sold = alerts.net_sales(hand, rule, at(date(2025, 1, 11), 8), None)
    assert sold.state == "ok"
    assert "KES 600, 300% of its target for the day" in sold.detail
    quiet = alerts.net_sales(hand, rule, at(date(2025, 1, 12), 8), None)
    assert quiet.state == "breach" and "KES 0, 0% of its target" in quiet.detail


def test_a_forecast_baseline_is_the_models_forecast_from_the_days_before(
    store: EmbeddedStore,
) -> None:
    day = date(2026, 10, 31)
    scope = Scope(branches=("Kisumu",))
    # The series by another route: the store's daily sums, every day from the first sale
    # to the day before, a day without sales 0, fitted with statsforecast directly.
    first = store.date_range(scope)
    assert first is not None
    daily = store.aggregate(scope, Window(first.start, day - timedelta(days=1)), grain="day")
    days = pl.DataFrame({"period": pl.date_range(first.start, day - timedelta(days=1), eager=True)})
    y = days.join(daily.select("period", "net_sales"), on="period", how="left")["net_sales"]
    fitted = AutoETS(season_length=7, model="ZNZ").fit(y.fill_null(0).to_numpy().astype(float))
    expected = float(fitted.predict(h=1)["mean"][0])
    assert alerts.day_forecast(store, scope, day, {"branch": "Kisumu"}) == pytest.approx(expected)
    check = alerts.net_sales(
        store,
        {"branch": "Kisumu", "below": 0.5, "baseline": "forecast"},
        at(day + timedelta(days=1), 8),
        None,
    )
    assert "its forecast for the day" in check.detail
    # Too short a history to fit: no baseline, so no alert.
    assert (
        alerts.day_forecast(store, scope, first.start + timedelta(days=5), {"branch": "Kisumu"})
        is None
    )
