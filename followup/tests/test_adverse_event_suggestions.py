"""Lab-derived adverse-event suggestions (CLINICAL_RULES.md section 3, `followup/grading.py`): drafts
opened by `assessment_record` for the investigator to confirm or dismiss."""
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from dosing.tests.support import day0
from enrollment.models import ScreeningLab
from followup import services
from followup.models import AdverseEvent, LabResult
from followup.tests.support import assess_labs
from trials.tests.support import SIGNER_PASSWORD, setup_update


def test_platelets_no_worse_than_the_baseline_grade_suggest_nothing(api, participant):
    # Screening PLT 18 is grade 4 (< 25); 15 is grade 4 too.
    assess_labs(api, participant, 3, ("PLT", 15, "10^9/L", 150, 400))
    assert AdverseEvent.objects.count() == 0


def test_haemoglobin_worse_than_baseline_opens_a_draft_with_the_suggested_grade(api, anaemic):
    assess_labs(api, anaemic, 3, ("HGB", 75, "g/L", 120, 160))

    event = AdverseEvent.objects.get()
    assert (event.term, event.category, event.status, event.onset_date) == (
        "Anemia", "haematological", "draft", day0() + timedelta(days=3))
    assert (event.suggested_grade, event.grade, event.serious, event.relationship) == (3, None, None, "")
    assert "Worse than baseline grade 2 (HGB 95 g/L)" in event.suggestion
    assert event.history.get().history_change_reason == "Suggested from a lab value"


def test_haemoglobin_at_the_baseline_grade_suggests_nothing(api, anaemic):
    assess_labs(api, anaemic, 3, ("HGB", 85, "g/L", 120, 160))  # grade 2, as at baseline
    assert AdverseEvent.objects.count() == 0


def test_an_open_draft_of_the_same_term_is_not_duplicated(api, anaemic):
    assess_labs(api, anaemic, 3, ("HGB", 75, "g/L", 120, 160))
    assess_labs(api, anaemic, 10, ("HGB", 70, "g/L", 120, 160))
    assert AdverseEvent.objects.filter(term="Anemia").count() == 1


def test_liver_test_suggests_from_grade_1_against_the_uln(api, participant):
    # Screening ALT 20 is normal (ULN 40): 130 is > 3 x ULN (120) and <= 5 x ULN, grade 2.
    assess_labs(api, participant, 3, ("ALT", 130, "U/L", 0, 40), ("CREAT", 60, "umol/L", 45, 84))

    event = AdverseEvent.objects.get()
    assert (event.term, event.category, event.suggested_grade) == (
        "Alanine aminotransferase increased", "non_haematological", 2)
    assert "Suggested from grade 1" in event.suggestion


def test_a_lab_without_a_reference_range_suggests_nothing(participant, coordinator):
    setup_update(ScreeningLab.objects.filter(screening=participant.screening, analyte="PLT"), lln=None, uln=None)
    lab = LabResult(analyte="PLT", value=5, entered_value=5, entered_unit="10^9/L")
    assert services.adverse_event_suggest(participant=participant, labs=[lab], onset=day0(), by=coordinator) == []
    assert AdverseEvent.objects.count() == 0


# --- the investigator confirms or dismisses (API 'POST /api/v1/adverse-events/{id}/confirm|dismiss/') ---

@pytest.fixture
def draft(api, anaemic):
    assess_labs(api, anaemic, 3, ("HGB", 75, "g/L", 120, 160))
    return AdverseEvent.objects.get()


@pytest.fixture
def investigator_api(make_user):
    client = APIClient()
    client.force_authenticate(make_user("investigator"))
    return client


CONFIRM = {"grade": 4, "serious": True, "relationship": "unlikely", "seriousness": ["hospitalisation"],
           "action_taken": "dose_delayed", "outcome": "recovering", "password": SIGNER_PASSWORD}


def test_investigator_confirms_a_suggestion_at_another_grade(investigator_api, draft):
    response = investigator_api.post(f"/api/v1/adverse-events/{draft.pk}/confirm/", CONFIRM, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["grade"], body["suggested_grade"], body["serious"]) == ("confirmed", 4, 3, True)
    assert (body["seriousness"], body["action_taken"], body["outcome"]) == (["hospitalisation"], "dose_delayed",
                                                                            "recovering")
    assert body["sae_report_due"] is not None
    draft.refresh_from_db()
    assert (draft.status, draft.grade, draft.relationship) == ("confirmed", 4, "unlikely")
    assert draft.history.first().history_change_reason == "Adverse event confirmed and signed at grade 4 (suggested 3)"


def test_coordinator_cannot_confirm_or_dismiss(api, draft):
    assert api.post(f"/api/v1/adverse-events/{draft.pk}/confirm/", CONFIRM, format="json").status_code == 403
    assert api.post(f"/api/v1/adverse-events/{draft.pk}/dismiss/", {"reason": "x"}, format="json").status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_confirmation_is_validated_field_by_field(investigator_api, draft):
    response = investigator_api.post(f"/api/v1/adverse-events/{draft.pk}/confirm/",
                                     {"grade": 5, "serious": True, "relationship": ""}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {
        "relationship": ["Give the relationship to treatment: Unrelated, Unlikely, Possible, Probable, Definite."],
        "seriousness": ["A serious adverse event needs at least one seriousness criterion: Results in death, "
                        "Life-threatening, Requires or prolongs hospitalisation, Persistent or significant "
                        "disability, Congenital anomaly, Other important medical event."],
        "outcome": ["A grade 5 event (death) has the outcome Fatal."]}}


def test_investigator_dismisses_a_suggestion_with_a_reason(investigator_api, draft):
    url = f"/api/v1/adverse-events/{draft.pk}/dismiss/"
    assert investigator_api.post(url, {"reason": " "}, format="json").json() == {
        "errors": {"reason": ["Say why the suggested adverse event is dismissed."]}}

    response = investigator_api.post(url, {"reason": "Haemolysis in the sample", "password": SIGNER_PASSWORD},
                                     format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["dismissed_reason"]) == ("dismissed", "Haemolysis in the sample")
    again = investigator_api.post(f"/api/v1/adverse-events/{draft.pk}/confirm/", CONFIRM, format="json")
    assert again.status_code == 409
    assert again.json() == {"errors": {"non_field_errors": ["This adverse event is already dismissed."]}}


def test_another_site_cannot_see_the_draft(draft, make_user, other_site_study):
    other = APIClient()
    other.force_authenticate(make_user("investigator", site="XH"))
    assert other.post(f"/api/v1/adverse-events/{draft.pk}/confirm/", CONFIRM, format="json").status_code == 404
