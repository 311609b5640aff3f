"""Sign-in for every page: the login form, the re-login cookie, logout, role checks.

Passwords are checked against the bcrypt hashes in `SALES_AUTH_FILE`; the
signed cookie that keeps a browser signed in is written by
streamlit-authenticator's cookie component and read back here from the request.
The user's branch list goes into the session as `allowed_branches`, which
core applies to every query.
"""

from __future__ import annotations

import math
import secrets
import time

import jwt
import streamlit as st
from streamlit_authenticator.controllers import CookieController

from core.login_throttle import LoginThrottle
from core.settings import Settings, load_settings
from core.users import User, UserError, UserFile
from ui import format as fmt
from ui.login_cookie import COOKIE_DAYS, COOKIE_NAME


@st.cache_resource
def login_throttle() -> LoginThrottle:
    """One per app process, shared by every session."""
    return LoginThrottle()


@st.cache_resource
def _development_cookie_key() -> str:
    return secrets.token_hex(32)


def cookie_key(settings: Settings) -> str | None:
    """The key that signs login cookies: environment, then secrets.toml, then (development
    only) a random key per process. None in production without a key."""
    if settings.cookie_key:
        return settings.cookie_key
    try:
        from_secrets = str(st.secrets.get("cookie_key", "") or "")
    except (FileNotFoundError, KeyError, OSError):
        from_secrets = ""
    if len(from_secrets) >= 32:
        return from_secrets
    return None if settings.production else _development_cookie_key()


def _cookies(settings: Settings, key: str) -> CookieController:
    """One cookie controller per page run: it draws a component, which may appear only once."""
    state = st.session_state
    state.setdefault("logout", None)  # the cookie model reads it
    run = state.get("request_id")
    made = state.get("_cookie_controller")
    if made is not None and made[0] == run and run is not None:
        return made[1]
    controller = CookieController(COOKIE_NAME, key, COOKIE_DAYS, None)
    state["_cookie_controller"] = (run, controller)
    return controller


def cookie_username(token: str | None, key: str, now: float | None = None) -> str | None:
    """The username a login cookie was signed for, if the signature holds and it has not expired.

    Read from the request's cookies, not through the cookie component: the
    component would load in an iframe and rerun the page once it has, about
    half a second on every page opened in a new tab.
    """
    if not token:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    username, expires = claims.get("username"), claims.get("exp_date")
    if not isinstance(username, str) or not isinstance(expires, int | float):
        return None
    return username if expires > (time.time() if now is None else now) else None


def _sign_in(user: User) -> None:
    st.session_state["username"] = user.username
    st.session_state["allowed_branches"] = user.branches
    st.session_state["logout"] = None


def _login_form(users: UserFile, cookies: CookieController) -> User | None:
    """Draw the form; the user once the password is right, else None."""
    slot = st.empty()
    with slot.container():
        _, middle, _ = st.columns([1, 2, 1])
        with middle, st.form("login"):
            st.subheader("Sign in to Sales analytics")
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password", autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if not submitted:
            if st.session_state.get("logout"):
                # Drawn on every run of the form after sign-out, so the component stays
                # mounted until it has deleted the cookie (a rerun can drop it before).
                cookies.delete_cookie()
            return None
        name = username.strip().lower()
        throttle = login_throttle()
        wait = throttle.locked_for(name)
        if wait:
            middle.error(
                f"Too many failed attempts. Try again in {math.ceil(wait / 60)} minute(s)."
            )
            return None
        user = users.verify(name, password) if name and password else None
        if user is None:
            time.sleep(throttle.failed(name))
            middle.error("Wrong username or password.")
            return None
        throttle.succeeded(name)
    slot.empty()
    _sign_in(user)
    cookies.set_cookie()  # signs st.session_state["username"] into the cookie
    return user


def _context() -> tuple[Settings, str, UserFile]:
    settings = load_settings()
    key = cookie_key(settings)
    if key is None:
        st.error(
            "SALES_ENV=production needs a cookie key: set SALES_COOKIE_KEY (32+ characters) "
            "or cookie_key in .streamlit/secrets.toml."
        )
        st.stop()
    return settings, key, UserFile(settings.auth_file)


def signed_in_user() -> User | None:
    """The user signed in to the current Streamlit session or named by the browser's login
    cookie; draws nothing."""
    _, key, users = _context()
    state = st.session_state
    try:
        # Read on every run: a changed role or branch list applies at once, a removed user is out.
        user = users.get(state["username"]) if state.get("username") else None
        if user is None and not state.get("logout"):
            username = cookie_username(st.context.cookies.get(COOKIE_NAME), key)
            user = users.get(username) if username else None
    except UserError as exc:
        st.error(f"Cannot read the users file: {exc}")
        st.stop()
    if user is not None:
        _sign_in(user)
    return user


def sign_in_form() -> User:
    """Draw the login form; returns the user once signed in, otherwise stops the page."""
    settings, key, users = _context()
    try:
        # The cookie component is drawn on the form (already mounted when the cookie is
        # set: mounting both at once let the first one's rerun drop the second) and at
        # sign-out, never on a signed-in page.
        user = _login_form(users, _cookies(settings, key))
    except UserError as exc:
        st.error(f"Cannot read the users file: {exc}")
        st.stop()
    if user is None:
        st.stop()
    return user


def require_login() -> User:
    """The signed-in user; otherwise draws the login form and stops the page."""
    return signed_in_user() or sign_in_form()


def logout_control(user: User) -> None:
    """Who is signed in, and the way out."""
    scope = ", ".join(user.branches) if user.branches else "all branches"
    with st.sidebar:
        st.caption(f"Signed in as **{fmt.plain(user.name)}** ({user.role}, {fmt.plain(scope)})")
        if st.button("Sign out", icon=":material/logout:", key="logout_button"):
            settings = load_settings()
            key = cookie_key(settings)
            if key:
                _cookies(settings, key).delete_cookie()
            for name in ("username", "allowed_branches", "filters", "drill_history"):
                st.session_state.pop(name, None)
            st.session_state["logout"] = True
            st.info("You have signed out.")
            st.stop()


def require_admin(user: User) -> None:
    """Refuse the page to anyone but an admin (also when its URL is typed by hand)."""
    if not user.is_admin:
        st.error("This page is for administrators.")
        st.stop()
