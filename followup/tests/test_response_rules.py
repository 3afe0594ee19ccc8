"""Table tests for the response rules of CLINICAL_RULES.md sections 1 and 2 that need more than one
value per case: one value per day, bleeding grade missing, unconfirmed NR, stable corticosteroid
dose, reticulocytes, Evans pairing and the 14-day baseline look-back of every set. No database.

Expected values come from the rules' definitions (CLINICAL_RULES.md), not from the code.
"""

import pytest

from followup.response import (
    CR,
    NE,
    NR,
    PR,
    Count,
    Lab,
    Therapy,
    aiha_response,
    multilineage_response,
    neutropenia_response,
    prca_response,
)
from followup.tests.response_cases import (
    AIHA_CN,
    AIHA_INTL,
    DAILY_LOWEST,
    EVANS_PAIRING,
    ITP,
    LOOKBACK,
    MULTI,
    NEUTRO,
    NORMAL_MARKERS,
    PRCA,
    RETIC_CASES,
    STEROID_STABLE,
    UNCONFIRMED_NR,
    F,
    day,
    hb,
    itp,
    plt,
    without_lookback,
)

# --------------------------------------------------------------------------- one value per day (section 1)

def _counts(rows):
    return [plt(*row) for row in rows]


@pytest.mark.parametrize("rows, baseline, categories, best", DAILY_LOWEST)
def test_itp_response_several_counts_a_day_use_the_lowest(rows, baseline, categories, best):
    result = itp(_counts(rows))

    assert result.baseline.value == baseline
    assert {(a.date - F).days: a.category for a in result.assessments} == categories
    assert result.best_confirmed_response == best


def test_itp_response_several_counts_a_day_are_explained():
    result = itp([plt(0, 40), plt(0, 10), plt(14, 120), plt(14, 90)])

    assert result.baseline.date == F
    assert "baseline PLT 10 on 2026-03-01 (2 counts on 2026-03-01, lowest used)" in result.explanation
    assert "2 counts on 2026-03-15, lowest used" in result.explanation
    assert result.assessments[0].reason.endswith("; 2 counts on 2026-03-15, lowest used")
    assert result.assessments[0].value == 90


def test_aiha_response_several_values_a_day_use_the_lowest_of_each_analyte():
    rows = [hb(-1, 80), hb(-1, 70), hb(14, 125, **NORMAL_MARKERS), hb(14, 118, ldh=Lab(300, uln=250)),
            hb(21, 125, **NORMAL_MARKERS)]

    result = aiha_response(rows, first_infusion=F, thresholds=AIHA_INTL, criteria_set="AIHA-INTL")

    assert result.baseline.value == 70
    # day 14: Hb 118 (< 120: not CR), LDH the lower 200 <= ULN; PR by Hb >= 100
    assert [a.category for a in result.assessments] == [PR, CR]
    assert "2 values on 2026-03-15, lowest used" in result.assessments[0].reason


# --------------------------------------------------------------------------- best response with one NR (section 1)

@pytest.mark.parametrize("rows, best", UNCONFIRMED_NR)
def test_itp_response_single_nr_is_not_a_confirmed_nr(rows, best):
    result = itp([plt(-1, 15)] + [plt(d, v) for d, v in rows])

    assert result.best_confirmed_response == best
    if rows and best == NE:
        assert "NR not confirmed" in result.explanation


def test_aiha_response_single_nr_is_not_a_confirmed_nr():
    result = aiha_response([hb(-1, 70), hb(14, 75)], first_infusion=F, thresholds=AIHA_INTL, criteria_set="AIHA-INTL")

    assert [a.category for a in result.assessments] == [NR]
    assert result.best_confirmed_response == NE
    assert "NR not confirmed" in result.explanation


# --------------------------------------------------------------------------- corticosteroid dependence (section 1)

@pytest.mark.parametrize("baseline_dose, dose, value, category", STEROID_STABLE)
def test_itp_corticosteroid_dependence_against_the_stable_baseline_dose(baseline_dose, dose, value, category):
    result = itp([Count(day(-1), 15, 0, baseline_dose), Count(day(14), value, 0, dose)])

    assert [a.category for a in result.assessments] == [category]
    reason = result.assessments[0].reason
    if category == NR and value >= 30:
        assert "corticosteroid dependence" in reason
    if baseline_dose is not None and dose is not None and 5 < dose <= baseline_dose:
        assert "stable maintenance corticosteroid dose" in reason
        assert f"baseline dose {baseline_dose:g} mg/day" in reason


BASELINE_DOSE_DAYS = [
    # (day of the pre-treatment count that carries the 10 mg/day dose, category of a count on 10 mg/day):
    # the latest dose recorded on or before the first infusion within the 14-day look-back is the
    # stable one, even when the baseline count itself (day -1) has none
    (-10, CR),
    (-14, CR),
    (-15, NR),  # outside the look-back: no stable dose known, 10 > 5 is dependence
    (0, CR),  # the infusion day counts as before it
]


@pytest.mark.parametrize("dose_day, category", BASELINE_DOSE_DAYS)
def test_itp_stable_dose_recorded_on_an_earlier_pre_treatment_count(dose_day, category):
    result = itp([Count(day(dose_day), 14, 0, 10), Count(day(-1), 15, 0, None), Count(day(14), 120, 0, 10)])

    assert [a.category for a in result.assessments] == [category]


def test_itp_stable_baseline_dose_is_in_the_explanation():
    result = itp([Count(day(-1), 15, 0, 10), Count(day(14), 120, 0, 10), Count(day(21), 130, 0, 10)])

    assert result.best_confirmed_response == CR
    assert "stable corticosteroid dose at baseline 10 mg/day prednisone equivalent" in result.explanation


# --------------------------------------------------------------------------- reticulocytes (section 2)

@pytest.mark.parametrize("retic, category, used", RETIC_CASES)
def test_aiha_reticulocytes_absolute_else_percentage(retic, category, used):
    a = hb(14, 125, ldh=Lab(200, uln=250), tbil=Lab(15, uln=21), retic=retic)

    result = aiha_response([hb(-1, 70), a], first_infusion=F, thresholds=AIHA_INTL, criteria_set="AIHA-INTL")

    assert result.assessments[0].category == category
    if used:
        assert f"({used})" in result.assessments[0].reason
    else:
        assert "missing for CR: reticulocytes" in result.assessments[0].reason


def test_prca_reticulocyte_percentage_with_its_range():
    a = hb(60, 121, retic=Lab(1.0, 0.5, 2.5, "RETIC_PCT"))

    result = prca_response([hb(-1, 72), a], first_infusion=F, sex="male", thresholds=PRCA)

    assert result.assessments[0].category == CR
    assert "reticulocytes 1 (percentage, no absolute count) >= LLN 0.5" in result.assessments[0].reason


def test_aiha_cn2017_reticulocyte_percentage_for_cr():
    a = hb(14, 125, hb_lln=115, retic_pct=1.2, retic=Lab(1.2, 0.5, 2.5, "RETIC_PCT"), tbil=Lab(15, uln=21),
           antiglobulin_negative=True)

    result = aiha_response([hb(-1, 70), a], first_infusion=F, thresholds=AIHA_CN, criteria_set="AIHA-CN2017")

    assert result.assessments[0].category == CR


# --------------------------------------------------------------------------- baseline look-back (section 1, every set)

@pytest.mark.parametrize("thresholds", [AIHA_INTL, without_lookback(AIHA_INTL)], ids=["shipped", "default"])
@pytest.mark.parametrize("baseline_day, found", LOOKBACK)
def test_aiha_baseline_lookback_14_days(thresholds, baseline_day, found):
    result = aiha_response([hb(baseline_day, 70), hb(14, 90)], first_infusion=F, thresholds=thresholds,
                           criteria_set="AIHA-INTL")

    assert (result.baseline is not None) is found
    # Hb 90 < 100: PR only by a rise of 20 from a baseline; without one it is not evaluable
    assert result.assessments[0].category == (PR if found else NE)


@pytest.mark.parametrize("thresholds", [PRCA, without_lookback(PRCA)], ids=["shipped", "default"])
@pytest.mark.parametrize("baseline_day, found", LOOKBACK)
def test_prca_baseline_lookback_14_days(thresholds, baseline_day, found):
    result = prca_response([hb(baseline_day, 72), hb(60, 92, retic=Lab(10, lln=24))], first_infusion=F, sex="male",
                           thresholds=thresholds)

    assert (result.baseline is not None) is found
    assert result.assessments[0].category == (PR if found else NE)


@pytest.mark.parametrize("thresholds", [NEUTRO, without_lookback(NEUTRO)], ids=["shipped", "default"])
@pytest.mark.parametrize("baseline_day, found", LOOKBACK)
def test_neutropenia_baseline_lookback_14_days(thresholds, baseline_day, found):
    result = neutropenia_response([Count(day(baseline_day), 0.3), Count(day(14), 0.8)], first_infusion=F,
                                  thresholds=thresholds)

    assert (result.baseline is not None) is found
    assert result.assessments[0].category == (PR if found else NE)


def test_shipped_sets_all_have_a_14_day_lookback():
    assert [t["baseline_lookback_days"] for t in (ITP, AIHA_INTL, AIHA_CN, PRCA, NEUTRO)] == [14] * 5


# --------------------------------------------------------------------------- Evans pairing (section 2)

@pytest.mark.parametrize("hb_days, plt_days, categories, best", EVANS_PAIRING)
def test_multilineage_lineages_paired_within_3_days(hb_days, plt_days, categories, best):
    platelets = itp([plt(-1, 15)] + [plt(d, 120) for d in plt_days])
    anaemia = aiha_response([hb(-1, 70)] + [hb(d, 125, **NORMAL_MARKERS) for d in hb_days], first_infusion=F,
                            thresholds=AIHA_INTL, criteria_set="AIHA-INTL")

    result = multilineage_response({"HGB": anaemia, "PLT": platelets}, first_infusion=F, thresholds=MULTI)

    assert {(a.date - F).days: a.category for a in result.overall.assessments} == categories
    assert result.overall.best_confirmed_response == best


def test_multilineage_pairing_names_the_dates():
    platelets = itp([plt(-1, 15), plt(21, 120)])
    anaemia = aiha_response([hb(-1, 70), hb(20, 125, **NORMAL_MARKERS)], first_infusion=F, thresholds=AIHA_INTL,
                            criteria_set="AIHA-INTL")

    result = multilineage_response({"HGB": anaemia, "PLT": platelets}, first_infusion=F, thresholds=MULTI)

    assert result.overall.assessments[1].reason == (
        "HGB CR, PLT CR (paired within 3 days: HGB on 2026-03-21, PLT on 2026-03-22)")


def test_multilineage_pairing_window_is_a_threshold_of_the_set():
    platelets = itp([plt(-1, 15), plt(24, 120)])
    anaemia = aiha_response([hb(-1, 70), hb(20, 125, **NORMAL_MARKERS)], first_infusion=F, thresholds=AIHA_INTL,
                            criteria_set="AIHA-INTL")

    result = multilineage_response({"HGB": anaemia, "PLT": platelets}, first_infusion=F,
                                   thresholds={**MULTI, "lineage_pairing_days": 4})

    assert MULTI["lineage_pairing_days"] == 3
    assert [a.category for a in result.overall.assessments] == [NE, CR]


def test_multilineage_latest_evaluable_value_is_paired():
    # Platelets on day 21 are evaluable (R); on day 22 within 14 days of IVIG (NE): day 22 pairs day 21's.

    platelets = itp([plt(-1, 15), plt(21, 50), plt(22, 120)], rescue=[Therapy("ivig", day(22), day(22))])
    anaemia = aiha_response([hb(-1, 70), hb(22, 125, **NORMAL_MARKERS)], first_infusion=F, thresholds=AIHA_INTL,
                            criteria_set="AIHA-INTL")

    result = multilineage_response({"HGB": anaemia, "PLT": platelets}, first_infusion=F, thresholds=MULTI)

    assert [(a.date, a.category) for a in result.overall.assessments] == [(day(21), NE), (day(22), PR)]
    assert "PLT on 2026-03-22" in result.overall.assessments[1].reason

