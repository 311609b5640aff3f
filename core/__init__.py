"""Business logic of the sales analytics app: no Streamlit here except `core.cache`."""
