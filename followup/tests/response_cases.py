"""The response tables of test_response.py and test_response_rules.py (CLINICAL_RULES.md sections 1
and 2), with their builders: one place for the cases that test_response_order.py computes again
in every order. Fixed dates (day 0 is 2026-03-01); thresholds from the shipped criteria sets."""
from datetime import date, timedelta
from pathlib import Path

import yaml

from followup.response import CR, NE, NR, PR, Count, HbAssessment, Lab, R, itp_response

CRITERIA = {
    s["code"]: s
    for s in yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "trials" / "studies" / "response_criteria.yaml").read_text()
    )
}


ITP = CRITERIA["IWG2009-ITP"]["thresholds"]


AIHA_INTL = CRITERIA["AIHA-INTL"]["thresholds"]


AIHA_CN = CRITERIA["AIHA-CN2017"]["thresholds"]


PRCA = CRITERIA["PRCA-STD"]["thresholds"]


NEUTRO = CRITERIA["NEUTROPENIA-STD"]["thresholds"]


MULTI = CRITERIA["MULTILINEAGE"]["thresholds"]


F = date(2026, 3, 1)  # first infusion


def day(n: int) -> date:
    return F + timedelta(days=n)


def plt(n: int, value: float, bleeding: int | None = 0) -> Count:
    return Count(day(n), value, bleeding)


def itp(counts, **kwargs):
    return itp_response(counts, first_infusion=F, thresholds=ITP, **kwargs)


BASELINE_15 = plt(-3, 15)


ITP_CATEGORIES = [
    # (baseline, value, bleeding grade, category)
    (15, 100, 0, CR),
    (15, 99, 0, R),
    (15, 150, 2, NR),  # bleeding grade 2 cancels CR
    (15, 150, 1, CR),  # grade 1 (petechiae) is not bleeding
    (15, 50, 3, NR),
    (20, 40, 0, R),  # exactly 2 x baseline counts as R
    (20, 39.9, 0, NR),
    (10, 29, 0, NR),  # doubled but below 30
    (15, 30, 0, R),
    (60, 90, 0, NR),  # >= 30 but < 2 x baseline
    (60, 100, 0, CR),  # CR needs no doubling
    # Bleeding grade missing (section 1): CR and R need a recorded grade; an NR stays NR.
    (15, 100, None, NE),
    (15, 50, None, NE),
    (15, 20, None, NR),
    (60, 90, None, NR),
]


RESCUE_WINDOW = [
    # (days from the end of IVIG to the count, evaluable)
    (0, False),
    (8, False),
    (14, False),
    (15, True),
]


STEROID_DEPENDENCE = [
    # (platelets, prednisone-equivalent mg/day, category): Chinese 2020, > 5 mg/day is no response
    (120, 5, CR),
    (120, 5.01, NR),
    (60, 10, NR),
    (60, None, R),  # dose not recorded: no dependence assumed
    (20, 20, NR),
]


TIME_IN_RESPONSE = [
    # (counts after baseline 15, expected share)
    ([(14, 50), (28, 10)], 1.0),  # R held from day 14 to day 28
    ([(14, 10), (28, 50), (42, 50)], 0.5),
    ([(14, 50), (21, 10), (28, 60), (42, 10)], round((7 + 14) / 28, 4)),
    ([(14, 50)], None),  # one day observed: no share
]


def hb(n: int, value: float, **markers) -> HbAssessment:
    return HbAssessment(day(n), value, **markers)


NORMAL_MARKERS = {"ldh": Lab(200, uln=250), "tbil": Lab(15, uln=21), "retic": Lab(80, uln=100)}


AIHA_INTL_CATEGORIES = [
    # (Hb, markers, category)
    (90, {}, PR),  # rise of exactly 20 g/L from baseline 70
    (89, {}, NR),
    (100, {}, PR),  # Hb >= 100
    (125, NORMAL_MARKERS, CR),
    (125, {}, PR),  # markers missing: not CR
    (125, {**NORMAL_MARKERS, "ldh": Lab(400, uln=250)}, PR),
]


AIHA_CN_CATEGORIES = [
    # (Hb, retic %, bilirubin, category)
    (81, 3.9, 33.9, PR),
    (80, 3.9, 33.9, NR),  # Hb must be > 80
    (81, 4, 20, NR),
    (81, 3, 34, NR),
    (81, None, 20, NE),
]


PRCA_CASES = [
    # (days from the last transfusion (day 5) to the assessment, Hb, category)
    (56, 92, PR),  # 8 weeks free, rise 20 from 72
    (55, 92, NR),  # 1 day short of 8 weeks
    (56, 91, NR),  # rise 19
    (56, 120, CR),  # male LLN 120, reticulocytes >= LLN
]


NEUTRO_CASES = [
    # (baseline, ANC, category)
    (0.3, 1.5, CR),
    (0.3, 0.6, PR),
    (0.3, 0.59, NR),
    (0.2, 0.49, NR),
    (None, 0.8, NE),
    (None, 1.6, CR),
]


DAILY_LOWEST = [
    # (counts as (day, platelets, grade), baseline value, categories by day, best)
    # two baseline counts on day 0: the lowest (10) is the baseline, so 35 is R (>= 30 and >= 2 x 10)
    ([(0, 40), (0, 10), (14, 35), (21, 36)], 10, {14: R, 21: R}, R),
    # two counts on day 14: the lowest (90) decides (R, not CR)
    ([(-1, 15), (14, 120), (14, 90), (21, 130)], 15, {14: R, 21: CR}, R),
    # the lowest of day 14 is below 30: NR that day, so the response is not confirmed
    ([(-1, 15), (14, 60), (14, 20), (21, 60)], 15, {14: NR, 21: R}, NR),
    # one of the day's counts with bleeding grade 2: that day is bleeding
    ([(-1, 15), (14, 120, 0), (14, 120, 2), (21, 120), (22, 120)], 15, {14: NR, 21: CR, 22: CR}, NR),
]


UNCONFIRMED_NR = [
    # (counts after baseline 15 as (day, platelets), best)
    ([(14, 20)], NE),  # a single NR count
    ([(14, 20), (14, 25)], NE),  # NR counts on one day (less than 1 day apart)
    ([(14, 20), (15, 25)], NR),  # two NR counts 1 day apart: confirmed
    ([(14, 20), (30, 25)], NR),
    ([(14, 50), (15, 20)], NR),  # an unconfirmed R and an NR: no response confirmed
    ([], NE),
]


STEROID_STABLE = [
    # (baseline dose, dose at the count, platelets, category): NR for dependence only above both
    # 5 mg/day and the stable pre-treatment dose
    (10, 10, 120, CR),  # stable maintenance dose above 5: shown, not NR
    (10, 7.5, 120, CR),  # tapered below the baseline dose
    (10, 10.01, 120, NR),  # raised after the first infusion
    (10, 15, 120, NR),
    (None, 10, 120, NR),  # no dose recorded at baseline: 10 > 5 is dependence
    (0, 5, 120, CR),  # 5 mg/day is not > 5
    (3, 6, 120, NR),
    (10, 10, 20, NR),  # stable dose, platelets < 30: NR by count
    (10, None, 60, R),  # dose not recorded at the count: no dependence assumed
]


RETIC_CASES = [
    # (reticulocytes given to the AIHA-INTL rule, category, which was used)
    (Lab(80, 24, 84, "RETIC_ABS"), CR, "absolute count"),
    (Lab(1.5, 0.5, 2.5, "RETIC_PCT"), CR, "percentage, no absolute count"),
    (Lab(3.0, 0.5, 2.5, "RETIC_PCT"), PR, "percentage, no absolute count"),  # above ULN: not CR
    (None, PR, None),  # missing: not CR, PR by Hb
]


def without_lookback(thresholds):
    return {k: v for k, v in thresholds.items() if k != "baseline_lookback_days"}


LOOKBACK = [
    # (days before the first infusion of the only baseline value, found)
    (-14, True),
    (-15, False),
]


EVANS_PAIRING = [
    # (Hb days, platelet days, overall categories by date, best): every value at CR level; a date
    # pairs each lineage's latest value in the 3 days up to it
    ([20, 27], [21, 28], {20: NE, 21: CR, 27: NE, 28: CR}, CR),  # paired 1 day apart, confirmed 7 days apart
    ([20, 27], [23, 30], {20: NE, 23: CR, 27: NE, 30: CR}, CR),  # 3 days: still paired
    ([20, 30], [24, 34], {20: NE, 24: NE, 30: NE, 34: NE}, NE),  # 4 days: never paired
    ([20, 27], [20, 27], {20: CR, 27: CR}, CR),
]
