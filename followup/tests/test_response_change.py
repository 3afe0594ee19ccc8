"""The edit check of a count that changes the confirmed response, as pure rules
(`followup.response_facts`): the best confirmed response before and after a count is entered or
corrected, and what the check does about its query. No database.

Expected values come from CLINICAL_RULES.md (section 1: ITP by IWG 2009, CR >= 100, R >= 30 and
>= 2 x baseline, CR/R confirmed by two counts >= 7 days apart, a single unconfirmed count gives no
confirmed response; section 2: AIHA international style, CR Hb >= 120 g/L with LDH, bilirubin and
reticulocytes <= ULN, PR Hb >= 100 g/L or a rise >= 20 g/L), not from the code.
"""
import pytest

from followup.response_facts import (
    CLOSE,
    KEEP,
    OPEN,
    CriteriaSet,
    LabFact,
    ResponseChange,
    ResponseFacts,
    ResponseRules,
    confirmed_response_change,
    count_query_action,
)
from followup.tests.response_cases import AIHA_INTL, ITP, F, day

ITP_RULES = ResponseRules(CriteriaSet("IWG2009-ITP", "itp", ITP))
AIHA_RULES = ResponseRules(CriteriaSet("AIHA-INTL", "aiha", AIHA_INTL))
CHANGED = 99  # the assessment whose count is entered or corrected


def plt_facts(counts, baseline=20):
    """ITP facts: a baseline on the infusion day, then (day, platelets) counts, no bleeding."""
    labs = [LabFact(0, F, "PLT", baseline, bleeding_grade=0)]
    labs += [LabFact(n, day(d), "PLT", value, bleeding_grade=0) for n, (d, value) in enumerate(counts, start=1)]
    return ResponseFacts(first=F, last=F, labs=tuple(labs))


def itp_count(d, value, grade=0):
    return [LabFact(CHANGED, day(d), "PLT", value, bleeding_grade=grade)]


@pytest.mark.parametrize(("others", "before", "after", "expected"), [
    # corrected: CR confirmed by 120 and 110, the second corrected to 80 (>= 30, >= 2 x 20): R
    ([(14, 120)], itp_count(21, 110), itp_count(21, 80), ("CR", "R")),
    ([(14, 120)], itp_count(21, 100), itp_count(21, 99.9), ("CR", "R")),  # CR's threshold is 100
    ([(14, 120)], itp_count(21, 110), itp_count(21, 105), None),  # still CR
    ([(14, 50)], itp_count(21, 50), itp_count(21, 39), ("R", "NR")),  # below 2 x baseline
    ([(14, 50)], itp_count(21, 50), itp_count(21, 40), None),  # exactly 2 x baseline is R
    ([(14, 120)], itp_count(21, 110), itp_count(21, 110, grade=2), ("CR", "NR")),  # bleeding (grade >= 2)
    # entered: a second responding count 7 days after the first confirms R; 6 days after does not
    ([(14, 50)], [], itp_count(21, 50), ("NR", "R")),
    ([(14, 50)], [], itp_count(20, 50), None),
    ([(14, 120)], [], itp_count(21, 120), ("NR", "CR")),
    # NE before is no confirmed category: the first evaluable count gives a response, it changes none
    ([], [], itp_count(14, 50), None),
    ([], [], itp_count(14, 10), None),
])
def test_itp_count_changes_the_confirmed_response(others, before, after, expected):
    facts = plt_facts(others)
    change = confirmed_response_change(facts.with_assessment(CHANGED, labs=before),
                                       facts.with_assessment(CHANGED, labs=after), ITP_RULES)
    assert change == (ResponseChange(*expected) if expected else None)


def test_itp_without_a_baseline_nothing_is_confirmed_either_side():
    facts = ResponseFacts(first=F, last=F, labs=(LabFact(1, day(14), "PLT", 120, bleeding_grade=0),))
    assert confirmed_response_change(facts.with_assessment(CHANGED, labs=itp_count(21, 120)),
                                     facts.with_assessment(CHANGED, labs=itp_count(21, 10)), ITP_RULES) is None


def hb_day(n, d, hb, markers_normal=True):
    """An AIHA assessment: Hb with LDH, bilirubin and reticulocytes, at or above their ULN."""
    marker = 100 if markers_normal else 300
    return [LabFact(n, day(d), "HGB", hb, 115, 150), LabFact(n, day(d), "LDH", marker, 100, 250),
            LabFact(n, day(d), "TBIL", 10, 0, 21), LabFact(n, day(d), "RETIC_ABS", 50, 24, 84)]


@pytest.mark.parametrize(("before", "after", "expected"), [
    (hb_day(CHANGED, 21, 125), hb_day(CHANGED, 21, 105), ("CR", "PR")),  # >= 100: PR
    (hb_day(CHANGED, 21, 125), hb_day(CHANGED, 21, 100), ("CR", "PR")),  # PR's threshold is 100
    (hb_day(CHANGED, 21, 125), hb_day(CHANGED, 21, 95), ("CR", "NR")),  # < 100, a rise of 15 < 20 from 80
    (hb_day(CHANGED, 21, 125), hb_day(CHANGED, 21, 120), None),  # CR from 120
    (hb_day(CHANGED, 21, 125), hb_day(CHANGED, 21, 125, markers_normal=False), ("CR", "PR")),
    (hb_day(CHANGED, 21, 105), hb_day(CHANGED, 21, 90), ("PR", "NR")),  # < 100 and rise 10 < 20
])
def test_aiha_haemoglobin_changes_the_confirmed_response(before, after, expected):
    baseline = hb_day(0, 0, 80)
    facts = ResponseFacts(first=F, last=F, labs=tuple(baseline + hb_day(1, 14, 125)))
    change = confirmed_response_change(facts.with_assessment(CHANGED, labs=before),
                                       facts.with_assessment(CHANGED, labs=after), AIHA_RULES)
    assert change == (ResponseChange(*expected) if expected else None)


@pytest.mark.parametrize(("change", "current", "basis", "action"), [
    (ResponseChange("CR", "R"), "R", None, OPEN),  # no query open: the change asks
    (None, "CR", None, None),  # nothing changed, nothing open
    (ResponseChange("R", "CR"), "CR", "CR", CLOSE),  # corrected back to what it was before the query
    (None, "CR", "CR", CLOSE),  # (a correction that changes nothing now, the response being the basis)
    (ResponseChange("R", "NR"), "NR", "CR", KEEP),  # still away from the basis
    (None, "R", "CR", KEEP),
    (None, None, "CR", KEEP),  # no longer computable: left to a person
])
def test_count_query_action(change, current, basis, action):
    assert count_query_action(change, current=current, open_basis=basis) == action
