"""A locked casebook, and every casebook of a locked study, refuses every change: each write
service raises `RecordLocked` before anything is written, the API answers 409 with `errors.lock`,
the edit pages answer 403 naming the lock (GET and POST); unlocking restores editing."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing import services as dosing
from enrollment import services as enrollment
from enrollment.locks import casebook_lock, casebook_unlock
from enrollment.models import Screening
from enrollment.screening_input import ScreeningInput
from followup import services as followup
from followup.models import Visit
from trials import hooks
from trials.errors import RecordLocked
from trials.locks import study_lock, study_unlock
from trials.models import Site, Study
from trials.tests.support import SIGNER_PASSWORD, client_for, patch_current

from .support import history_rows
from .test_fuzz_inputs import base_bodies
from .world import World, build_world

CODE = "MSC-ITP-5"


@pytest.fixture
def world(studies, coordinator, monkeypatch):
    monkeypatch.setattr(hooks.casebook_signed, "_receivers", [lambda *, participant: True])  # signed
    return build_world(coordinator)


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def _lock(scope, world, admin):
    if scope == "casebook":
        casebook_lock(participant=world.participant, by=admin, reason="Signed and cleaned")
    else:
        study_lock(study=Study.objects.get(code=CODE), by=admin, reason="Final analysis")


def _unlock(scope, world, admin):
    if scope == "casebook":
        casebook_unlock(participant=world.participant, by=admin, reason="Query reopened")
    else:
        study_unlock(study=Study.objects.get(code=CODE), by=admin, reason="Late query")


def _enrolled_screening(w):
    return Screening.objects.get(pk=w.participant.screening_id)


def _visit(w):
    return Visit.objects.get(participant=w.participant, code="M1")


now, today = timezone.now, timezone.localdate

# (name, call(world, coordinator, investigator)): every write service of a participant's record.
SERVICES = [
    ("screening_update", lambda w, c, i: enrollment.screening_update(
        screening=_enrolled_screening(w), data=ScreeningInput(values={"weight_kg": 61.0}), reason="Corrected", by=c)),
    ("screening_reevaluate", lambda w, c, i: enrollment.screening_reevaluate(
        screening=_enrolled_screening(w), reason="Criteria amended", by=c)),
    ("screening_eligibility_confirm", lambda w, c, i: enrollment.screening_eligibility_confirm(
        screening=_enrolled_screening(w), password=SIGNER_PASSWORD, by=i)),
    ("consent_record", lambda w, c, i: enrollment.consent_record(
        screening=_enrolled_screening(w), version="ICF 2.0", signed_at=now() - timedelta(hours=1),
        obtained_by="Dr Han", by=c)),
    ("participant_withdraw", lambda w, c, i: enrollment.participant_withdraw(
        participant=w.participant, withdrawn_on=today(), reason="adverse_event", by=c)),
    ("infusion_record", lambda w, c, i: dosing.infusion_record(
        participant=w.participant, data=dosing.InfusionInput(number=2, started_at=now() - timedelta(hours=2),
                                                             weight_kg=60.0, cells_infused=6e9), by=c)),
    ("infusion_miss", lambda w, c, i: dosing.infusion_miss(participant=w.participant, number=2, reason="Ill", by=c)),
    ("assessment_record", lambda w, c, i: followup.assessment_record(
        participant=w.participant, data=followup.AssessmentInput(date=today(), bleeding_grade=0), by=c)),
    ("assessment_update", lambda w, c, i: followup.assessment_update(
        assessment=w.assessment, data=followup.AssessmentInput(bleeding_grade=1), reason="Corrected", by=c)),
    ("adverse_event_record", lambda w, c, i: followup.adverse_event_record(
        participant=w.participant, data=followup.AdverseEventInput(
            term="Fever", category="fever", onset_date=today(), grade=1, serious=False, relationship="unlikely"),
        by=c)),
    ("adverse_event_update", lambda w, c, i: followup.adverse_event_update(
        event=w.event, data=followup.AdverseEventInput(description="More detail"), reason="Corrected", by=c)),
    ("adverse_event_confirm", lambda w, c, i: followup.adverse_event_confirm(
        event=w.draft, grade=1, serious=False, relationship="unlikely", password=SIGNER_PASSWORD, by=i)),
    ("adverse_event_dismiss", lambda w, c, i: followup.adverse_event_dismiss(
        event=w.draft, reason="Not an event", password=SIGNER_PASSWORD, by=i)),
    ("adverse_event_sae_report", lambda w, c, i: followup.adverse_event_sae_report(
        event=w.event, reported_at=now(), by=c)),
    ("visit_record", lambda w, c, i: followup.visit_record(visit=_visit(w), done_at=now(), by=c)),
    ("visit_miss", lambda w, c, i: followup.visit_miss(visit=_visit(w), reason="Did not come", by=c)),
]
# What a locked study refuses besides: a new screening, an enrolment, a change of a screening not enrolled.
STUDY_ONLY = [
    ("screening_create", lambda w, c, i: enrollment.screening_create(
        study=Study.objects.get(code=CODE), site=Site.objects.get(code="PUMCH"), data=ScreeningInput(), by=c)),
    ("participant_enrol", lambda w, c, i: enrollment.participant_enrol(screening=w.screening, by=c)),
    ("screening_update_not_enrolled", lambda w, c, i: enrollment.screening_update(
        screening=Screening.objects.get(pk=w.screening.pk), data=ScreeningInput(values={"weight_kg": 61.0}),
        reason="Corrected", by=c)),
]
CASES = [(scope, name, call) for scope in ("casebook", "study") for name, call in SERVICES] + [
    ("study", name, call) for name, call in STUDY_ONLY]


@pytest.mark.parametrize("scope, name, call", CASES, ids=[f"{s}-{n}" for s, n, _c in CASES])
def test_every_write_service_refuses_a_locked_record_and_writes_nothing(world, admin, coordinator, investigator,
                                                                         scope, name, call):
    _lock(scope, world, admin)
    before = history_rows()

    with pytest.raises(RecordLocked) as refused:
        call(world, coordinator, investigator)

    assert list(refused.value.errors) == ["lock"]
    assert ("Signed and cleaned" if scope == "casebook" else "Final analysis") in refused.value.message
    assert refused.value.status == 409
    assert history_rows() == before


def test_an_unlocked_casebook_takes_changes_again(world, admin, coordinator):
    _lock("casebook", world, admin)
    with pytest.raises(RecordLocked):
        followup.visit_record(visit=_visit(world), done_at=now(), by=coordinator)
    _unlock("casebook", world, admin)

    visit = followup.visit_record(visit=_visit(world), done_at=now(), deviation_reason="Came early", by=coordinator)

    assert visit.state == "done"


def test_another_participant_of_the_study_is_not_locked_by_a_casebook_lock(world, admin, coordinator):
    _lock("casebook", world, admin)

    screening = enrollment.screening_update(screening=Screening.objects.get(pk=world.screening.pk),
                                            data=ScreeningInput(values={"weight_kg": 61.0}), reason="Corrected",
                                            by=coordinator, check=False)

    assert screening.weight_kg == 61.0


# --- the API: 409 with errors.lock -----------------------------------------------------------------------

API_WRITES = ["api-screening-detail", "api-screening-consent", "api-screening-eligibility-confirmation",
              "api-screening-reevaluation", "api-participant-withdraw", "api-participant-infusions",
              "api-participant-adverse-events", "api-adverse-event", "api-assessment", "api-adverse-event-confirm",
              "api-adverse-event-dismiss", "api-adverse-event-sae-report", "api-participant-visit-record",
              "api-participant-assessments"]
API_CASES = [(scope, name) for scope in ("casebook", "study") for name in API_WRITES] + [
    ("study", "api-study-screenings"), ("study", "api-screening-enrol")]
PATCHED = {"api-screening-detail", "api-adverse-event", "api-assessment"}


def _url_kwargs(world: World, name: str, scope: str) -> dict:
    kwargs = world.url_kwargs()[name]
    if scope == "casebook" and name.startswith("api-screening-"):  # the locked participant's own screening
        kwargs = {"pk": world.participant.screening_id}
    return kwargs


@pytest.mark.parametrize("scope, name", API_CASES, ids=[f"{s}-{n}" for s, n in API_CASES])
def test_every_write_endpoint_answers_409_on_a_locked_record(world, admin, coordinator, investigator, scope, name):
    _lock(scope, world, admin)
    client = client_for(investigator if name in World.SIGNED else coordinator)
    url = reverse(name, kwargs=_url_kwargs(world, name, scope))
    body = base_bodies(world)[name]
    before = history_rows()

    response = (patch_current(client, url, body, format="json") if name in PATCHED
                else client.post(url, body, format="json"))

    assert response.status_code == 409, response.content
    assert list(response.json()["errors"]) == ["lock"]
    assert "is locked" in response.json()["errors"]["lock"][0]
    assert history_rows() == before


def test_unlocking_the_study_restores_the_api(world, admin, coordinator):
    _lock("study", world, admin)
    client = client_for(coordinator)
    url = reverse("api-participant-assessments", args=[world.participant.pk])
    body = {"date": (today() - timedelta(days=1)).isoformat(), "bleeding_grade": 0}
    assert client.post(url, body, format="json").status_code == 409
    _unlock("study", world, admin)

    assert client.post(url, body, format="json").status_code == 201


# --- the pages: 403 naming the lock, for GET and POST ------------------------------------------------------

def _pages(w: World) -> list[tuple[str, str, dict, str]]:
    """(page, url, post data, who): every page that changes a participant's record."""
    p, s = w.participant.pk, w.participant.screening_id
    return [
        ("screening-edit", reverse("screening-edit", args=[s]), {}, "coordinator"),
        ("screening-consent", reverse("screening-consent", args=[s]), {}, "coordinator"),
        ("screening-eligibility-confirm", reverse("screening-eligibility-confirm", args=[s]), {}, "investigator"),
        ("screening-reevaluate", reverse("screening-reevaluate", args=[s]), {"reason": "x"}, "coordinator"),
        ("participant-withdraw", reverse("participant-withdraw", args=[p]), {}, "coordinator"),
        ("infusion-record", reverse("infusion-record", args=[p]), {}, "coordinator"),
        ("infusion-missed", reverse("infusion-missed", args=[p]), {"number": 2, "reason": "Ill"}, "coordinator"),
        ("visit-record", reverse("visit-record", args=[p, "M1"]), {"missed": "1", "reason": "x"}, "coordinator"),
        ("assessment-new", reverse("assessment-new", args=[p]), {}, "coordinator"),
        ("assessment-edit", reverse("assessment-edit", args=[w.assessment.pk]), {}, "coordinator"),
        ("adverse-event-new", reverse("adverse-event-new", args=[p]), {}, "coordinator"),
        ("adverse-event-edit", reverse("adverse-event-edit", args=[w.event.pk]), {}, "coordinator"),
        ("adverse-event-confirm", reverse("adverse-event-detail", args=[w.draft.pk]), {"grade": "1"}, "investigator"),
        ("adverse-event-sae-report", reverse("adverse-event-detail", args=[w.event.pk]),
         {"sae_report": "1", "reported_at": "2026-01-01T10:00"}, "coordinator"),
    ]


PAGE_NAMES = ["screening-edit", "screening-consent", "screening-eligibility-confirm", "screening-reevaluate",
              "participant-withdraw", "infusion-record", "infusion-missed", "visit-record", "assessment-new",
              "assessment-edit", "adverse-event-new", "adverse-event-edit", "adverse-event-confirm",
              "adverse-event-sae-report"]
GET_PAGES = ["screening-edit", "infusion-record", "visit-record", "assessment-new", "assessment-edit",
             "adverse-event-new", "adverse-event-edit"]


@pytest.mark.parametrize("scope", ["casebook", "study"])
@pytest.mark.parametrize("page", PAGE_NAMES)
def test_every_edit_page_answers_403_naming_the_lock(client, world, admin, coordinator, investigator, scope, page):
    _lock(scope, world, admin)
    name, url, data, who = next(row for row in _pages(world) if row[0] == page)
    client.force_login(investigator if who == "investigator" else coordinator)
    before = history_rows()

    responses = [client.post(url, data)] + ([client.get(url)] if page in GET_PAGES else [])

    for response in responses:
        assert response.status_code == 403, (response.request["REQUEST_METHOD"], response.status_code)
        text = response.content.decode()
        assert ("Signed and cleaned" if scope == "casebook" else "Final analysis") in text
        assert "is locked" in text
    assert history_rows() == before


@pytest.mark.parametrize("page", ["screening-new", "screening-enrol"])
def test_a_locked_study_takes_no_new_screening_or_enrolment_on_the_pages(client, world, admin, coordinator, page):
    _lock("study", world, admin)
    client.force_login(coordinator)
    url = (reverse("screening-new", args=[CODE]) if page == "screening-new"
           else reverse("screening-enrol", args=[world.screening.pk]))

    response = client.post(url, {})

    assert response.status_code == 403 and "Final analysis" in response.content.decode()


def test_the_adverse_event_page_of_a_locked_casebook_shows_the_lock_and_no_forms(client, world, admin,
                                                                                investigator):
    _lock("casebook", world, admin)
    client.force_login(investigator)

    text = client.get(reverse("adverse-event-detail", args=[world.draft.pk])).content.decode()

    assert 'data-testid="casebook-lock"' in text and "Signed and cleaned" in text
    assert 'name="password"' not in text  # neither the confirmation nor the dismissal form


def test_unlocking_restores_the_edit_pages(client, world, admin, coordinator):
    _lock("casebook", world, admin)
    client.force_login(coordinator)
    url = reverse("assessment-new", args=[world.participant.pk])
    assert client.get(url).status_code == 403
    _unlock("casebook", world, admin)

    assert client.get(url).status_code == 200
