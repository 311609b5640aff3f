"""The login cookie read back from the request: signature, expiry and shape checked."""

from __future__ import annotations

import jwt
import pytest

from ui.auth import cookie_username

KEY = "k" * 32
NOW = 1_800_000_000.0


def token(claims: dict[str, object], key: str = KEY) -> str:
    # The shape streamlit-authenticator's cookie component writes at sign-in.
    return jwt.encode(claims, key, algorithm="HS256")


def test_a_signed_unexpired_cookie_names_its_user() -> None:
    assert cookie_username(token({"username": "mary", "exp_date": NOW + 60}), KEY, NOW) == "mary"


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "",
        "not-a-token",
        token({"username": "mary", "exp_date": NOW - 1}),  # expired
        token({"username": "mary", "exp_date": NOW + 60}, key="x" * 32),  # another key
        token({"exp_date": NOW + 60}),
        token({"username": 7, "exp_date": NOW + 60}),
        token({"username": "mary", "exp_date": "tomorrow"}),
        token({"username": "mary"}),
    ],
)
def test_any_other_cookie_signs_nobody_in(cookie: str | None) -> None:
    assert cookie_username(cookie, KEY, NOW) is None
