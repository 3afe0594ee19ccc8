"""Geometry of a duration-of-response step curve (pure) for the study page's outcomes section.

Drawn from a group's ``duration_of_response`` block (`statistics.duration_of_response_summary`):
the Kaplan-Meier estimate as a step line from S = 1 at time 0, the log-log confidence limits as
dashed step lines, and a tick where a responder was censored. Rendered as inline SVG by the
template (no script, no style attribute), so it shows under a strict Content-Security-Policy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 360, 228
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 10, 68  # below the plot: tick labels, the axis title, numbers at risk
X_TITLE_BELOW, AT_RISK_BELOW = 30, 52  # from the plot's bottom
TICK_STEPS = (1, 3, 6, 12, 24, 36, 60)  # months between x-axis labels; the first giving <= 6 intervals


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Censor:
    x: float
    y_top: float
    y_bottom: float


@dataclass(frozen=True)
class SurvivalChart:
    width: int
    height: int
    curve: str  # SVG path data of S(t)
    ci_low: str  # SVG path data of the lower limit ("" when there is none)
    ci_high: str
    censored: tuple[Censor, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    unit: str
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    at_risk: tuple[Tick, ...] = ()  # responders still followed and in response at each x tick

    @property
    def x_title_y(self) -> int:
        return self.plot_bottom + X_TITLE_BELOW

    @property
    def at_risk_y(self) -> int:
        return self.plot_bottom + AT_RISK_BELOW

    @property
    def middle_x(self) -> float:
        return (self.plot_left + self.plot_right) / 2

    @property
    def middle_y(self) -> float:
        return (self.plot_top + self.plot_bottom) / 2


def at_risk_at(block: dict, time: float) -> int:
    """Responders at risk at `time`: neither lost nor censored before it (a loss or a censoring at
    `time` itself is still at risk then, as in the Kaplan-Meier steps)."""
    lost = sum(step["events"] for step in block.get("steps") or [] if step["time"] < time)
    censored = sum(1 for t in block.get("censored_times") or [] if t < time)
    return int(block.get("responders") or 0) - lost - censored


def _survival_at(steps: list[dict], time: float) -> float:
    value = 1.0
    for step in steps:
        if step["time"] > time:
            break
        value = step["survival"]
    return value


def _limit_path(steps: list[dict], index: int, x, y, end: float) -> str:
    """A confidence limit as a step line from the first loss on; it stops where S reaches 0
    (no limit is defined there)."""
    parts: list[str] = []
    stop = end
    for step in steps:
        if step["ci"] is None:
            stop = step["time"]
            break
        value = y(step["ci"][index])
        parts.append(f"M{x(step['time'])},{value}" if not parts else f"H{x(step['time'])} V{value}")
    if parts:
        parts.append(f"H{x(stop)}")
    return " ".join(parts)


def build_survival_chart(block: dict | None) -> SurvivalChart | None:
    """The chart of one duration-of-response block, or None without one (no responder)."""
    if not block:
        return None
    steps = list(block.get("steps") or [])
    end = max(float(block.get("max_time") or 0.0), max((s["time"] for s in steps), default=0.0))
    tick_step = next((t for t in TICK_STEPS if end / t <= 6), TICK_STEPS[-1])
    span = max(1, math.ceil(end / tick_step)) * tick_step  # the axis ends on a labelled tick
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(time: float) -> float:
        return round(LEFT + plot_w * time / span, 1)

    def y(survival: float) -> float:
        return round(TOP + plot_h * (1.0 - survival), 1)

    curve = [f"M{x(0)},{y(1.0)}"]
    for step in steps:
        curve.append(f"H{x(step['time'])} V{y(step['survival'])}")
    curve.append(f"H{x(end)}")
    ticks, position = [], 0
    while position <= span:
        ticks.append(Tick(x(position), f"{position:g}"))
        position += tick_step
    return SurvivalChart(
        width=WIDTH, height=HEIGHT, curve=" ".join(curve),
        ci_low=_limit_path(steps, 0, x, y, end), ci_high=_limit_path(steps, 1, x, y, end),
        # one tick per distinct time: responders censored at the same time share it
        censored=tuple(Censor(x(t), y(_survival_at(steps, t)) - 4, y(_survival_at(steps, t)) + 4)
                       for t in sorted(set(block.get("censored_times") or []))),
        x_ticks=tuple(ticks), y_ticks=tuple(Tick(y(v), f"{v:g}") for v in (0.0, 0.5, 1.0)),
        unit=block.get("unit", ""),
        plot_left=LEFT, plot_right=WIDTH - RIGHT, plot_top=TOP, plot_bottom=HEIGHT - BOTTOM,
        at_risk=tuple(Tick(tick.position, str(at_risk_at(block, float(tick.label)))) for tick in ticks),
    )


@dataclass(frozen=True)
class DurationRow:
    """One group's line of the study page's duration-of-response table, with its chart."""

    group: str
    block: dict
    at_6_months: dict | None  # {"time", "survival", "ci"} or None when follow-up is shorter
    chart: SurvivalChart | None


def duration_rows(groups: list[dict]) -> list[DurationRow]:
    """The groups of an outcomes snapshot that have a duration-of-response block."""
    rows = []
    for group in groups:
        block = group.get("duration_of_response")
        if block:
            at_6 = next((point for point in block.get("at", []) if point["time"] == 6), None)
            rows.append(DurationRow(group["group"], block, at_6, build_survival_chart(block)))
    return rows
