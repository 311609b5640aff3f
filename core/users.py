"""Users, roles and branch restrictions, kept in the YAML file `SALES_AUTH_FILE`.

Passwords are stored as bcrypt hashes only. The file layout is the one
streamlit-authenticator reads (`credentials.usernames.<name>`), with our own
`branches` list per user. Writes are atomic (temporary file, then rename) and
the file is readable by its owner only.

    python -m core.users init       (no users yet: create admin, print its password once)
    python -m core.users list
    python -m core.users add NAME --role viewer [--branch B ...] [--password-stdin]
    python -m core.users passwd NAME [--password-stdin]
    python -m core.users role NAME admin|viewer
    python -m core.users branches NAME [B ...]      (none: every branch)
    python -m core.users remove NAME
    python -m core.users token NAME [--days N] | token NAME --revoke ID | tokens
                                    (API bearer tokens, see core/tokens.py)
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import bcrypt
import yaml

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_LENGTH = 10
# bcrypt only reads the first 72 bytes: longer passwords would silently match prefixes.
MAX_PASSWORD_BYTES = 72


class UserError(ValueError):
    """A user operation was refused; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: Role
    branches: tuple[str, ...] | None  # None: every branch

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise UserError(f"a password may have at most {MAX_PASSWORD_BYTES} bytes")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def generated_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, about 120 bits


class UserFile:
    """The users file: read on every call, so edits by the CLI show without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"credentials": {"usernames": {}}}
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"{self.path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise UserError(f"{self.path} does not hold a users mapping")
        data.setdefault("credentials", {}).setdefault("usernames", {})
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                yaml.safe_dump(data, out, sort_keys=True, allow_unicode=True)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _entries(self) -> dict[str, dict[str, Any]]:
        entries = self._read()["credentials"]["usernames"]
        return entries if isinstance(entries, dict) else {}

    def users(self) -> list[User]:
        return [self._user(name, entry) for name, entry in sorted(self._entries().items())]

    def get(self, username: str) -> User | None:
        entry = self._entries().get(username)
        return self._user(username, entry) if isinstance(entry, dict) else None

    @staticmethod
    def _user(username: str, entry: dict[str, Any]) -> User:
        roles = entry.get("roles") or ["viewer"]
        role: Role = "admin" if "admin" in roles else "viewer"
        branches = entry.get("branches")
        return User(
            username,
            str(entry.get("name") or username),
            role,
            tuple(str(b) for b in branches) if branches else None,
        )

    def verify(self, username: str, password: str) -> User | None:
        """The user if `password` is theirs; None for a wrong name or password (same cost)."""
        entry = self._entries().get(username)
        stored = entry.get("password") if isinstance(entry, dict) else None
        # An unknown user still pays for one bcrypt check, so timing does not tell names apart.
        hashed = stored if isinstance(stored, str) else _DUMMY_HASH
        try:
            ok = bcrypt.checkpw(
                password.encode("utf-8")[:MAX_PASSWORD_BYTES], hashed.encode("ascii")
            )
        except ValueError:
            ok = False
        return self._user(username, entry) if ok and isinstance(entry, dict) else None

    def add(
        self,
        username: str,
        password: str,
        role: Role = "viewer",
        branches: tuple[str, ...] | None = None,
        name: str | None = None,
    ) -> User:
        if not USERNAME.match(username):
            raise UserError("a username is 2-32 lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        data = self._read()
        entries = data["credentials"]["usernames"]
        if username in entries:
            raise UserError(f"user {username!r} already exists")
        entries[username] = {
            "name": name or username,
            "password": hash_password(password),
            "roles": [role],
            **({"branches": list(branches)} if branches else {}),
        }
        self._write(data)
        return self._user(username, entries[username])

    def _update(self, username: str, **changes: Any) -> User:
        data = self._read()
        entries = data["credentials"]["usernames"]
        if username not in entries:
            raise UserError(f"no user {username!r}")
        for key, value in changes.items():
            if value is None:
                entries[username].pop(key, None)
            else:
                entries[username][key] = value
        self._write(data)
        return self._user(username, entries[username])

    def set_password(self, username: str, password: str) -> User:
        return self._update(username, password=hash_password(password))

    def set_role(self, username: str, role: Role) -> User:
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        if role != "admin" and self._is_last_admin(username):
            raise UserError(f"{username!r} is the last admin: make another admin first")
        return self._update(username, roles=[role])

    def tokens(self) -> dict[str, dict[str, Any]]:
        """Each user's stored API tokens (`core.tokens`): {username: {token id: record}}."""
        return {
            name: dict(entry.get("tokens") or {})
            for name, entry in self._entries().items()
            if isinstance(entry, dict) and isinstance(entry.get("tokens"), dict)
        }

    def set_tokens(self, username: str, tokens: dict[str, dict[str, Any]]) -> User:
        """Replace `username`'s token records (none: the key is removed)."""
        return self._update(username, tokens=tokens or None)

    def set_branches(self, username: str, branches: tuple[str, ...]) -> User:
        return self._update(username, branches=list(branches) or None)

    def remove(self, username: str) -> None:
        if self._is_last_admin(username):
            raise UserError(f"{username!r} is the last admin: make another admin first")
        data = self._read()
        if data["credentials"]["usernames"].pop(username, None) is None:
            raise UserError(f"no user {username!r}")
        self._write(data)

    def _is_last_admin(self, username: str) -> bool:
        admins = [u.username for u in self.users() if u.is_admin]
        return admins == [username]

    def ensure_admin(self) -> str | None:
        """With no users yet, create `admin` with a random password and return it (once)."""
        if self._entries():
            return None
        password = generated_password()
        self.add("admin", password, role="admin", name="Administrator")
        return password


_DUMMY_HASH = bcrypt.hashpw(b"not a password", bcrypt.gensalt()).decode("ascii")


def _password(args: Any) -> tuple[str, bool]:
    """The new password (from stdin, a prompt, or generated) and whether it was generated."""
    import getpass
    import sys

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if first != getpass.getpass("Repeat it: "):
            raise UserError("the two passwords differ")
        return first, False
    return generated_password(), True


def _token_command(users: UserFile, args: Any) -> None:
    from datetime import UTC, datetime

    from core import tokens

    if args.command == "tokens":
        now = datetime.now(UTC)
        for info in tokens.listed(users):
            expires = info.expires.isoformat() if info.expires else "never"
            state = "expired" if info.expired(now) else "active"
            print(
                f"{info.token_id}\t{info.username}\tcreated {info.created.isoformat()}"
                f"\texpires {expires}\t{state}"
            )
    elif args.revoke:
        tokens.revoke(users, args.username, args.revoke)
        print(f"revoked token {args.revoke} of {args.username}")
    else:
        token, info = tokens.issue(users, args.username, args.days)
        expires = info.expires.isoformat() if info.expires else "never (until revoked)"
        print(f"token {info.token_id} for {info.username}, expires {expires}")
        print(f"{token}  (shown once; store it now)")


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from core.settings import SettingsError, load_settings

    parser = argparse.ArgumentParser(prog="python -m core.users", description="Manage users.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="users, roles and branches")
    commands.add_parser("init", help="with no users yet, create admin and print its password")
    add = commands.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="viewer")
    add.add_argument("--branch", action="append", default=[], help="restrict to this branch")
    add.add_argument("--name", help="display name")
    add.add_argument("--password-stdin", action="store_true")
    passwd = commands.add_parser("passwd", help="set a password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    role = commands.add_parser("role", help="set a role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    branches = commands.add_parser("branches", help="set the branches (none: every branch)")
    branches.add_argument("username")
    branches.add_argument("branch", nargs="*")
    remove = commands.add_parser("remove", help="delete a user")
    remove.add_argument("username")
    token = commands.add_parser("token", help="issue (or --revoke) an API bearer token")
    token.add_argument("username")
    token.add_argument("--days", type=int, help="expire after this many days (default: never)")
    token.add_argument("--revoke", metavar="ID", help="revoke the token with this id instead")
    commands.add_parser("tokens", help="every API token: id, user, created, expires")
    args = parser.parse_args(argv)
    try:
        users = UserFile(load_settings().auth_file)
        if args.command == "init":
            password = users.ensure_admin()
            if password:
                print(f"Created user 'admin' with password: {password}")
                print("Shown only this once. Change it: python -m core.users passwd admin")
        elif args.command == "list":
            for user in users.users():
                scope = ", ".join(user.branches) if user.branches else "every branch"
                print(f"{user.username}\t{user.role}\t{scope}")
        elif args.command in ("add", "passwd"):
            password, generated = _password(args)
            if args.command == "add":
                user = users.add(
                    args.username, password, args.role, tuple(args.branch) or None, args.name
                )
            else:
                user = users.set_password(args.username, password)
            print(
                f"{user.username}: {user.role}, "
                f"{', '.join(user.branches) if user.branches else 'every branch'}"
            )
            if generated:
                print(f"password: {password}  (shown once; store it now)")
        elif args.command == "role":
            users.set_role(args.username, args.role)
        elif args.command == "branches":
            users.set_branches(args.username, tuple(args.branch))
        elif args.command == "remove":
            users.remove(args.username)
        elif args.command in ("token", "tokens"):
            _token_command(users, args)
    except (UserError, SettingsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    # Run as the imported module, so core.tokens (which imports core.users) raises the
    # same UserError that main() catches, not the one of this `__main__` copy.
    from core.users import main as _main

    raise SystemExit(_main())
