"""Tests for followup/response.py (CLINICAL_RULES.md sections 1 and 2). No database.

Thresholds are read from the shipped criteria sets (trials/studies/response_criteria.yaml).
"""


import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup.response import (
    CR,
    NE,
    NR,
    PR,
    Count,
    Lab,
    R,
    Therapy,
    Transfusion,
    aiha_response,
    itp_response,
    itp_time_points,
    multilineage_response,
    neutropenia_response,
    prca_response,
)
from followup.tests.response_cases import (
    AIHA_CN,
    AIHA_CN_CATEGORIES,
    AIHA_INTL,
    AIHA_INTL_CATEGORIES,
    BASELINE_15,
    ITP,
    ITP_CATEGORIES,
    MULTI,
    NEUTRO,
    NEUTRO_CASES,
    NORMAL_MARKERS,
    PRCA,
    PRCA_CASES,
    RESCUE_WINDOW,
    STEROID_DEPENDENCE,
    TIME_IN_RESPONSE,
    F,
    day,
    hb,
    itp,
    plt,
)

# --------------------------------------------------------------------------- ITP: per assessment

@pytest.mark.parametrize("baseline, value, bleeding, category", ITP_CATEGORIES)
def test_itp_response_category_per_count(baseline, value, bleeding, category):
    result = itp([plt(-1, baseline), plt(14, value, bleeding)])

    assert [a.category for a in result.assessments] == [category]


def test_itp_response_bleeding_reason_is_explained():
    result = itp([BASELINE_15, plt(14, 150, 2)])

    assert result.assessments[0].reason == "NR: bleeding (WHO bleeding grade 2 >= 2)"


def test_itp_response_doubling_reason_names_baseline():
    result = itp([plt(-1, 20), plt(14, 40)])

    assert result.assessments[0].reason == (
        "R: platelets 40 >= 30 and >= 2 x baseline 20 (40), WHO bleeding grade 0 < 2"
    )


# --------------------------------------------------------------------------- ITP: confirmation


@pytest.mark.parametrize("gap, best", [(7, R), (6, NR), (8, R)])
def test_itp_response_confirmation_needs_7_days(gap, best):
    result = itp([BASELINE_15, plt(14, 50), plt(14 + gap, 55)])

    assert result.best_confirmed_response == best
    assert [a.category for a in result.assessments] == [R, R]
    if best == R:
        assert result.response_date == day(14)
        assert result.time_to_response_days == 14
    else:
        assert result.response_date is None and result.time_to_response_days is None


def test_itp_response_cr_confirmed_after_r():
    result = itp([BASELINE_15, plt(7, 50), plt(14, 120), plt(21, 130)])

    assert result.best_confirmed_response == CR
    assert result.response_date == day(7)
    assert result.complete_response_date == day(14)


def test_itp_response_run_broken_by_nr_is_not_confirmed():
    result = itp([BASELINE_15, plt(14, 50), plt(17, 20), plt(21, 50)])

    assert result.best_confirmed_response == NR


def test_itp_response_ne_count_neither_confirms_nor_breaks():
    ivig = Therapy("ivig", day(16), day(16))

    result = itp([BASELINE_15, plt(14, 50), plt(18, 10), plt(31, 50)], rescue=[ivig])

    assert [a.category for a in result.assessments] == [R, NE, R]
    assert result.best_confirmed_response == R


# --------------------------------------------------------------------------- ITP: rescue and baseline

@pytest.mark.parametrize("after, evaluable", RESCUE_WINDOW)
def test_itp_response_count_within_14_days_of_ivig_not_evaluable(after, evaluable):
    ivig = Therapy("ivig", day(10), day(12))

    result = itp([BASELINE_15, plt(12 + after, 80)], rescue=[ivig])

    assert result.assessments[0].evaluable is evaluable
    if not evaluable:
        assert result.assessments[0].category == NE
        assert "ivig 2026-03-11 to 2026-03-13" in result.assessments[0].reason


def test_itp_response_platelet_transfusion_is_rescue():
    result = itp([BASELINE_15, plt(14, 80)],
                 transfusions=[Transfusion("platelet", day(10)), Transfusion("rbc", day(1))])

    assert result.assessments[0].category == NE
    assert "platelet transfusion on 2026-03-11" in result.assessments[0].reason


def test_itp_response_ongoing_tpo_agent_makes_counts_not_evaluable():
    result = itp([BASELINE_15, plt(60, 80)], rescue=[Therapy("tpo_agent", day(20), None)])

    assert result.assessments[0].category == NE


@pytest.mark.parametrize("baseline_day, found", [(-14, True), (-15, False), (0, True), (1, False)])
def test_itp_response_baseline_lookback_14_days(baseline_day, found):
    counts = [plt(baseline_day, 15), plt(14, 50), plt(21, 50)] if baseline_day <= 0 else [plt(14, 50), plt(21, 50)]

    result = itp(counts)

    assert (result.baseline is not None) is found
    assert result.best_confirmed_response == (R if found else NE)


def test_itp_response_missing_baseline_all_not_evaluable():
    result = itp([plt(-20, 15), plt(14, 120), plt(21, 130)])

    assert result.baseline is None
    assert [a.category for a in result.assessments] == [NE, NE]
    assert result.best_confirmed_response == NE
    assert "baseline missing" in result.assessments[0].reason


def test_itp_response_baseline_is_last_count_on_or_before_infusion():
    result = itp([plt(-10, 8), plt(-2, 20), plt(0, 12), plt(14, 35)])

    assert (result.baseline.value, result.baseline.date) == (12, F)
    assert result.assessments[0].category == R  # 35 >= 2 x 12, though < 2 x 20


# --------------------------------------------------------------------------- ITP: loss and duration


def test_itp_response_loss_of_response_confirmed_by_two_counts_a_day_apart():
    counts = [BASELINE_15, plt(14, 50), plt(21, 50), plt(40, 20), plt(41, 18), plt(60, 10)]

    result = itp(counts)

    assert result.best_confirmed_response == R
    assert result.loss_of_response_date == day(40)
    assert result.duration_of_response_days == 26
    assert result.duration_censored is False


def test_itp_response_single_low_count_is_not_a_loss():
    result = itp([BASELINE_15, plt(14, 50), plt(21, 50), plt(40, 20), plt(47, 50)])

    assert result.loss_of_response_date is None
    assert result.duration_of_response_days == 33
    assert result.duration_censored is True


def test_itp_response_two_low_counts_same_day_are_not_a_loss():
    result = itp([BASELINE_15, plt(14, 50), plt(21, 50), plt(40, 20), plt(40, 18)])

    assert result.loss_of_response_date is None


def test_itp_response_loss_of_cr_keeps_response():
    result = itp([BASELINE_15, plt(14, 120), plt(21, 130), plt(30, 60), plt(31, 55)])

    assert result.best_confirmed_response == CR
    assert result.loss_of_complete_response_date == day(30)
    assert result.loss_of_response_date is None


def test_itp_response_as_api_shape():
    result = itp([BASELINE_15, plt(14, 50), plt(21, 50)])

    body = result.as_api()

    assert body["criteria_set"] == "IWG2009-ITP"
    assert body["baseline"] == {"analyte": "PLT", "value": 15, "date": "2026-02-26"}
    assert body["assessments"][0]["category"] == R and body["assessments"][0]["evaluable"] is True
    assert body["best_confirmed_response"] == R
    assert body["response_date"] == "2026-03-15"
    assert body["time_to_response_days"] == 14
    assert body["loss_of_response_date"] is None


def test_itp_response_window_excludes_early_counts():
    result = itp([BASELINE_15, plt(7, 50), plt(14, 50), plt(20, 50)], assess_from=day(15))

    assert [a.evaluable for a in result.assessments] == [False, False, True]
    assert result.best_confirmed_response == NR


# --------------------------------------------------------------------------- ITP: time points

TIME_POINTS = {"early": 7, "initial": 30, "durable": 182, "remission": 365}


def test_itp_time_points_all_met():
    counts = [BASELINE_15, plt(7, 40), plt(14, 60), plt(30, 90), plt(182, 80), plt(365, 110)]
    result = itp(counts)

    points = itp_time_points(result, first_infusion=F, thresholds=ITP, time_points=TIME_POINTS, window_days=3)

    assert [(p.name, p.met) for p in points] == [
        ("early", True), ("initial", True), ("durable", True), ("remission", True)
    ]


def test_itp_time_points_lost_and_missing():
    counts = [BASELINE_15, plt(8, 20), plt(30, 90), plt(37, 90), plt(100, 10), plt(101, 12), plt(180, 40)]
    result = itp(counts)

    points = {p.name: p for p in itp_time_points(
        result, first_infusion=F, thresholds=ITP, time_points=TIME_POINTS, window_days=3
    )}

    assert points["early"].met is False
    assert points["initial"].met is True
    assert points["durable"].met is False  # R at day 180 but the response was lost on day 100
    assert points["remission"].met is None


@pytest.mark.parametrize("value, steroid, category", STEROID_DEPENDENCE)
def test_itp_corticosteroid_dependence_counts_as_no_response(value, steroid, category):
    result = itp([BASELINE_15, Count(day(14), value, 0, steroid)])

    assert [a.category for a in result.assessments] == [category]
    if steroid is not None and steroid > 5:
        assert "corticosteroid dependence" in result.assessments[0].reason


def test_itp_corticosteroid_dependence_needs_the_threshold_in_the_set():
    without = {k: v for k, v in ITP.items() if k != "steroid_dependence_prednisone_mg"}

    result = itp_response([BASELINE_15, Count(day(14), 120, 0, 20)], first_infusion=F, thresholds=without)

    assert result.assessments[0].category == CR


@pytest.mark.parametrize("counts, share", TIME_IN_RESPONSE)
def test_share_of_observed_time_in_response(counts, share):
    result = itp([BASELINE_15] + [plt(d, v) for d, v in counts])

    assert result.time_in_response_share == share


def test_itp_time_points_from_target_dates():
    counts = [BASELINE_15, plt(7, 40), plt(14, 60), plt(79, 90), plt(229, 80), plt(409, 110)]
    result = itp(counts)
    targets = {"early": day(7), "initial": day(79), "durable": day(229), "remission": day(409)}

    points = itp_time_points(result, thresholds=ITP, targets=targets, window_days=7)

    assert [(p.name, p.target_date, p.assessment_date, p.met) for p in points] == [
        ("early", day(7), day(7), True), ("initial", day(79), day(79), True),
        ("durable", day(229), day(229), True), ("remission", day(409), day(409), True),
    ]


# --------------------------------------------------------------------------- ITP: properties

counts_strategy = st.lists(
    st.tuples(st.integers(1, 200), st.integers(0, 300), st.integers(0, 4)), min_size=1, max_size=12
)


@given(counts=counts_strategy, index=st.integers(0, 11), grade=st.integers(2, 4))
def test_itp_response_adding_bleeding_never_improves(counts, index, grade):
    base = [BASELINE_15] + [plt(d, v, b) for d, v, b in counts]
    target = 1 + index % len(counts)
    worse = list(base)
    worse[target] = Count(base[target].date, base[target].value, max(grade, base[target].bleeding_grade))
    rank = {CR: 2, R: 1, NR: 0, NE: -1}

    before, after = itp(base), itp(worse)

    assert all(rank[b.category] >= rank[a.category] for b, a in zip(before.assessments, after.assessments))
    assert rank[after.best_confirmed_response] <= rank[before.best_confirmed_response]


@given(counts=counts_strategy)
def test_itp_response_confirmed_response_has_two_qualifying_counts(counts):
    result = itp([BASELINE_15] + [plt(d, v, b) for d, v, b in counts])

    if result.response_date is not None:
        responding = [a.date for a in result.assessments if a.category in (CR, R)]
        assert result.response_date in responding
        assert any((d - result.response_date).days >= ITP["confirm_response_days"] for d in responding)
        assert result.time_to_response_days == (result.response_date - F).days


# --------------------------------------------------------------------------- AIHA


@pytest.mark.parametrize("value, markers, category", AIHA_INTL_CATEGORIES)
def test_aiha_response_international_categories(value, markers, category):
    result = aiha_response([hb(-2, 70), hb(14, value, **markers)], first_infusion=F, thresholds=AIHA_INTL,
                           criteria_set="AIHA-INTL")

    assert result.assessments[0].category == category


def test_aiha_response_pr_by_rise_is_explained_and_confirmed():
    result = aiha_response(
        [hb(-2, 70), hb(14, 90), hb(21, 92)], first_infusion=F, thresholds=AIHA_INTL, criteria_set="AIHA-INTL"
    )

    assert "rise 20 from baseline 70 >= 20" in result.assessments[0].reason
    assert result.best_confirmed_response == PR
    assert result.response_date == day(14)


def test_aiha_response_missing_baseline_below_pr_level_not_evaluable():
    result = aiha_response([hb(14, 95), hb(21, 105)], first_infusion=F, thresholds=AIHA_INTL, criteria_set="AIHA-INTL")

    assert [a.category for a in result.assessments] == [NE, PR]


@pytest.mark.parametrize("days_after, evaluable", [(7, False), (8, True)])
def test_aiha_response_red_cell_transfusion_within_7_days(days_after, evaluable):
    result = aiha_response(
        [hb(-2, 70), hb(10 + days_after, 110)],
        first_infusion=F, transfusions=[Transfusion("rbc", day(10))], thresholds=AIHA_INTL, criteria_set="AIHA-INTL",
    )

    assert result.assessments[0].evaluable is evaluable


@pytest.mark.parametrize("value, retic_pct, tbil, category", AIHA_CN_CATEGORIES)
def test_aiha_response_chinese_2017_partial(value, retic_pct, tbil, category):
    a = hb(14, value, hb_lln=115, retic_pct=retic_pct, tbil=Lab(tbil, uln=21))

    result = aiha_response([hb(-2, 70), a], first_infusion=F, thresholds=AIHA_CN, criteria_set="AIHA-CN2017")

    assert result.assessments[0].category == category


def test_aiha_response_chinese_2017_complete():
    a = hb(14, 125, hb_lln=115, retic_pct=1.2, retic=Lab(60, lln=24, uln=84), tbil=Lab(15, uln=21),
           antiglobulin_negative=True)

    result = aiha_response([hb(-2, 70), a], first_infusion=F, thresholds=AIHA_CN, criteria_set="AIHA-CN2017")

    assert result.assessments[0].category == CR


# --------------------------------------------------------------------------- PRCA

@pytest.mark.parametrize("free_days, value, category", PRCA_CASES)
def test_prca_response_transfusion_independence(free_days, value, category):
    result = prca_response(
        [hb(-1, 72), hb(5 + free_days, value, retic=Lab(40, lln=24))],
        first_infusion=F, transfusions=[Transfusion("rbc", day(-10)), Transfusion("rbc", day(5))],
        sex="male", thresholds=PRCA,
    )

    assert result.assessments[0].category == category


def test_prca_response_independence_counted_from_first_infusion():
    result = prca_response(
        [hb(-1, 72), hb(55, 100, retic=Lab(40, lln=24)), hb(56, 100, retic=Lab(40, lln=24))],
        first_infusion=F, transfusions=[Transfusion("rbc", day(-30))], sex="female", thresholds=PRCA,
    )

    assert [a.category for a in result.assessments] == [NR, PR]
    assert "56 days transfusion-free since first infusion 2026-03-01" in result.assessments[1].reason


def test_prca_response_female_lln():
    result = prca_response(
        [hb(-1, 72), hb(60, 110, retic=Lab(40, lln=24))], first_infusion=F, sex="female", thresholds=PRCA
    )

    assert result.assessments[0].category == CR


# --------------------------------------------------------------------------- neutropenia

@pytest.mark.parametrize("baseline, value, category", NEUTRO_CASES)
def test_neutropenia_response_categories(baseline, value, category):
    counts = ([Count(day(-1), baseline)] if baseline is not None else []) + [Count(day(14), value)]

    result = neutropenia_response(counts, first_infusion=F, thresholds=NEUTRO)

    assert result.assessments[0].category == category


@pytest.mark.parametrize("last_dose_day, evaluable", [(7, False), (6, True)])
def test_neutropenia_response_gcsf_within_7_days(last_dose_day, evaluable):
    result = neutropenia_response(
        [Count(day(-1), 0.3), Count(day(14), 2.0)],
        first_infusion=F, gcsf=[Therapy("gcsf", day(1), day(last_dose_day))], thresholds=NEUTRO,
    )

    assert result.assessments[0].evaluable is evaluable


# --------------------------------------------------------------------------- Evans / several lineages


def _evans(plt_values, hb_values):
    platelets = itp([plt(-1, 15)] + [plt(d, v) for d, v in plt_values])
    anaemia = aiha_response(
        [hb(-1, 70)] + [hb(d, v, **NORMAL_MARKERS) for d, v in hb_values],
        first_infusion=F, thresholds=AIHA_INTL, criteria_set="AIHA-INTL",
    )
    return multilineage_response({"HGB": anaemia, "PLT": platelets}, first_infusion=F, thresholds=MULTI)


def test_multilineage_response_one_lineage_not_responding_is_nr():
    result = _evans([(14, 20), (21, 22)], [(14, 125), (21, 130)])

    assert result.best_by_lineage == {"HGB": CR, "PLT": NR}
    assert result.overall.best_confirmed_response == NR
    assert result.overall.assessments[0].reason == "HGB CR, PLT NR"


def test_multilineage_response_every_lineage_at_least_partial():
    result = _evans([(14, 50), (21, 120)], [(14, 125), (21, 130)])

    assert result.overall.best_confirmed_response == PR
    assert result.overall.response_date == day(14)


def test_multilineage_response_cr_in_every_lineage():
    result = _evans([(14, 120), (21, 120)], [(14, 125), (21, 130)])

    assert result.overall.best_confirmed_response == CR


def test_multilineage_response_date_missing_a_lineage_not_evaluable():
    # Hb on day 25 is 4 days after the platelets of day 21: outside the 3-day pairing window.
    result = _evans([(14, 120), (21, 120)], [(14, 125), (25, 130)])

    assert [a.category for a in result.overall.assessments] == [CR, NE, NE]
    assert result.overall.best_confirmed_response == NR  # one overall CR: no response confirmed
    assert result.overall.assessments[1].reason == "PLT CR; not assessed within 3 days: HGB"
