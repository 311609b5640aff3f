"""Entry point: declares the pages and hands over to st.navigation."""

import streamlit as st

st.set_page_config(page_title="Sales analytics", page_icon=":material/monitoring:", layout="wide")

pages = [
    st.Page(
        "views/overview.py",
        title="Overview",
        icon=":material/dashboard:",
        default=True,  # served at the root URL, /
    ),
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
        "views/diagnostics.py",
        title="Diagnostics",
        icon=":material/monitor_heart:",
        url_path="diagnostics",
    ),
]
st.navigation(pages).run()
