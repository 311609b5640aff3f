"""Signing in through the dashboard's real login form, in Chromium.

One helper for everything that drives the app in a browser: the browser
tests, the page bench and the README's screenshots.
"""

from __future__ import annotations

from playwright.sync_api import Error, Page, expect

from ui.login_cookie import COOKIE_NAME

LOAD_MS = 60_000
ATTEMPTS = 3
IDLE = "() => !document.querySelector('[data-testid=stStatusWidget]')"


def sign_in(
    page: Page, url: str, credentials: tuple[str, str] | None, required: bool = True
) -> bool:
    """Open `url`, sign in, and wait for the page behind the form and the login cookie.

    Returns False, signing nothing, if the dashboard shows no form and it is not
    `required` (one without sign-in, or a browser already signed in). With no
    `credentials`, a form is an AssertionError at once instead of three tries.

    The cookie component's first message triggers a rerun right after the page
    loads; a click that lands during it can be lost, so the form is retried.
    """
    page.goto(url)
    form = page.get_by_test_id("stForm")
    signed_in = page.get_by_text("Signed in as")
    if not required:
        form.or_(signed_in).first.wait_for(timeout=LOAD_MS)
        if not form.count():
            return False
    expect(form).to_be_visible(timeout=LOAD_MS)
    if credentials is None:
        raise AssertionError(f"{url} asks to sign in and no credentials were given")
    username, password = credentials
    for attempt in range(ATTEMPTS):
        page.wait_for_function(IDLE, timeout=LOAD_MS)
        try:
            form.get_by_label("Username", exact=True).fill(username)
            form.get_by_label("Password", exact=True).fill(password)
            form.get_by_role("button", name="Sign in").click()
            expect(signed_in).to_be_visible(timeout=LOAD_MS // ATTEMPTS)
            break
        except (AssertionError, Error):
            if signed_in.count():
                break
            if attempt == ATTEMPTS - 1:
                raise
    expect(signed_in).to_be_visible()
    # The login cookie is set by a component a moment after the page shows: wait for it,
    # so the next navigation (a new Streamlit session) is signed in by the cookie.
    page.wait_for_function(f"() => document.cookie.includes('{COOKIE_NAME}=')", timeout=LOAD_MS)
    return True


# One title named `name`, no run in progress, both holding for `ms` milliseconds: checked
# in one go in the page, since a rerun (the sign-in cookie's, a link's filters) can start
# between two separate checks and draw the title twice again.
SETTLED_TITLE = """([name, ms]) => {
    const titles = [...document.querySelectorAll('h1')]
        .filter(h => h.textContent.trim() === name);
    const idle = !document.querySelector('[data-testid=stStatusWidget]');
    if (!idle || titles.length !== 1) { window.__settledSince = null; return false; }
    window.__settledSince = window.__settledSince ?? performance.now();
    return performance.now() - window.__settledSince >= ms;
}"""
SETTLE_MS = 750


def expect_settled_heading(page: Page, name: str) -> None:
    """Wait until the page titled `name` has finished its runs and shows its title once.

    While a rerun draws, Streamlit keeps the last run's elements beside the new
    ones until the run ends, so the title can briefly be there twice.
    """
    try:
        page.wait_for_function(SETTLED_TITLE, arg=[name, SETTLE_MS], timeout=LOAD_MS, polling=50)
    except Error as exc:
        titles = page.get_by_role("heading", level=1).all_inner_texts()
        raise AssertionError(f"no settled page titled {name!r}; titles shown: {titles}") from exc
    expect(page.get_by_role("heading", name=name, exact=True, level=1).first).to_be_visible()
