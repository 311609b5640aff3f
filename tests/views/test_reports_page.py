"""The Reports page: users manage their own reports, admins everyone's; failed sends shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core import cache
from core.reports.book import ReportBook
from core.reports.schedules import parse_schedule
from tests.conftest import own_data_dir
from tests.views.apps import page_app, page_failed


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return own_data_dir(tmp_path_factory, "reports-page", 3000, seed=9)


@pytest.fixture()
def env(reports_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReportBook]:
    for name, value in {
        "SALES_DATA_DIR": str(reports_dir),
        "SALES_BACKEND": "embedded",
        "SALES_WARM_UP": "off",
        "SALES_AUTH_FILE": str(reports_dir / "users.yaml"),
    }.items():
        monkeypatch.setenv(name, value)
    (reports_dir / "reports.sqlite").unlink(missing_ok=True)
    cache.get_store.clear()
    cache.clear()
    yield ReportBook(reports_dir)
    cache.get_store.clear()
    cache.clear()


# A column only that table has: AppTest does not expose a dataframe's key.
TABLE_COLUMNS = {"subscriptions": "schedule", "alerts": "rule", "failed_sends": "attempts"}


def _rows(app, table: str) -> int:  # type: ignore[no-untyped-def]
    frames = [d.value for d in app.dataframe if TABLE_COLUMNS[table] in d.value.columns]
    return len(frames[0]) if frames else 0


def test_a_viewer_subscribes_for_themself_and_sees_only_their_own(env: ReportBook) -> None:
    env.add_subscription("viewer", "v@example.co.ke", "overview", {}, parse_schedule("daily 07:00"))
    app = page_app("reports", "mombasa").run()
    assert not page_failed(app)
    assert _rows(app, "subscriptions") == 0
    app.text_input(key="report_email").set_value("amina@example.co.ke")
    app.text_input(key="report_link").set_value(
        "https://sales.example.co.ke/branches?period=yesterday"
    )
    next(b for b in app.button if b.label == "Subscribe").click()
    app.run()
    assert not page_failed(app)
    (mine,) = env.subscriptions("mombasa")
    assert (mine.page, mine.params, str(mine.schedule)) == (
        "branches",
        {"period": ["yesterday"]},
        "daily 07:00",
    )
    # The confirmation outlives the page's redraw, once.
    said = f"Report {mine.id} saved: Branches, daily 07:00."
    assert said in [s.value for s in app.success]
    app.run()
    assert _rows(app, "subscriptions") == 1 and said not in [s.value for s in app.success]


def test_a_branch_the_viewer_may_not_see_is_refused_on_the_page(env: ReportBook) -> None:
    app = page_app("reports", "mombasa").run()
    app.text_input(key="report_email").set_value("amina@example.co.ke")
    app.text_input(key="report_link").set_value("https://x.example/branches?branch=Kisumu")
    next(b for b in app.button if b.label == "Subscribe").click()
    app.run()
    assert any("'Kisumu' is not in the branches this user may see" in e.value for e in app.error)
    assert env.subscriptions() == []


def test_an_admin_sees_every_report_rule_and_failed_send(env: ReportBook) -> None:
    env.add_subscription("viewer", "v@example.co.ke", "overview", {}, parse_schedule("daily 07:00"))
    env.add_subscription(
        "mombasa", "m@example.co.ke", "branches", {}, parse_schedule("daily 07:00")
    )
    env.add_alert("mombasa", "m@example.co.ke", "stale-feed", {"branch": "Mombasa", "by": "14:00"})
    env.record_delivery(
        "report",
        2,
        "mombasa",
        "m@example.co.ke",
        "abc123def456",
        "failed",
        3,
        "cannot reach the mail server smtp://mail:25: connection refused (after 3 attempts)",
    )
    app = page_app("reports", "admin").run()
    assert not page_failed(app)
    assert _rows(app, "subscriptions") == 2
    assert _rows(app, "alerts") == 1
    assert _rows(app, "failed_sends") == 1
    viewer = page_app("reports", "viewer").run()
    assert _rows(viewer, "subscriptions") == 1 and _rows(viewer, "failed_sends") == 0
    diagnostics = page_app("diagnostics", "admin").run()
    assert not page_failed(diagnostics)
    assert any("1 recent failed sends" in m.value for m in diagnostics.markdown)
