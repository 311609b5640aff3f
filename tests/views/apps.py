"""The app as users run it, in Streamlit's AppTest: signed in, on one page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def page_app(name: str, username: str = "admin") -> AppTest:
    """The app as users run it (app.py, sign-in, navigation), signed in, on page `name`."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state["username"] = username
    app.switch_page(f"views/{name}.py")
    return app


def run_page(name: str, **params: str | list[str]) -> AppTest:
    app = page_app(name)
    for key, value in params.items():
        app.query_params[key] = value
    return app.run()


def page_failed(app: AppTest) -> bool:
    """True if the page raised: app.py turns exceptions into an error with a reference."""
    return bool(app.exception) or any("Something went wrong" in e.value for e in app.error)
