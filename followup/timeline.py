"""Geometry of a participant's timeline chart (pure): counts over time with the response
thresholds drawn, infusion days marked, each point's category, the confirmed response date, and
the adverse events as bars on the same time axis under the plot (one lane each, coloured by
grade). Rendered as inline SVG by the template (no script), so the chart shows under a strict
Content-Security-Policy."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
LANE = 14  # height of one adverse event lane
MAX_LANES = 8


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    day: date
    value: float
    category: str


@dataclass(frozen=True)
class Line:
    y: float
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: the first and last date labels stay inside the chart


@dataclass(frozen=True)
class EventBar:
    """An adverse event from onset to resolution (or to the chart's end while ongoing)."""

    x1: float
    x2: float
    y: float
    label: str
    grade: int | None
    ongoing: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: tuple[Point, ...]
    polyline: str
    thresholds: tuple[Line, ...]
    infusions: tuple[Marker, ...]
    y_ticks: tuple[Line, ...]
    x_ticks: tuple[Marker, ...]
    unit: str
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    events: tuple[EventBar, ...] = ()
    events_not_drawn: int = 0
    response: Marker | None = None
    lanes_top: int = 0


def build_chart(values: list[tuple[date, float, str]], *, infusions: list[date], thresholds: list[tuple[float, str]],
                unit: str, events: list[tuple[date, date | None, str, int | None]] = (),
                response: tuple[date, str] | None = None) -> Chart | None:
    """`values`: (date, value, category) in date order; `events`: (onset, resolution or None, label,
    grade) of adverse events; `response`: (date, label) of the confirmed response. None when there
    is no value to draw."""
    if not values:
        return None
    drawn = list(events)[:MAX_LANES]
    days = [d for d, _v, _c in values] + list(infusions) + [e[0] for e in drawn] + [e[1] for e in drawn if e[1]]
    start, end = min(days), max(days)
    if start == end:  # one day: drawn in the middle, not on the axis
        start, end = start - timedelta(days=1), end + timedelta(days=1)
    span = max((end - start).days, 1)
    top_value = max([v for _d, v, _c in values] + [t for t, _l in thresholds]) * 1.1 or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: date) -> float:
        return round(LEFT + plot_w * (day - start).days / span, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - value / top_value), 1)

    points = tuple(Point(x(d), y(v), d, v, c) for d, v, c in values)
    lanes_top = HEIGHT - BOTTOM + (LANE if drawn else 0)
    bars = tuple(
        EventBar(min(x(onset), WIDTH - RIGHT - 3), max(x(resolved or end), min(x(onset), WIDTH - RIGHT - 3) + 3),
                 lanes_top + LANE * i + LANE / 2, label, grade, resolved is None)
        for i, (onset, resolved, label, grade) in enumerate(drawn)
    )
    height = HEIGHT + (LANE * (len(drawn) + 1) if drawn else 0)
    step = _nice_step(top_value)
    y_ticks = tuple(Line(y(v), f"{v:g}") for v in _frange(0, top_value, step))
    ticks = _date_ticks(start, end)
    x_ticks = tuple(Marker(x(d), d.isoformat(), "start" if i == 0 and len(ticks) > 1 else
                           "end" if i == len(ticks) - 1 and len(ticks) > 1 else "middle")
                    for i, d in enumerate(ticks))
    return Chart(
        width=WIDTH, height=height, points=points, polyline=" ".join(f"{p.x},{p.y}" for p in points),
        thresholds=tuple(Line(y(t), label) for t, label in thresholds),
        infusions=tuple(Marker(x(d), f"#{n}") for n, d in enumerate(infusions, start=1)),
        y_ticks=y_ticks, x_ticks=x_ticks, unit=unit,
        plot_left=LEFT, plot_right=WIDTH - RIGHT, plot_top=TOP, plot_bottom=HEIGHT - BOTTOM,
        events=bars, events_not_drawn=len(events) - len(drawn),
        response=None if response is None else Marker(x(response[0]), response[1]), lanes_top=lanes_top,
    )


def _nice_step(top: float) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 6:
            return step
    return top / 5


def _frange(start: float, stop: float, step: float):
    value = start
    while value <= stop:
        yield value
        value += step


def _date_ticks(start: date, end: date, count: int = 5) -> list[date]:
    span = (end - start).days
    if span <= 0:
        return [start]
    return sorted({start + timedelta(days=round(span * i / (count - 1))) for i in range(count)})
