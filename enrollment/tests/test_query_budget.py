"""The query budget of the coordinator's path from screening to enrolment (README, performance).

Screening (five labs) + consent + enrolment (the whole infusion and visit schedule planned) of one
participant must take at most 40 SQL statements together, measured through the API. The
investigator's signed eligibility confirmation, a separate step by another user, is counted apart.
"""
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from enrollment.models import Participant, PriorTherapy, Screening, ScreeningLab
from enrollment.tests.support import p3_facts, today, years_ago
from trials.definitions import study_definition
from trials.models import Study
from trials.services import LoadReport, study_load
from trials.tests.support import SIGNER_PASSWORD, client_for, site_investigator

COORDINATOR_BUDGET = 40  # screening + consent + enrolment
CONFIRMATION_BUDGET = 12  # the investigator's signed eligibility confirmation


def p2_facts() -> dict:
    """The facts of an eligible P2 screening of a woman, screened today, as the API takes them."""
    return {
        "screening_date": today().isoformat(),
        "initials": "AB", "birth_date": years_ago(35), "sex": "female", "weight_kg": 60.0, "height_cm": 165,
        "disease": "ITP", "diagnosis_date": years_ago(2),
        "labs": [
            {"analyte": "PLT", "value": 12, "unit": "10^9/L"},
            {"analyte": "HGB", "value": 120, "unit": "g/L"},
            {"analyte": "ALT", "value": 30, "unit": "U/L"},
            {"analyte": "AST", "value": 25, "unit": "U/L"},
            {"analyte": "CREAT", "value": 60, "unit": "umol/L"},
        ],
        "prior_therapies": p3_facts()["prior_therapies"],
    }


def _counted(call):
    with CaptureQueriesContext(connection) as queries:
        response = call()
    return response, len(queries)


def _screen_consent_enrol(api, code, facts, enrol_body):
    """The three coordinator POSTs and the investigator's confirmation: their responses and query counts."""
    investigator = client_for(site_investigator())
    screened, screening_count = _counted(lambda: api.post(f"/api/v1/studies/{code}/screenings/", facts, format="json"))
    assert screened.status_code == 201, screened.json()
    assert screened.json()["eligibility"]["eligible"] is True, screened.json()["eligibility"]
    screening = screened.json()["id"]
    consented, consent_count = _counted(lambda: api.post(f"/api/v1/screenings/{screening}/consent/", {
        "version": "ICF v2.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han"}, format="json"))
    confirmed, confirmation_count = _counted(lambda: investigator.post(
        f"/api/v1/screenings/{screening}/eligibility-confirmation/", {"password": SIGNER_PASSWORD}, format="json"))
    enrolled, enrolment_count = _counted(lambda: api.post(f"/api/v1/screenings/{screening}/enrol/", enrol_body,
                                                          format="json"))
    assert (consented.status_code, confirmed.status_code, enrolled.status_code) == (201, 201, 201), (
        consented.json(), confirmed.json(), enrolled.json())
    counts = {"screening": screening_count, "consent": consent_count, "enrolment": enrolment_count}
    return enrolled.json(), counts, confirmation_count


def test_p3_screening_consent_and_enrolment_take_at_most_40_queries(api, studies):
    participant, counts, confirmation = _screen_consent_enrol(api, "MSC-ITP-5", p3_facts(), {})

    assert sum(counts.values()) <= COORDINATOR_BUDGET, counts
    assert confirmation <= CONFIRMATION_BUDGET, confirmation
    planned = Participant.objects.get(pk=participant["id"])
    assert (planned.infusions.count(), planned.visits.count()) == (5, 8)


def test_the_screening_written_in_bulk_keeps_one_history_row_per_record(api, studies, coordinator):
    _participant, _counts, _confirmation = _screen_consent_enrol(api, "MSC-ITP-5", p3_facts(), {})

    screening = Screening.objects.get()
    created = [(row.history_type, row.history_user_id, row.history_change_reason)
               for model in (ScreeningLab, PriorTherapy) for row in model.history.filter(screening_id=screening.pk)]
    assert created == [("+", coordinator.pk, "Screening created")] * 8
    first = screening.history.earliest("history_date")
    assert (first.history_type, first.history_user_id, first.history_change_reason, first.eligible) == (
        "+", coordinator.pk, "Screening created", True)
    alt = ScreeningLab.history.get(analyte="ALT")
    assert (alt.lln, alt.uln, alt.range_source) == (7.0, 40.0, "report+site")


def test_p2_screening_consent_and_enrolment_of_a_woman_take_at_most_40_queries(api, studies):
    participant, counts, confirmation = _screen_consent_enrol(api, "HUCMSC-ITP-ESC", p2_facts(), {"dose_level": "A"})

    assert sum(counts.values()) <= COORDINATOR_BUDGET, counts
    assert confirmation <= CONFIRMATION_BUDGET, confirmation
    assert participant["dose_level"] == "A"
    planned = Participant.objects.get(pk=participant["id"])
    assert planned.visits.filter(code__startswith="PK").count() == 10


def test_the_budget_holds_for_the_second_participant_of_a_study(api, studies):
    _screen_consent_enrol(api, "MSC-ITP-5", p3_facts(), {})

    participant, counts, confirmation = _screen_consent_enrol(api, "MSC-ITP-5", p3_facts(), {})

    assert participant["study_number"] == "MSC-ITP-5-PUMCH-002"
    assert sum(counts.values()) <= COORDINATOR_BUDGET, counts
    assert confirmation <= CONFIRMATION_BUDGET, confirmation


def _study_with_items(count: int, code: str):
    """A copy of MSC-ITP-5 whose screening form asks `count` number items (active, at the same site)."""
    definition = study_definition(Study.objects.get(code="MSC-ITP-5"))
    definition.update(code=code, items=[{"code": f"score_{n}", "label": f"Score {n}", "type": "number", "min": 0,
                                         "max": 100, "section": "Scores", "forms": ["screening"]}
                                        for n in range(count)])
    definition["criteria"] = [c for c in definition["criteria"] if c["rule_type"] not in (
        "condition", "answer_equals", "answer_number", "when_sex")]
    return study_load(definition, by=None, reason="budget test", report=LoadReport(), status="active")


def test_thirty_screening_items_cost_no_more_statements_than_three(api, studies):
    # The first request of a session reads what later ones find cached: count from the second on.
    assert api.post("/api/v1/studies/MSC-ITP-5/screenings/", p3_facts(), format="json").status_code == 201
    counts = {}
    for count in (3, 30):
        _study_with_items(count, f"ITEMS-{count}")
        facts = {**p3_facts(), "items": {f"score_{n}": n for n in range(count)}}
        for key in ("conditions", "diagnosis_meets_guideline", "thrombocytopenia_months",
                    "stable_maintenance_therapy_4_weeks", "childbearing_potential", "pregnancy_test",
                    "agrees_contraception", "understands_and_complies"):
            facts.pop(key, None)
        response, counts[count] = _counted(lambda: api.post(f"/api/v1/studies/ITEMS-{count}/screenings/", facts,
                                                            format="json"))
        assert response.status_code == 201, response.json()
        assert response.json()["items"] == {f"score_{n}": n for n in range(count)}

    assert counts[30] == counts[3], counts
