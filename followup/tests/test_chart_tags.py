"""The swimmer plot's lanes and numbers written in Python (`followup.templatetags.chart_tags`) are the
markup the template wrote before, byte for byte, every text escaped, in either language."""
import pytest
from django.template import Context, Template
from django.utils import translation

from followup.dashboard_charts import SwimmerInput, build_swimmer
from followup.templatetags.chart_tags import swimmer_lanes, swimmer_number_rows

# The template's loops, as they were written before the tags
LANES = Template("""{% for l in chart.lanes %}
      <text class="tick" x="{{ chart.label_x }}" y="{{ l.y }}" text-anchor="end" dominant-baseline="middle">{{ l.label }}</text>
      <line class="lane{% if l.ongoing %} ongoing{% endif %}" x1="{{ l.x1 }}" x2="{{ l.x2 }}" y1="{{ l.y }}" y2="{{ l.y }}"/>
      {% for x in l.infusions %}<line class="infusion-mark" x1="{{ x }}" x2="{{ x }}" y1="{{ l.mark_top }}" y2="{{ l.mark_bottom }}"/>{% endfor %}
      {% if l.response is not None %}<circle class="response-mark" cx="{{ l.response }}" cy="{{ l.y }}" r="4"/>{% endif %}
      {% if l.loss_box %}<rect class="loss-mark" x="{{ l.loss_box.0 }}" y="{{ l.loss_box.1 }}" width="8" height="8"/>{% endif %}
      {% for x in l.serious_events %}<text class="sae-mark" x="{{ x }}" y="{{ l.mark_bottom }}" text-anchor="middle">▲</text>{% endfor %}
      {% endfor %}""")  # noqa: E501
ROWS = Template("""{% for r in rows %}<tr data-participant="{{ r.label }}"><td>{{ r.label }}</td><td class="text-end">{{ r.days_on_study }}{% if r.ongoing %} +{% endif %}</td><td>{{ r.infusions|join:", " }}</td><td class="text-end">{{ r.response|default_if_none:"—" }}</td><td class="text-end">{{ r.loss|default_if_none:"—" }}</td><td>{{ r.serious_events|join:", "|default:"—" }}</td></tr>{% endfor %}""")  # noqa: E501

ROWS_IN = [
    SwimmerInput("P-001", 1234, True, (0, 7, 14, 21), response=28, loss=190, serious_events=(3, 45)),
    SwimmerInput('<b>"Li" & Wang</b>', 0, False, (0,)),
    SwimmerInput("P-003", 57, False, (0, 28), response=None, loss=None, serious_events=(57,)),
    SwimmerInput("P-004", 365, True, (), response=0, loss=None),
]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_lanes_and_numbers_are_the_templates_markup(language):
    chart = build_swimmer(ROWS_IN)
    with translation.override(language):
        assert swimmer_lanes(chart) == LANES.render(Context({"chart": chart}))
        assert swimmer_number_rows(ROWS_IN) == ROWS.render(Context({"rows": ROWS_IN}))


def test_the_texts_are_escaped():
    markup = swimmer_lanes(build_swimmer(ROWS_IN)) + swimmer_number_rows(ROWS_IN)
    assert "<b>" not in markup and "&lt;b&gt;&quot;Li&quot; &amp; Wang&lt;/b&gt;" in markup
    assert markup.count('class="sae-mark"') == 3 and markup.count('class="loss-mark"') == 1
    assert "<td>3, 45</td>" in markup and "<td>—</td>" in markup and '<td class="text-end">1234 +</td>' in markup
