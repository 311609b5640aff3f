"""Bearer tokens over real HTTP: 401 for every bad token, slowed and locked out per address."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core import tokens
from core.login_throttle import DELAY_STEP_SECONDS, MAX_FAILURES
from core.users import UserFile
from tests.api.client import call
from tests.api.conftest import Server

# Each case asks from its own loopback address: the throttle counts failures per address.
UNKNOWN = "sa_0123456789ab_" + "A" * 43


def _users(server: Server) -> UserFile:
    return UserFile(server.data_dir / "users.yaml")


def _revoked(server: Server) -> str:
    token, info = tokens.issue(_users(server), "viewer")
    tokens.revoke(_users(server), "viewer", info.token_id)
    return token


def _expired(server: Server) -> str:
    issued = datetime.now(UTC) - timedelta(days=2)
    return tokens.issue(_users(server), "viewer", days=1, now=issued)[0]


def _wrong_secret(server: Server) -> str:
    token, _ = tokens.issue(_users(server), "viewer")
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


BAD = [
    ("none", None),
    ("empty", "Bearer "),
    ("basic", "Basic dmlld2VyOnZpZXdlci1wYXNzd29yZC0x"),
    ("malformed", "Bearer not-a-token"),
    ("unknown", f"Bearer {UNKNOWN}"),
    ("revoked", "revoked"),
    ("expired", "expired"),
    ("wrong-secret", "wrong-secret"),
]


@pytest.mark.parametrize(("case", "header"), BAD, ids=[case for case, _ in BAD])
def test_no_bad_revoked_or_expired_token_is_401(
    api_server: Server, case: str, header: str | None
) -> None:
    made = {"revoked": _revoked, "expired": _expired, "wrong-secret": _wrong_secret}
    if header in made:
        header = f"Bearer {made[header](api_server)}"
    source = f"127.0.0.{10 + [c for c, _ in BAD].index(case)}"
    answer = call(
        api_server.url,
        "/api/kpis/overview",
        headers={"Authorization": header} if header is not None else {},
        source=source,
    )
    assert answer.status == 401, answer.body[:300]
    body = answer.json
    assert body["data"] is None and body["error"]["code"] == "unauthorized"
    assert body["metadata"]["requestId"]
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_token_works_until_revoked(api_server: Server) -> None:
    token, info = tokens.issue(_users(api_server), "viewer")
    assert (
        call(api_server.url, "/api/kpis/overview", token=token, source="127.0.0.30").status == 200
    )
    tokens.revoke(_users(api_server), "viewer", info.token_id)
    assert (
        call(api_server.url, "/api/kpis/overview", token=token, source="127.0.0.30").status == 401
    )


def test_failures_from_one_address_are_slowed_then_locked_out(
    api_server: Server, token_of: dict[str, str]
) -> None:
    source = "127.0.0.40"
    took = []
    for _ in range(MAX_FAILURES):
        started = time.monotonic()
        answer = call(api_server.url, "/api/kpis/overview", token=UNKNOWN, source=source)
        took.append(time.monotonic() - started)
        assert answer.status == 401
    # The nth failure waits n delay steps before answering, as a failed sign-in does.
    assert took[1] >= 2 * DELAY_STEP_SECONDS and took[-1] > took[0]
    locked = call(api_server.url, "/api/kpis/overview", token=token_of["viewer"], source=source)
    assert locked.status == 429, "even a good token waits out the lockout"
    assert locked.json["error"]["code"] == "too_many_failures"
    assert int(locked.headers["retry-after"]) > 0
    other = call(api_server.url, "/api/kpis/overview", token=token_of["viewer"])
    assert other.status == 200, "another address is not locked"


def test_a_good_token_clears_the_failures(api_server: Server, token_of: dict[str, str]) -> None:
    source = "127.0.0.41"
    for _ in range(MAX_FAILURES - 1):
        assert (
            call(api_server.url, "/api/kpis/overview", token=UNKNOWN, source=source).status == 401
        )
    good = call(api_server.url, "/api/kpis/overview", token=token_of["viewer"], source=source)
    assert good.status == 200
    started = time.monotonic()
    assert call(api_server.url, "/api/kpis/overview", token=UNKNOWN, source=source).status == 401
    assert time.monotonic() - started < 2 * DELAY_STEP_SECONDS, "counted from one again"
