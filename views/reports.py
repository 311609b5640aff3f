"""Reports: e-mailed reports and alert rules, their last state, and the sends that failed.

A user manages their own; an admin anyone's. The numbers a report or an alert
sends are always its owner's: the owner's branches, whatever its view says.
"""

from datetime import time

import polars as pl
import streamlit as st

from core import cache
from core.presets import PERIODS
from core.reports import manage
from core.reports.alerts import BASELINES, DEFAULT_MARGIN_DAYS, KINDS
from core.reports.book import ReportBook
from core.reports.content import PAGES
from core.reports.schedules import LAST_MONTHLY_DAY, WEEKDAYS
from core.settings import load_settings
from core.store import Scope
from core.users import UserFile
from ui.auth import require_login
from ui.page import rerun_saying, saved_notice

BASELINE_LABELS = {
    "weekday-average": "The same weekday's average over the 4 weeks before",
    "target": "The day's share of the month's target",
    "forecast": "The day's forecast, made the evening before",
}
KIND_LABELS = {
    "stale-feed": "No sales recorded today for a branch by a time",
    "gross-margin": "Gross margin of a product line below a share over N days",
    "net-sales": "Net sales yesterday below a share of a baseline: weekday average, target "
    "or forecast",
}
AS_IN_LINK = "(as in the link)"

user = require_login()
settings = load_settings()
book = ReportBook(settings.data_dir)
store = cache.get_store()
version = cache.data_version()
owner_filter = None if user.is_admin else user.username
st.title("Reports")
saved_notice()
st.caption(
    "E-mailed reports of a page's view on a schedule, and alerts when something needs a look. "
    f"Times are {settings.timezone}. Each report holds its owner's numbers only."
)
if not settings.smtp_url:
    st.warning("No mail server is set (SALES_SMTP_URL): nothing is sent until one is.")

owners = [u.username for u in UserFile(settings.auth_file).users()] if user.is_admin else []


def _owner_picker(key: str) -> str:
    if not user.is_admin:
        return user.username
    return str(st.selectbox("Owner (whose branches the numbers follow)", owners, key=key))


st.subheader("Scheduled reports")
subscriptions = book.subscriptions(owner_filter)
if subscriptions:
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "id": s.id,
                    "owner": s.owner,
                    "to": s.email,
                    "page": PAGES[s.page].title,
                    "view": "&".join(f"{k}={v}" for k, vs in s.params.items() for v in vs) or "-",
                    "schedule": str(s.schedule),
                    "last run": f"{s.last_run_at.astimezone(settings.tz):%Y-%m-%d %H:%M}"
                    if s.last_run_at
                    else "never",
                    "last status": s.last_status or "-",
                }
                for s in subscriptions
            ]
        ),
        hide_index=True,
        width="stretch",
        key="subscriptions",
    )
else:
    st.info("No scheduled reports yet.")

with st.expander("Subscribe to a report", icon=":material/forward_to_inbox:"), st.form("subscribe"):
    owner = _owner_picker("report_owner")
    email = st.text_input("Send to (e-mail address)", key="report_email")
    link = st.text_input(
        "View: a link from *Share this view* (optional)",
        help="Its page and filters; the period below overrides its dates.",
        key="report_link",
    )
    page = st.selectbox(
        "Page", list(PAGES), format_func=lambda p: PAGES[p].title, key="report_page"
    )
    period = st.selectbox("Period", [AS_IN_LINK, *PERIODS], format_func=lambda p: PERIODS.get(p, p))
    every = st.segmented_control("Every", ["daily", "weekly", "monthly"], default="daily")
    weekday = st.selectbox("Weekday (weekly)", WEEKDAYS)
    day = st.number_input("Day of the month (monthly)", 1, LAST_MONTHLY_DAY, 1)
    at = st.time_input("At", time(7, 0), step=900)
    if st.form_submit_button("Subscribe", icon=":material/add:"):
        try:
            # A full link names its page; a query string alone takes the page picked.
            from_link = "://" in link or link.strip().startswith("/")
            found, params = manage.parse_view(link or page, None if from_link else page)
            if period != AS_IN_LINK:
                params = {k: v for k, v in params.items() if k not in ("start", "end")}
                params["period"] = [period]
            middle = {"daily": "", "weekly": f"{weekday} ", "monthly": f"{day} "}[every or "daily"]
            added = manage.add_subscription(
                settings,
                store,
                user,
                owner,
                email,
                found,
                params,
                f"{every or 'daily'} {middle}{at:%H:%M}",
            )
            rerun_saying(f"Report {added.id} saved: {PAGES[added.page].title}, {added.schedule}.")
        except manage.ManageError as exc:
            st.error(str(exc))

st.subheader("Alert rules")
rules = book.alerts(owner_filter)
if rules:
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "id": r.id,
                    "owner": r.owner,
                    "to": r.email,
                    "rule": KINDS[r.kind].describe(r.params) if r.kind in KINDS else r.kind,
                    "state": {"new": "not checked yet", "breach": "BREACH"}.get(r.state, r.state),
                    "since": f"{r.changed_at.astimezone(settings.tz):%Y-%m-%d %H:%M}"
                    if r.changed_at
                    else "-",
                    "last check": f"{r.checked_at.astimezone(settings.tz):%Y-%m-%d %H:%M}"
                    if r.checked_at
                    else "-",
                    "detail": r.detail or "-",
                }
                for r in rules
            ]
        ),
        hide_index=True,
        width="stretch",
        key="alerts",
    )
else:
    st.info("No alert rules yet.")

with st.expander("Add an alert rule", icon=":material/notification_add:"):
    kind = st.selectbox("Rule", list(KINDS), format_func=KIND_LABELS.__getitem__, key="alert_kind")
    assert kind is not None  # a select box over a non-empty list always holds one
    with st.form("alert"):
        owner = _owner_picker("alert_owner")
        email = st.text_input("Send to (e-mail address)", key="alert_email")
        allowed = user.branches
        rule_params: dict[str, object] = {}
        if kind in ("stale-feed", "net-sales"):
            branches = cache.members_of("branch", Scope(allowed_branches=allowed), version)
            options = branches if kind == "stale-feed" else ["", *branches]
            rule_params["branch"] = st.selectbox(
                "Branch", options, format_func=lambda b: b or "All branches"
            )
        if kind == "stale-feed":
            rule_params["by"] = f"{st.time_input('By', time(14, 0), step=900):%H:%M}"
        if kind == "gross-margin":
            lines = cache.members_of("product_line", Scope(allowed_branches=allowed), version)
            rule_params["line"] = st.selectbox("Product line", lines)
            rule_params["days"] = str(st.number_input("Over days", 1, 366, DEFAULT_MARGIN_DAYS))
        if kind == "net-sales":
            rule_params["baseline"] = st.selectbox(
                "Against", list(BASELINES), format_func=BASELINE_LABELS.__getitem__
            )
        if kind in ("gross-margin", "net-sales"):
            default = 20.0 if kind == "gross-margin" else 70.0
            share = st.number_input("Below (%)", 0.1, 100.0, default, step=5.0)
            rule_params["below"] = share / 100
        if st.form_submit_button("Add rule", icon=":material/add:"):
            try:
                rule = manage.add_alert(settings, store, user, owner, email, kind, rule_params)
                rerun_saying(f"Alert {rule.id} saved: {KINDS[rule.kind].describe(rule.params)}.")
            except manage.ManageError as exc:
                st.error(str(exc))

mine = [("report", s.id) for s in subscriptions] + [("alert", r.id) for r in rules]
if mine:
    with st.expander("Remove a report or rule", icon=":material/delete:"):
        picked = st.selectbox("Which", mine, format_func=lambda m: f"{m[0]} {m[1]}")
        if st.button("Remove", key="remove_item") and picked:
            try:
                manage.remove(settings, user, picked[0], picked[1])
                rerun_saying(f"{picked[0].capitalize()} {picked[1]} removed.")
            except manage.ManageError as exc:
                st.error(str(exc))

st.subheader("Failed sends")
failed = book.deliveries(owner_filter, status="failed")
if failed:
    st.caption(
        "Each was retried with growing pauses first. The request id finds the run in the logs."
    )
    st.dataframe(
        pl.DataFrame(
            [
                {
                    "when": f"{d.at.astimezone(settings.tz):%Y-%m-%d %H:%M}",
                    "what": f"{d.kind} {d.ref}",
                    "to": d.recipient,
                    "attempts": d.attempts,
                    "reason": d.error or "-",
                    "request id": d.request_id,
                }
                for d in failed
            ]
        ),
        hide_index=True,
        width="stretch",
        key="failed_sends",
    )
else:
    st.success("No failed sends.", icon=":material/check_circle:")
