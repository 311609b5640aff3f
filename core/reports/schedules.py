"""When a report goes out: daily at a time, weekly on a day, monthly on a day, local time.

A schedule is written as text a person can read and type: `daily 07:00`,
`weekly mon 07:00`, `monthly 1 07:00`. It becomes an APScheduler `CronTrigger`
in the business time zone (`SALES_TIMEZONE`), so 07:00 is 07:00 in Nairobi
whatever the server's clock says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal

from apscheduler.triggers.cron import CronTrigger

Every = Literal["daily", "weekly", "monthly"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Monthly reports go out on days every month has: a report "on the 31st" would skip
# seven months of the year without a word.
LAST_MONTHLY_DAY = 28
_SECOND = timedelta(seconds=1)
_TEXT = re.compile(r"^(daily|weekly|monthly)(?:\s+(\w+))?\s+(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """A schedule text is not one of the forms; the message shows them."""


@dataclass(frozen=True)
class Schedule:
    """`every` at `at` local time; `day` is a weekday (0 = Monday) or a day of the month."""

    every: Every
    at: time
    day: int | None = None

    def __str__(self) -> str:
        at = self.at.strftime("%H:%M")
        if self.every == "weekly":
            return f"weekly {WEEKDAYS[self.day or 0]} {at}"
        if self.every == "monthly":
            return f"monthly {self.day} {at}"
        return f"daily {at}"

    def trigger(self, timezone: str) -> CronTrigger:
        """The APScheduler trigger firing at each of this schedule's times."""
        fields: dict[str, str | int] = {"hour": self.at.hour, "minute": self.at.minute}
        if self.every == "weekly":
            fields["day_of_week"] = WEEKDAYS[self.day or 0]
        elif self.every == "monthly":
            fields["day"] = self.day or 1
        return CronTrigger(timezone=timezone, **fields)


def parse_schedule(text: str) -> Schedule:
    """Read `daily HH:MM`, `weekly DAY HH:MM` (DAY mon..sun) or `monthly N HH:MM` (N 1-28).

    Raises
    ------
    ScheduleError
        If `text` is none of these; the message names the accepted forms.
    """
    forms = "expected 'daily 07:00', 'weekly mon 07:00' or 'monthly 1 07:00'"
    match = _TEXT.match(text.strip().lower())
    if not match:
        raise ScheduleError(f"schedule {text[:40]!r}: {forms}")
    every, day_text, hour, minute = match.groups()
    if int(hour) > 23 or int(minute) > 59:
        raise ScheduleError(f"schedule {text[:40]!r}: {hour}:{minute} is not a time of day")
    at = time(int(hour), int(minute))
    if every == "daily":
        if day_text:
            raise ScheduleError(f"schedule {text[:40]!r}: {forms}")
        return Schedule("daily", at)
    if every == "weekly":
        if day_text not in WEEKDAYS:
            raise ScheduleError(f"schedule {text[:40]!r}: the day is one of {', '.join(WEEKDAYS)}")
        return Schedule("weekly", at, WEEKDAYS.index(day_text))
    if not (day_text or "").isdigit() or not 1 <= int(day_text or 0) <= LAST_MONTHLY_DAY:
        raise ScheduleError(
            f"schedule {text[:40]!r}: the day of the month is 1 to {LAST_MONTHLY_DAY}"
        )
    return Schedule("monthly", at, int(day_text or 1))


def missed_times(schedule: Schedule, timezone: str, since: datetime, now: datetime) -> int:
    """How many of the schedule's times fell after `since` and up to `now` (both aware)."""
    trigger = schedule.trigger(timezone)
    count = 0
    fire = trigger.get_next_fire_time(None, since)
    while fire is not None and fire <= now:
        if fire > since:
            count += 1
        fire = trigger.get_next_fire_time(fire, fire.replace(microsecond=0) + _SECOND)
    return count


def next_time(schedule: Schedule, timezone: str, after: datetime) -> datetime | None:
    """The schedule's first time after `after` (aware)."""
    fire: datetime | None = schedule.trigger(timezone).get_next_fire_time(None, after + _SECOND)
    return fire
