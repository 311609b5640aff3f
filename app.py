"""Entry point: declares the pages and hands over to st.navigation."""

import streamlit as st

st.set_page_config(page_title="Sales analytics", page_icon="📈", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon="📊", url_path="overview", default=True),
]
st.navigation(pages).run()
