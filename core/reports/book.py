"""Subscriptions, alert rules with their last state, and every send: one SQLite file.

`SALES_DATA_DIR/reports.sqlite`, through the standard library's `sqlite3`:
each change is one transaction, so the scheduler, the CLI and the Reports page
can write at once and a crash mid-write loses nothing already stored. Member
filters are kept as a link's query string (`core.filters` reads them), never
as pickles.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from core.reports.schedules import Schedule, parse_schedule

FILE_NAME = "reports.sqlite"
# Waits this long for another process's write to finish before giving up (seconds).
BUSY_TIMEOUT = 10
# Sends kept for the Reports page and Diagnostics: months of daily reports.
KEPT_DELIVERIES = 5000
Kind = Literal["report", "alert"]
AlertState = Literal["new", "ok", "breach", "error"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    email TEXT NOT NULL,
    page TEXT NOT NULL,
    params TEXT NOT NULL,
    schedule TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_run_at TEXT,
    last_status TEXT
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    email TEXT NOT NULL,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',
    notified INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    checked_at TEXT,
    changed_at TEXT
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    ref INTEGER NOT NULL,
    owner TEXT NOT NULL,
    recipient TEXT NOT NULL,
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Subscription:
    """A report: `page`'s view with a link's `params`, sent to `email` on `schedule`.

    The numbers are always those `owner` may see: the owner's role and branch
    restriction are read from the users file at each send.
    """

    id: int
    owner: str
    email: str
    page: str
    params: dict[str, list[str]]
    schedule: Schedule
    created_at: datetime
    last_run_at: datetime | None = None
    last_status: str | None = None


@dataclass(frozen=True)
class AlertRule:
    """A rule of type `kind` (`core.reports.alerts.KINDS`) with its parameters and state.

    `notified` says the current breach has been sent: a rule sends once per
    breach and again only after it has cleared.
    """

    id: int
    owner: str
    email: str
    kind: str
    params: dict[str, Any]
    created_at: datetime
    state: AlertState = "new"
    notified: bool = False
    detail: str | None = None
    checked_at: datetime | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True)
class Delivery:
    """One send of a report or alert, with the run's request id, as the logs have it."""

    id: int
    kind: Kind
    ref: int
    owner: str
    recipient: str
    request_id: str
    at: datetime
    status: Literal["sent", "failed"]
    attempts: int
    error: str | None


class ReportBook:
    """The reports file of a data directory; every call opens its own connection."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)) as db:
            db.row_factory = sqlite3.Row
            db.executescript(_SCHEMA)
            with db:  # one transaction: committed on success, rolled back on error
                yield db

    # Subscriptions

    def add_subscription(
        self, owner: str, email: str, page: str, params: dict[str, list[str]], schedule: Schedule
    ) -> Subscription:
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO subscriptions (owner, email, page, params, schedule, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (owner, email, page, json.dumps(params), str(schedule), _now()),
            )
            new_id = int(cursor.lastrowid or 0)
        found = self.subscription(new_id)
        assert found is not None
        return found

    def subscriptions(self, owner: str | None = None) -> list[Subscription]:
        """Every subscription, or `owner`'s."""
        query = "SELECT * FROM subscriptions" + (" WHERE owner = ?" if owner else "")
        with self._db() as db:
            rows = db.execute(query + " ORDER BY id", (owner,) if owner else ()).fetchall()
        return [_subscription(row) for row in rows]

    def subscription(self, subscription_id: int) -> Subscription | None:
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)
            ).fetchone()
        return _subscription(row) if row else None

    def remove_subscription(self, subscription_id: int) -> bool:
        with self._db() as db:
            deleted = db.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
            return deleted.rowcount > 0

    def mark_run(self, subscription_id: int, at: datetime, status: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE subscriptions SET last_run_at = ?, last_status = ? WHERE id = ?",
                (at.astimezone(UTC).isoformat(timespec="seconds"), status, subscription_id),
            )

    # Alert rules

    def add_alert(self, owner: str, email: str, kind: str, params: dict[str, Any]) -> AlertRule:
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO alerts (owner, email, kind, params, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (owner, email, kind, json.dumps(params, sort_keys=True), _now()),
            )
            new_id = int(cursor.lastrowid or 0)
        found = self.alert(new_id)
        assert found is not None
        return found

    def alerts(self, owner: str | None = None) -> list[AlertRule]:
        query = "SELECT * FROM alerts" + (" WHERE owner = ?" if owner else "")
        with self._db() as db:
            rows = db.execute(query + " ORDER BY id", (owner,) if owner else ()).fetchall()
        return [_alert(row) for row in rows]

    def alert(self, alert_id: int) -> AlertRule | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return _alert(row) if row else None

    def remove_alert(self, alert_id: int) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM alerts WHERE id = ?", (alert_id,)).rowcount > 0

    def set_alert_state(
        self, alert_id: int, state: AlertState, notified: bool, detail: str, at: datetime
    ) -> None:
        """Record a check; `changed_at` moves only when the state does."""
        stamp = at.astimezone(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute(
                "UPDATE alerts SET changed_at = CASE WHEN state = ? THEN changed_at ELSE ? END,"
                " state = ?, notified = ?, detail = ?, checked_at = ? WHERE id = ?",
                (state, stamp, state, int(notified), detail, stamp, alert_id),
            )

    # Sends

    def record_delivery(
        self,
        kind: Kind,
        ref: int,
        owner: str,
        recipient: str,
        request_id: str,
        status: Literal["sent", "failed"],
        attempts: int,
        error: str | None = None,
        run_at: datetime | None = None,
    ) -> None:
        """Record one send; with `run_at`, a report's run too (its subscription's last run
        and status), in the same transaction, so no reader sees one without the other."""
        with self._db() as db:
            db.execute(
                "INSERT INTO deliveries (kind, ref, owner, recipient, request_id, at, status,"
                " attempts, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, ref, owner, recipient, request_id, _now(), status, attempts, error),
            )
            if run_at is not None and kind == "report":
                db.execute(
                    "UPDATE subscriptions SET last_run_at = ?, last_status = ? WHERE id = ?",
                    (
                        run_at.astimezone(UTC).isoformat(timespec="seconds"),
                        status if status == "sent" else f"failed: {error}",
                        ref,
                    ),
                )
            db.execute(
                "DELETE FROM deliveries WHERE id <= (SELECT MAX(id) FROM deliveries) - ?",
                (KEPT_DELIVERIES,),
            )

    def deliveries(
        self, owner: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[Delivery]:
        """The most recent sends first, `owner`'s or all, of one `status` or any."""
        where, args = [], []
        if owner:
            where.append("owner = ?")
            args.append(owner)
        if status:
            where.append("status = ?")
            args.append(status)
        query = "SELECT * FROM deliveries" + (" WHERE " + " AND ".join(where) if where else "")
        with self._db() as db:
            rows = db.execute(query + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [
            Delivery(
                row["id"],
                row["kind"],
                row["ref"],
                row["owner"],
                row["recipient"],
                row["request_id"],
                datetime.fromisoformat(row["at"]),
                row["status"],
                row["attempts"],
                row["error"],
            )
            for row in rows
        ]


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        owner=row["owner"],
        email=row["email"],
        page=row["page"],
        params={k: list(v) for k, v in json.loads(row["params"]).items()},
        schedule=parse_schedule(row["schedule"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        last_run_at=_time(row["last_run_at"]),
        last_status=row["last_status"],
    )


def _alert(row: sqlite3.Row) -> AlertRule:
    return AlertRule(
        id=row["id"],
        owner=row["owner"],
        email=row["email"],
        kind=row["kind"],
        params=json.loads(row["params"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        state=row["state"],
        notified=bool(row["notified"]),
        detail=row["detail"],
        checked_at=_time(row["checked_at"]),
        changed_at=_time(row["changed_at"]),
    )
