"""Bearer tokens for the HTTP API: one user's role and branches, for a script or another system.

A token reads `sa_<id>_<secret>`. The id (12 hex digits) names it in lists and
revocations; the token itself is shown once, when issued, and only its SHA-256
is stored, beside its user in `SALES_AUTH_FILE`. A fast hash is enough where a
password needs bcrypt: the secret is 256 random bits, which no one guesses
whatever the hash costs, and every API request checks one. A token acts as its
user does now: a changed role or branch list applies at once, and a removed
user's tokens go with the user.

    python -m core.users token NAME [--days N]     (prints the token once)
    python -m core.users token NAME --revoke ID
    python -m core.users tokens                    (every token: id, user, dates)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.users import User, UserError, UserFile

TOKEN = re.compile(r"sa_(?P<id>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
# Ten years: a longer expiry is a typo for "none".
MAX_DAYS = 3650


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as lists show it; the token itself is never kept."""

    username: str
    token_id: str
    created: datetime
    expires: datetime | None  # None: until revoked

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _instant(value: object) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def issue(
    users: UserFile, username: str, days: int | None = None, now: datetime | None = None
) -> tuple[str, TokenInfo]:
    """A new token for `username`, valid for `days` (None: until revoked).

    Returns the token, to be shown once, and its stored description.
    """
    user = users.get(username)
    if user is None:
        raise UserError(f"no user {username!r}")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise UserError(f"a token lasts 1 to {MAX_DAYS} days (or, without --days, until revoked)")
    now = now or datetime.now(UTC)
    token_id = secrets.token_hex(6)
    token = f"sa_{token_id}_{secrets.token_urlsafe(32)}"
    expires = now + timedelta(days=days) if days is not None else None
    records = users.tokens().get(username, {})
    records[token_id] = {
        "sha256": _digest(token),
        "created": now.isoformat(timespec="seconds"),
        "expires": expires.isoformat(timespec="seconds") if expires else None,
    }
    users.set_tokens(username, records)
    return token, TokenInfo(username, token_id, now.replace(microsecond=0), expires)


def revoke(users: UserFile, username: str, token_id: str) -> None:
    """Delete `username`'s token `token_id`: it stops working at once."""
    records = users.tokens().get(username, {})
    if records.pop(token_id, None) is None:
        raise UserError(f"{username!r} has no token {token_id!r} (see python -m core.users tokens)")
    users.set_tokens(username, records)


def listed(users: UserFile) -> list[TokenInfo]:
    """Every stored token, by user then creation."""
    found = [
        TokenInfo(
            name,
            token_id,
            _instant(record.get("created")) or datetime.min.replace(tzinfo=UTC),
            _instant(record.get("expires")),
        )
        for name, records in users.tokens().items()
        for token_id, record in records.items()
        if isinstance(record, dict)
    ]
    return sorted(found, key=lambda t: (t.username, t.created, t.token_id))


def authenticate(users: UserFile, token: str, now: datetime | None = None) -> User | None:
    """The user `token` acts for; None for a malformed, unknown, revoked or expired token."""
    match = TOKEN.fullmatch(token)
    if match is None:
        return None
    token_id, digest = match["id"], _digest(token)
    for username, records in users.tokens().items():
        record = records.get(token_id)
        if not isinstance(record, dict):
            continue
        if not hmac.compare_digest(str(record.get("sha256", "")), digest):
            return None
        expires = _instant(record.get("expires"))
        if expires is not None and (now or datetime.now(UTC)) >= expires:
            return None
        return users.get(username)
    return None
