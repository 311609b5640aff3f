"""Users file, password rules, sign-in throttling and the cookie key (no Streamlit needed)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.login_throttle import LOCKOUT_SECONDS, MAX_FAILURES, LoginThrottle
from core.settings import SettingsError, load_settings
from core.users import UserError, UserFile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def users(tmp_path: Path) -> UserFile:
    return UserFile(tmp_path / "users.yaml")


def test_passwords_are_stored_as_bcrypt_hashes_only(users: UserFile) -> None:
    users.add("amina", "correct horse battery", role="viewer", branches=("Mombasa",))
    text = users.path.read_text()
    assert "correct horse battery" not in text
    stored = yaml.safe_load(text)["credentials"]["usernames"]["amina"]
    assert stored["password"].startswith("$2b$")
    assert stored["branches"] == ["Mombasa"]
    assert stat.S_IMODE(users.path.stat().st_mode) == 0o600


def test_verify_accepts_only_the_right_password(users: UserFile) -> None:
    users.add("amina", "correct horse battery")
    user = users.verify("amina", "correct horse battery")
    assert user is not None and user.role == "viewer" and user.branches is None
    assert users.verify("amina", "correct horse batterY") is None
    assert users.verify("nobody", "correct horse battery") is None
    assert users.verify("amina", "") is None


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 10"), ("é" * 40, "at most 72 bytes")],
)
def test_password_rules(users: UserFile, password: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        users.add("amina", password)
    assert not users.path.exists(), "a refused user leaves no file behind"


@pytest.mark.parametrize("name", ["A", "Amina", "has space", "x" * 40, "../etc", ""])
def test_bad_usernames_are_refused(users: UserFile, name: str) -> None:
    with pytest.raises(UserError, match="username"):
        users.add(name, "long enough password")


def test_roles_branches_and_the_last_admin(users: UserFile) -> None:
    users.add("boss", "long enough password", role="admin")
    users.add("amina", "long enough password")
    with pytest.raises(UserError, match="last admin"):
        users.set_role("boss", "viewer")
    with pytest.raises(UserError, match="last admin"):
        users.remove("boss")
    users.set_branches("amina", ("Kisumu", "Thika"))
    assert users.get("amina").branches == ("Kisumu", "Thika")  # type: ignore[union-attr]
    users.set_branches("amina", ())
    assert users.get("amina").branches is None  # type: ignore[union-attr]
    users.set_role("amina", "admin")
    users.set_role("boss", "viewer")
    assert [u.username for u in users.users() if u.is_admin] == ["amina"]
    with pytest.raises(UserError, match="already exists"):
        users.add("amina", "long enough password")


def test_ensure_admin_creates_one_random_password_once(users: UserFile) -> None:
    first = users.ensure_admin()
    assert first and len(first) >= 16
    assert users.verify("admin", first) is not None
    assert users.ensure_admin() is None, "never a second time"


def _cli(args: list[str], auth_file: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "SALES_AUTH_FILE": str(auth_file)}
    return subprocess.run(
        [sys.executable, "-m", "core.users", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_line(tmp_path: Path) -> None:
    auth = tmp_path / "users.yaml"
    init = _cli(["init"], auth)
    assert init.returncode == 0 and "password:" in init.stdout
    password = init.stdout.split("password: ")[1].split()[0]
    assert UserFile(auth).verify("admin", password) is not None
    assert "password" not in _cli(["init"], auth).stdout, "printed once only"
    added = _cli(
        ["add", "amina", "--branch", "Mombasa", "--password-stdin"], auth, "amina's long password\n"
    )
    assert added.returncode == 0, added.stderr
    assert "amina\tviewer\tMombasa" in _cli(["list"], auth).stdout
    refused = _cli(["add", "bob", "--password-stdin"], auth, "short\n")
    assert refused.returncode == 2 and "at least 10" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_throttle_locks_after_repeated_failures_and_unlocks_later() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    delays = [throttle.failed("amina") for _ in range(MAX_FAILURES - 1)]
    assert delays == sorted(delays) and delays[0] > 0, "each failure waits a little longer"
    assert throttle.locked_for("amina") == 0
    throttle.failed("amina")
    assert throttle.locked_for("amina") == pytest.approx(LOCKOUT_SECONDS)
    assert throttle.locked_for("other") == 0, "one user's lockout does not lock others"
    now[0] += LOCKOUT_SECONDS + 1
    assert throttle.locked_for("amina") == 0
    throttle.failed("amina")
    throttle.succeeded("amina")
    assert throttle.locked_for("amina") == 0


def test_cookie_key_settings() -> None:
    assert load_settings({"SALES_ENV": "production"}).production
    assert load_settings({}).cookie_key == ""
    with pytest.raises(SettingsError, match="32"):
        load_settings({"SALES_COOKIE_KEY": "too-short"})
    settings = load_settings({"SALES_COOKIE_KEY": "k" * 40})
    assert "k" * 40 not in repr(settings), "the key never shows in logs or tracebacks"
    with pytest.raises(SettingsError, match="SALES_ENV"):
        load_settings({"SALES_ENV": "staging"})
