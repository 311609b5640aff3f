"""The server: the app (app.py) behind Streamlit's ASGI server, with one middleware.

Run it as the app: `streamlit run server.py` (Streamlit finds the `App`). A
page's link starts its store work while the browser is still loading the
frontend (ui/prefetch.py). The HTTP API (health, KPIs, its OpenAPI document)
is served under /api beside the pages (api/).
"""

import streamlit as st
from starlette.middleware import Middleware
from streamlit import config

import api
from ui.prefetch import PrefetchMiddleware

app = st.App(
    "app.py",
    # Streamlit has read its options by now: the API follows the pages' base URL path.
    routes=api.routes(str(config.get_option("server.baseUrlPath") or "")),
    middleware=[Middleware(PrefetchMiddleware)],
)
