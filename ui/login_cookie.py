"""The login cookie's name and lifetime.

Apart from `ui/auth.py` so that the browser tests and the bench, which look
for the cookie in Chromium, can name it without importing Streamlit.
"""

COOKIE_NAME = "sales_analytics_login"
COOKIE_DAYS = 7.0
