"""The worklist page's rows written in Python (`followup.worklist_rows`) are the markup the
template's tags wrote, character for character: escaping, the overdue badge and class, the
participant's page (the screening's own page for an eligibility confirmation), in both languages."""
from datetime import datetime, timezone as dt_timezone

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from followup import worklist as work
from followup.worklist_rows import RowWriter

# The rows' part of templates/followup/worklist.html before the rows were written in Python.
TEMPLATE_ROWS = Template('''{% load i18n %}  {% for row in rows %}{% with item=row.item %}
  <tr data-kind="{{ item.kind }}" data-status="{{ item.status }}"{% if item.overdue %} class="table-danger"{% endif %}>
    <td>{% if item.overdue %}<span class="badge text-bg-danger">{% translate "overdue" %}</span>{% else %}<span class="badge text-bg-primary">{% translate "due" %}</span>{% endif %}</td>
    <td class="text-nowrap">{{ row.due }}</td>
    <td class="text-nowrap small">{{ row.window }}</td>
    <td>{{ row.kind }}</td>
    <td><a href="{{ row.url }}" data-testid="worklist-act">{{ item.label }}</a></td>
    <td class="text-nowrap"><a href="{{ item.participant_url }}">{{ item.study_number }}</a></td>
    <td class="text-nowrap">{{ item.study }}</td><td>{{ item.site }}</td>
  </tr>
  {% endwith %}{% endfor %}''')  # noqa: E501

WHEN = datetime(2026, 3, 1, 8, 30, tzinfo=dt_timezone.utc)


def _item(kind, status, participant_id, label, number="P<01>&\"'", url="/x/?a=1&b=2"):
    return work.WorkItem(kind=kind, status=status, due_at=WHEN, window_start=WHEN, window_end=None, object_id=7,
                         participant_id=participant_id, study_number=number, study="S&1", site="<PUMCH>",
                         site_id=1, label=label, url=url)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_rows_are_the_templates_markup(db, language):
    items = [_item(work.VISIT, work.OVERDUE, 5, "Visit D7: <b>Day 7</b> & \"more\""),
             _item(work.SAE_REPORT, work.DUE, 6, "SAE report: 'fever' >= 3"),
             _item(work.ELIGIBILITY_CONFIRMATION, work.DUE, None, "Eligibility to confirm and sign: SCR-1",
                   url="/screenings/3/#eligibility-confirmation")]
    with translation.override(language):
        rows = [{"item": item, "kind": f"kind <{item.kind}>", "due": "2026-03-01 16:30",
                 "window": "2026-03-01 – 2026-03-02", "url": item.url if item.participant_id is None
                 else reverse("participant-detail", args=[item.participant_id]) + "?x=1&y=<2>"}
                for item in items]
        expected = TEMPLATE_ROWS.render(Context({"rows": rows}))
        writer = RowWriter()
        written = "  " + "".join(writer.html(row["item"], due=row["due"], window=row["window"], kind_label=row["kind"],
                                             url=row["url"]) for row in rows)
    assert written == expected
    assert 'class="table-danger"' in written and "&lt;b&gt;" in written and "/screenings/3/" in written
