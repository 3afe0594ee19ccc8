"""Visit schedules (CLINICAL_RULES.md section 8): P3 follow-up from the last actual infusion, P2 weekly
visits and timed samples from the first infusion's start, P1 months 0.5-24."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup.schedule import (
    TIME_UNITS,
    VISIT_STATUSES,
    Anchors,
    PlannedVisit,
    VisitRule,
    VisitStatus,
    plan_visits,
    visit_status,
    visits_for,
)

TZ = ZoneInfo("Asia/Shanghai")
ENROLLED = date(2026, 2, 20)
FIRST = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
LAST = datetime(2026, 4, 20, 10, 30, tzinfo=TZ)


def at(text: str) -> datetime:
    """Local (Asia/Shanghai) datetime from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.max, tzinfo=TZ)


def rows(plan) -> list[tuple]:
    return [(v.code, v.target, v.window_start, v.window_end) for v in plan]


# The built-in studies' visits (trials/studies/*.yaml).
P3_VISITS = [
    VisitRule("BL", "Baseline", "first_infusion", 0, window_before=14),
    VisitRule("D14", "Day 14", "last_infusion", 14, window_before=3, window_after=3),
    VisitRule("M1", "Month 1", "last_infusion", 30, window_before=7, window_after=7),
    VisitRule("M2", "Month 2", "last_infusion", 60, window_before=7, window_after=7),
    VisitRule("M3", "Month 3", "last_infusion", 90, window_before=7, window_after=7),
    VisitRule("M6", "Month 6", "last_infusion", 180, window_before=14, window_after=14),
    VisitRule("M9", "Month 9", "last_infusion", 270, window_before=14, window_after=14),
    VisitRule("M12", "Month 12", "last_infusion", 360, window_before=14, window_after=14),
]
P3_FOLLOW_UP = P3_VISITS[1:]

_PK_WINDOWS = [(-30, "minutes", 15, 0), (30, "minutes", 5, 5), (60, "minutes", 5, 5), (2, "hours", 15, 15),
               (4, "hours", 15, 15), (8, "hours", 30, 30), (16, "hours", 30, 30), (24, "hours", 60, 60),
               (48, "hours", 120, 120), (96, "hours", 120, 120)]
P2_VISITS = (
    [VisitRule("D-1", "Day -1", "first_infusion", -1, window_before=2)]
    + [VisitRule(f"W{w}", f"Week {w}", "first_infusion", 7 * w, window_before=2, window_after=2) for w in range(1, 29)]
    + [
        VisitRule(f"PK{offset}{unit[0]}", "hUC-MSC concentration", "first_infusion", offset, unit, before, after,
                  "minutes", sex_restriction="female")
        for offset, unit, before, after in _PK_WINDOWS
    ]
    + [
        VisitRule("AB-PRE", "Antibodies before", "first_infusion", -30, "minutes", 30, 0, "minutes",
                  first_n_participants=9),
        VisitRule("AB-48H", "Antibodies after", "last_infusion", 48, "hours", 120, 120, "minutes",
                  first_n_participants=9),
    ]
)
P1_VISITS = [
    VisitRule(code, code, "first_infusion", offset, window_before=window, window_after=window)
    for code, offset, window in [("M0.5", 15, 7), ("M1", 30, 7), ("M2", 60, 7), ("M3", 90, 7), ("M6", 180, 14),
                                 ("M9", 270, 14), ("M12", 360, 14), ("M18", 540, 14), ("M24", 720, 14)]
]


# --------------------------------------------------------------------------- visits_for

@pytest.mark.parametrize(
    "sex, sequence, pk_samples, antibody_samples",
    [
        ("female", 1, 10, 2),
        ("female", 9, 10, 2),    # the 9th participant still gets the antibody samples
        ("female", 10, 10, 0),   # the 10th does not
        ("male", 9, 0, 2),
        ("male", 10, 0, 0),
        (None, 3, 0, 2),         # sex not recorded: restricted samples left out
    ],
)
def test_visits_for_p2_restrictions(sex, sequence, pk_samples, antibody_samples):
    kept = visits_for(P2_VISITS, sex=sex, participant_sequence=sequence)
    assert sum(rule.code.startswith("PK") for rule in kept) == pk_samples
    assert sum(rule.code.startswith("AB-") for rule in kept) == antibody_samples
    assert [rule.code for rule in kept if rule.code[0] in "DW"] == ["D-1"] + [f"W{w}" for w in range(1, 29)]


def test_visits_for_male_only_visit():
    rule = VisitRule("SEMEN", "Semen analysis", "enrolment", 0, sex_restriction="male")
    assert visits_for([rule], sex="male", participant_sequence=1) == [rule]
    assert visits_for([rule], sex="female", participant_sequence=1) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sex": "female", "participant_sequence": 0}, "starts at 1"),
        ({"sex": "F", "participant_sequence": 1}, "Unknown sex"),
    ],
)
def test_visits_for_refuses_bad_participant(kwargs, message):
    with pytest.raises(ValueError, match=message):
        visits_for(P2_VISITS, **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"anchor": "screening"}, "unknown anchor"),
        ({"offset_unit": "weeks"}, "unknown offset_unit"),
        ({"window_unit": "seconds"}, "unknown window_unit"),
        ({"window_before": -1}, "cannot be negative"),
        ({"sex_restriction": "women"}, "unknown sex restriction"),
        ({"first_n_participants": 0}, "at least 1"),
    ],
)
def test_visit_rule_refuses_bad_definition(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VisitRule(**{"code": "X", "label": "X", "anchor": "enrolment", "offset": 0, **kwargs})


# --------------------------------------------------------------------------- plan_visits

def test_plan_visits_p3_follow_up_from_last_actual_infusion():
    plan = plan_visits(P3_FOLLOW_UP, Anchors(ENROLLED, FIRST, LAST), tz=TZ)
    assert rows(plan) == [
        ("D14", at("2026-05-04 00:00"), at("2026-05-01 00:00"), end_of("2026-05-07")),
        ("M1", at("2026-05-20 00:00"), at("2026-05-13 00:00"), end_of("2026-05-27")),
        ("M2", at("2026-06-19 00:00"), at("2026-06-12 00:00"), end_of("2026-06-26")),
        ("M3", at("2026-07-19 00:00"), at("2026-07-12 00:00"), end_of("2026-07-26")),
        ("M6", at("2026-10-17 00:00"), at("2026-10-03 00:00"), end_of("2026-10-31")),
        ("M9", at("2027-01-15 00:00"), at("2027-01-01 00:00"), end_of("2027-01-29")),
        ("M12", at("2027-04-15 00:00"), at("2027-04-01 00:00"), end_of("2027-04-29")),
    ]
    assert all(not v.provisional and not v.timed for v in plan)


def test_plan_visits_p3_replanned_when_last_infusion_moves():
    planned_last = at("2026-04-20 09:00")
    provisional = plan_visits(P3_VISITS, Anchors(ENROLLED, FIRST, None, last_infusion_planned=planned_last), tz=TZ)
    actual = plan_visits(P3_VISITS, Anchors(ENROLLED, FIRST, at("2026-04-23 15:00")), tz=TZ)
    assert [(v.code, v.provisional) for v in provisional] == [("BL", False)] + [(r.code, True) for r in P3_FOLLOW_UP]
    assert all(not v.provisional for v in actual)
    assert actual[0] == provisional[0]  # baseline hangs from the first infusion: unchanged
    for before, after in zip(provisional[1:], actual[1:]):
        assert after.target - before.target == timedelta(days=3)
        assert after.window_end - before.window_end == timedelta(days=3)


def test_plan_visits_day_based_visit_uses_the_anchor_local_date():
    # 23:30 UTC on 20 April is 07:30 on 21 April in Beijing: day 14 counts from 21 April.
    last = datetime(2026, 4, 20, 23, 30, tzinfo=timezone.utc)
    plan = plan_visits(P3_FOLLOW_UP[:1], Anchors(ENROLLED, FIRST, last), tz=TZ)
    assert rows(plan) == [("D14", at("2026-05-05 00:00"), at("2026-05-02 00:00"), end_of("2026-05-08"))]
    assert plan[0].target.tzinfo is TZ


def test_plan_visits_p3_baseline_window_before_first_infusion():
    plan = plan_visits(P3_VISITS[:1], Anchors(ENROLLED, FIRST, None), tz=TZ)
    assert rows(plan) == [("BL", at("2026-03-02 00:00"), at("2026-02-16 00:00"), end_of("2026-03-02"))]


def test_plan_visits_p2_weekly_platelets_from_first_infusion():
    rules = [r for r in P2_VISITS if r.code.startswith("W")]
    plan = plan_visits(rules, Anchors(ENROLLED, FIRST, None), tz=TZ)
    assert [v.code for v in plan] == [f"W{w}" for w in range(1, 29)]
    assert rows(plan)[0] == ("W1", at("2026-03-09 00:00"), at("2026-03-07 00:00"), end_of("2026-03-11"))
    assert rows(plan)[-1] == ("W28", at("2026-09-14 00:00"), at("2026-09-12 00:00"), end_of("2026-09-16"))
    assert all(v.target - plan[0].target == timedelta(weeks=i) for i, v in enumerate(plan))


def test_plan_visits_p2_day_minus_one():
    plan = plan_visits([P2_VISITS[0]], Anchors(ENROLLED, FIRST, None), tz=TZ)
    assert rows(plan) == [("D-1", at("2026-03-01 00:00"), at("2026-02-27 00:00"), end_of("2026-03-01"))]


def test_plan_visits_p2_cell_concentration_samples_timed_from_first_infusion_start():
    rules = [r for r in visits_for(P2_VISITS, sex="female", participant_sequence=12) if r.code.startswith("PK")]
    plan = plan_visits(rules, Anchors(ENROLLED, FIRST, None), tz=TZ)
    assert rows(plan) == [
        ("PK-30m", at("2026-03-02 08:30"), at("2026-03-02 08:15"), at("2026-03-02 08:30")),
        ("PK30m", at("2026-03-02 09:30"), at("2026-03-02 09:25"), at("2026-03-02 09:35")),
        ("PK60m", at("2026-03-02 10:00"), at("2026-03-02 09:55"), at("2026-03-02 10:05")),
        ("PK2h", at("2026-03-02 11:00"), at("2026-03-02 10:45"), at("2026-03-02 11:15")),
        ("PK4h", at("2026-03-02 13:00"), at("2026-03-02 12:45"), at("2026-03-02 13:15")),
        ("PK8h", at("2026-03-02 17:00"), at("2026-03-02 16:30"), at("2026-03-02 17:30")),
        ("PK16h", at("2026-03-03 01:00"), at("2026-03-03 00:30"), at("2026-03-03 01:30")),
        ("PK24h", at("2026-03-03 09:00"), at("2026-03-03 08:00"), at("2026-03-03 10:00")),
        ("PK48h", at("2026-03-04 09:00"), at("2026-03-04 07:00"), at("2026-03-04 11:00")),
        ("PK96h", at("2026-03-06 09:00"), at("2026-03-06 07:00"), at("2026-03-06 11:00")),
    ]
    assert all(v.timed and not v.provisional for v in plan)


def test_plan_visits_p2_antibodies_before_first_and_after_last_infusion():
    rules = [r for r in visits_for(P2_VISITS, sex="male", participant_sequence=9) if r.code.startswith("AB")]
    anchors = Anchors(ENROLLED, FIRST, None, last_infusion_planned=at("2026-03-23 09:00"))
    plan = plan_visits(rules, anchors, tz=TZ)
    assert [(v.code, v.target, v.window_start, v.window_end, v.provisional) for v in plan] == [
        ("AB-PRE", at("2026-03-02 08:30"), at("2026-03-02 08:00"), at("2026-03-02 08:30"), False),
        ("AB-48H", at("2026-03-25 09:00"), at("2026-03-25 07:00"), at("2026-03-25 11:00"), True),
    ]


def test_plan_visits_timed_samples_count_elapsed_hours_across_a_clock_change():
    london = ZoneInfo("Europe/London")  # clocks go forward at 01:00 UTC on 29 March 2026
    first = datetime(2026, 3, 28, 12, 0, tzinfo=london)
    rule = VisitRule("PK24h", "24 h", "first_infusion", 24, "hours", 60, 60, "minutes")
    (visit,) = plan_visits([rule], Anchors(ENROLLED, first, None), tz=london)
    # 24 real hours: 12:00 GMT on the 28th -> 13:00 BST on the 29th (not 12:00 local, 23 h later).
    assert visit.target.astimezone(timezone.utc) - first.astimezone(timezone.utc) == timedelta(hours=24)
    assert (visit.target.hour, visit.target.utcoffset()) == (13, timedelta(hours=1))


def test_plan_visits_p1_months_half_to_24():
    plan = plan_visits(P1_VISITS, Anchors(ENROLLED, FIRST, FIRST), tz=TZ)
    assert [(v.code, v.target.date().isoformat(), v.window_start.date().isoformat(), v.window_end.date().isoformat())
            for v in plan] == [
        ("M0.5", "2026-03-17", "2026-03-10", "2026-03-24"),
        ("M1", "2026-04-01", "2026-03-25", "2026-04-08"),
        ("M2", "2026-05-01", "2026-04-24", "2026-05-08"),
        ("M3", "2026-05-31", "2026-05-24", "2026-06-07"),
        ("M6", "2026-08-29", "2026-08-15", "2026-09-12"),
        ("M9", "2026-11-27", "2026-11-13", "2026-12-11"),
        ("M12", "2027-02-25", "2027-02-11", "2027-03-11"),
        ("M18", "2027-08-24", "2027-08-10", "2027-09-07"),
        ("M24", "2028-02-20", "2028-02-06", "2028-03-05"),
    ]


def test_plan_visits_provisional_on_planned_first_infusion():
    plan = plan_visits(P1_VISITS[:1], Anchors(ENROLLED, None, None, first_infusion_planned=FIRST), tz=TZ)
    assert [(v.code, v.target, v.provisional) for v in plan] == [("M0.5", at("2026-03-17 00:00"), True)]


def test_plan_visits_leaves_out_visits_without_any_anchor():
    rules = [VisitRule("SCR", "Screening labs", "enrolment", 0, window_after=3)] + P3_VISITS
    plan = plan_visits(rules, Anchors(ENROLLED, None, None), tz=TZ)
    assert [(v.code, v.target, v.window_end, v.provisional) for v in plan] == [
        ("SCR", at("2026-02-20 00:00"), end_of("2026-02-23"), False)
    ]


def test_plan_visits_timed_visit_from_enrolment_counts_from_local_midnight():
    rule = VisitRule("ECG", "ECG", "enrolment", 2, "hours", 30, 30, "minutes")
    (visit,) = plan_visits([rule], Anchors(ENROLLED, None, None), tz=TZ)
    assert (visit.target, visit.window_start, visit.window_end) == (
        at("2026-02-20 02:00"), at("2026-02-20 01:30"), at("2026-02-20 02:30"))


def test_plan_visits_offset_in_days_window_in_hours_is_timed():
    rule = VisitRule("D1", "Day 1", "first_infusion", 1, "days", 4, 4, "hours")
    (visit,) = plan_visits([rule], Anchors(ENROLLED, FIRST, None), tz=TZ)
    assert (visit.timed, visit.target, visit.window_start, visit.window_end) == (
        True, at("2026-03-03 09:00"), at("2026-03-03 05:00"), at("2026-03-03 13:00"))


def test_plan_visits_sorted_by_target_then_order():
    rules = [
        VisitRule("LATE", "late", "first_infusion", 10),
        VisitRule("B", "b", "first_infusion", 1, order=2),
        VisitRule("A", "a", "first_infusion", 1, order=1),
        VisitRule("EARLY", "early", "enrolment", 0),
    ]
    assert [v.code for v in plan_visits(rules, Anchors(ENROLLED, FIRST, None), tz=TZ)] == ["EARLY", "A", "B", "LATE"]


def test_plan_visits_refuses_naive_infusion_datetime():
    with pytest.raises(ValueError, match="aware"):
        plan_visits(P1_VISITS, Anchors(ENROLLED, datetime(2026, 3, 2, 9, 0), None), tz=TZ)


# --------------------------------------------------------------------------- visit_status

D14 = plan_visits(P3_FOLLOW_UP[:1], Anchors(ENROLLED, FIRST, LAST), tz=TZ)[0]   # 1-7 May 2026
PK30 = plan_visits([r for r in P2_VISITS if r.code == "PK30m"], Anchors(ENROLLED, FIRST, None), tz=TZ)[0]
US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    "now, expected",
    [
        (at("2026-04-30 23:59"), "upcoming"),
        (at("2026-05-01 00:00") - US, "upcoming"),
        (at("2026-05-01 00:00"), "window_open"),
        (at("2026-05-04 12:00"), "window_open"),
        (end_of("2026-05-07"), "window_open"),
        (at("2026-05-08 00:00"), "overdue"),
    ],
)
def test_visit_status_day_based_window_edges(now, expected):
    assert visit_status(D14, done_at=None, missed=False, now=now) == VisitStatus(expected, False)


@pytest.mark.parametrize(
    "done_at, expected",
    [
        (at("2026-04-30 23:59"), VisitStatus("done_out_of_window", True)),
        (at("2026-05-01 00:00"), VisitStatus("done", False)),
        (at("2026-05-07 23:59"), VisitStatus("done", False)),   # any time on the last allowed day
        (at("2026-05-08 00:00"), VisitStatus("done_out_of_window", True)),
    ],
)
def test_visit_status_day_based_done_at_window_edges(done_at, expected):
    assert visit_status(D14, done_at=done_at, missed=False, now=at("2026-06-01 00:00")) == expected


@pytest.mark.parametrize(
    "done_at, expected",
    [
        (at("2026-03-02 09:24"), VisitStatus("done_out_of_window", True)),
        (at("2026-03-02 09:25"), VisitStatus("done", False)),
        (at("2026-03-02 09:35"), VisitStatus("done", False)),
        (at("2026-03-02 09:36"), VisitStatus("done_out_of_window", True)),
    ],
)
def test_visit_status_timed_done_at_minute_edges(done_at, expected):
    assert visit_status(PK30, done_at=done_at, missed=False, now=at("2026-03-02 12:00")) == expected


@pytest.mark.parametrize(
    "now, expected",
    [
        (at("2026-03-02 09:24"), "upcoming"),
        (at("2026-03-02 09:25"), "window_open"),
        (at("2026-03-02 09:35"), "window_open"),
        (at("2026-03-02 09:35") + US, "overdue"),
    ],
)
def test_visit_status_timed_window_edges(now, expected):
    assert visit_status(PK30, done_at=None, missed=False, now=now).status == expected


def test_visit_status_missed():
    assert visit_status(D14, done_at=None, missed=True, now=at("2026-05-02 00:00")) == VisitStatus("missed", False)


def test_visit_status_refuses_done_and_missed():
    with pytest.raises(ValueError, match="both done and missed"):
        visit_status(D14, done_at=at("2026-05-02 10:00"), missed=True, now=at("2026-05-02 10:00"))


# --------------------------------------------------------------------------- properties

_ZONES = [TZ, ZoneInfo("Europe/London"), ZoneInfo("America/New_York"), timezone.utc]
_moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31),
                        timezones=st.sampled_from(_ZONES))


@st.composite
def visit_rules(draw):
    return VisitRule(
        code=draw(st.text("ABCDEFGHIJ0123456789", min_size=1, max_size=4)),
        label="visit",
        anchor=draw(st.sampled_from(["enrolment", "first_infusion", "last_infusion"])),
        offset=draw(st.integers(-500, 1000)),
        offset_unit=draw(st.sampled_from(TIME_UNITS)),
        window_before=draw(st.integers(0, 200)),
        window_after=draw(st.integers(0, 200)),
        window_unit=draw(st.sampled_from(TIME_UNITS)),
        order=draw(st.integers(0, 5)),
    )


@st.composite
def anchor_sets(draw):
    def maybe():
        return draw(st.one_of(st.none(), _moments))

    return Anchors(draw(st.dates(date(2020, 1, 1), date(2035, 12, 31))), maybe(), maybe(), maybe(), maybe())


@given(st.lists(visit_rules(), max_size=8), anchor_sets(), st.sampled_from(_ZONES))
def test_plan_visits_window_always_contains_target(rules, anchors, tz):
    plan = plan_visits(rules, anchors, tz=tz)
    for visit in plan:
        assert visit.window_start <= visit.target <= visit.window_end
    assert [v.target for v in plan] == sorted(v.target for v in plan)


def _later(value, delta):
    return None if value is None else value + delta


@given(
    st.lists(visit_rules(), max_size=8), anchor_sets(), st.sampled_from(_ZONES),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    st.sampled_from(["enrolment", "first_infusion", "last_infusion", "all"]),
)
def test_plan_visits_later_anchor_never_moves_a_visit_earlier(rules, anchors, tz, delta, moved):
    rules = list({rule.code: rule for rule in rules}.values())
    shifted = Anchors(
        anchors.enrolment + timedelta(days=delta.days) if moved in ("enrolment", "all") else anchors.enrolment,
        _later(anchors.first_infusion, delta) if moved in ("first_infusion", "all") else anchors.first_infusion,
        _later(anchors.last_infusion, delta) if moved in ("last_infusion", "all") else anchors.last_infusion,
        (_later(anchors.first_infusion_planned, delta) if moved in ("first_infusion", "all")
         else anchors.first_infusion_planned),
        (_later(anchors.last_infusion_planned, delta) if moved in ("last_infusion", "all")
         else anchors.last_infusion_planned),
    )
    before = {v.code: v for v in plan_visits(rules, anchors, tz=tz)}
    after = {v.code: v for v in plan_visits(rules, shifted, tz=tz)}
    assert before.keys() == after.keys()
    for code, visit in after.items():
        assert visit.target >= before[code].target
        assert visit.window_start >= before[code].window_start
        assert visit.window_end >= before[code].window_end


@given(visit_rules(), anchor_sets(), _moments, st.one_of(st.none(), _moments), st.booleans())
def test_visit_status_deviation_only_when_done_outside_window(rule, anchors, now, done_at, missed):
    plan = plan_visits([rule], anchors, tz=TZ)
    if not plan or (done_at is not None and missed):
        return
    status = visit_status(plan[0], done_at=done_at, missed=missed, now=now)
    assert status.status in VISIT_STATUSES
    outside = done_at is not None and not (plan[0].window_start <= done_at <= plan[0].window_end)
    assert status.deviation == outside


def test_planned_visit_is_a_frozen_dataclass():
    visit = plan_visits(P1_VISITS[:1], Anchors(ENROLLED, FIRST, None), tz=TZ)[0]
    assert isinstance(visit, PlannedVisit)
    with pytest.raises(AttributeError):
        visit.target = FIRST
