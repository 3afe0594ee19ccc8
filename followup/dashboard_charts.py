"""Geometry of the study dashboard's charts (pure, no database): the spaghetti of counts over days
since the first infusion with the response thresholds, the swimmer plot of time on study, and the
waterfall of the best change from baseline. Rendered as inline SVG by the template (no script, no
style attribute), so they show under a strict Content-Security-Policy and print; each chart's
numbers are in a table beside it."""
from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 720
LEFT, RIGHT, TOP = 56, 16, 12
AXIS_SPACE = 44  # below the plot: tick labels and the axis title
SPAGHETTI_PLOT = 220
SWIMMER_ROW = 16
WATERFALL_PLOT = 200


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Frame:
    """The plot area and the places of the axis titles."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def x_title_y(self) -> int:
        return self.bottom + 34

    @property
    def y_title_x(self) -> int:
        return 14

    @property
    def middle_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def middle_y(self) -> float:
        return (self.top + self.bottom) / 2


def nice_step(span: float, most: int = 6) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k step giving at most `most` intervals over `span`."""
    if span <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(span / most))
    for factor in (1, 2, 2.5, 5, 10):
        if span / (factor * magnitude) <= most:
            return factor * magnitude
    return 10 * magnitude


def ticks_between(low: float, high: float, most: int = 6) -> list[float]:
    """Round values from `low` rounded down to `high` rounded up, at a nice step."""
    step = nice_step(high - low, most)
    start = math.floor(low / step) * step
    values, value = [], start
    while True:
        values.append(round(value, 6))
        if value >= high - step * 1e-9:
            return values
        value += step


def _label(value: float) -> str:
    return f"{value:g}"


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float):
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        span = (self.high - self.low) or 1
        return round(self.start + (self.end - self.start) * (value - self.low) / span, 1)


# --------------------------------------------------------------------------- spaghetti

@dataclass(frozen=True)
class Series:
    label: str
    points: tuple[tuple[int, float], ...]  # (days since the first infusion, value), in day order


@dataclass(frozen=True)
class DrawnSeries:
    label: str
    path: str  # SVG polyline points
    dots: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Threshold:
    y: float
    label: str

    @property
    def label_y(self) -> float:
        return round(self.y - 3, 1)


@dataclass(frozen=True)
class SpaghettiChart:
    frame: Frame
    series: tuple[DrawnSeries, ...]
    thresholds: tuple[Threshold, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]


def build_spaghetti(series: list[Series], thresholds: list[tuple[float, str]]) -> SpaghettiChart | None:
    """One line per participant over days since their first infusion; the thresholds as lines."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return None
    days = [d for s in drawn for d, _v in s.points]
    values = [v for s in drawn for _d, v in s.points] + [t for t, _l in thresholds]
    x_values = ticks_between(min(0, min(days)), max(max(days), 7))
    y_values = ticks_between(0, max(values) or 1)
    frame = Frame(WIDTH, TOP + SPAGHETTI_PLOT + AXIS_SPACE, LEFT, WIDTH - RIGHT, TOP, TOP + SPAGHETTI_PLOT)
    x = _Scale(x_values[0], x_values[-1], frame.left, frame.right)
    y = _Scale(y_values[0], y_values[-1], frame.bottom, frame.top)
    lines = tuple(DrawnSeries(s.label, " ".join(f"{x(d)},{y(v)}" for d, v in s.points),
                              tuple((x(d), y(v)) for d, v in s.points)) for s in drawn)
    return SpaghettiChart(frame, lines, tuple(Threshold(y(t), label) for t, label in thresholds),
                          tuple(Tick(x(v), _label(v)) for v in x_values),
                          tuple(Tick(y(v), _label(v)) for v in y_values))


# --------------------------------------------------------------------------- swimmer

@dataclass(frozen=True)
class SwimmerInput:
    label: str
    days_on_study: int  # from the first infusion to withdrawal, completion or today
    ongoing: bool
    infusions: tuple[int, ...]  # days since the first infusion
    response: int | None = None  # first day of the confirmed response
    loss: int | None = None  # day of the confirmed loss of response
    serious_events: tuple[int, ...] = ()


@dataclass(frozen=True)
class Lane:
    label: str
    y: float  # the lane's middle
    x1: float
    x2: float
    ongoing: bool
    infusions: tuple[float, ...]
    response: float | None
    loss: float | None
    serious_events: tuple[float, ...]

    @property
    def mark_top(self) -> float:
        return round(self.y - 5, 1)

    @property
    def mark_bottom(self) -> float:
        return round(self.y + 5, 1)

    @property
    def loss_box(self) -> tuple[float, float] | None:
        """The top left corner of the 8 x 8 square marking the loss of response."""
        return None if self.loss is None else (round(self.loss - 4, 1), round(self.y - 4, 1))


@dataclass(frozen=True)
class SwimmerChart:
    frame: Frame
    lanes: tuple[Lane, ...]
    x_ticks: tuple[Tick, ...]
    label_x: int


def build_swimmer(rows: list[SwimmerInput]) -> SwimmerChart | None:
    """One lane per participant, longest time on study first."""
    if not rows:
        return None
    ordered = sorted(rows, key=lambda r: (-r.days_on_study, r.label))
    longest = max([r.days_on_study for r in rows] + [m for r in rows for m in r.serious_events] + [7])
    x_values = ticks_between(0, longest)
    # room for the participant's number (about 6 units a character at the tick font size)
    left = min(240, max(LEFT + 40, 12 + 6 * max(len(r.label) for r in rows)))
    frame = Frame(WIDTH, TOP + SWIMMER_ROW * len(ordered) + AXIS_SPACE, left, WIDTH - RIGHT, TOP,
                  TOP + SWIMMER_ROW * len(ordered))
    x = _Scale(0, x_values[-1], frame.left, frame.right)
    optional = lambda day: None if day is None else x(day)  # noqa: E731
    lanes = tuple(Lane(r.label, TOP + SWIMMER_ROW * i + SWIMMER_ROW / 2, x(0), max(x(r.days_on_study), x(0) + 1),
                       r.ongoing, tuple(x(d) for d in r.infusions), optional(r.response), optional(r.loss),
                       tuple(x(d) for d in r.serious_events))
                  for i, r in enumerate(ordered))
    return SwimmerChart(frame, lanes, tuple(Tick(x(v), _label(v)) for v in x_values), left - 4)


# --------------------------------------------------------------------------- waterfall

@dataclass(frozen=True)
class Bar:
    label: str
    change: float  # percent
    x: float
    y: float
    width: float
    height: float
    rising: bool


@dataclass(frozen=True)
class WaterfallChart:
    frame: Frame
    bars: tuple[Bar, ...]
    zero: float
    y_ticks: tuple[Tick, ...]


def best_change(baseline: float | None, values: list[float]) -> float | None:
    """The largest rise from baseline in percent (the best change when a higher count is better);
    None without a baseline above 0 or without a value after it."""
    if not baseline or baseline <= 0 or not values:
        return None
    return round(100 * (max(values) - baseline) / baseline, 1)


def build_waterfall(rows: list[tuple[str, float]]) -> WaterfallChart | None:
    """One bar per participant, from the largest rise down to the largest fall."""
    if not rows:
        return None
    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))
    changes = [c for _l, c in ordered]
    y_values = ticks_between(min(0, min(changes)), max(0, max(changes), 1))
    frame = Frame(WIDTH, TOP + WATERFALL_PLOT + AXIS_SPACE, LEFT, WIDTH - RIGHT, TOP, TOP + WATERFALL_PLOT)
    y = _Scale(y_values[0], y_values[-1], frame.bottom, frame.top)
    slot = (frame.right - frame.left) / len(ordered)
    width = round(max(1.0, min(slot * 0.8, 40)), 1)
    zero = y(0)
    bars = tuple(Bar(label, change, round(frame.left + slot * i + (slot - width) / 2, 1),
                     min(y(change), zero), width, round(abs(zero - y(change)), 1), change >= 0)
                 for i, (label, change) in enumerate(ordered))
    return WaterfallChart(frame, bars, zero, tuple(Tick(y(v), _label(v)) for v in y_values))


# --------------------------------------------------------------------------- many participants

# Above this many participants in the filtered cohort the spaghetti and the waterfall summarise
# (the median and interquartile band per day, a histogram of the changes) and the swimmer plot
# shows one page of lanes at a time: each chart stays the same size whatever the cohort.
INDIVIDUAL_LIMIT = 50
SWIMMER_PAGE = 50
HISTOGRAM_BINS = 20


def quantile(ordered: list[float], share: float) -> float:
    """The `share` quantile of sorted values, interpolated between the two nearest ranks
    (the "inclusive" method: the median of 1, 2, 3, 4 is 2.5, its quartiles 1.75 and 3.25)."""
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)


@dataclass(frozen=True)
class DaySpread:
    """The values of one day since the first infusion: how many participants, quartiles, median."""

    day: int
    participants: int
    low: float  # first quartile
    median: float
    high: float  # third quartile


@dataclass(frozen=True)
class BandChart:
    frame: Frame
    median: str  # SVG polyline points
    band: str  # SVG polygon points: the third quartile forward, the first quartile back
    thresholds: tuple[Threshold, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]


def day_spreads(series: list[Series]) -> list[DaySpread]:
    """Per day since the first infusion (in day order), the quartiles of the participants' values."""
    days: dict[int, list[float]] = {}
    for one in series:
        for day, value in one.points:
            days.setdefault(day, []).append(value)
    return spreads_of_days(days)


def spreads_of_days(days: dict[int, list[float]]) -> list[DaySpread]:
    """`day_spreads` of the values already gathered per day (in any order; sorted in place)."""
    spreads = []
    for day in sorted(days):
        values = days[day]
        values.sort()
        spreads.append(DaySpread(day, len(values), quantile(values, 0.25), quantile(values, 0.5),
                                 quantile(values, 0.75)))
    return spreads


def build_band(spreads: list[DaySpread], thresholds: list[tuple[float, str]]) -> BandChart | None:
    """The median per day as a line over the band between the first and third quartiles."""
    if not spreads:
        return None
    values = [s.high for s in spreads] + [t for t, _l in thresholds]
    x_values = ticks_between(min(0, spreads[0].day), max(spreads[-1].day, 7))
    y_values = ticks_between(0, max(values) or 1)
    frame = Frame(WIDTH, TOP + SPAGHETTI_PLOT + AXIS_SPACE, LEFT, WIDTH - RIGHT, TOP, TOP + SPAGHETTI_PLOT)
    x = _Scale(x_values[0], x_values[-1], frame.left, frame.right)
    y = _Scale(y_values[0], y_values[-1], frame.bottom, frame.top)
    band = [f"{x(s.day)},{y(s.high)}" for s in spreads] + [f"{x(s.day)},{y(s.low)}" for s in reversed(spreads)]
    return BandChart(frame, " ".join(f"{x(s.day)},{y(s.median)}" for s in spreads), " ".join(band),
                     tuple(Threshold(y(t), label) for t, label in thresholds),
                     tuple(Tick(x(v), _label(v)) for v in x_values), tuple(Tick(y(v), _label(v)) for v in y_values))


@dataclass(frozen=True)
class Bin:
    low: float  # percent, included
    high: float  # percent, excluded (included for the last bin)
    participants: int
    x: float
    y: float
    width: float
    height: float
    rising: bool


@dataclass(frozen=True)
class HistogramChart:
    frame: Frame
    bins: tuple[Bin, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]


def build_histogram(changes: list[float]) -> HistogramChart | None:
    """How many participants had each best change from baseline, in bins of a round width."""
    if not changes:
        return None
    low, high = min(changes), max(changes)
    step = nice_step(high - low, HISTOGRAM_BINS) if high > low else 1
    start = math.floor(low / step) * step
    count = max(1, math.floor((high - start) / step) + 1)
    tally = [0] * count
    for change in changes:
        tally[min(count - 1, math.floor((change - start) / step))] += 1
    edges = [round(start + step * i, 6) for i in range(count + 1)]
    y_values = ticks_between(0, max(tally))
    frame = Frame(WIDTH, TOP + WATERFALL_PLOT + AXIS_SPACE, LEFT, WIDTH - RIGHT, TOP, TOP + WATERFALL_PLOT)
    x = _Scale(edges[0], edges[-1], frame.left, frame.right)
    y = _Scale(0, y_values[-1], frame.bottom, frame.top)
    bins = tuple(Bin(edges[i], edges[i + 1], n, x(edges[i]), y(n),
                     round(max(1.0, x(edges[i + 1]) - x(edges[i]) - 1), 1), round(frame.bottom - y(n), 1),
                     edges[i] >= 0)
                 for i, n in enumerate(tally))
    x_ticks = tuple(Tick(x(v), _label(v)) for v in ticks_between(edges[0], edges[-1]) if edges[0] <= v <= edges[-1])
    return HistogramChart(frame, bins, x_ticks, tuple(Tick(y(v), _label(v)) for v in y_values))
