"""Browser tests start signed in as the admin, unless marked `anonymous`."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from bench.signin import sign_in
from tests.conftest import ADMIN


@pytest.fixture(autouse=True)
def _signed_in(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("anonymous"):
        return
    page: Page = request.getfixturevalue("page")
    sign_in(page, request.getfixturevalue("app_url"), ADMIN)
