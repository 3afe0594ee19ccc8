"""Input that used to end in a server error: a reason over 100 characters on every correction page,
a guardian's relationship over 100 characters, consent dated 1900 or in year 1 (refused as outside
the calendar of a record), the prefix of a
dismissal's audit reason; and unknown screening answers, once dropped silently."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment import services as enrolment
from enrollment.models import Consent, Screening, ScreeningLab
from enrollment.tests.support import create_screening, form_data
from followup import services
from followup.models import AdverseEvent, Assessment
from followup.tests.support import assessment_form_as_posted, history_rows
from followup.tests.world import build_world
from trials.models import ReferenceRange, Study
from trials.selectors import form_items
from trials.tests.support import SIGNER_PASSWORD, client_for, patch_current

LONG = "r" * 101
TOO_LONG = ["Ensure this value has at most 100 characters (it has 101)."]
TOO_LONG_API = ["Ensure this field has no more than 100 characters."]


@pytest.fixture
def world(studies, coordinator):
    return build_world(coordinator)


@pytest.fixture
def signed_in(client, coordinator):
    client.force_login(coordinator)
    return client


# --- a reason over 100 characters, on every correction page ------------------------------------

def test_screening_edit_page_refuses_a_reason_over_100_characters(signed_in, studies, coordinator):
    screening = create_screening(coordinator)
    before = history_rows()
    response = signed_in.post(reverse("screening-edit", args=[screening.pk]),
                              {**form_data(weight_kg=60), "reason": LONG})
    assert response.status_code == 200
    assert response.context["entry"].facts.errors == {"reason": TOO_LONG}
    assert 'maxlength="100"' in response.content.decode().split('name="reason"')[1].split(">")[0]
    assert (Screening.objects.get(pk=screening.pk).weight_kg, history_rows()) == (58.0, before)


def test_assessment_edit_page_refuses_a_reason_over_100_characters(signed_in, world):
    url = reverse("assessment-edit", args=[world.assessment.pk])
    posted = {**assessment_form_as_posted(signed_in.get(url)), "bleeding_grade": "1", "reason": LONG}
    before = history_rows()
    response = signed_in.post(url, posted)
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": TOO_LONG}
    assert (Assessment.objects.get(pk=world.assessment.pk).bleeding_grade, history_rows()) == (0, before)


def test_adverse_event_edit_page_refuses_a_reason_over_100_characters(signed_in, world):
    url = reverse("adverse-event-edit", args=[world.event.pk])
    page = signed_in.get(url)
    posted = {field.html_name: field.value() for field in page.context["form"] if field.value() not in (None, False)}
    posted.update({"grade": "3", "reason": LONG, "site_aware_at": timezone.localtime(world.event.site_aware_at)
                   .strftime("%Y-%m-%dT%H:%M"), "seriousness": []})
    before = history_rows()
    response = signed_in.post(url, posted)
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": TOO_LONG}
    assert (AdverseEvent.objects.get(pk=world.event.pk).grade, history_rows()) == (2, before)


def test_adverse_event_dismiss_page_refuses_a_reason_over_100_characters(client, world, investigator):
    client.force_login(investigator)
    before = history_rows()
    response = client.post(reverse("adverse-event-detail", args=[world.draft.pk]),
                           {"dismiss": "1", "reason": LONG, "password": SIGNER_PASSWORD})
    assert response.status_code == 200
    assert response.context["dismiss_form"].errors == {"reason": TOO_LONG}
    assert (AdverseEvent.objects.get(pk=world.draft.pk).status, history_rows()) == ("draft", before)


@pytest.mark.parametrize("name, method, body", [
    ("api-screening-detail", "patch", {"weight_kg": 61}),
    ("api-assessment", "patch", {"bleeding_grade": 1}),
    ("api-adverse-event", "patch", {"grade": 3}),
])
def test_correction_endpoints_refuse_a_reason_over_100_characters(world, coordinator, name, method, body):
    before = history_rows()
    response = getattr(client_for(coordinator), method)(reverse(name, kwargs=world.url_kwargs()[name]),
                                                        {**body, "reason": LONG}, format="json")
    assert (response.status_code, response.json()) == (400, {"errors": {"reason": TOO_LONG_API}})
    assert history_rows() == before


def test_dismissal_reason_of_100_characters_is_kept_whole_and_its_audit_reason_cut_to_the_column(world, investigator):
    reason = "d" * 100  # the longest allowed; "Adverse event dismissed: " before it would overflow the column
    response = client_for(investigator).post(reverse("api-adverse-event-dismiss", args=[world.draft.pk]),
                                             {"reason": reason, "password": SIGNER_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    draft = AdverseEvent.objects.get(pk=world.draft.pk)
    audit = draft.history.first().history_change_reason
    assert (draft.status, draft.dismissed_reason) == ("dismissed", reason)
    assert (len(audit), audit[:25], audit[-1]) == (100, "Adverse event dismissed: ", "…")
    too_long = client_for(investigator).post(reverse("api-adverse-event-dismiss", args=[world.draft.pk]),
                                             {"reason": LONG}, format="json")
    assert (too_long.status_code, too_long.json()) == (400, {"errors": {"reason": TOO_LONG_API}})


# --- consent: the guardian's relationship, dates in 1900 and year 1 -----------------------------

def test_consent_api_refuses_a_guardian_relationship_over_100_characters(world, coordinator):
    response = client_for(coordinator).post(reverse("api-screening-consent", args=[world.screening.pk]), {
        "version": "ICF 1.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han", "guardian": "Wang Fang",
        "guardian_relationship": LONG}, format="json")
    assert (response.status_code, response.json()) == (400, {"errors": {"guardian_relationship": TOO_LONG_API}})
    assert world.screening.consents.count() == 1


def test_consent_page_refuses_a_guardian_relationship_over_100_characters(signed_in, world):
    response = signed_in.post(reverse("screening-consent", args=[world.screening.pk]), {
        "consent-version": "ICF 1.0", "consent-signed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "consent-obtained_by": "Dr Han", "consent-guardian_name": "Wang Fang", "consent-guardian_relationship": LONG})
    assert response.status_code == 200
    assert response.context["consent_form"].errors == {"guardian_relationship": TOO_LONG}
    assert world.screening.consents.count() == 1


@pytest.mark.parametrize("signed_at", ["1900-01-01T10:00:00+08:00", "1990-04-30T10:00:00+08:00"])
def test_consent_api_dated_before_birth_is_400(world, coordinator, signed_at):
    before = Consent.objects.count()
    response = client_for(coordinator).post(reverse("api-screening-consent", args=[world.screening.pk]), {
        "version": "ICF 1.0", "signed_at": signed_at, "obtained_by": "Dr Han"}, format="json")
    assert (response.status_code, response.json()) == (400, {"errors": {
        "signed_at": ["The signature date is before the date of birth."]}})
    assert Consent.objects.count() == before


def test_consent_page_dated_1900_is_refused_on_the_field(signed_in, world):
    response = signed_in.post(reverse("screening-consent", args=[world.screening.pk]), {
        "consent-version": "ICF 1.0", "consent-signed_at": "1900-01-01T10:00", "consent-obtained_by": "Dr Han"})
    assert response.status_code == 200
    assert response.context["consent_form"].errors == {"signed_at": ["The signature date is before the date of birth."]}
    assert world.screening.consents.count() == 1


# --- screening answers: an unknown key is refused, not dropped --------------------------------

@pytest.mark.parametrize("method", ["post", "patch"])
def test_unknown_screening_answer_is_400_with_the_answers_allowed(world, coordinator, method):
    client = client_for(coordinator)
    before = (Screening.objects.count(), history_rows())
    if method == "post":
        response = client.post(reverse("api-study-screenings", args=["MSC-ITP-5"]),
                               {"weight_kg": 60, "understands_and_complie": True}, format="json")
    else:
        response = patch_current(client, reverse("api-screening-detail", args=[world.screening.pk]),
                                {"reason": "Answer added", "understands_and_complie": True}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["understands_and_complie"]
    items = [spec.code for _section, spec in form_items(Study.objects.get(code="MSC-ITP-5"))]
    assert errors["understands_and_complie"] == ["Unknown item; the items of this form are " + ", ".join(items) + "."]
    assert "understands_and_complies" in items
    assert (Screening.objects.count(), history_rows()) == before


# --- found by the fuzz test: a report's single limit crossing the site's, dates at the calendar's edge --

def test_screening_lab_whose_only_limit_crosses_the_sites_range_is_400_on_that_limit(world, coordinator):
    site = ReferenceRange.objects.filter(site__code="PUMCH", analyte="PLT").first()
    before = (ScreeningLab.objects.count(), history_rows())
    response = client_for(coordinator).post(reverse("api-study-screenings", args=["MSC-ITP-5"]), {
        "sex": "female", "birth_date": "1990-05-01", "screening_date": timezone.localdate().isoformat(),
        "labs": [{"analyte": "ALT", "value": 20, "unit": "U/L"},
                 {"analyte": "PLT", "value": 18, "unit": "10^9/L", "uln": 1}]},
        format="json")
    assert (response.status_code, response.json()) == (400, {"errors": {"labs.1.uln": [
        f"PLT: the upper limit of normal 1 is below the site's lower limit {site.lln:g} (SI); give the report's lower "
        "limit too."]}})
    assert (ScreeningLab.objects.count(), history_rows()) == before


def test_assessment_lab_whose_only_limit_crosses_the_sites_range_is_400_on_that_limit(world, coordinator):
    response = client_for(coordinator).post(reverse("api-participant-assessments", args=[world.participant.pk]), {
        "date": timezone.localdate().isoformat(), "bleeding_grade": 0,
        "labs": [{"analyte": "PLT", "value": 18, "unit": "10^9/L", "lln": 1e9}]},
        format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["labs.0.lln"]
    assert world.participant.assessments.count() == 1


@pytest.mark.parametrize("name, body, path", [
    ("api-screening-enrol", {"first_infusion_on": "9999-12-31"}, "first_infusion_on"),
    ("api-screening-consent", {"version": "v", "obtained_by": "x", "signed_at": "0001-01-01"}, "signed_at"),
    ("api-screening-consent", {"version": "v", "obtained_by": "x", "signed_at": "0001-01-01T10:00:00Z"}, "signed_at"),
    ("api-screening-consent", {"version": "v", "obtained_by": "x", "signed_at": "1899-12-31T10:00:00+08:00"},
     "signed_at"),
    ("api-participant-visit-record", {"done_at": "0001-01-01"}, "done_at"),
    ("api-study-screenings", {"birth_date": "1899-12-31"}, "birth_date"),
])
def test_dates_outside_the_calendar_of_a_record_are_400_on_the_field(world, coordinator, name, body, path):
    response = client_for(coordinator).post(reverse(name, kwargs=world.url_kwargs()[name]), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][path] in (["Give a date from 1900-01-01 to 2099-12-31."],
                                               ["Datetime value out of range."])


def test_page_date_outside_the_calendar_is_refused_on_the_field(signed_in, world):
    response = signed_in.post(reverse("screening-enrol", args=[world.screening.pk]),
                              {"enrol-enrolled_on": timezone.localdate().isoformat(),
                               "enrol-first_infusion_on": "2100-01-01"})
    assert response.context["enrol_form"].errors == {
        "first_infusion_on": ["Give a date from 1900-01-01 to 2099-12-31."]}


def test_correction_services_refuse_a_reason_longer_than_the_audit_column(world, coordinator):
    """Called without a form or serializer in front (a script), the services refuse it themselves."""
    message = ["The reason is at most 100 characters (it has 101)."]
    with pytest.raises(enrolment.ServiceError) as screening:
        enrolment.screening_update(screening=world.screening, version=world.screening.row_version,
                                   data=enrolment.ScreeningInput(values={"weight_kg": 61}),
                                   reason=LONG, by=coordinator)
    with pytest.raises(enrolment.ServiceError) as assessment:
        services.assessment_update(assessment=world.assessment, version=world.assessment.row_version,
                                   data=services.AssessmentInput(**{
            name: services.KEEP for name in services.AssessmentInput.__dataclass_fields__} | {"bleeding_grade": 1}),
                                   reason=LONG, by=coordinator)
    with pytest.raises(enrolment.ServiceError) as event:
        services.adverse_event_update(event=world.event, version=world.event.row_version,
                                      data=services.AdverseEventInput(**{
            name: services.KEEP for name in services.AdverseEventInput.__dataclass_fields__} | {"grade": 3}),
                                      reason=LONG, by=coordinator)
    assert (screening.value.errors, assessment.value.errors, event.value.errors) == (
        {"reason": message}, {"reason": message}, {"reason": message})


@pytest.mark.parametrize("lot", ["L" * 5001, {"a": 1}, ["L1"], True])
def test_infusion_product_text_that_is_too_long_or_not_text_is_400_on_the_field(world, coordinator, lot):
    now = timezone.localtime()
    before = history_rows()
    response = client_for(coordinator).post(reverse("api-participant-infusions", args=[world.participant.pk]), {
        "number": 2, "started_at": (now - timedelta(hours=1)).isoformat(), "weight_kg": 60, "cells_infused": 6e9,
        "deviation_reason": "Late", "product": {"kind": "msc", "lot": lot, "viability_pct": 94}}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["product.lot"] == ["The lot number is a text of at most 5000 characters."]
    assert history_rows() == before
