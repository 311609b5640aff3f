"""What each page asks is declared once (ui/page_data.py): warming a page's link asks what
the page asks, and nothing else, for that user's branches only.

`warm_page` runs for real on the sample store; the page then runs in
Streamlit's AppTest, and the store's own log (core/stores/logged.py) says
whether the page still had to aggregate anything.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from core import cache
from core.settings import load_settings
from core.store import Scope
from core.users import UserFile
from tests.conftest import MOMBASA_VIEWER
from tests.views.apps import page_app, page_failed
from ui.filter_bar import link_filters
from ui.page_data import PAGES
from ui.warmup import warm_page

LINK = {"start": "2025-02-01", "end": "2025-07-31", "grain": "month"}
NAMES = {"": "overview", **{path: path for path in PAGES if path}}


# The store's queries of data: the sales lines' aggregates and the deals' facts.
QUERIES = frozenset({"aggregate", "facts", "stage_counts", "open_deals"})


def aggregations(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    found = [r.__dict__ for r in caplog.records if r.name == "core.store"]
    return [r for r in found if r.get("operation") in QUERIES and "error" not in r]


def store_calls(caplog: pytest.LogCaptureFixture) -> Counter[tuple[str, ...]]:
    """Each store call the log shows, by what it asked (the scope is not logged)."""
    found = [r.__dict__ for r in caplog.records if r.name == "core.store"]
    return Counter(
        tuple(str(c.get(field)) for field in ("operation", "by", "grain", "window", "column"))
        for c in found
    )


def run_linked_page(name: str, username: str, link: dict[str, str]) -> Any:
    app = page_app(name, username)
    for key, value in link.items():
        app.query_params[key] = value
    return app.run()


def warm_link(path: str, link: dict[str, str], username: str) -> bool:
    """Warm `path` for the filters of `link`, as `username` would open it."""
    user = UserFile(load_settings().auth_file).get(username)
    assert user is not None
    version = cache.data_version()
    params = parse_qs(urlencode(link), keep_blank_values=True)
    filters = link_filters(params, user.branches, version).filters
    return warm_page(path, filters, user.branches, version)


def sample_member(column: str) -> str:
    """A member of the sample, for links that name one."""
    members = cache.members_of(column, Scope(), cache.data_version())
    return members[len(members) // 2]


# Links that put one member in focus: (page, parameter, column it names, user).
FOCUSED = {
    "one rep": ("salespeople", "rep", "salesperson", "admin"),
    "one product": ("products", "product", "product_id", "admin"),
    "one line": ("products", "line", "product_line", "admin"),
    "one branch": ("branches", "branch", "branch", "admin"),
    "a one-branch user": ("branches", None, None, MOMBASA_VIEWER[0]),
}
LINKS = [(path, None, None, "admin") for path in NAMES] + list(FOCUSED.values())
LINK_IDS = [f"{NAMES[path]} board" for path in NAMES] + list(FOCUSED)


@pytest.mark.parametrize(("path", "param", "column", "user"), LINKS, ids=LINK_IDS)
def test_warming_a_link_asks_what_its_page_asks_and_nothing_else(
    sample_env: Any,
    path: str,
    param: str | None,
    column: str | None,
    user: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = dict(LINK)
    if param and column:
        link[param] = sample_member(column)
    caplog.set_level(logging.INFO, logger="core.store")
    cache.clear()
    caplog.clear()
    assert not page_failed(run_linked_page(NAMES[path], user, link))
    asked = store_calls(caplog)
    cache.clear()
    caplog.clear()
    assert warm_link(path, link, user)
    warmed = store_calls(caplog)
    assert aggregations(caplog), "the warm-up asked the store"
    assert not warmed - asked, "the warm-up asked what the page does not"
    caplog.clear()
    app = run_linked_page(NAMES[path], user, link)
    assert not page_failed(app)
    assert app.metric, "the page drew its tiles"
    assert aggregations(caplog) == [], "the page asked what the warm-up had not answered"


def test_no_comparison_is_warmed_before_the_first_sale(
    sample_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # All data, compared with the same span before it: no sales there, no trend to draw
    # (the totals still ask it, to say there is no growth).
    caplog.set_level(logging.INFO, logger="core.store")
    cache.clear()
    assert warm_link("", {}, "admin")
    recorded = cache.data_range(Scope(), cache.data_version())
    assert recorded is not None
    trends = [c for c in aggregations(caplog) if c["grain"]]
    assert trends, "the warm-up drew the trend"
    assert all(c["window"].split("..")[1] >= str(recorded.start) for c in trends)


def test_a_warmed_view_serves_only_its_users_branches(
    sample_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.store")
    cache.clear()
    assert warm_link("products", LINK, MOMBASA_VIEWER[0])
    caplog.clear()
    run_linked_page("products", MOMBASA_VIEWER[0], LINK)
    assert aggregations(caplog) == []
    caplog.clear()
    run_linked_page("products", "admin", LINK)  # every branch: not what was warmed
    assert aggregations(caplog), "the Mombasa viewer's warm-up served another user's view"
