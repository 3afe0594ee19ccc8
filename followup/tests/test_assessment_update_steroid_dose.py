"""The daily corticosteroid dose (prednisone-equivalent mg/day) captured with an assessment and
corrected with it: the service, the API, the form and the participant page's assessment list.
The ITP response rules use it for corticosteroid dependence (CLINICAL_RULES.md section 1)."""
from dataclasses import fields
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from followup import services
from followup.models import Assessment
from trials.errors import ServiceError
from trials.tests.support import patch_current, setup_update

DOSE_MESSAGE = "Give the corticosteroid dose as prednisone-equivalent mg/day, a number from 0 to 2000."


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


def post(api, participant, **body):
    return api.post(f"/api/v1/participants/{participant.pk}/assessments/",
                    {"date": days_ago(3), "visit": None, "labs": [{"analyte": "PLT", "value": 42, "unit": "10^9/L"}],
                     "bleeding_grade": 0, **body}, format="json")


@pytest.mark.parametrize("given, stored, shown", [
    (7.5, Decimal("7.50"), 7.5), (0, Decimal("0.00"), 0.0), (2000, Decimal("2000.00"), 2000.0),
    (12.345, Decimal("12.35"), 12.35), (None, None, None)])
def test_the_api_records_the_dose_in_prednisone_equivalent_mg_per_day(api, woman, given, stored, shown):
    response = post(api, woman, steroid_mg_per_day=given)

    assert response.status_code == 201, response.json()
    assert response.json()["steroid_mg_per_day"] == shown
    assert Assessment.objects.get().steroid_mg_per_day == stored


def test_the_dose_is_optional(api, woman):
    response = post(api, woman)
    assert response.status_code == 201 and response.json()["steroid_mg_per_day"] is None


@pytest.mark.parametrize("given, message", [
    (-1, DOSE_MESSAGE), (2000.01, DOSE_MESSAGE), (1e9, DOSE_MESSAGE),
    ("plenty", "A valid number is required.")])
def test_the_api_refuses_an_implausible_dose_naming_the_field(api, woman, given, message):
    response = post(api, woman, steroid_mg_per_day=given)

    assert response.status_code == 400
    assert response.json() == {"errors": {"steroid_mg_per_day": [message]}}
    assert Assessment.objects.count() == 0


@pytest.mark.parametrize("given", [True, "NaN", "ten", float("inf")])
def test_the_service_refuses_what_is_not_a_finite_number(woman, coordinator, given):
    with pytest.raises(ServiceError) as refused:
        services.assessment_record(participant=woman, by=coordinator, data=services.AssessmentInput(
            date=date.fromisoformat(days_ago(3)), bleeding_grade=0, steroid_mg_per_day=given))
    assert refused.value.errors == {"steroid_mg_per_day": [DOSE_MESSAGE]}


def test_the_service_accepts_the_dose_as_text_or_decimal(woman, coordinator):
    first = services.assessment_record(participant=woman, by=coordinator, data=services.AssessmentInput(
        date=date.fromisoformat(days_ago(3)), bleeding_grade=0, steroid_mg_per_day="5"))
    second = services.assessment_record(participant=woman, by=coordinator, data=services.AssessmentInput(
        date=date.fromisoformat(days_ago(2)), bleeding_grade=0, steroid_mg_per_day=Decimal("0.5")))
    assert (first.steroid_mg_per_day, second.steroid_mg_per_day) == (Decimal("5.00"), Decimal("0.50"))


def test_the_database_refuses_a_dose_over_2000(api, woman):
    post(api, woman)
    with pytest.raises(IntegrityError), transaction.atomic():
        setup_update(Assessment.objects, steroid_mg_per_day=Decimal("2000.01"))


def test_a_correction_changes_the_dose_with_the_reason(api, woman, coordinator):
    assessment = Assessment.objects.get(pk=post(api, woman, steroid_mg_per_day=20).json()["id"])
    keep = {f.name: services.KEEP for f in fields(services.AssessmentInput)}

    services.assessment_update(assessment=assessment, by=coordinator, version=assessment.row_version,
                               reason="Dose tapered, chart re-read",
                               data=services.AssessmentInput(**{**keep, "steroid_mg_per_day": 7.5}))

    assessment.refresh_from_db()
    assert assessment.steroid_mg_per_day == Decimal("7.50")
    assert assessment.history.first().history_change_reason == "Dose tapered, chart re-read"
    cleared = patch_current(api, f"/api/v1/assessments/{assessment.pk}/", {"steroid_mg_per_day": None,
                                                                  "reason": "Dose not known"}, format="json")
    assert cleared.status_code == 200 and cleared.json()["steroid_mg_per_day"] is None


def test_the_form_records_the_dose_and_names_a_bad_one(client, woman, coordinator):
    client.force_login(coordinator)
    url = reverse("assessment-new", args=[woman.pk])
    form = {"date": days_ago(3), "bleeding_grade": "0", "lab-PLT-value": "42", "lab-PLT-unit": "10^9/L",
            "lab-HGB-unit": "g/L", "lab-ANC-unit": "10^9/L", "lab-WBC-unit": "10^9/L"}

    page = client.get(url).content.decode()
    refused = client.post(url, {**form, "steroid_mg_per_day": "2500"})
    accepted = client.post(url, {**form, "steroid_mg_per_day": "7.5"})

    assert 'name="steroid_mg_per_day"' in page and "prednisone-equivalent mg/day" in page
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"steroid_mg_per_day": [DOSE_MESSAGE]}
    assert accepted.status_code == 302
    assert Assessment.objects.get().steroid_mg_per_day == Decimal("7.50")


def test_the_participant_page_lists_the_dose_with_the_assessment(client, api, woman, coordinator):
    post(api, woman, steroid_mg_per_day=7.5, bleeding_grade=1)
    client.force_login(coordinator)

    page = client.get(reverse("participant-detail", args=[woman.pk])).content.decode()

    row = page.split('data-testid="assessments"')[1].split("</table>")[0]
    assert "7.50" in row and "PLT 42 10^9/L" in row and days_ago(3) in row and "unscheduled" in row
