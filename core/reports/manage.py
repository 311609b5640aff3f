"""Adding and removing subscriptions and alert rules, with the checks both the CLI and the
Reports page make: who may manage whose, a readable view, members the owner may see.

A user manages their own; an admin anyone's (the command line acts as an admin:
whoever runs it can read the data directory). A subscription's view is a
shareable link, or its query string; a member the owner may not see, or any
parameter a link would drop with a notice, is refused here with its reason,
so a subscription never silently reports less than it says.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.export_query import stored_members
from core.filters import from_query_params
from core.presets import business_today
from core.reports.alerts import validate_rule
from core.reports.book import AlertRule, ReportBook, Subscription
from core.reports.content import PAGES
from core.reports.schedules import parse_schedule
from core.settings import Settings
from core.store import SalesStore
from core.users import User, UserFile

# An address with one @, a dot in the domain, no spaces: the mail server says the rest.
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_BY_PATH = {page.path: name for name, page in PAGES.items()}


class ManageError(ValueError):
    """A subscription or rule is refused; the message says why in one line."""


def may_manage(actor: User, owner: str) -> bool:
    """Whether `actor` may add, change or remove what `owner` owns."""
    return actor.is_admin or actor.username == owner


def parse_view(text: str, page: str | None = None) -> tuple[str, dict[str, list[str]]]:
    """The page and link parameters of a shared link, a path with a query, or a query alone.

    `page` names the page when the text does not (a bare query string), and wins
    over the link's path when given.

    Raises
    ------
    ManageError
        If no page is named, or the link's path is not a page.
    """
    text = text.strip()
    found = page
    if text in PAGES:
        found, query = page or text, ""
    elif "://" in text or text.startswith("/") or "?" in text:
        parts = urlsplit(text)
        # The last part of the path: the app may be served under a base path (/sales/...).
        segment = parts.path.strip("/").rsplit("/", 1)[-1]
        query = parts.query
        if found is None:
            if segment not in _BY_PATH:
                raise ManageError(
                    f"{segment[:40]!r} is not a page: expected one of {', '.join(PAGES)}"
                )
            found = _BY_PATH[segment]
    else:
        query = text
    if found not in PAGES:
        raise ManageError(f"name the page: one of {', '.join(PAGES)}")
    return found, parse_qs(query)


def _owner(users: UserFile, actor: User, owner: str) -> User:
    user = users.get(owner)
    if user is None:
        raise ManageError(f"{owner[:40]!r} is not a user")
    if not may_manage(actor, owner):
        raise ManageError("only an admin manages another user's reports and alerts")
    return user


def add_subscription(
    settings: Settings,
    store: SalesStore,
    actor: User,
    owner: str,
    email: str,
    page: str,
    params: dict[str, list[str]],
    schedule: str,
) -> Subscription:
    """Save a subscription after checking the owner, address, view and schedule.

    Raises
    ------
    ManageError
        With the reason (`ScheduleError` texts included).
    """
    user = _owner(UserFile(settings.auth_file), actor, owner)
    if not EMAIL.match(email.strip()):
        raise ManageError(f"{email[:60]!r} is not an e-mail address")
    if page not in PAGES:
        raise ManageError(f"unknown page {page[:40]!r}: expected one of {', '.join(PAGES)}")
    try:
        parsed_schedule = parse_schedule(schedule)
    except ValueError as exc:
        raise ManageError(str(exc)) from None
    today = business_today(settings.timezone)
    parsed = from_query_params(params, today=today)
    if parsed.notices:
        raise ManageError(parsed.notices[0])
    _, reason = stored_members(store, params, user.branches, option="")
    if reason:
        raise ManageError(reason)
    return ReportBook(settings.data_dir).add_subscription(
        owner, email.strip(), page, params, parsed_schedule
    )


def add_alert(
    settings: Settings,
    store: SalesStore,
    actor: User,
    owner: str,
    email: str,
    kind: str,
    params: dict[str, Any],
) -> AlertRule:
    """Save an alert rule after checking the owner, address and the rule's parameters."""
    user = _owner(UserFile(settings.auth_file), actor, owner)
    if not EMAIL.match(email.strip()):
        raise ManageError(f"{email[:60]!r} is not an e-mail address")
    try:
        clean = validate_rule(store, kind, params, user.branches)
    except ValueError as exc:
        raise ManageError(str(exc)) from None
    return ReportBook(settings.data_dir).add_alert(owner, email.strip(), kind, clean)


def remove(settings: Settings, actor: User, what: str, item_id: int) -> None:
    """Remove subscription (`what` "report") or rule ("alert") `item_id`, if `actor` may."""
    book = ReportBook(settings.data_dir)
    found = book.subscription(item_id) if what == "report" else book.alert(item_id)
    if found is None:
        raise ManageError(f"no {what} {item_id}")
    if not may_manage(actor, found.owner):
        raise ManageError(f"{what} {item_id} is {found.owner}'s: only an admin removes it")
    if what == "report":
        book.remove_subscription(item_id)
    else:
        book.remove_alert(item_id)
