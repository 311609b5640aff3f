"""Compute every page's default view after each data change, before anyone asks.

The first person to open a page after an upload (or on a new day, when no
one has looked since) would otherwise wait for its store work: at 10M lines
the Overview's is about a second. One background thread per server process
watches the store's data version and, when it changes, fills the cache
(`core/cache.py`) with what each page asks for when opened without filters:
for every branch restriction in the users file, unrestricted first. A page
then asks the cache the same questions with the same arguments and gets
answers at once.

What a page asks is declared once, in ui/page_data.py: the page calls its
function there for its data, and the warm-up calls the same function, so it
cannot warm other questions than the page asks.

Streamlit runs no code of ours before the first session, so that session
starts the thread, which waits a moment before warming so as not to slow the
page that person is opening.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import streamlit as st

from core import cache
from core.filters import Filters
from core.settings import Settings
from core.store import Scope, StoreError
from core.users import UserError, UserFile
from ui.filter_bar import link_filters
from ui.page import PageState
from ui.page_data import PAGES

log = logging.getLogger("ui.warmup")
# Logged once the cache holds every default view (the bench and tests wait for it).
WARMED = "warmed the default views"

POLL_SECONDS = 30.0
FIRST_DELAY_SECONDS = 5.0


@dataclass(frozen=True)
class WarmUp:
    """What the last warm-up did, for the Diagnostics page."""

    version: str
    finished_at: float  # time.time()
    seconds: float
    views: int


def restrictions(settings: Settings) -> list[tuple[str, ...] | None]:
    """Every branch restriction a user can have: none first, then each user's list."""
    try:
        users = UserFile(settings.auth_file).users()
    except (OSError, UserError) as exc:
        log.warning("warm-up reads no users file: %s", exc)
        users = []
    lists = {user.branches for user in users if user.branches is not None}
    return [None, *sorted(lists)]


def default_filters(allowed: tuple[str, ...] | None, version: str) -> Filters:
    """The filters of a page opened without parameters, as the filter bar reads them."""
    return link_filters({}, allowed, version).filters


def warm_page(page: str, filters: Filters, allowed: tuple[str, ...] | None, version: str) -> bool:
    """Fill the cache with what `page` (its URL path) asks for `filters` under `allowed`,
    by calling the page's own `ui.page_data` function; False if no line matches."""
    view = cache.view_for(filters, allowed, version)
    if view.window is None:
        return False
    recorded = cache.data_range(Scope(allowed_branches=allowed), version)
    if filters.products:  # named in the page's caption (`ui.filter_bar.member_labels`)
        cache.product_names(filters.products[:3], allowed, version)
    # As `ui.page.window_caption` reads it: no comparison, or one that holds sales.
    has_data = view.comparison is None or view.comparison.overlaps(recorded)
    state = PageState(filters, view, version, allowed, comparison_has_data=has_data)
    for ask in PAGES[page]:
        ask(state)
    return True


def warm_view(allowed: tuple[str, ...] | None, version: str) -> bool:
    """Fill the cache for every page's default view under `allowed`; False if it matches
    no line."""
    filters = default_filters(allowed, version)
    return all([warm_page(page, filters, allowed, version) for page in PAGES])


class Warmer:
    """The background thread: warm once the version changes, then poll again."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.last: WarmUp | None = None
        self.thread = threading.Thread(target=self._run, name="cache-warm-up", daemon=True)

    def start(self) -> Warmer:
        self.thread.start()
        return self

    def warm_once(self, version: str) -> WarmUp:
        started = time.perf_counter()
        views = sum(warm_view(allowed, version) for allowed in restrictions(self.settings))
        self.last = WarmUp(version, time.time(), time.perf_counter() - started, views)
        log.info(
            WARMED,
            extra={"version": version, "views": views, "seconds": round(self.last.seconds, 2)},
        )
        return self.last

    def _run(self) -> None:
        time.sleep(FIRST_DELAY_SECONDS)
        failed: str | None = None  # a version whose warm-up raised: not retried every poll
        while True:
            version: str | None = None
            try:
                version = cache.data_version()
                if version != failed and (self.last is None or self.last.version != version):
                    self.warm_once(version)
            except StoreError as exc:  # Druid away: try again at the next poll
                log.warning("warm-up skipped: %s", exc)
            except Exception:  # never let the thread die silently
                log.exception("warm-up failed; tried again when the data changes")
                failed = version
            time.sleep(POLL_SECONDS)


@st.cache_resource
def start_warmer(settings: Settings) -> Warmer | None:
    """The process's one warmer (None when `SALES_WARM_UP=off`)."""
    if not settings.warm_up:
        return None
    return Warmer(settings).start()


def warm_up_status(warmer: Warmer | None) -> str:
    """One sentence for the Diagnostics page."""
    if warmer is None:
        return "Default views are not warmed ahead (SALES_WARM_UP=off)."
    last = warmer.last
    if last is None:
        return "Default views are being warmed for the first time since the app started."
    when = time.strftime("%H:%M:%S UTC", time.gmtime(last.finished_at))
    return (
        f"Default views warmed at {when} for data version {last.version}: "
        f"{last.views} branch restriction(s) in {last.seconds:.1f} s."
    )
