"""The server: the app (app.py) behind Streamlit's ASGI server, with the HTTP API beside it.

Run it as the app: `streamlit run server.py` (Streamlit finds the `App`). The
HTTP API (health, KPIs, its OpenAPI document) is served under /api beside the
pages (api/).
"""

import streamlit as st
from streamlit import config

import api

app = st.App(
    "app.py",
    # Streamlit has read its options by now: the API follows the pages' base URL path.
    routes=api.routes(str(config.get_option("server.baseUrlPath") or "")),
)
