"""A page opened by its own link finds the server at once, at the root or under a path.

Without the hint in its HTML (ui/server_hint.py) the frontend first asks
`/products/_stcore/health`, gets a 404 and waits before it asks the root.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bench.signin import expect_settled_heading, sign_in
from tests.conftest import ADMIN, serve_app

pytestmark = pytest.mark.browser


def asked_while_opening(page: Page, url: str, title: str) -> list[str]:
    """The URLs the page asks for (websocket too) until it shows `title`, settled."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.on("websocket", lambda socket: asked.append(socket.url))
    page.goto(url)
    expect_settled_heading(page, title)
    return asked


def test_a_page_link_asks_the_server_at_its_root(page: Page, app_url: str) -> None:
    asked = asked_while_opening(page, f"{app_url}/products?grain=month", "Products")
    assert not [u for u in asked if "/products/_stcore" in u]
    assert f"{app_url}/_stcore/health" in asked
    assert f"{app_url.replace('http', 'ws')}/_stcore/stream" in asked


@pytest.fixture(scope="module")
def proxied_url(sample_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served under /sales, as behind a proxy that keeps the path."""
    for url in serve_app(sample_data_dir, tmp_path_factory, base_path="sales"):
        yield f"{url}/sales"


@pytest.mark.anonymous
def test_under_a_path_the_hint_keeps_the_path(page: Page, proxied_url: str) -> None:
    sign_in(page, f"{proxied_url}/", ADMIN)
    asked = asked_while_opening(page, f"{proxied_url}/branches", "Branches")
    assert not [u for u in asked if "/branches/_stcore" in u]
    assert f"{proxied_url}/_stcore/health" in asked
    assert f"{proxied_url.replace('http', 'ws')}/_stcore/stream" in asked
