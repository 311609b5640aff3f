"""Tell the frontend of a page opened by its own link where the server is.

Streamlit's frontend does not know whether `/products` is a page of an app
served at `/` or an app served at `/products`: it asks
`/products/_stcore/health` first, gets a 404, waits and then asks
`/_stcore/health`. On every page but the Overview that costs 0.1 s before
the page's script can start (a first visit to Products: the websocket opened
at 0.83 s, and at 0.68 s with the hint). The frontend reads an optional
`window.__streamlit.BACKEND_BASE_URL` before it starts, so the page's HTML
sets it to the page's URL less its last segment, worked out in the browser
from its own address (a proxy's path prefix is kept, and no text of the
request goes into the script). Without the hint, or with a frontend that no
longer reads it, the frontend asks as before.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit import config

from ui.prefetch import route_path, within_base

# Relative to the page's own address, so a sandboxed frame (origin "null") resolves it too.
HINT = (
    b"<script>window.__streamlit = Object.assign({}, window.__streamlit, {BACKEND_BASE_URL: "
    b'new URL(location.pathname.replace(/\\/[^\\/]*\\/?$/, "") + "/", location.href).href});'
    b"</script>"
)
# Paths of Streamlit's own that are never a page.
NOT_PAGES = ("_stcore", "static", "media", "app", "component")


def is_page_path(path: str, base_path: str = "") -> bool:
    """Whether `path` names a page under the base path: one segment, not Streamlit's own."""
    rest = within_base(path, base_path)
    segments = [s for s in rest.split("/") if s] if rest is not None else []
    return len(segments) == 1 and segments[0] not in NOT_PAGES and "." not in segments[0]


class ServerHintMiddleware:
    """ASGI middleware: the HTML of a page's own link carries `HINT`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        base = str(config.get_option("server.baseUrlPath") or "")
        if not (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and is_page_path(route_path(scope), base)
        ):
            await self.app(scope, receive, send)
            return
        # The HTML uncompressed (3 kB), so the hint can go in: Streamlit's compression
        # sits behind this middleware. And as body messages: a server offering to send a
        # file by its path (pathsend, zerocopysend) would bypass the hint.
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        extensions = {
            name: value
            for name, value in (scope.get("extensions") or {}).items()
            if name not in ("http.response.pathsend", "http.response.zerocopysend")
        }
        hinted = {**scope, "headers": headers, "extensions": extensions}
        await self.app(hinted, receive, _Hinting(send))


class _Hinting:
    """A `send` that puts `HINT` before `</head>` of a whole HTML response."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.body: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self._flush()
            await self.send(message)
            return
        self.body.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._flush()

    async def _flush(self) -> None:
        if self.start is None:
            return
        start, self.start = self.start, None
        html = b"".join(self.body)
        headers = MutableHeaders(raw=list(start["headers"]))
        if (
            start["status"] == 200
            and headers.get("content-type", "").startswith("text/html")
            and "content-encoding" not in headers
            and b"</head>" in html
        ):
            html = html.replace(b"</head>", HINT + b"\n</head>", 1)
            headers["content-length"] = str(len(html))
            if "etag" in headers and not headers["etag"].startswith("W/"):
                # The file's tag, on a body that is not the file's bytes: weak, not strong.
                headers["etag"] = "W/" + headers["etag"]
        await self.send({**start, "headers": headers.raw})
        await self.send({"type": "http.response.body", "body": html})
