"""The server: the app (app.py) behind Streamlit's ASGI server, with the page prefetch.

Run it as the app: `streamlit run server.py` (Streamlit finds the `App`). A
page's link starts its store work while the browser is still loading the
frontend (ui/prefetch.py).
"""

import streamlit as st
from starlette.middleware import Middleware

from ui.prefetch import PrefetchMiddleware

app = st.App("app.py", middleware=[Middleware(PrefetchMiddleware)])
