"""Dates that contradict each other or the clock are refused with a message on the field, through
the API (400) and the pages (a form error), and nothing is written (trials/dates.py)."""
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing.tests.support import day0
from enrollment.tests.support import form_data as screening_form
from enrollment.tests.support import screened_on, today
from followup.tests.support import filled as assessment_form
from followup.tests.support import history_rows
from followup.tests.world import build_world
from trials.models import Study
from trials.tests.support import Later, client_for, made, patch_current, setup_update

TZ = timezone.get_current_timezone()


def tomorrow():
    return today() + timedelta(days=1)


def yesterday():
    return today() - timedelta(days=1)


def in_an_hour() -> datetime:
    return timezone.localtime() + timedelta(hours=1)


def an_hour_ago() -> datetime:
    return timezone.localtime() - timedelta(hours=1)


def minutes(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def effective_message() -> str:
    study = Study.objects.get(code="MSC-ITP-5")
    return (f"The signature date is before protocol version {study.version} took effect "
            f"({study.effective_date.isoformat()}).")


@pytest.fixture
def world(studies, coordinator):
    return build_world(coordinator)


def backdate_consent(world, day):
    setup_update(world.screening.consents, signed_at=datetime.combine(day, time(9), tzinfo=TZ))


FUTURE_SCREENING = "The screening date cannot be in the future."
CASES_API = [
    # (case, URL name, body, field path, message)
    ("screening date", "api-study-screenings", lambda: {"screening_date": tomorrow().isoformat()}, "screening_date",
     FUTURE_SCREENING),
    ("birth date", "api-study-screenings", lambda: {"birth_date": tomorrow().isoformat()}, "birth_date",
     "The date of birth cannot be in the future."),
    ("diagnosis date", "api-study-screenings", lambda: {"diagnosis_date": tomorrow().isoformat()}, "diagnosis_date",
     "The diagnosis date cannot be in the future."),
    ("lab date", "api-study-screenings",
     lambda: {"labs": [{"analyte": "PLT", "value": 18, "unit": "10^9/L", "date": tomorrow().isoformat()}]},
     "labs.0.date", "A sample date cannot be in the future."),
    ("prior therapy start", "api-study-screenings", lambda: {"prior_therapies": [
        {"therapy": "rituximab", "start": tomorrow().isoformat(), "outcome": "none"}]},
     "prior_therapies.0.start", "A course cannot start in the future."),
    ("prior therapy end", "api-study-screenings", lambda: {"prior_therapies": [
        {"therapy": "rituximab", "start": yesterday().isoformat(), "end": tomorrow().isoformat(), "outcome": "none"}]},
     "prior_therapies.0.end", "A course cannot end in the future."),
    ("screening date on correction", "api-screening-detail",
     lambda: {"screening_date": tomorrow().isoformat(), "reason": "Typo"}, "screening_date", FUTURE_SCREENING),
    ("consent in the future", "api-screening-consent", lambda: {
        "version": "ICF 1.0", "signed_at": in_an_hour().isoformat(), "obtained_by": "Dr Han"}, "signed_at",
     "Consent cannot be signed in the future."),
    ("consent before the protocol took effect", "api-screening-consent", lambda: {
        "version": "ICF 1.0", "signed_at": "2023-12-31T10:00:00+08:00", "obtained_by": "Dr Han"}, "signed_at",
     effective_message),
    ("consent before birth", "api-screening-consent", lambda: {
        "version": "ICF 1.0", "signed_at": "1990-01-01T10:00:00+08:00", "obtained_by": "Dr Han"}, "signed_at",
     "The signature date is before the date of birth."),
    ("enrolment in the future", "api-screening-enrol", lambda: {"enrolled_on": tomorrow().isoformat()}, "enrolled_on",
     "The enrolment date cannot be in the future."),
    ("enrolment before consent", "api-screening-enrol", lambda: {"enrolled_on": yesterday().isoformat()}, "enrolled_on",
     "The enrolment date is before the consent was signed."),
    ("infusion in the future", "api-participant-infusions", lambda: {
        "number": 2, "started_at": in_an_hour().isoformat(), "weight_kg": 60, "cells_infused": 6e9}, "started_at",
     "An infusion cannot start in the future."),
    ("infusion before enrolment", "api-participant-infusions", lambda: {
        "number": 2, "started_at": datetime.combine(day0() - timedelta(days=3), time(9), tzinfo=TZ).isoformat(),
        "weight_kg": 60, "cells_infused": 6e9}, "started_at",
     "An infusion cannot be dated before consent and enrolment."),
    ("infusion ending in the future", "api-participant-infusions", lambda: {
        "number": 2, "started_at": an_hour_ago().isoformat(), "ended_at": in_an_hour().isoformat(), "weight_kg": 60,
        "cells_infused": 6e9},
     "ended_at", "An infusion cannot end in the future."),
    ("assessment date", "api-participant-assessments", lambda: {"date": tomorrow().isoformat()}, "date",
     "A date cannot be in the future."),
    ("transfusion date", "api-participant-assessments", lambda: {
        "date": yesterday().isoformat(), "transfusions": [{"kind": "platelet", "date": tomorrow().isoformat()}]},
     "transfusions.0.date", "A date cannot be in the future."),
    ("rescue therapy start", "api-participant-assessments", lambda: {
        "date": yesterday().isoformat(), "rescue_therapies": [{"therapy": "ivig", "start": tomorrow().isoformat()}]},
     "rescue_therapies.0.start", "A date cannot be in the future."),
    ("assessment date on correction", "api-assessment", lambda: {"date": tomorrow().isoformat(), "reason": "Typo"},
     "date", "A date cannot be in the future."),
    ("adverse event onset", "api-participant-adverse-events", lambda: {"onset_date": tomorrow().isoformat()},
     "onset_date", "The onset cannot be in the future."),
    ("adverse event resolution", "api-participant-adverse-events", lambda: {
        "onset_date": (day0() + timedelta(days=3)).isoformat(), "resolution_date": tomorrow().isoformat()},
     "resolution_date", "The resolution date cannot be in the future."),
    ("site aware of an adverse event", "api-participant-adverse-events", lambda: {
        "site_aware_at": in_an_hour().isoformat()}, "site_aware_at",
     "The site cannot learn of the event in the future."),
    ("adverse event resolution on correction", "api-adverse-event", lambda: {
        "resolution_date": tomorrow().isoformat(), "reason": "Resolved"}, "resolution_date",
     "The resolution date cannot be in the future."),
    ("visit done in the future", "api-participant-visit-record", lambda: {"done_at": in_an_hour().isoformat()},
     "done_at", "A visit cannot be done in the future."),
    ("withdrawal in the future", "api-participant-withdraw", lambda: {
        "withdrawn_on": tomorrow().isoformat(), "reason": "adverse_event"}, "withdrawn_on",
     "The withdrawal date cannot be in the future."),
]


@pytest.mark.parametrize("case, name, body, path, message", CASES_API, ids=[case[0] for case in CASES_API])
def test_api_refuses_the_date_on_its_field_and_writes_nothing(world, coordinator, case, name, body, path, message):
    before = history_rows()
    client, url = client_for(coordinator), reverse(name, kwargs=world.url_kwargs()[name])
    if name in ("api-screening-detail", "api-assessment", "api-adverse-event"):
        response = patch_current(client, url, body(), format="json")  # a correction, from the version read
    else:
        response = client.post(url, body(), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][path] == [message() if callable(message) else message]
    assert history_rows() == before


def test_api_refuses_an_enrolment_before_the_screening_date(world, coordinator):
    backdate_consent(world, screened_on() - timedelta(days=10))
    response = client_for(coordinator).post(reverse("api-screening-enrol", args=[world.screening.pk]),
                                            {"enrolled_on": (screened_on() - timedelta(days=1)).isoformat()},
                                            format="json")
    assert (response.status_code, response.json()) == (400, {"errors": {"enrolled_on": [
        f"The enrolment date is before the screening date ({screened_on().isoformat()})."]}})
    assert not hasattr(type(world.screening).objects.get(pk=world.screening.pk), "participant")


def test_api_refuses_a_visit_missed_before_its_window_has_closed(world, coordinator):
    visit = world.participant.visits.get(code="M1")
    response = client_for(coordinator).post(reverse("api-participant-visit-record", args=[world.participant.pk, "M1"]),
                                            {"missed": True, "reason": "Patient abroad"}, format="json")
    end = timezone.localtime(visit.window_end).strftime("%Y-%m-%d")
    assert (response.status_code, response.json()) == (400, {"errors": {"missed": [
        f"M1 can still be done until {end}: it is missed only once its window has closed."]}})
    visit.refresh_from_db()
    assert (visit.state, visit.missed_reason) == ("upcoming", "")


# --- the pages ----------------------------------------------------------------------------------

def _screening_errors(response, where):
    entry = response.context["entry"]
    if where == "facts":
        return entry.facts.errors
    if where.startswith("lab-"):
        return next(form for form in entry.labs if form.analyte.code == where[4:]).errors
    return entry.therapies.forms[int(where.split("-")[1])].errors


CASES_SCREENING_PAGE = [
    (Later(lambda: {"screening_date": tomorrow().isoformat()}), "facts", "screening_date", FUTURE_SCREENING),
    (Later(lambda: {"birth_date": tomorrow().isoformat()}), "facts", "birth_date",
     "The date of birth cannot be in the future."),
    (Later(lambda: {"diagnosis_date": tomorrow().isoformat()}), "facts", "diagnosis_date",
     "The diagnosis date cannot be in the future."),
    (Later(lambda: {"lab-PLT-date": tomorrow().isoformat()}), "lab-PLT", "date",
     "A sample date cannot be in the future."),
    (Later(lambda: {"therapy-0-end": tomorrow().isoformat()}), "therapy-0", "end",
     "A course cannot end in the future."),
    (Later(lambda: {"therapy-0-start": tomorrow().isoformat(), "therapy-0-end": ""}), "therapy-0", "start",
     "A course cannot start in the future."),
]


@pytest.mark.parametrize("changes, where, field, message", CASES_SCREENING_PAGE,
                         ids=[case[2] if case[1] == "facts" else f"{case[1]}-{case[2]}"
                              for case in CASES_SCREENING_PAGE])
def test_screening_page_refuses_a_future_date_on_its_field(client, studies, coordinator, changes, where, field,
                                                           message):
    client.force_login(coordinator)
    before = history_rows()
    response = client.post(reverse("screening-new", args=["MSC-ITP-5"]), {**screening_form(), **made(changes)})
    assert response.status_code == 200
    assert _screening_errors(response, where)[field] == [message]
    assert history_rows() == before


CASES_PAGES = [
    # (case, URL name and arguments, form data, context form, field, message)
    ("consent in the future", "screening-consent", "screening",
     lambda w: {"consent-version": "ICF 1.0", "consent-signed_at": minutes(in_an_hour()),
                "consent-obtained_by": "Dr Han"},
     "consent_form", "signed_at", "Consent cannot be signed in the future."),
    ("consent before the protocol took effect", "screening-consent", "screening",
     lambda w: {"consent-version": "ICF 1.0", "consent-signed_at": "2023-12-31T10:00", "consent-obtained_by": "Dr Han"},
     "consent_form", "signed_at", effective_message),
    ("enrolment in the future", "screening-enrol", "screening", lambda w: {"enrol-enrolled_on": tomorrow().isoformat()},
     "enrol_form", "enrolled_on", "The enrolment date cannot be in the future."),
    ("enrolment before consent", "screening-enrol", "screening",
     lambda w: {"enrol-enrolled_on": yesterday().isoformat()},
     "enrol_form", "enrolled_on", "The enrolment date is before the consent was signed."),
    ("infusion in the future", "infusion-record", "participant",
     lambda w: {"number": "2", "started_at": minutes(in_an_hour()), "weight_kg": "60", "cells_infused": "6e9"},
     "form", "started_at", "An infusion cannot start in the future."),
    ("infusion before enrolment", "infusion-record", "participant",
     lambda w: {"number": "2", "started_at": f"{(day0() - timedelta(days=3)).isoformat()}T09:00", "weight_kg": "60",
                "cells_infused": "6e9"},
     "form", "started_at", "An infusion cannot be dated before consent and enrolment."),
    ("infusion ending in the future", "infusion-record", "participant",
     lambda w: {"number": "2", "started_at": minutes(an_hour_ago()),
                "ended_at": minutes(in_an_hour() + timedelta(minutes=1)), "weight_kg": "60", "cells_infused": "6e9"},
     "form", "ended_at", "An infusion cannot end in the future."),
    ("assessment date", "assessment-new", "participant", lambda w: assessment_form(date=tomorrow().isoformat()),
     "form", "date", "A date cannot be in the future."),
    ("adverse event onset", "adverse-event-new", "participant",
     lambda w: {"term": "Fatigue", "category": "non_haematological", "onset_date": tomorrow().isoformat(), "grade": "1",
                "serious": "no", "relationship": "unlikely"},
     "form", "onset_date", "The onset cannot be in the future."),
    ("adverse event resolution", "adverse-event-new", "participant",
     lambda w: {"term": "Fatigue", "category": "non_haematological", "onset_date": yesterday().isoformat(),
                "resolution_date": tomorrow().isoformat(), "grade": "1", "serious": "no", "relationship": "unlikely"},
     "form", "resolution_date", "The resolution date cannot be in the future."),
    ("sample collected in the future", "visit-record", "visit", lambda w: {"done_at": minutes(in_an_hour())},
     "done_form", "done_at", "A visit cannot be done in the future."),
    ("withdrawal in the future", "participant-withdraw", "participant",
     lambda w: {"withdraw-withdrawn_on": tomorrow().isoformat(), "withdraw-reason": "adverse_event"},
     "form", "withdrawn_on", "The withdrawal date cannot be in the future."),
]


def _page_args(world, kind):
    return {"screening": [world.screening.pk], "participant": [world.participant.pk],
            "visit": [world.participant.pk, "M1"]}[kind]


@pytest.mark.parametrize("case, name, kind, data, context, field, message", CASES_PAGES,
                         ids=[case[0] for case in CASES_PAGES])
def test_page_refuses_the_date_on_its_field_and_writes_nothing(client, world, coordinator, case, name, kind, data,
                                                               context, field, message):
    client.force_login(coordinator)
    before = history_rows()
    response = client.post(reverse(name, args=_page_args(world, kind)), data(world))
    assert response.status_code == 200
    assert response.context[context].errors[field] == [message() if callable(message) else message]
    assert history_rows() == before


def test_assessment_page_refuses_future_transfusion_and_rescue_dates_on_their_rows(client, world, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("assessment-new", args=[world.participant.pk]), assessment_form(**{
        "date": yesterday().isoformat(), "transfusion-0-date": tomorrow().isoformat(), "rescue-0-therapy": "ivig",
        "rescue-0-start": tomorrow().isoformat()}))
    assert response.context["transfusions"][0].errors == {"date": ["A date cannot be in the future."]}
    assert response.context["rescues"][0].errors == {"start": ["A date cannot be in the future."]}


def test_enrol_page_refuses_an_enrolment_before_the_screening_date(client, world, coordinator):
    backdate_consent(world, screened_on() - timedelta(days=10))
    client.force_login(coordinator)
    response = client.post(reverse("screening-enrol", args=[world.screening.pk]),
                           {"enrol-enrolled_on": (screened_on() - timedelta(days=1)).isoformat()})
    assert response.context["enrol_form"].errors == {"enrolled_on": [
        f"The enrolment date is before the screening date ({screened_on().isoformat()})."]}


def test_visit_page_refuses_a_visit_missed_before_its_window_has_closed(client, world, coordinator):
    client.force_login(coordinator)
    visit = world.participant.visits.get(code="M1")
    response = client.post(reverse("visit-record", args=[world.participant.pk, "M1"]),
                           {"missed": "1", "reason": "Patient abroad"})
    end = timezone.localtime(visit.window_end).strftime("%Y-%m-%d")
    message = f"M1 can still be done until {end}: it is missed only once its window has closed."
    assert response.context["missed_form"].non_field_errors() == [message]
    assert message in response.content.decode()
    visit.refresh_from_db()
    assert visit.state == "upcoming"


def test_a_visit_whose_window_has_closed_can_be_marked_missed(world, coordinator):
    d14 = world.participant.visits.get(code="D14")  # planned from the fifth infusion's date, 21 days ago
    assert d14.window_end < timezone.now()
    response = client_for(coordinator).post(
        reverse("api-participant-visit-record", args=[world.participant.pk, "D14"]),
        {"missed": True, "reason": "Patient abroad"}, format="json")
    assert (response.status_code, response.json()["state"]) == (200, "missed")
