"""Page timings in real Chromium: navigation to the last chart drawn.

The bench starts its own Streamlit server on the chosen data dir (as
tests/conftest.py does) and drives Debian's Chromium through Playwright's
sync API. A page is drawn when Streamlit reports its script run finished
(`stApp[data-test-script-state=notRunning]`), every chart on it has its SVG
or canvas (ECharts, Vega), and that state has held for
`SETTLE_S` (a cookie or widget rerun would otherwise end the clock early).

cold: a window no earlier run asked for (the 12-month window shifted back a
day per run), so no `st.cache_data` entry matches; warm: the same URL again
in a new browser context (a new session, cached data). Both open the page
by its link, so they include loading the app into a new tab and the sign-in
cookie's rerun.

switch: what a manager does next, clicking the page in the sidebar of a
tab that already shows another one (the filters carried over); cold the
first time a window is asked for, warm when clicking through again.

tab: the page's link in a new tab of a browser that has shown the app
before, its bundles in the HTTP cache (the morning's first look); open is
the first visit, every bundle downloaded.

tab default: the same new tab on the page's plain link (no filters), once
the app has warmed the default views (`ui/warmup.py`): what the first
manager to look after a data change waits for. The timings above ask for
windows the warm-up never computes, and start after it has finished, so it
neither helps them nor competes with them.
"""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.data import ROOT
from bench.queries import LAST_12_MONTHS, Stat, p95

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# On every new tab Chromium 156 also works on its address bar's popup, a web page of
# its own (chrome://omnibox-popup) in a renderer beside the app's, on the same two
# cores: 0.25 s of a new tab of the Overview here (medians of 6, cold and warm). That
# is the browser's interface, not the app, so the bench turns it off. Chromium reads one
# --disable-features, so this one repeats Playwright's own list (its
# chromiumSwitches.ts) where it matters to a local app: keep http on http, no
# requests to Google at start.
DISABLED_FEATURES = (
    "WebUIOmniboxPopup",
    "WebUIOmniboxFullPopup",
    "WebUIOmniboxAimPopup",
    "PreloadTopChromeWebUI",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "MediaRouter",
    "LensOverlay",
)
# Debian's Chromium as root on a VM without a GPU, and quiet: no updates, sync or
# background traffic on the cores the app and the page share.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    f"--disable-features={','.join(DISABLED_FEATURES)}",
]
VIEWPORT = {"width": 1400, "height": 1000}
# A drawn state must hold this long: Streamlit may rerun right after a first run.
SETTLE_S = 0.25
# A page that takes longer than this is reported as failed, not waited for.
PAGE_TIMEOUT_S = 120
# The app logs this (`ui.warmup.WARMED`) once it has filled the cache for the default
# views; spelled out here because importing ui/ would bring Streamlit into the bench.
WARMED_MESSAGE = '"message": "warmed the default views"'
WARM_UP_TIMEOUT_S = 600
SESSIONS = 10

DRAWN_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const main = document.querySelector('[data-testid="stMain"]') || app;
    if (main.querySelector('input[type="password"]')) return false;  // still the login form
    if (!main.querySelector('[data-testid="stHeading"], h1, [data-testid="stMarkdown"]'))
        return false;
    if (main.querySelector('[data-testid="stSkeleton"], [data-testid="stSpinner"]'))
        return false;
    const vega = main.querySelectorAll('[data-testid="stVegaLiteChart"]');
    for (const c of vega) if (!c.querySelector('canvas, svg')) return false;
    const echarts = main.querySelectorAll('[data-testid="stEChartsChart"]');
    for (const c of echarts) if (!c.querySelector('canvas, svg')) return false;
    return true;
}"""
# Set before a sidebar click: the clock stops only after a run that began after it.
WATCH_RUN_JS = """() => {
    window.__runSeen = false;
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__runSeen = true;
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
RUN_SEEN_JS = "() => window.__runSeen === true"
EXCEPTION_JS = """() => !!document.querySelector('[data-testid="stException"]')"""


@dataclass(frozen=True)
class AppPage:
    title: str
    path: str  # "" for the default page, served at "/"


def app_pages(app: Path = ROOT / "app.py") -> list[AppPage]:
    """The `st.Page(...)` declarations in app.py (and the files it imports pages from)."""
    pages = []
    for node in ast.walk(ast.parse(app.read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page"):
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        script = node.args[0] if node.args else keywords.get("page")
        if not isinstance(script, ast.Constant):
            continue  # a page given as a function: not addressable by a literal path
        title = keywords.get("title")
        url_path = keywords.get("url_path")
        default = keywords.get("default")
        name = str(script.value).rsplit("/", 1)[-1].removesuffix(".py")
        is_default = isinstance(default, ast.Constant) and default.value is True
        path = str(url_path.value) if isinstance(url_path, ast.Constant) else name
        pages.append(
            AppPage(
                str(title.value) if isinstance(title, ast.Constant) else name,
                "" if is_default else path,
            )
        )
    return pages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def streamlit_server(
    data_dir: Path, log_path: Path, auth_file: Path | None = None
) -> Iterator[tuple[str, int]]:
    """A headless Streamlit server on `data_dir`; yields (url, pid); stopped by its pid."""
    port = _free_port()
    env = {**os.environ, "SALES_DATA_DIR": str(data_dir), "SALES_BACKEND": "embedded"}
    if auth_file is not None:
        # Development mode signs login cookies with a per-process key: no secret needed.
        env.update({"SALES_AUTH_FILE": str(auth_file), "SALES_ENV": "development"})
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "server.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a cold start imports Polars, Delta
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Streamlit did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def page_url(base: str, page: AppPage, shift_days: int) -> str:
    start, end = LAST_12_MONTHS
    shift = timedelta(days=shift_days)
    return f"{base}/{page.path}?start={(start - shift).isoformat()}&end={(end - shift).isoformat()}"


class Drawn:
    """Polls a Playwright page until it is drawn (see the module docstring)."""

    def __init__(self, page: Any, after_run: bool = False) -> None:
        self.page = page
        self.after_run = after_run  # only a state reached by a run begun after WATCH_RUN_JS
        self.since: float | None = None

    def poll(self) -> bool | str:
        """True once drawn and settled; "error" if the page shows an exception."""
        if self.page.evaluate(EXCEPTION_JS):
            return "error"
        if self.after_run and not self.page.evaluate(RUN_SEEN_JS):
            return False
        if not self.page.evaluate(DRAWN_JS):
            self.since = None
            return False
        now = time.perf_counter()
        if self.since is None:
            self.since = now
        return now - self.since >= SETTLE_S


BENCH_USER = ("bench-admin", "bench-admin-password-1")


def bench_users(work_dir: Path) -> Path | None:
    """A users file with one admin for the bench, if the app has sign-in (else None)."""
    try:
        from core.users import UserFile
    except ImportError:
        return None
    path = work_dir / "auth" / "users.yaml"
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    UserFile(path).add(*BENCH_USER, role="admin")
    return path


def sign_in(browser: Any, url: str) -> dict[str, Any] | None:
    """Sign in through the real form once; the browser state (login cookie) to reuse."""
    from bench import signin  # Playwright is imported only by a run that drives Chromium

    context = browser.new_context(viewport=VIEWPORT)
    try:
        if not signin.sign_in(context.new_page(), url, BENCH_USER, required=False):
            return None  # no form: the app has no sign-in
        state: dict[str, Any] = context.storage_state()
    finally:
        context.close()
    return state


STATE: dict[str, Any] = {}


def _signed_in_context(browser: Any) -> Any:
    """A new browser context (its own HTTP cache) holding the bench user's login cookie."""
    return browser.new_context(viewport=VIEWPORT, storage_state=STATE.get("signed_in"))


@contextmanager
def _returning_browser(browser: Any) -> Iterator[Callable[[str], float | None]]:
    """One context whose tabs share its HTTP cache; yields: open a URL in a new tab,
    seconds until drawn (None: failed)."""
    context = _signed_in_context(browser)

    def open_tab(target: str) -> float | None:
        tab = context.new_page()
        started = time.perf_counter()
        tab.goto(target, wait_until="commit")
        seconds = _wait_drawn(Drawn(tab), started)
        tab.close()
        return seconds

    try:
        yield open_tab
    finally:
        context.close()


def _open(browser: Any, url: str) -> tuple[Any, Any, float]:
    context = _signed_in_context(browser)
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    return context, page, started


def time_pages_together(browser: Any, urls: list[str]) -> list[float | None]:
    """Open every URL at once (one context each); seconds until each is drawn (None: failed)."""
    opened = [_open(browser, url) for url in urls]
    watchers = [Drawn(page) for _, page, _ in opened]
    done: list[float | None] = [None] * len(urls)
    pending = set(range(len(urls)))
    deadline = time.perf_counter() + PAGE_TIMEOUT_S
    while pending and time.perf_counter() < deadline:
        for i in sorted(pending):
            state = watchers[i].poll()
            if state is True:
                # The clock stops when the drawn state began, not when it was confirmed.
                since = watchers[i].since or time.perf_counter()
                done[i] = since - opened[i][2]
                pending.discard(i)
            elif state == "error":
                pending.discard(i)
        time.sleep(0.02)
    for context, _, _ in opened:
        context.close()
    return done


def _wait_drawn(watcher: Drawn, started: float) -> float | None:
    deadline = started + PAGE_TIMEOUT_S
    while time.perf_counter() < deadline:
        state = watcher.poll()
        if state is True:
            return (watcher.since or time.perf_counter()) - started
        if state == "error":
            return None
        time.sleep(0.02)
    return None


def time_switches(browser: Any, url: str, pages: list[AppPage], shift: int) -> dict[str, list]:
    """One tab clicks through every page twice on a new window: {title: [cold, warm]}.

    The tab opens on Diagnostics (no figure depends on the window there), so
    every other page's first click is the first time its window is asked for.
    """
    first = next((p for p in pages if p.title == "Diagnostics"), pages[-1])
    order = [p for p in pages if p != first] + [first]
    context, tab, started = _open(browser, page_url(url, first, shift))
    times: dict[str, list[float | None]] = {page.title: [] for page in pages}
    if _wait_drawn(Drawn(tab), started) is not None:
        nav = tab.get_by_test_id("stSidebarNav")
        for _ in range(2):
            for page in order:
                tab.evaluate(WATCH_RUN_JS)
                started = time.perf_counter()
                nav.get_by_role("link", name=page.title, exact=True).click()
                times[page.title].append(_wait_drawn(Drawn(tab, after_run=True), started))
    context.close()
    return {title: values + [None] * (2 - len(values)) for title, values in times.items()}


def time_returning_tabs(
    browser: Any, url: str, pages: list[AppPage], runs: int, shift: int
) -> dict[str, tuple[list[float | None], list[float | None]]]:
    """Each page opened in a new tab of a browser that has shown the app before.

    A manager's browser keeps the app's bundles in its HTTP cache (Streamlit
    serves them as immutable), which every fresh context of `time_pages_together`
    lacks: that figure is a first visit, this one the morning's new tab. The
    browser first visits every page once, so every chart bundle is cached;
    then {title: ([cold], [warm])} over `runs` windows no one asked for.
    """
    timings: dict[str, tuple[list[float | None], list[float | None]]] = {
        page.title: ([], []) for page in pages
    }
    with _returning_browser(browser) as open_tab:
        for page in pages:
            open_tab(page_url(url, page, shift))
        for run in range(runs):
            for page in pages:
                target = page_url(url, page, shift + 1 + run)
                cold, warm = timings[page.title]
                cold.append(open_tab(target))
                warm.append(open_tab(target))
    return timings


def wait_for_warm_up(log_path: Path, log: Callable[[str], None]) -> bool:
    """Wait until the app's log says the default views are warm (False: it never did)."""
    started = time.monotonic()
    while time.monotonic() - started < WARM_UP_TIMEOUT_S:
        if log_path.exists() and WARMED_MESSAGE in log_path.read_text(errors="replace"):
            log(f"  default views warmed after {time.monotonic() - started:.0f} s of waiting")
            return True
        time.sleep(1)
    log("  the app did not report warming its default views: no tab default figures")
    return False


def time_default_tabs(
    browser: Any, url: str, pages: list[AppPage], runs: int
) -> dict[str, list[float | None]]:
    """Each page's plain link in a new tab of a returning browser: {title: [seconds]}."""
    timings: dict[str, list[float | None]] = {page.title: [] for page in pages}
    with _returning_browser(browser) as open_tab:
        for run in range(runs + 1):  # the first round fills the browser's HTTP cache
            for page in pages:
                seconds = open_tab(f"{url}/{page.path}")
                if run:
                    timings[page.title].append(seconds)
    return timings


def page_stat(values: list[float | None]) -> dict[str, Any]:
    good = [v for v in values if v is not None]
    if not good:
        return {"failed": len(values)}
    stat = Stat.of(good).as_dict()
    stat["p95"] = p95(good)
    stat["failed"] = len(values) - len(good)
    return stat


def run_pages(
    data_dir: Path,
    rows: int,
    runs: int,
    work_dir: Path,
    concurrency: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Cold and warm time per page, then `SESSIONS` sessions at once; app memory peak."""
    from playwright.sync_api import sync_playwright

    pages = app_pages()
    result: dict[str, Any] = {"rows": rows, "pages": [], "concurrency": None}
    log_path = work_dir / "logs" / f"streamlit-{rows}.log"
    auth_file = bench_users(work_dir)
    with (
        streamlit_server(data_dir, log_path, auth_file) as (url, pid),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        STATE["signed_in"] = sign_in(browser, url) if auth_file else None
        # The first page a fresh server renders also pays its imports: not a page cost.
        time_pages_together(browser, [page_url(url, pages[0], 400)])
        warmed = wait_for_warm_up(log_path, log)
        shift = 0
        for page in pages:
            cold, warm = [], []
            for _ in range(runs):
                shift += 1
                target = page_url(url, page, shift)
                cold.extend(time_pages_together(browser, [target]))
                warm.extend(time_pages_together(browser, [target]))
            record = {"page": page.title, "path": page.path or "/",
                      "cold": page_stat(cold), "warm": page_stat(warm)}  # fmt: skip
            result["pages"].append(record)
            log(
                f"  page {rows:>11,} {page.title:<14} cold {record['cold'].get('median', 0):6.2f} s"
                f"  warm {record['warm'].get('median', 0):6.2f} s"
            )
        switch_cold: dict[str, list[float | None]] = {page.title: [] for page in pages}
        switch_warm: dict[str, list[float | None]] = {page.title: [] for page in pages}
        for run in range(runs):
            for title, (cold_s, warm_s) in time_switches(browser, url, pages, 300 + run).items():
                switch_cold[title].append(cold_s)
                switch_warm[title].append(warm_s)
        for record in result["pages"]:
            record["switch_cold"] = page_stat(switch_cold[record["page"]])
            record["switch_warm"] = page_stat(switch_warm[record["page"]])
            log(
                f"  switch {rows:>11,} {record['page']:<14} cold "
                f"{record['switch_cold'].get('median', 0):6.2f} s  warm "
                f"{record['switch_warm'].get('median', 0):6.2f} s"
            )
        tabs = time_returning_tabs(browser, url, pages, runs, 500)
        for record in result["pages"]:
            tab_cold, tab_warm = tabs[record["page"]]
            record["tab_cold"], record["tab_warm"] = page_stat(tab_cold), page_stat(tab_warm)
            log(
                f"  new tab {rows:>11,} {record['page']:<14} cold "
                f"{record['tab_cold'].get('median', 0):6.2f} s  warm "
                f"{record['tab_warm'].get('median', 0):6.2f} s (returning browser)"
            )
        if warmed:
            for title, seconds in time_default_tabs(browser, url, pages, runs).items():
                record = next(r for r in result["pages"] if r["page"] == title)
                record["tab_default"] = page_stat(seconds)
                log(
                    f"  new tab {rows:>11,} {title:<14} default view, warmed "
                    f"{record['tab_default'].get('median', 0):6.2f} s"
                )
        if concurrency:
            # Each session opens a page (round robin) on a window nobody asked for yet.
            urls = [page_url(url, pages[i % len(pages)], 200 + i) for i in range(SESSIONS)]
            cold = time_pages_together(browser, urls)
            warm = time_pages_together(browser, urls)
            result["concurrency"] = {"sessions": SESSIONS, "cold": page_stat(cold),
                                     "warm": page_stat(warm)}  # fmt: skip
            log(
                f"  {SESSIONS} sessions {rows:>11,} cold median "
                f"{result['concurrency']['cold'].get('median', 0):.2f} s p95 "
                f"{result['concurrency']['cold'].get('p95', 0):.2f} s; warm median "
                f"{result['concurrency']['warm'].get('median', 0):.2f} s"
            )
        browser.close()
        result["app_peak_rss_mb"] = peak_rss_mb(pid)
    return result
