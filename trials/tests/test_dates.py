"""The pure comparisons of clinical dates (trials/dates.py): the site's day, the future, order, windows."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from trials import dates

SHANGHAI = ZoneInfo("Asia/Shanghai")  # settings.TIME_ZONE of the sites; UTC+8, no daylight saving
# 2026-03-10 23:30 in Shanghai is 15:30 UTC the same day; 00:30 in Shanghai is 16:30 UTC the day before.
NOW = datetime(2026, 3, 10, 23, 30, tzinfo=SHANGHAI)
EARLY_NOW = datetime(2026, 3, 10, 0, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("value, tz, expected", [
    (date(2026, 3, 10), SHANGHAI, date(2026, 3, 10)),
    (datetime(2026, 3, 10, 16, 30, tzinfo=timezone.utc), SHANGHAI, date(2026, 3, 11)),  # 00:30 next day in Shanghai
    (datetime(2026, 3, 10, 15, 59, tzinfo=timezone.utc), SHANGHAI, date(2026, 3, 10)),  # 23:59 in Shanghai
    (datetime(2026, 3, 10, 16, 30, tzinfo=timezone.utc), ZoneInfo("UTC"), date(2026, 3, 10)),
])
def test_local_day_is_the_day_in_the_sites_time_zone(value, tz, expected):
    assert dates.local_day(value, tz) == expected


@pytest.mark.parametrize("value, now, expected", [
    (date(2026, 3, 10), NOW, False),  # today
    (date(2026, 3, 11), NOW, True),  # tomorrow in Shanghai
    (date(2026, 3, 9), NOW, False),
    # At 00:30 in Shanghai it is still the day before in UTC: the site's day decides.
    (date(2026, 3, 10), EARLY_NOW.astimezone(timezone.utc), False),
    (date(2026, 3, 11), EARLY_NOW.astimezone(timezone.utc), True),
    (NOW, NOW, False),  # a datetime: exactly now is not in the future
    (NOW + timedelta(minutes=1), NOW, True),  # no tolerance
    (NOW - timedelta(seconds=1), NOW, False),
    (datetime(1, 1, 1, tzinfo=timezone.utc), NOW, False),
    (date(9999, 12, 31), NOW, True),
])
def test_in_future_compares_a_date_with_the_sites_today_and_a_datetime_with_now(value, now, expected):
    assert dates.in_future(value, now=now, tz=SHANGHAI) is expected


@pytest.mark.parametrize("value, limit, expected", [
    (date(2026, 3, 9), date(2026, 3, 10), True),
    (date(2026, 3, 10), date(2026, 3, 10), False),  # the same day is not before
    (datetime(2026, 3, 10, 8, 0, tzinfo=SHANGHAI), date(2026, 3, 10), False),  # signed on the enrolment day
    (datetime(2026, 3, 9, 23, 59, tzinfo=SHANGHAI), date(2026, 3, 10), True),
    # 2026-03-09 17:00 UTC is 2026-03-10 01:00 in Shanghai: not before the 10th at the site.
    (datetime(2026, 3, 9, 17, 0, tzinfo=timezone.utc), date(2026, 3, 10), False),
    (date(2026, 3, 10), datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI), False),
    (datetime(2026, 3, 10, 8, 59, tzinfo=SHANGHAI), datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI), True),  # exact
    (datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI), datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI), False),
    (date(1900, 1, 1), date(1990, 5, 1), True),
])
def test_before_compares_days_at_the_site_or_two_instants_exactly(value, limit, expected):
    assert dates.before(value, limit, SHANGHAI) is expected


@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 3, 10, 23, 59, 59, tzinfo=SHANGHAI), False),  # the window's last instant is inside it
    (datetime(2026, 3, 11, 0, 0, tzinfo=SHANGHAI), True),
    (datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI), False),  # not open yet
])
def test_a_window_has_closed_once_now_is_after_its_end(now, expected):
    end = datetime(2026, 3, 10, 23, 59, 59, tzinfo=SHANGHAI)
    assert dates.window_closed(end, now=now) is expected
