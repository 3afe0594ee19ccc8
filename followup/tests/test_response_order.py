"""No response depends on the order of its input (CLINICAL_RULES.md section 1, "One value per day").

Every table case of test_response.py and test_response_rules.py is computed again with each of its
input lists (counts, assessments, therapies, transfusions) shuffled; the result must be equal.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.response import (
    Count,
    Lab,
    Therapy,
    Transfusion,
    aiha_response,
    itp_response,
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
    DAILY_LOWEST,
    EVANS_PAIRING,
    ITP,
    ITP_CATEGORIES,
    LOOKBACK,
    MULTI,
    NEUTRO,
    NEUTRO_CASES,
    NORMAL_MARKERS,
    PRCA,
    PRCA_CASES,
    RESCUE_WINDOW,
    RETIC_CASES,
    STEROID_DEPENDENCE,
    STEROID_STABLE,
    TIME_IN_RESPONSE,
    UNCONFIRMED_NR,
    F,
    day,
    hb,
    plt,
)


def _itp(counts, rescue=(), transfusions=(), thresholds=ITP):
    return itp_response(counts, first_infusion=F, rescue=rescue, transfusions=transfusions, thresholds=thresholds)


def _aiha(rows, transfusions=(), thresholds=AIHA_INTL):
    return aiha_response(rows, first_infusion=F, transfusions=transfusions, thresholds=thresholds,
                         criteria_set="AIHA")


def _prca(rows, transfusions=(), sex="male", thresholds=PRCA):
    return prca_response(rows, first_infusion=F, transfusions=transfusions, sex=sex, thresholds=thresholds)


def _neutro(counts, gcsf=(), thresholds=NEUTRO):
    return neutropenia_response(counts, first_infusion=F, gcsf=gcsf, thresholds=thresholds)


def _evans(hb_rows, plt_counts):
    return multilineage_response({"HGB": _aiha(hb_rows), "PLT": _itp(plt_counts)}, first_infusion=F, thresholds=MULTI)


def _cases():
    """(id, function, input lists) for every table case."""
    c = []
    for i, (b, v, g, _) in enumerate(ITP_CATEGORIES):
        c.append((f"itp-category-{i}", _itp, [[plt(-1, b), plt(14, v, g)]]))
    for gap, _ in [(7, None), (6, None), (8, None)]:
        c.append((f"itp-confirmation-{gap}", _itp, [[BASELINE_15, plt(14, 50), plt(14 + gap, 55)]]))
    for after, _ in RESCUE_WINDOW:
        c.append((f"itp-rescue-{after}", _itp, [[BASELINE_15, plt(12 + after, 80)],
                                                [Therapy("ivig", day(10), day(12)),
                                                 Therapy("tpo_agent", day(-40), day(-30))]]))
    for baseline_day in (-14, -15, 0, 1):
        counts = [plt(baseline_day, 15), plt(14, 50), plt(21, 50)] if baseline_day <= 0 else [plt(14, 50), plt(21, 50)]
        c.append((f"itp-lookback-{baseline_day}", _itp, [counts]))
    for i, (v, dose, _) in enumerate(STEROID_DEPENDENCE):
        c.append((f"itp-steroid-{i}", _itp, [[BASELINE_15, Count(day(14), v, 0, dose)]]))
    for i, (counts, _) in enumerate(TIME_IN_RESPONSE):
        c.append((f"itp-share-{i}", _itp, [[BASELINE_15] + [plt(d, v) for d, v in counts]]))
    c.append(("itp-loss", _itp, [[BASELINE_15, plt(14, 50), plt(21, 50), plt(40, 20), plt(41, 18), plt(60, 10)]]))
    for i, (v, markers, _) in enumerate(AIHA_INTL_CATEGORIES):
        c.append((f"aiha-intl-{i}", _aiha, [[hb(-2, 70), hb(14, v, **markers)]]))
    for i, (v, pct, tbil, _) in enumerate(AIHA_CN_CATEGORIES):
        row = hb(14, v, hb_lln=115, retic_pct=pct, tbil=Lab(tbil, uln=21))
        c.append((f"aiha-cn-{i}", lambda rows: _aiha(rows, thresholds=AIHA_CN), [[hb(-2, 70), row]]))
    for days_after in (7, 8):
        c.append((f"aiha-transfusion-{days_after}", _aiha, [[hb(-2, 70), hb(10 + days_after, 110)],
                                                            [Transfusion("rbc", day(10)),
                                                             Transfusion("rbc", day(-20))]]))
    for i, (free, v, _) in enumerate(PRCA_CASES):
        c.append((f"prca-{i}", _prca, [[hb(-1, 72), hb(5 + free, v, retic=Lab(40, lln=24))],
                                      [Transfusion("rbc", day(-10)), Transfusion("rbc", day(5))]]))
    for i, (b, v, _) in enumerate(NEUTRO_CASES):
        c.append((f"neutro-{i}", _neutro, [([Count(day(-1), b)] if b is not None else []) + [Count(day(14), v)]]))
    for i, (rows, _, _, _) in enumerate(DAILY_LOWEST):
        c.append((f"daily-lowest-{i}", _itp, [[plt(*row) for row in rows]]))
    c.append(("daily-lowest-hb", _aiha, [[hb(-1, 80), hb(-1, 70), hb(14, 125, **NORMAL_MARKERS),
                                          hb(14, 118, ldh=Lab(300, uln=250)), hb(21, 125, **NORMAL_MARKERS)]]))
    # Same day, same value, different grade, dose or markers: the combination must not pick by position.
    c.append(("same-day-grades", _itp, [[plt(-1, 15), Count(day(14), 120, None, 10), Count(day(14), 120, 0, None),
                                         Count(day(14), 120, 1, 5), plt(21, 120)]]))
    c.append(("same-day-markers", _aiha, [[hb(-1, 70), hb(14, 125, ldh=Lab(200, 100, 250), hb_lln=110),
                                           hb(14, 125, ldh=Lab(200, 120, 240), antiglobulin_negative=True, hb_lln=115),
                                           hb(14, 125, retic=Lab(1, 0.5, 2.5, "RETIC_PCT"),
                                              antiglobulin_negative=False)]]))
    for i, (rows, _) in enumerate(UNCONFIRMED_NR):
        c.append((f"unconfirmed-nr-{i}", _itp, [[plt(-1, 15)] + [plt(d, v) for d, v in rows]]))
    for i, (bd, dose, v, _) in enumerate(STEROID_STABLE):
        c.append((f"steroid-stable-{i}", _itp, [[Count(day(-1), 15, 0, bd), Count(day(14), v, 0, dose),
                                                 Count(day(-1), 20, 0, None)]]))
    for i, (retic, _, _) in enumerate(RETIC_CASES):
        row = hb(14, 125, ldh=Lab(200, uln=250), tbil=Lab(15, uln=21), retic=retic)
        c.append((f"retic-{i}", _aiha, [[hb(-1, 70), row]]))
    for baseline_day, _ in LOOKBACK:
        c.append((f"lookback-aiha-{baseline_day}", _aiha, [[hb(baseline_day, 70), hb(14, 90)]]))
        c.append((f"lookback-prca-{baseline_day}", _prca, [[hb(baseline_day, 72), hb(60, 92, retic=Lab(10, lln=24))]]))
        c.append((f"lookback-neutro-{baseline_day}", _neutro, [[Count(day(baseline_day), 0.3), Count(day(14), 0.8)]]))
    for i, (hb_days, plt_days, _, _) in enumerate(EVANS_PAIRING):
        c.append((f"evans-{i}", _evans, [[hb(-1, 70)] + [hb(d, 125, **NORMAL_MARKERS) for d in hb_days],
                                         [plt(-1, 15)] + [plt(d, 120) for d in plt_days]]))
    # Two rescue therapies started the same day: the reason must not name the first one entered.
    c.append(("rescue-same-start", _itp, [[BASELINE_15, plt(14, 80)],
                                          [Therapy("ivig", day(10), day(12)), Therapy("tpo_agent", day(10), day(12)),
                                           Therapy("glucocorticoid", day(10), None)]]))
    c.append(("evans-same-day", _evans, [[hb(-1, 70), hb(20, 125, **NORMAL_MARKERS), hb(20, 95)],
                                         [plt(-1, 15), plt(21, 120), plt(21, 20), plt(28, 120)]]))
    return c


CASES = _cases()


@pytest.mark.parametrize("name, compute, inputs", CASES, ids=[case[0] for case in CASES])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_response_does_not_depend_on_input_order(name, compute, inputs, data):
    shuffled = [data.draw(st.permutations(values), label=f"input {i}") for i, values in enumerate(inputs)]

    assert compute(*shuffled) == compute(*inputs)


def test_every_table_is_shuffled():
    tables = [ITP_CATEGORIES, RESCUE_WINDOW, STEROID_DEPENDENCE, TIME_IN_RESPONSE,
              AIHA_INTL_CATEGORIES, AIHA_CN_CATEGORIES, PRCA_CASES, NEUTRO_CASES,
              DAILY_LOWEST, UNCONFIRMED_NR, STEROID_STABLE, RETIC_CASES, EVANS_PAIRING]

    assert len(CASES) == sum(len(t) for t in tables) + 3 + 4 + 1 + 2 + 1 + 2 + 3 * len(LOOKBACK) + 1 + 1
