"""Streamlit building blocks shared by the pages: filter bar, formatting, tables."""
