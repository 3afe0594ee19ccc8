"""Anaemia responses through the API for UCB-IRIC participants (AIHA and PRCA sets, section 2)."""
from datetime import date, timedelta

import pytest
from django.utils import timezone

from dosing import services as dosing
from enrollment import services as enrolment
from trials.models import Site, Study

TODAY = timezone.localdate()
DAY0 = TODAY - timedelta(days=80)


def p1_participant(user, disease):
    study = Study.objects.get(code="UCB-IRIC")
    data = enrolment.ScreeningInput(
        values={"screening_date": DAY0 - timedelta(days=5), "birth_date": date(1980, 1, 1), "sex": "female",
                "disease": disease, "ecog": 1, "weight_kg": 60},
        labs=[enrolment.LabInput("HGB", 70, "g/L"), enrolment.LabInput("TBIL", 15, "umol/L"),
              enrolment.LabInput("ALT", 20, "U/L"), enrolment.LabInput("AST", 20, "U/L"),
              enrolment.LabInput("CREAT", 60, "umol/L")],
        prior_therapies=[enrolment.TherapyInput("glucocorticoid", "none", date(2024, 1, 1), date(2024, 3, 1))],
        conditions={"abnormal_cardiac_function": False, "other_secondary_disease": False, "tumour": False,
                    "carcinoma_in_situ_only": False, "uncontrolled_infection": False, "other_serious_disease": False,
                    "pregnant": False, "lactating": False, "mental_illness": False},
    )
    screening = enrolment.screening_create(study=study, site=Site.objects.get(code="PUMCH"), data=data, by=user,
                                           today=DAY0)
    assert screening.eligible is True, [c for c in screening.eligibility if c["outcome"] != "met"]
    enrolment.consent_record(screening=screening, version="ICF 1.0", signed_at=timezone.now() - timedelta(days=85),
                             obtained_by="Dr Han", by=user)
    participant = enrolment.participant_enrol(screening=screening, enrolled_on=DAY0, first_infusion_on=DAY0, by=user)
    dosing.infusion_record(participant=participant, by=user, data=dosing.InfusionInput(
        number=1, started_at=timezone.make_aware(timezone.datetime.combine(DAY0, timezone.datetime.min.time()).replace(hour=9)),
        weight_kg=60, product={"kind": "cord_blood", "bank": "Beijing", "unit_id": "CB-1", "tnc": 1.5e9}))
    return participant


def assess(api, participant, day, hb, **extra):
    body = {"date": (DAY0 + timedelta(days=day)).isoformat(), "visit": None,
            "labs": [{"analyte": "HGB", "value": hb, "unit": "g/L"}], **extra}
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()


def test_aiha_partial_response_by_a_rise_of_20_g_l(api, coordinator, studies):
    participant = p1_participant(coordinator, "AIHA")
    assess(api, participant, 0, 70)
    assess(api, participant, 20, 92)
    assess(api, participant, 27, 95)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert body["criteria_set"] == "AIHA-INTL"
    assert [a["category"] for a in body["assessments"]] == ["PR", "PR"]
    assert body["best_confirmed_response"] == "PR"


def test_prca_response_is_computed_by_its_set(api, coordinator, studies):
    participant = p1_participant(coordinator, "PRCA")
    assess(api, participant, 0, 70)
    assess(api, participant, 60, 95)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert body["criteria_set"] == "PRCA-STD"
    assert [a["category"] for a in body["assessments"]] == ["PR"]
