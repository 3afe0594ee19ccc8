"""The worklist page's dates, formatted once per item in the view (`followup.views._worklist_dates`),
are what the template's `date` filter printed: with the time for a timed item, as days otherwise,
in the current time zone, the window's end left out when there is none."""
from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone

from followup.views import _worklist_dates
from followup.worklist import DUE, VISIT, WorkItem

# The cells as the template printed them before the view formatted the dates.
OLD = Template(
    '{% if item.timed %}{{ item.due_at|date:"Y-m-d H:i" }}|{{ item.window_start|date:"Y-m-d H:i" }}'
    '{% if item.window_end %} – {{ item.window_end|date:"Y-m-d H:i" }}{% endif %}'
    '{% else %}{{ item.due_at|date:"Y-m-d" }}|{{ item.window_start|date:"Y-m-d" }} – '
    '{{ item.window_end|date:"Y-m-d" }}{% endif %}')


def _item(timed, end):
    # 23:30 UTC is the next day in Asia/Shanghai: the dates are the local ones.
    start = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    return WorkItem(kind=VISIT, status=DUE, due_at=datetime(2026, 3, 2, 16, 5, tzinfo=UTC), window_start=start,
                    window_end=end, object_id=1, participant_id=1, study_number="P-1", study="S", site="X",
                    site_id=1, label="Visit", url="/", timed=timed)


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai"])
@pytest.mark.parametrize("timed", [True, False])
@pytest.mark.parametrize("end", [datetime(2026, 3, 4, 15, 59, tzinfo=UTC), None])
def test_the_dates_are_the_ones_the_template_printed(tz, timed, end):
    item = _item(timed, end)
    with timezone.override(tz):
        shown = _worklist_dates(item)
        assert f"{shown['due']}|{shown['window']}" == OLD.render(Context({"item": item}))
    if tz == "Asia/Shanghai":
        assert shown["due"].startswith("2026-03-03") and shown["window"].startswith("2026-03-02")
