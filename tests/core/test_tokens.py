"""API bearer tokens: issued once, stored hashed, acting as their user is now, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import tokens
from core.users import UserError, UserFile
from tests.conftest import add_test_users, run_cli

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture()
def users(tmp_path: Path) -> UserFile:
    add_test_users(tmp_path)
    return UserFile(tmp_path / "users.yaml")


def test_a_token_acts_as_its_user(users: UserFile) -> None:
    token, info = tokens.issue(users, "mombasa", now=NOW)
    assert tokens.TOKEN.fullmatch(token) and info.token_id in token
    user = tokens.authenticate(users, token, now=NOW)
    assert user is not None and user.username == "mombasa" and user.branches == ("Mombasa",)


def test_only_a_hash_is_stored(users: UserFile) -> None:
    token, info = tokens.issue(users, "viewer", now=NOW)
    text = users.path.read_text()
    secret = token.split("_", 2)[2]
    assert secret not in text and token not in text and info.token_id in text


def test_a_changed_branch_list_applies_at_once(users: UserFile) -> None:
    token, _ = tokens.issue(users, "viewer", now=NOW)
    users.set_branches("viewer", ("Kisumu",))
    user = tokens.authenticate(users, token, now=NOW)
    assert user is not None and user.branches == ("Kisumu",)
    users.remove("viewer")
    assert tokens.authenticate(users, token, now=NOW) is None, "gone with its user"


def test_expiry_and_revocation(users: UserFile) -> None:
    token, info = tokens.issue(users, "viewer", days=30, now=NOW)
    assert info.expires == NOW + timedelta(days=30)
    assert tokens.authenticate(users, token, now=NOW + timedelta(days=29)) is not None
    assert tokens.authenticate(users, token, now=NOW + timedelta(days=30)) is None
    other, other_info = tokens.issue(users, "viewer", now=NOW)
    tokens.revoke(users, "viewer", other_info.token_id)
    assert tokens.authenticate(users, other, now=NOW) is None
    with pytest.raises(UserError, match="has no token"):
        tokens.revoke(users, "viewer", other_info.token_id)


@pytest.mark.parametrize(
    "bad",
    ["", "sa_", "Bearer x", "sa_0123456789ab_" + "A" * 43, "sa_0123456789ab_" + "A" * 44],
)
def test_unknown_or_malformed_tokens_name_nobody(users: UserFile, bad: str) -> None:
    tokens.issue(users, "admin", now=NOW)
    assert tokens.authenticate(users, bad, now=NOW) is None


def test_someone_elses_id_with_a_guessed_secret_fails(users: UserFile) -> None:
    token, _ = tokens.issue(users, "admin", now=NOW)
    guessed = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert tokens.authenticate(users, guessed, now=NOW) is None


def test_refused_requests(users: UserFile) -> None:
    with pytest.raises(UserError, match="no user"):
        tokens.issue(users, "nobody")
    with pytest.raises(UserError, match="1 to"):
        tokens.issue(users, "viewer", days=0)


def test_command_line_issues_lists_and_revokes(tmp_path: Path) -> None:
    add_test_users(tmp_path)
    issued = run_cli(["core.users", "token", "viewer", "--days", "7"], tmp_path)
    assert issued.returncode == 0, issued.stderr
    token = next(w for w in issued.stdout.split() if w.startswith("sa_"))
    token_id = tokens.TOKEN.fullmatch(token)["id"]  # type: ignore[index]
    listed = run_cli(["core.users", "tokens"], tmp_path)
    assert token_id in listed.stdout and "viewer" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout, "a token is shown once, when issued"
    revoked = run_cli(["core.users", "token", "viewer", "--revoke", token_id], tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    assert token_id not in run_cli(["core.users", "tokens"], tmp_path).stdout
    again = run_cli(["core.users", "token", "viewer", "--revoke", token_id], tmp_path)
    assert again.returncode == 2 and "has no token" in again.stderr
