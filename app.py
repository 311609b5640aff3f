"""Entry point: sign-in first, then the pages this user's role may see."""

import logging
from pathlib import Path

import streamlit as st

from core.logs import bind, configure_logging, new_request_id
from core.settings import load_settings
from core.store import StoreError
from ui.auth import logout_control, sign_in_form, signed_in_user
from ui.page import store_error
from ui.warmup import start_warmer

# A file the app serves itself: a Material icon is fetched from Google's font servers,
# which a branch network without internet cannot reach.
FAVICON = Path(__file__).parent / "ui" / "favicon.png"
st.set_page_config(page_title="Sales analytics", page_icon=str(FAVICON), layout="wide")


@st.cache_resource
def _logging_configured(level: str) -> bool:
    configure_logging(level)
    return True


settings = load_settings()
_logging_configured(settings.log_level)
start_warmer(settings)
log = logging.getLogger("app")
request_id = new_request_id()
st.session_state["request_id"] = request_id

user = signed_in_user()
pages = [
    st.Page(
        "views/overview.py", title="Overview", icon=":material/dashboard:", default=True
    ),  # served at the root URL, /
    st.Page(
        "views/salespeople.py", title="Salespeople", icon=":material/badge:", url_path="salespeople"
    ),
    st.Page(
        "views/products.py", title="Products", icon=":material/inventory_2:", url_path="products"
    ),
    st.Page(
        "views/branches.py", title="Branches", icon=":material/storefront:", url_path="branches"
    ),
    st.Page(
        "views/customers.py", title="Customers", icon=":material/groups:", url_path="customers"
    ),
    st.Page(
        "views/pipeline.py", title="Pipeline", icon=":material/filter_alt:", url_path="pipeline"
    ),
    st.Page("views/targets.py", title="Targets", icon=":material/flag:", url_path="targets"),
    st.Page("views/reports.py", title="Reports", icon=":material/mail:", url_path="reports"),
    st.Page(
        "views/diagnostics.py",
        title="Diagnostics",
        icon=":material/monitor_heart:",
        url_path="diagnostics",
    ),
]
# A viewer's navigation has no upload page. Before sign-in it is there, hidden with the
# rest: an admin's /upload link then opens the login form (not "Page not found" over
# it) and, once signed in, the upload page, which checks the role itself.
if user is None or user.is_admin:
    pages.append(
        st.Page("views/upload.py", title="Upload", icon=":material/upload_file:", url_path="upload")
    )
# Navigation is declared before sign-in so a shared link's page survives the login form.
page = st.navigation(pages, position="sidebar" if user else "hidden")
if user is None:
    user = sign_in_form()
bind(user=user.username, page=page.title)
logout_control(user)
try:
    page.run()
except StoreError as exc:  # Druid down or slow mid-page: its reason, not a traceback
    log.warning("store error on page: %s", exc)
    store_error(exc)
except Exception:  # the user gets a reference to quote; the log gets the traceback
    log.exception("page failed")
    st.error(
        f"Something went wrong on this page. Please tell support reference {request_id}.",
        icon=":material/error:",
    )
