from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dosing.windows import (
    DAY_0,
    INFUSION_STATUSES,
    LAST_GIVEN,
    PLANNED_DATE,
    PREVIOUS_ACTUAL,
    InfusionEvent,
    InfusionRule,
    NominalInfusion,
    PlannedInfusion,
    nominal_infusion_days,
    plan_infusions,
)

P3 = [
    InfusionRule(1, DAY_0, 0),
    InfusionRule(2, PREVIOUS_ACTUAL, 7, 1, 1),
    InfusionRule(3, PREVIOUS_ACTUAL, 14, 3, 3),
    InfusionRule(4, PREVIOUS_ACTUAL, 14, 3, 3),
    InfusionRule(5, PREVIOUS_ACTUAL, 14, 3, 3),
]
P2 = [InfusionRule(1, DAY_0, 0)] + [InfusionRule(n, DAY_0, 7 * (n - 1), 1, 1) for n in (2, 3, 4)]


@pytest.mark.parametrize(
    "rules, expected",
    [
        (P3, [(1, 0, 0, 0), (2, 7, 6, 8), (3, 21, 18, 24), (4, 35, 32, 38), (5, 49, 46, 52)]),
        (P2, [(1, 0, 0, 0), (2, 7, 6, 8), (3, 14, 13, 15), (4, 21, 20, 22)]),
        ([InfusionRule(1, DAY_0, 0)], [(1, 0, 0, 0)]),
    ],
)
def test_nominal_infusion_days_protocol_schedules(rules, expected):
    assert nominal_infusion_days(rules) == [NominalInfusion(*row) for row in expected]


def test_nominal_infusion_days_orders_by_number():
    assert [n.number for n in nominal_infusion_days(list(reversed(P3)))] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "rules, message",
    [
        ([InfusionRule(1, PREVIOUS_ACTUAL, 7)], "none comes before it"),
        ([InfusionRule(1, DAY_0, 0), InfusionRule(1, DAY_0, 7)], "repeat"),
        ([InfusionRule(1, "weekly", 0)], "Unknown anchor"),
    ],
)
def test_nominal_infusion_days_refuses_impossible_schedules(rules, message):
    with pytest.raises(ValueError, match=message):
        nominal_infusion_days(rules)


@given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 5), st.integers(0, 5)), max_size=10))
def test_nominal_infusion_days_chained_days_increase(gaps):
    rules = [InfusionRule(1, DAY_0, 0)] + [
        InfusionRule(i + 2, PREVIOUS_ACTUAL, gap, before, after) for i, (gap, before, after) in enumerate(gaps)
    ]
    planned = nominal_infusion_days(rules)
    assert planned[-1].day == sum(gap for gap, _, _ in gaps)
    for earlier, later in zip(planned, planned[1:]):
        assert later.day > earlier.day
    for row in planned:
        assert row.earliest_day <= row.day <= row.latest_day


# --------------------------------------------------------------------------- plan_infusions
# CLINICAL_RULES.md section 8: P3 #2 = actual #1 + 7 d (+/- 1), #3-#5 = actual previous + 14 d
# (+/- 3); P2 weekly x 4 from day 0 (+/- 1). An infusion outside its window is a deviation, never moved.

D0 = date(2026, 3, 2)
BEFORE = date(2026, 2, 1)  # a "today" before every window


def d(text: str) -> date:
    return date.fromisoformat(text)


def given_on(*pairs) -> list[InfusionEvent]:
    return [InfusionEvent(number, given_on=d(on)) for number, on in pairs]


def targets(plan) -> list[tuple[int, str, str, str]]:
    return [(p.number, p.target.isoformat(), p.window_start.isoformat(), p.window_end.isoformat()) for p in plan]


def test_plan_infusions_p3_nothing_given_follows_nominal_days():
    plan = plan_infusions(P3, day0=D0, events=[], today=BEFORE)
    assert targets(plan) == [
        (1, "2026-03-02", "2026-03-02", "2026-03-02"),
        (2, "2026-03-09", "2026-03-08", "2026-03-10"),
        (3, "2026-03-23", "2026-03-20", "2026-03-26"),
        (4, "2026-04-06", "2026-04-03", "2026-04-09"),
        (5, "2026-04-20", "2026-04-17", "2026-04-23"),
    ]
    assert [p.status for p in plan] == ["planned"] * 5
    assert [p.anchor for p in plan] == [
        "day 0 (2026-03-02) + 0 days",
        "planned day of infusion 1 (2026-03-02, not yet given) + 7 days",
        "planned day of infusion 2 (2026-03-09, not yet given) + 14 days",
        "planned day of infusion 3 (2026-03-23, not yet given) + 14 days",
        "planned day of infusion 4 (2026-04-06, not yet given) + 14 days",
    ]


def test_plan_infusions_p3_late_second_infusion_reanchors_the_rest():
    plan = plan_infusions(P3, day0=D0, events=given_on((1, "2026-03-02"), (2, "2026-03-10")), today=d("2026-03-10"))
    assert plan[1] == PlannedInfusion(
        number=2, target=d("2026-03-09"), window_start=d("2026-03-08"), window_end=d("2026-03-10"),
        status="given", given_on=d("2026-03-10"), deviation=False,
        anchor_message={"code": "anchor_plus_days", "params": {
            "anchor": {"code": "anchor_given", "params": {"n": 1, "date": "2026-03-02"}}, "days": 7}},
    )
    assert plan[1].anchor == "infusion 1 given 2026-03-02 + 7 days"
    assert targets(plan)[2:] == [
        (3, "2026-03-24", "2026-03-21", "2026-03-27"),
        (4, "2026-04-07", "2026-04-04", "2026-04-10"),
        (5, "2026-04-21", "2026-04-18", "2026-04-24"),
    ]
    assert plan[2].anchor == "infusion 2 given 2026-03-10 + 14 days"


def test_plan_infusions_first_infusion_given_late_moves_day_0():
    plan = plan_infusions(P3, day0=D0, events=given_on((1, "2026-03-04")), today=d("2026-03-04"))
    assert (plan[0].target, plan[0].status, plan[0].deviation) == (d("2026-03-04"), "given", False)
    assert plan[0].anchor == "day 0 (2026-03-04, infusion 1 given) + 0 days"
    assert [p.target for p in plan[1:]] == [d("2026-03-11"), d("2026-03-25"), d("2026-04-08"), d("2026-04-22")]


@pytest.mark.parametrize(
    "second_given_on, status, deviation, third_target",
    [
        ("2026-03-06", "given_out_of_window", True, "2026-03-20"),   # early, one day beyond the window
        ("2026-03-07", "given_out_of_window", True, "2026-03-21"),   # early, one day before the window opens
        ("2026-03-08", "given", False, "2026-03-22"),                # first day of the window: inside
        ("2026-03-09", "given", False, "2026-03-23"),                # on target
        ("2026-03-10", "given", False, "2026-03-24"),                # last day of the window: inside
        ("2026-03-11", "given_out_of_window", True, "2026-03-25"),   # one day beyond the window
        ("2026-03-20", "given_out_of_window", True, "2026-04-03"),   # far beyond: still recorded, never refused
    ],
)
def test_plan_infusions_p3_window_edges_flag_deviation(second_given_on, status, deviation, third_target):
    plan = plan_infusions(P3, day0=D0, events=given_on((1, "2026-03-02"), (2, second_given_on)), today=d("2026-03-25"))
    assert (plan[1].status, plan[1].deviation, plan[1].given_on) == (status, deviation, d(second_given_on))
    assert plan[1].target == d("2026-03-09")  # the deviating infusion itself is never moved
    assert plan[2].target == d(third_target)


@pytest.mark.parametrize(
    "third_given_on, status, deviation",
    [
        ("2026-03-19", "given_out_of_window", True),
        ("2026-03-20", "given", False),
        ("2026-03-26", "given", False),
        ("2026-03-27", "given_out_of_window", True),
    ],
)
def test_plan_infusions_p3_three_day_window_edges(third_given_on, status, deviation):
    events = given_on((1, "2026-03-02"), (2, "2026-03-09"), (3, third_given_on))
    plan = plan_infusions(P3, day0=D0, events=events, today=d("2026-03-27"))
    assert (plan[2].window_start, plan[2].window_end) == (d("2026-03-20"), d("2026-03-26"))
    assert (plan[2].status, plan[2].deviation) == (status, deviation)


@pytest.mark.parametrize(
    "missed_rule, expected_4, expected_5, anchor_4",
    [
        (LAST_GIVEN, "2026-03-23", "2026-04-06", "infusion 2 given 2026-03-09 (infusion 3 missed) + 14 days"),
        (PLANNED_DATE, "2026-04-06", "2026-04-20", "planned day of infusion 3 (2026-03-23, missed) + 14 days"),
    ],
)
def test_plan_infusions_p3_missed_third_infusion_by_rule(missed_rule, expected_4, expected_5, anchor_4):
    events = given_on((1, "2026-03-02"), (2, "2026-03-09")) + [InfusionEvent(3, missed=True)]
    plan = plan_infusions(P3, day0=D0, events=events, today=d("2026-03-28"), missed_rule=missed_rule)
    assert (plan[2].status, plan[2].deviation, plan[2].given_on, plan[2].target) == (
        "missed", False, None, d("2026-03-23"))
    assert (plan[3].target, plan[4].target) == (d(expected_4), d(expected_5))
    assert plan[3].anchor == anchor_4


def test_plan_infusions_last_given_skips_several_missed_infusions():
    events = given_on((1, "2026-03-02")) + [InfusionEvent(2, missed=True), InfusionEvent(3, missed=True)]
    plan = plan_infusions(P3, day0=D0, events=events, today=BEFORE, missed_rule=LAST_GIVEN)
    assert plan[3].target == d("2026-03-16")
    assert plan[3].anchor == "infusion 1 given 2026-03-02 (infusions 2, 3 missed) + 14 days"


def test_plan_infusions_last_given_with_nothing_given_anchors_on_day_0():
    plan = plan_infusions(P3, day0=D0, events=[InfusionEvent(1, missed=True)], today=BEFORE, missed_rule=LAST_GIVEN)
    assert (plan[0].status, plan[0].target) == ("missed", D0)
    assert plan[1].target == d("2026-03-09")
    assert plan[1].anchor == "day 0 (2026-03-02) (none given; infusion 1 missed) + 7 days"


def test_plan_infusions_p2_late_infusion_does_not_move_the_next():
    events = given_on((1, "2026-03-02"), (2, "2026-03-11"))
    plan = plan_infusions(P2, day0=D0, events=events, today=d("2026-03-11"), missed_rule=PLANNED_DATE)
    assert targets(plan) == [
        (1, "2026-03-02", "2026-03-02", "2026-03-02"),
        (2, "2026-03-09", "2026-03-08", "2026-03-10"),
        (3, "2026-03-16", "2026-03-15", "2026-03-17"),
        (4, "2026-03-23", "2026-03-22", "2026-03-24"),
    ]
    assert (plan[1].status, plan[1].deviation) == ("given_out_of_window", True)
    assert plan[2].anchor == "day 0 (2026-03-02, infusion 1 given) + 14 days"


@pytest.mark.parametrize(
    "rules, day0, expected",
    [
        (P3, "2028-02-22", ["2028-02-22", "2028-02-29", "2028-03-14", "2028-03-28", "2028-04-11"]),  # leap day
        (P3, "2026-02-22", ["2026-02-22", "2026-03-01", "2026-03-15", "2026-03-29", "2026-04-12"]),  # no 29 Feb
        (P3, "2026-01-31", ["2026-01-31", "2026-02-07", "2026-02-21", "2026-03-07", "2026-03-21"]),
        (P3, "2026-12-25", ["2026-12-25", "2027-01-01", "2027-01-15", "2027-01-29", "2027-02-12"]),
        (P2, "2026-01-31", ["2026-01-31", "2026-02-07", "2026-02-14", "2026-02-21"]),
        (P2, "2028-02-15", ["2028-02-15", "2028-02-22", "2028-02-29", "2028-03-07"]),
    ],
)
def test_plan_infusions_calendar_edges(rules, day0, expected):
    plan = plan_infusions(rules, day0=d(day0), events=[], today=BEFORE)
    assert [p.target.isoformat() for p in plan] == expected


def test_plan_infusions_leap_day_windows_and_reanchoring():
    plan = plan_infusions(P3, day0=d("2028-02-22"), events=given_on((1, "2028-02-22"), (2, "2028-03-01")), today=BEFORE)
    assert (plan[1].window_start, plan[1].window_end) == (d("2028-02-28"), d("2028-03-01"))
    assert (plan[1].status, plan[2].target) == ("given", d("2028-03-15"))


@pytest.mark.parametrize(
    "today, status_1, status_2",
    [
        ("2026-03-01", "planned", "planned"),
        ("2026-03-02", "window_open", "planned"),
        ("2026-03-03", "overdue", "planned"),
        ("2026-03-07", "overdue", "planned"),
        ("2026-03-08", "overdue", "window_open"),
        ("2026-03-10", "overdue", "window_open"),
        ("2026-03-11", "overdue", "overdue"),
    ],
)
def test_plan_infusions_status_at_window_boundaries(today, status_1, status_2):
    plan = plan_infusions(P3, day0=D0, events=[], today=d(today))
    assert (plan[0].status, plan[1].status) == (status_1, status_2)
    assert all(not p.deviation for p in plan)


def test_plan_infusions_held_stops_every_pending_infusion():
    events = given_on((1, "2026-03-02"), (2, "2026-03-12")) + [InfusionEvent(3, missed=True)]
    plan = plan_infusions(P3, day0=D0, events=events, today=d("2026-06-01"), held=True)
    assert [(p.status, p.deviation) for p in plan] == [
        ("given", False), ("given_out_of_window", True), ("missed", False), ("held", False), ("held", False),
    ]
    assert plan[3].target == d("2026-03-26")  # last_given: infusion 2 given 2026-03-12 + 14 days


def test_plan_infusions_accepts_a_mapping_of_events():
    events = given_on((1, "2026-03-02"), (2, "2026-03-10"))
    as_mapping = {event.number: event for event in events}
    assert plan_infusions(P3, day0=D0, events=as_mapping, today=BEFORE) == plan_infusions(
        P3, day0=D0, events=events, today=BEFORE
    )


def test_plan_infusions_single_infusion_p1():
    plan = plan_infusions([InfusionRule(1, DAY_0, 0)], day0=D0, events=given_on((1, "2026-03-05")),
                          today=d("2026-03-05"))
    assert [(p.target, p.status) for p in plan] == [(d("2026-03-05"), "given")]


def test_plan_infusions_no_rules_no_plan():
    assert plan_infusions([], day0=D0, events=[], today=D0) == []


@pytest.mark.parametrize(
    "events, kwargs, message",
    [
        ([], {"missed_rule": "skip"}, "Unknown missed-infusion rule"),
        ([InfusionEvent(6, given_on=D0)], {}, "not in the infusion schedule"),
        ([InfusionEvent(2, given_on=D0, missed=True)], {}, "both given and missed"),
        ([InfusionEvent(2, given_on=D0), InfusionEvent(2, missed=True)], {}, "more than one event"),
        ({3: InfusionEvent(2, given_on=D0)}, {}, "filed under infusion 3"),
    ],
)
def test_plan_infusions_refuses_inconsistent_input(events, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan_infusions(P3, day0=D0, events=events, today=D0, **kwargs)


def test_plan_infusions_refuses_schedule_without_a_first_infusion_on_day_0():
    with pytest.raises(ValueError, match="none comes before it"):
        plan_infusions([InfusionRule(1, PREVIOUS_ACTUAL, 7)], day0=D0, events=[], today=D0)


# ---- properties

_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def infusion_rules(draw):
    count = draw(st.integers(1, 8))
    rules = [InfusionRule(1, DAY_0, 0)]
    for number in range(2, count + 1):
        anchor = draw(st.sampled_from([DAY_0, PREVIOUS_ACTUAL]))
        offset = draw(st.integers(1, 30) if anchor == PREVIOUS_ACTUAL else st.integers(0, 200))
        rules.append(InfusionRule(number, anchor, offset, draw(st.integers(0, 5)), draw(st.integers(0, 5))))
    return rules


@st.composite
def plans(draw):
    rules = draw(infusion_rules())
    day0 = draw(_dates)
    events = []
    for rule in rules:
        kind = draw(st.sampled_from(["none", "given", "missed"]))
        if kind == "given":
            events.append(InfusionEvent(rule.number, given_on=day0 + timedelta(days=draw(st.integers(-10, 400)))))
        elif kind == "missed":
            events.append(InfusionEvent(rule.number, missed=True))
    kwargs = {
        "day0": day0,
        "events": events,
        "today": draw(_dates),
        "missed_rule": draw(st.sampled_from([LAST_GIVEN, PLANNED_DATE])),
        "held": draw(st.booleans()),
    }
    return rules, kwargs


def _expected_anchor(rules, plan, kwargs) -> list[date]:
    """The anchor date of each infusion restated from section 8, independently of the module."""
    events = {e.number: e for e in kwargs["events"]}
    first = events.get(1)
    day0 = first.given_on if first is not None and first.given_on is not None else kwargs["day0"]
    anchors = []
    for index, rule in enumerate(rules):
        if rule.anchor == DAY_0:
            anchors.append(day0)
            continue
        previous = plan[index - 1]
        if previous.given_on is not None:
            anchors.append(previous.given_on)
        elif (not events.get(previous.number, InfusionEvent(previous.number)).missed
              or kwargs["missed_rule"] == PLANNED_DATE):
            anchors.append(previous.target)
        else:
            anchor = day0
            for earlier in reversed(plan[:index]):
                if earlier.given_on is not None:
                    anchor = earlier.given_on
                    break
                if not events.get(earlier.number, InfusionEvent(earlier.number)).missed:
                    anchor = earlier.target
                    break
            anchors.append(anchor)
    return anchors


@given(plans())
def test_plan_infusions_targets_never_precede_their_anchor(case):
    rules, kwargs = case
    plan = plan_infusions(rules, **kwargs)
    for rule, planned, anchor in zip(rules, plan, _expected_anchor(rules, plan, kwargs)):
        assert planned.target >= anchor
        assert planned.target == anchor + timedelta(days=rule.offset_days)


@given(plans())
def test_plan_infusions_window_always_contains_target(case):
    rules, kwargs = case
    for rule, planned in zip(rules, plan_infusions(rules, **kwargs)):
        assert planned.window_start <= planned.target <= planned.window_end
        assert (planned.target - planned.window_start).days == rule.window_before_days
        assert (planned.window_end - planned.target).days == rule.window_after_days


@given(plans())
def test_plan_infusions_given_dates_are_kept_and_flagged_not_moved(case):
    rules, kwargs = case
    events = {e.number: e for e in kwargs["events"]}
    for planned in plan_infusions(rules, **kwargs):
        event = events.get(planned.number, InfusionEvent(planned.number))
        assert planned.given_on == event.given_on
        assert planned.status in INFUSION_STATUSES
        outside = event.given_on is not None and not (planned.window_start <= event.given_on <= planned.window_end)
        assert planned.deviation == outside
        if event.given_on is not None:
            assert planned.status == ("given_out_of_window" if outside else "given")
        elif event.missed:
            assert planned.status == "missed"
        elif kwargs["held"]:
            assert planned.status == "held"


@given(infusion_rules(), _dates, _dates)
def test_plan_infusions_without_events_matches_nominal_days(rules, day0, today):
    plan = plan_infusions(rules, day0=day0, events=[], today=today)
    nominal = nominal_infusion_days(rules)
    assert [p.target for p in plan] == [day0 + timedelta(days=n.day) for n in nominal]
    assert [(p.window_start, p.window_end) for p in plan] == [
        (day0 + timedelta(days=n.earliest_day), day0 + timedelta(days=n.latest_day)) for n in nominal
    ]


@given(plans(), st.data(), st.integers(1, 30))
def test_plan_infusions_giving_later_never_moves_a_target_earlier(case, data, delay):
    rules, kwargs = case
    given_events = [e for e in kwargs["events"] if e.given_on is not None]
    if not given_events:
        return
    late = data.draw(st.sampled_from(given_events))
    later_events = [
        InfusionEvent(e.number, given_on=e.given_on + timedelta(days=delay)) if e is late else e
        for e in kwargs["events"]
    ]
    before = plan_infusions(rules, **kwargs)
    after = plan_infusions(rules, **{**kwargs, "events": later_events})
    assert all(a.target >= b.target for a, b in zip(after, before))
