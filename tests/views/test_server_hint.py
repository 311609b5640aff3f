"""The page HTML's hint of where the server is: which requests get it, and how it goes in.

The middleware runs over a stand-in for Streamlit's static route here; the
browser test (tests/browser/test_page_link_finds_the_server.py) runs it over the real one.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ui.server_hint import HINT, ServerHintMiddleware, is_page_path

HTML = b"<!DOCTYPE html><html><head><title>Streamlit</title></head><body></body></html>"


def test_page_paths() -> None:
    assert is_page_path("/products")
    assert is_page_path("/products/")
    assert is_page_path("/upload")
    assert not is_page_path("/")  # the root page asks the root first anyway
    assert not is_page_path("/_stcore/health")
    assert not is_page_path("/static/js/index.js")
    assert not is_page_path("/favicon.png")
    assert not is_page_path("/products/more")
    assert is_page_path("/sales/products", "sales")
    assert is_page_path("/sales/products", "/sales/")
    assert not is_page_path("/sales", "sales")
    assert not is_page_path("/products", "sales")


class Served:
    """A stand-in for Streamlit's routes: `body` with `headers`, in `chunks` parts."""

    def __init__(self, body: bytes, content_type: str, status: int = 200, chunks: int = 1):
        self.body, self.content_type, self.status, self.chunks = body, content_type, status, chunks
        self.request_headers: list[tuple[bytes, bytes]] = []
        self.extensions: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.request_headers = scope["headers"]
        self.extensions = scope.get("extensions", {})
        headers = [(b"content-type", self.content_type.encode()),
                   (b"content-length", str(len(self.body)).encode()),
                   (b"etag", b'"abc"')]  # fmt: skip
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        size = max(1, len(self.body) // self.chunks + 1)
        parts = [self.body[i : i + size] for i in range(0, len(self.body), size)] or [b""]
        for number, part in enumerate(parts):
            more = number < len(parts) - 1
            await send({"type": "http.response.body", "body": part, "more_body": more})


def served(
    app: Served, path: str, method: str = "GET", root_path: str = ""
) -> tuple[dict[str, str], bytes, int]:
    """(headers, body, status) of `path` through the middleware."""
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request"}

    extensions = {"http.response.pathsend": {}, "http.response.trailers": {}}
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path,
             "query_string": b"", "extensions": extensions,
             "headers": [(b"accept-encoding", b"gzip, br"), (b"cookie", b"a=b")]}  # fmt: skip
    # In a thread of its own: Playwright's tests leave an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, ServerHintMiddleware(app)(scope, receive, send)).result()
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return headers, body, start["status"]


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_page_gets_the_hint_before_its_head_ends(chunks: int) -> None:
    app = Served(HTML, "text/html; charset=utf-8", chunks=chunks)
    headers, body, status = served(app, "/products")
    assert status == 200
    assert body == HTML.replace(b"</head>", HINT + b"\n</head>")
    assert headers["content-length"] == str(len(body))
    assert headers["etag"] == 'W/"abc"', "the file's tag, weak on other bytes"
    # Asked uncompressed and as body messages, so the hint can go in; the rest as asked.
    assert app.request_headers == [(b"cookie", b"a=b")]
    assert app.extensions == {"http.response.trailers": {}}


@pytest.mark.parametrize(
    ("path", "app", "method"),
    [
        ("/", Served(HTML, "text/html"), "GET"),
        ("/_stcore/host-config", Served(b"{}", "application/json"), "GET"),
        ("/products", Served(b"{}", "application/json"), "GET"),
        ("/products", Served(b"", "text/html", status=304), "GET"),
        ("/products", Served(HTML, "text/html"), "HEAD"),
        ("/products", Served(b"<html>no head</html>", "text/html"), "GET"),
    ],
    ids=["root", "not a page", "not HTML", "not modified", "HEAD", "no head"],
)
def test_anything_else_passes_unchanged(path: str, app: Served, method: str) -> None:
    headers, body, status = served(app, path, method)
    assert body == app.body
    assert status == app.status
    assert headers["content-length"] == str(len(app.body))


def test_an_app_mounted_under_a_path_gets_the_hint_on_its_pages() -> None:
    app = Served(HTML, "text/html")
    assert HINT in served(app, "/st/products", root_path="/st")[1]
    assert HINT not in served(app, "/st/", root_path="/st")[1], "its root page"
