"""Scheduled e-mail reports and alerts: the dashboard's answers for people who do not open it.

- `book.py`: subscriptions, alert rules, their state and every send, in SQLite
  under `SALES_DATA_DIR` (transactional, so a crash mid-write loses nothing);
- `schedules.py`: "daily 07:00", "weekly mon 07:00", "monthly 1 07:00" as
  APScheduler triggers in the business time zone;
- `content.py`: a report's tables, computed for the owner's role and branches
  exactly as `python -m core export` computes them, and the e-mail made of them;
- `alerts.py`: rule types, each a small function over the store;
- `mail.py`: SMTP from `SALES_SMTP_URL`, retries with back-off, clear errors;
- `service.py`: one run of a report or of the alert checks, logged with its
  request id and recorded, and the APScheduler process (`serve`);
- `__main__.py`: `python -m core.reports list|add|add-alert|remove|run|check|serve`.
"""
