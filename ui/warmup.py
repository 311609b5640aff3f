"""Compute every page's default view after each data change, before anyone asks.

The first person to open a page after an upload (or on a new day, when no
one has looked since) would otherwise wait for its store work: at 10M lines
the Overview's is about a second. One background thread per server process
watches the store's data version and, when it changes, fills the cache
(`core/cache.py`) with what each page asks for when opened without filters:
for every branch restriction in the users file, unrestricted first. A page
then asks the cache the same questions with the same arguments and gets
answers at once.

Streamlit runs no code of ours before the first session, so that session
starts the thread, which waits a moment before warming so as not to slow the
page that person is opening.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

import streamlit as st

from core import cache
from core.filters import Filters, from_query_params
from core.kpi.view import View
from core.settings import Settings
from core.store import Scope, StoreError
from core.users import UserError, UserFile
from ui.filter_bar import known_members
from ui.questions import PAGE_QUESTIONS, PEERS, focused_member

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
    restriction = Scope(allowed_branches=allowed)
    cache.data_range(restriction, version)
    return from_query_params({}, known_members(restriction, version)).filters


def warm_page(page: str, filters: Filters, allowed: tuple[str, ...] | None, version: str) -> bool:
    """Fill the cache with what `page` asks for `filters` under `allowed`, as the page asks
    it (a member's profile when one member is in focus); False if no line matches."""
    view = cache.view_for(filters, allowed, version)
    if view.window is None:
        return False
    recorded = cache.data_range(Scope(allowed_branches=allowed), version)
    if filters.products:  # named in the page's caption (`ui.filter_bar.member_labels`)
        cache.product_names(filters.products[:3], allowed, version)
    # A comparison window before the first sale draws nothing: the pages do not ask it.
    compared = view.comparison is not None and view.comparison.overlaps(recorded)
    questions = PAGE_QUESTIONS[page]
    if questions.profile and focused_member(filters, questions.profile, allowed):
        _warm_profile(questions.profile, filters, allowed, view, version, compared)
        return True
    for name in questions.areas:
        cache.area(name, view, version)
    for name in questions.panels:
        if name != "trend_comparison" or compared:
            cache.panel(name, view, version)
    if questions.standing and focused_member(filters, questions.standing, allowed):
        _warm_standing(questions.standing, filters, allowed, version)
        for part in PEERS[questions.standing].breakdowns:
            cache.area(part.area, view, version)
    if questions.customers:
        cache.customer_lifetime_value(view, version)
        cache.cohorts(view, version)
    return True


def _warm_profile(
    attribute: str,
    filters: Filters,
    allowed: tuple[str, ...] | None,
    view: View,
    version: str,
    compared: bool,
) -> None:
    """What `ui.profile.member_profile` asks, in its order."""
    if not cache.area("overview", view, version).row(0, named=True)["orders"]:
        return  # the profile says the member sold nothing here, and stops
    _warm_standing(attribute, filters, allowed, version)
    cache.panel("sales_trend", view, version)
    if compared:
        cache.panel("trend_comparison", view, version)
    peers = PEERS[attribute]
    for part in peers.breakdowns:
        cache.area(part.area, view, version)
    if peers.top_products:
        cache.area("products", view, version)
    cache.area("customers", view, version)


def _warm_standing(
    attribute: str, filters: Filters, allowed: tuple[str, ...] | None, version: str
) -> None:
    """The peers `ui.profile.standing_tiles` ranks a member among."""
    among = cache.view_for(replace(filters, **{attribute: ()}), allowed, version)
    cache.area(PEERS[attribute].area, among, version)


def warm_view(allowed: tuple[str, ...] | None, version: str) -> bool:
    """Fill the cache for every page's default view under `allowed`; False if it matches
    no line."""
    filters = default_filters(allowed, version)
    return all([warm_page(page, filters, allowed, version) for page in PAGE_QUESTIONS])


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
