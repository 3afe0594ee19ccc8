"""The swimmer plot's lanes and their numbers, written as markup in Python: a page of 50 lanes is some
2,000 values, which the template engine took 28 ms to write at every first read of a large study's
dashboard (a withdrawal moves a lane), and this writes in under 1 ms. The markup is the one the
template wrote, every text escaped; the coordinates are written as numbers (`_number`: a decimal
point whatever the language, as SVG reads them)."""
from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from followup.dashboard_charts import SwimmerChart, SwimmerInput

register = template.Library()

NONE = "—"


def _number(value) -> str:
    return str(value)


@register.simple_tag
def swimmer_lanes(chart: SwimmerChart) -> SafeString:
    """Each lane: the participant's number, the bar, the infusions' ticks, the first response's circle,
    the loss of response's square and the serious events' triangles."""
    out = []
    label_x = _number(chart.label_x)
    for lane in chart.lanes:
        y, top, bottom = _number(lane.y), _number(lane.mark_top), _number(lane.mark_bottom)
        out.append(f'\n      <text class="tick" x="{label_x}" y="{y}" text-anchor="end" dominant-baseline="middle">'
                   f'{conditional_escape(lane.label)}</text>\n'
                   f'      <line class="lane{" ongoing" if lane.ongoing else ""}" x1="{_number(lane.x1)}" '
                   f'x2="{_number(lane.x2)}" y1="{y}" y2="{y}"/>\n      ')
        out.extend(f'<line class="infusion-mark" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}"/>'
                   for x in map(_number, lane.infusions))
        out.append("\n      ")
        if lane.response is not None:
            out.append(f'<circle class="response-mark" cx="{_number(lane.response)}" cy="{y}" r="4"/>')
        out.append("\n      ")
        box = lane.loss_box
        if box:
            out.append(f'<rect class="loss-mark" x="{_number(box[0])}" y="{_number(box[1])}" width="8" height="8"/>')
        out.append("\n      ")
        out.extend(f'<text class="sae-mark" x="{x}" y="{bottom}" text-anchor="middle">▲</text>'
                   for x in map(_number, lane.serious_events))
        out.append("\n      ")
    return SafeString("".join(out))


def _joined(values) -> str:
    return ", ".join(map(_number, values))


@register.simple_tag
def swimmer_number_rows(rows: list[SwimmerInput]) -> SafeString:
    """The table of the lanes' numbers: days on study (+ while ongoing), infusion days, first response,
    loss of response and serious events' days (— when none)."""
    out = []
    for row in rows:
        label = conditional_escape(row.label)
        out.append(f'<tr data-participant="{label}"><td>{label}</td>'
                   f'<td class="text-end">{_number(row.days_on_study)}{" +" if row.ongoing else ""}</td>'
                   f'<td>{_joined(row.infusions)}</td>'
                   f'<td class="text-end">{NONE if row.response is None else _number(row.response)}</td>'
                   f'<td class="text-end">{NONE if row.loss is None else _number(row.loss)}</td>'
                   f'<td>{_joined(row.serious_events) or NONE}</td></tr>')
    return SafeString("".join(out))
