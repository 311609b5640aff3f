"""Start a page's store work when its link is requested, before the browser can ask.

A link opened in a new tab spends its first 0.7 s (a first visit; less with
the frontend cached) loading Streamlit's frontend, and only then does the
page's script run and ask the store. The request for the page's HTML carries
the link's filters and the login cookie, so `PrefetchMiddleware` hands both
to one worker thread, which computes what that page asks the cache
(`ui.questions.PAGE_QUESTIONS`, `ui.warmup.warm_link`) with the arguments
the page will use. The script then finds the answers cached, or waits for
the computation under way: `st.cache_data` computes a key once.

Nothing is computed for a request without a valid login cookie, or for a
user the users file no longer lists, and under that user's branches only.
At most one page is computed and one waits; requests beyond that are
ignored, so a burst of requests cannot queue work, and a link requested
again within `REPEAT_SECONDS` (a reload) is not handed to the worker again.
A prefetch never fails a request: its errors are logged, and the page asks
again itself.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from streamlit import config

from core.settings import SettingsError, load_settings
from core.store import StoreError
from ui.login_cookie import COOKIE_NAME
from ui.questions import PAGE_QUESTIONS

log = logging.getLogger("ui.prefetch")

_slots = threading.BoundedSemaphore(2)  # one page computing, one waiting
_links: queue.Queue[tuple[str, str, str]] = queue.Queue()
REPEAT_SECONDS = 30.0
MAX_RECENT = 1_000


def within_base(path: str, base_path: str = "") -> str | None:
    """`path` less Streamlit's base URL path ("/sales/products" -> "/products" under
    "sales"); None when it lies outside it."""
    base = "/" + base_path.strip("/") if base_path.strip("/") else ""
    if base and not (path == base or path.startswith(base + "/")):
        return None
    return path[len(base) :]


def page_of(path: str, base_path: str = "") -> str | None:
    """The `PAGE_QUESTIONS` key of a request path ("/products" -> "products"), if a page."""
    rest = within_base(path, base_path)
    name = rest.strip("/") if rest is not None else None
    return name if name in PAGE_QUESTIONS else None


def _prefetch_logged(page: str, query: str, token: str | None) -> None:
    name = page or "overview"
    started = time.perf_counter()
    try:
        # Imported on the first request: importing Streamlit's caches and components with
        # the server module, before the runtime exists, leaves the sign-in's cookie
        # component unserved. Inside the `try`: a failed import still frees the slot.
        from ui import warmup

        if warmup.warm_link(page, query, token):
            seconds = round(time.perf_counter() - started, 3)
            log.info("prefetched a page", extra={"prefetched": name, "seconds": seconds})
    except StoreError as exc:  # Druid away: the page asks again and says so itself
        log.warning("prefetch of %s skipped: %s", name, exc)
    except Exception:  # a bug: the page asks again and shows its own error
        log.exception("prefetch of %s failed", name)
    finally:
        _slots.release()


def _work() -> None:
    while True:
        page, query, token = _links.get()
        try:
            _prefetch_logged(page, query, token)
        finally:
            _links.task_done()


# A daemon: a server stopping does not wait for a prefetch (one on a stalled Druid
# could hold it for the client's read timeout, 120 s).
threading.Thread(target=_work, name="prefetch", daemon=True).start()


def wait_idle() -> None:
    """Wait until no prefetch runs or waits (for tests)."""
    _links.join()


class PrefetchMiddleware:
    """ASGI middleware: a GET of a page's HTML starts its prefetch in the background.

    `SALES_PREFETCH` is read once, when the server starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        try:
            self.enabled = load_settings().prefetch
        except SettingsError:  # the pages show what is wrong with the settings
            self.enabled = False
        self.recent = RecentLinks()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and scope["method"] == "GET":
            self._start(scope)
        await self.app(scope, receive, send)

    def _start(self, scope: Scope) -> None:
        page = page_of(route_path(scope), str(config.get_option("server.baseUrlPath") or ""))
        token = Request(scope).cookies.get(COOKIE_NAME) if page is not None else None
        if page is None or not token:
            return
        query = scope["query_string"].decode("latin-1")
        link = (token, page, query)
        if self.recent.within(link) or not _slots.acquire(blocking=False):
            return
        self.recent.remember(link)
        _links.put((page, query, token))


def route_path(scope: Scope) -> str:
    """The request's path within the app, less the `root_path` it is mounted under."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class RecentLinks:
    """The links handed to the worker in the last `REPEAT_SECONDS`: a reload, or the same
    link opened again, finds its answers cached (or being computed) and needs no worker.

    Kept as digests: the cookie and query come from the request, of any size.
    """

    def __init__(self) -> None:
        self.started: dict[bytes, float] = {}

    @staticmethod
    def _key(link: tuple[str, str, str]) -> bytes:
        return hashlib.sha256("\n".join(link).encode("utf-8", "replace")).digest()

    def within(self, link: tuple[str, str, str]) -> bool:
        """Whether `link` was handed to the worker within `REPEAT_SECONDS`."""
        started = self.started.get(self._key(link))
        return started is not None and time.monotonic() - started < REPEAT_SECONDS

    def remember(self, link: tuple[str, str, str]) -> None:
        now = time.monotonic()
        if len(self.started) >= MAX_RECENT:
            self.started = {k: t for k, t in self.started.items() if now - t < REPEAT_SECONDS}
            if len(self.started) >= MAX_RECENT:  # a flood of links: bound the memory
                self.started.clear()
        self.started[self._key(link)] = now
