"""Clinical dates compared with each other and with the clock (pure: no database, no clock).

The services refuse a date that contradicts another (consent before birth or before the protocol
version's effective date, enrolment before screening or consent, an infusion before enrolment, a
visit missed before its window has closed) or the clock (any clinical date in the future); these
functions are the comparisons they share. The caller reads the clock once (`timezone.now()`) and
passes it with the site's time zone (`settings.TIME_ZONE`), so that "today" is the site's day.

- A date (a day) is in the future when it is after today in the site's time zone; a datetime
  when it is after now. No tolerance is allowed: the pages give minutes, so a time typed as
  "now" is never after the server's now, and an API client sends the time it recorded.
- A datetime compared with a date (consent signed at 09:30 compared with the enrolment date) is
  compared by its day in the site's time zone; two datetimes are compared exactly.
- A visit's window ends inclusive (CLINICAL_RULES.md section 8): it has closed once now is after
  its last instant.
"""
from __future__ import annotations

from datetime import date, datetime, tzinfo


def local_day(value: date | datetime, tz: tzinfo) -> date:
    """The day of `value` in the site's time zone (a date is its own day)."""
    if isinstance(value, datetime):
        return value.astimezone(tz).date() if value.tzinfo is not None else value.date()
    return value


def in_future(value: date | datetime, *, now: datetime, tz: tzinfo) -> bool:
    """True when `value` is after now (a datetime) or after today in `tz` (a date)."""
    if isinstance(value, datetime):
        return value > now
    return value > local_day(now, tz)


def before(value: date | datetime, limit: date | datetime, tz: tzinfo) -> bool:
    """True when `value` comes before `limit`: exactly for two datetimes, else by their days in `tz`."""
    if isinstance(value, datetime) and isinstance(limit, datetime):
        return value < limit
    return local_day(value, tz) < local_day(limit, tz)


def window_closed(window_end: datetime, *, now: datetime) -> bool:
    """True once a window ending at `window_end` (inclusive) has closed."""
    return now > window_end
