"""The prefetch: a page's link fills the cache with what the page will ask, for its user only.

`warm_link` runs for real on the sample store; the page then runs in
Streamlit's AppTest, and the store's own log (core/stores/logged.py) says
whether the page still had to aggregate anything.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from core import cache
from core.store import Scope
from tests.conftest import MOMBASA_VIEWER
from tests.views.apps import page_app, page_failed
from ui import prefetch
from ui.login_cookie import COOKIE_NAME
from ui.questions import PAGE_QUESTIONS
from ui.warmup import warm_link

KEY = "prefetch-test-cookie-key-0123456789"
LINK = {"start": "2025-02-01", "end": "2025-07-31", "grain": "month"}
QUERY = "start=2025-02-01&end=2025-07-31&grain=month"
PAGES = {"": "overview", **{path: path for path in PAGE_QUESTIONS if path}}


def cookie(username: str, key: str = KEY, lifetime: float = 3600.0) -> str:
    # The shape streamlit-authenticator's cookie component writes at sign-in.
    return jwt.encode(
        {"username": username, "exp_date": time.time() + lifetime}, key, algorithm="HS256"
    )


@pytest.fixture()
def signed_env(sample_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SALES_COOKIE_KEY", KEY)
    yield sample_env


def aggregations(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    found = [r for r in caplog.records if r.name == "core.store"]
    return [r.__dict__ for r in found if r.getMessage() == "store aggregate"]


def run_linked_page(name: str, username: str = "admin", link: dict[str, str] = LINK) -> Any:
    app = page_app(name, username)
    for key, value in link.items():
        app.query_params[key] = value
    return app.run()


def store_calls(caplog: pytest.LogCaptureFixture) -> Counter[tuple[str, ...]]:
    """Each store call the log shows, by what it asked (the scope is not logged)."""
    found = [r.__dict__ for r in caplog.records if r.name == "core.store"]
    return Counter(
        tuple(str(c.get(field)) for field in ("operation", "by", "grain", "window", "column"))
        for c in found
    )


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
LINKS = [(path, None, None, "admin") for path in PAGES] + list(FOCUSED.values())
LINK_IDS = [f"{PAGES[path]} board" for path in PAGES] + list(FOCUSED)


@pytest.mark.parametrize(("path", "param", "column", "user"), LINKS, ids=LINK_IDS)
def test_a_prefetch_asks_what_its_page_asks_and_nothing_else(
    signed_env: Path,
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
    assert not page_failed(run_linked_page(PAGES[path], user, link))
    asked = store_calls(caplog)
    cache.clear()
    caplog.clear()
    assert warm_link(path, urlencode(link), cookie(user))
    prefetched = store_calls(caplog)
    assert aggregations(caplog), "the prefetch asked the store"
    assert not prefetched - asked, "the prefetch asked what the page does not"
    caplog.clear()
    app = run_linked_page(PAGES[path], user, link)
    assert not page_failed(app)
    assert app.metric, "the page drew its tiles"
    assert aggregations(caplog) == [], "the page asked what the prefetch had not answered"


def test_no_comparison_is_prefetched_before_the_first_sale(
    signed_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # All data, compared with the same span before it: no sales there, no trend to draw
    # (the totals still ask it, to say there is no growth).
    caplog.set_level(logging.INFO, logger="core.store")
    assert warm_link("", "", cookie("admin"))
    recorded = cache.data_range(Scope(), cache.data_version())
    assert recorded is not None
    trends = [c for c in aggregations(caplog) if c["grain"]]
    assert trends, "the prefetch drew the trend"
    assert all(c["window"].split("..")[1] >= str(recorded.start) for c in trends)


def test_a_prefetch_computes_under_the_users_branches_only(
    signed_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.store")
    assert warm_link("products", QUERY, cookie(MOMBASA_VIEWER[0]))
    caplog.clear()
    run_linked_page("products", MOMBASA_VIEWER[0])
    assert aggregations(caplog) == []
    caplog.clear()
    run_linked_page("products", "admin")  # every branch: not what was prefetched
    assert aggregations(caplog), "the Mombasa viewer's prefetch served another user's view"


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-token",
        cookie("admin", key="another-key-of-enough-length-0123456"),
        cookie("admin", lifetime=-60),
        cookie("nobody-of-that-name"),
    ],
    ids=["none", "garbage", "other key", "expired", "unknown user"],
)
def test_no_valid_cookie_no_work(
    signed_env: Path, token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.store")
    assert not warm_link("products", QUERY, token)
    assert aggregations(caplog) == []


def test_prefetch_off_computes_nothing(
    signed_env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SALES_PREFETCH", "off")
    caplog.set_level(logging.INFO, logger="core.store")
    assert not warm_link("products", QUERY, cookie("admin"))
    assert aggregations(caplog) == []


def test_page_paths() -> None:
    assert prefetch.page_of("/") == ""
    assert prefetch.page_of("/products") == "products"
    assert prefetch.page_of("/products/") == "products"
    assert prefetch.page_of("/upload") is None  # nothing to compute
    assert prefetch.page_of("/_stcore/health") is None
    assert prefetch.page_of("/static/js/index.js") is None
    assert prefetch.page_of("/sales/customers", "/sales/") == "customers"
    assert prefetch.page_of("/customers", "sales") is None


class Recorder:
    """The app behind the middleware: answers every request, remembers nothing."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def request(path: str, query: bytes = b"", token: str | None = None, method: str = "GET") -> Any:
    headers = [(b"cookie", f"{COOKIE_NAME}={token}".encode())] if token else []
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": headers,
    }


def handed_to_the_worker(
    monkeypatch: pytest.MonkeyPatch, *requests: Any
) -> list[tuple[str, str, str | None]]:
    """What the middleware hands the worker for `requests`, served one after another."""
    started: list[tuple[str, str, str | None]] = []

    def record(page: str, query: str, token: str | None) -> bool:
        started.append((page, query, token))
        return True

    monkeypatch.setattr("ui.warmup.warm_link", record)
    middleware = prefetch.PrefetchMiddleware(Recorder())

    async def send(message: Any) -> None:
        pass

    async def receive() -> Any:
        return {"type": "http.request"}

    for scope in requests:
        # In a thread of its own: Playwright's tests leave an event loop running in this one.
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, middleware(scope, receive, send)).result()
        prefetch.wait_idle()
    return started


def test_the_middleware_hands_page_links_with_a_cookie_to_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert handed_to_the_worker(
        monkeypatch,
        request("/products", QUERY.encode(), "t0k3n"),
        request("/products", QUERY.encode()),  # signed out: the login form, nothing to compute
        request("/static/js/main.js", b"", "t0k3n"),
        request("/branches", b"", "t0k3n", method="POST"),
        request("/products", QUERY.encode(), "t0k3n"),  # a reload: its answers are cached
        request("/products", b"", "t0k3n"),  # another link: computed
    ) == [("products", QUERY, "t0k3n"), ("products", "", "t0k3n")]


def test_the_middleware_hands_nothing_when_prefetching_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALES_PREFETCH", "off")
    assert handed_to_the_worker(monkeypatch, request("/products", QUERY.encode(), "t0k3n")) == []


def test_a_link_is_handed_again_once_its_repeat_time_is_over() -> None:
    recent = prefetch.RecentLinks()
    link = ("t0k3n", "products", QUERY)
    assert not recent.within(link)
    recent.remember(link)
    assert recent.within(link)
    assert not recent.within(("t0k3n", "products", ""))
    for key in recent.started:
        recent.started[key] -= prefetch.REPEAT_SECONDS
    assert not recent.within(link)


def test_a_link_dropped_while_the_worker_is_busy_is_not_taken_as_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = [prefetch._slots.acquire(blocking=False) for _ in range(2)]
    assert all(held), "both slots taken, as by a page computing and one waiting"
    try:
        busy = handed_to_the_worker(monkeypatch, request("/products", QUERY.encode(), "t0k3n"))
    finally:
        for _ in held:
            prefetch._slots.release()
    assert busy == []
    again = handed_to_the_worker(monkeypatch, request("/products", QUERY.encode(), "t0k3n"))
    assert again == [("products", QUERY, "t0k3n")], "the reload gets the prefetch it missed"


def test_a_flood_of_links_does_not_grow_the_memory_of_recent_ones() -> None:
    recent = prefetch.RecentLinks()
    for number in range(prefetch.MAX_RECENT + 10):
        recent.remember((f"cookie-{number}" * 1000, "products", ""))
    assert len(recent.started) <= prefetch.MAX_RECENT
    assert all(len(key) == 32 for key in recent.started), "digests, not the cookies"


def test_a_mounted_apps_paths_are_read_within_it() -> None:
    scope = {"path": "/st/products", "root_path": "/st"}
    assert prefetch.page_of(prefetch.route_path(scope)) == "products"
    assert prefetch.route_path({"path": "/products", "root_path": ""}) == "/products"


def test_a_broken_users_file_is_a_warning_not_a_traceback(
    signed_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = tmp_path / "users.yaml"
    broken.write_text("credentials: [not, a, mapping\n")
    monkeypatch.setenv("SALES_AUTH_FILE", str(broken))
    caplog.set_level(logging.INFO, logger="ui.warmup")
    assert not warm_link("products", QUERY, cookie("admin"))
    records = [r for r in caplog.records if r.name == "ui.warmup"]
    assert [r.levelname for r in records] == ["WARNING"]
    assert "users file" in records[0].getMessage()
    assert records[0].exc_info is None
    assert aggregations(caplog) == []


def test_a_stopping_server_does_not_wait_for_the_worker() -> None:
    # A prefetch stuck on a stalled Druid would otherwise hold the process for the
    # client's read timeout after the server was told to stop.
    workers = [t for t in threading.enumerate() if t.name == "prefetch"]
    assert len(workers) == 1 and workers[0].daemon
