"""Signing in through the real login form."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from ui.auth import COOKIE_NAME

LOAD_MS = 60_000


def sign_in(page: Page, url: str, credentials: tuple[str, str]) -> None:
    """Open `url`, sign in, and wait for the page behind the form."""
    page.goto(url)
    form = page.get_by_test_id("stForm")
    expect(form).to_be_visible(timeout=LOAD_MS)
    username, password = credentials
    form.get_by_label("Username", exact=True).fill(username)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=LOAD_MS)
    # The login cookie is set by a component a moment after the page shows: wait for it,
    # so the next navigation (a new Streamlit session) is signed in by the cookie.
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE_NAME}=')", timeout=LOAD_MS)
