"""Correcting a confirmed adverse event with a reason (`services.adverse_event_update`, `GET`/`PATCH
/api/v1/adverse-events/{id}/`): the validation of recording, the investigator's causality, the
states that cannot be corrected, and the 3+3 counts that follow the correction at once
(CLINICAL_RULES.md sections 3-4)."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dosing.tests.escalation_setup import adverse_event, dlt_onset, enrol_p2
from followup import services
from followup.models import AdverseEvent
from followup.tests.factories import AdverseEventFactory
from trials.audit import audited_save
from trials.tests.support import SIGNER_PASSWORD, Later, client_for, confirm_adverse_event, made, patch_current

ESCALATION = "/api/v1/studies/HUCMSC-ITP-ESC/escalation/"
REASON = "Source document re-read at monitoring"


@pytest.fixture
def participant(studies, coordinator):
    return enrol_p2(coordinator)


@pytest.fixture
def event(participant, coordinator):
    """Grade 3 ALT increase, possibly related, inside the DLT window: a DLT."""
    return adverse_event(participant, onset=dlt_onset(), by=coordinator)


def url(event) -> str:
    return f"/api/v1/adverse-events/{event.pk}/"


def level_a(client) -> dict:
    return client.get(ESCALATION).json()["levels"][0]


def test_patch_corrects_the_grade_with_the_reason_and_the_dlt_follows(api, event, coordinator):
    response = patch_current(api, url(event), {"grade": 2, "reason": REASON}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["grade"], body["relationship"], body["term"]) == (2, "possible", "Alanine aminotransferase increased")
    assert (body["dlt"]["is_dlt"], body["dlt"]["counts"]) == (False, False)
    assert (body["status"], body["confirmation"]) == ("draft", None)  # the coordinator's change withdrew the signature
    latest, withdrawn = AdverseEvent.objects.get().history.all()[:2]
    assert (latest.history_type, latest.grade, latest.history_change_reason, latest.history_user) == (
        "~", 2, REASON, coordinator)
    assert (withdrawn.status, withdrawn.grade, withdrawn.confirmed_by, withdrawn.history_change_reason) == (
        "draft", 3, None, f"Signature withdrawn: grade changed by {coordinator.username}: {REASON}")


def test_the_escalation_api_reflects_a_corrected_grade_and_dlt_flag(studies, api, coordinator, investigator):
    first = enrol_p2(coordinator)
    enrol_p2(coordinator)
    enrol_p2(coordinator)
    event = adverse_event(first, onset=dlt_onset(), by=coordinator)
    before = client_for(coordinator).get(ESCALATION).json()
    assert (before["levels"][0]["dlts"], before["proposal"]["action"]) == (1, "expand")

    signed = patch_current(client_for(investigator), url(event),
                           {"grade": 2, "reason": "Grade 2 on the lab report (3.8 x ULN)",
                                                         "password": SIGNER_PASSWORD}, format="json")
    assert (signed.status_code, signed.json()["status"]) == (200, "confirmed")
    after_grade = client_for(coordinator).get(ESCALATION).json()

    assert (after_grade["levels"][0]["dlts"], after_grade["proposal"]["action"]) == (0, "escalate")

    patch_current(api, url(event), {"stopped_infusions": True, "reason": "The toxicity stopped the planned infusions"},
              format="json")
    assert level_a(client_for(coordinator))["dlts"] == 1


def test_patch_changes_only_the_fields_given(api, event):
    patch_current(api, url(event), {"description": "ALT 6 x ULN", "reason": REASON}, format="json")

    response = patch_current(api, url(event), {"resolution_date": (dlt_onset() + timedelta(days=9)).isoformat(),
                                       "outcome": "recovered", "reason": "Resolved at the next visit"}, format="json")

    assert response.status_code == 200, response.json()
    event.refresh_from_db()
    assert (event.grade, event.description, event.outcome, event.resolution_date) == (
        3, "ALT 6 x ULN", "recovered", dlt_onset() + timedelta(days=9))


def test_patch_without_a_reason_is_refused_and_changes_nothing(api, event):
    response = patch_current(api, url(event), {"grade": 2}, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"reason": ["Say why the adverse event is corrected (kept in the audit "
                                                     "trail)."]}}
    assert (AdverseEvent.objects.get().grade, event.history.count()) == (3, 2)  # recorded, signed


@pytest.mark.parametrize("changes, errors", [
    ({"grade": 5, "serious": False},
     {"serious": ["A grade 5 event (death) is serious."],
      "outcome": ["A grade 5 event (death) has the outcome Fatal."]}),
    ({"serious": True},
     {"seriousness": ["A serious adverse event needs at least one seriousness criterion: Results in death, "
                      "Life-threatening, Requires or prolongs hospitalisation, Persistent or significant "
                      "disability, Congenital anomaly, Other important medical event."]}),
    (Later(lambda: {"resolution_date": (dlt_onset() - timedelta(days=1)).isoformat(), "grade": 0}),
     {"resolution_date": ["The event resolves before its onset."],
      "grade": ["The CTCAE grade is a whole number from 1 to 5."]}),
    ({"resolved_to_grade1_within_48h": True},
     {"resolved_to_grade1_within_48h": ["Only a fever is judged on resolving to grade 1 within 48 h "
                                        "(the study's DLT definition)."]}),
    ({"term": "Liver damage"},
     {"term": ["'Liver damage' is not in this product's CTCAE v5.0 term list (the terms common in these studies). "
               "Choose a listed term or, for an event the list does not name, tick \"Other, specify\"."]}),
    ({"category": "cardiac", "onset_date": None},
     {"category": ["Choose the category: Haematological, Non-haematological, Infusion-related reaction, "
                  "Allergic reaction, Fever."],
      "onset_date": ["Give the date of onset."]}),
])
def test_patch_validates_as_recording_does(api, event, changes, errors):
    response = patch_current(api, url(event), {**made(changes), "reason": REASON}, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert event.history.count() == 2  # recorded, signed


def test_a_term_is_corrected_to_a_listed_one_in_its_ctcae_spelling_or_as_other_specify(api, event):
    listed = patch_current(api, url(event), {"term": "  aspartate aminotransferase INCREASED ", "reason": REASON},
                       format="json")
    other = patch_current(api, url(event), {"term": "Drug-induced liver injury", "term_other": True, "reason": REASON},
                      format="json")

    assert (listed.json()["term"], listed.json()["term_other"]) == ("Aspartate aminotransferase increased", False)
    assert other.status_code == 200, other.json()
    assert (other.json()["term"], other.json()["term_other"]) == ("Drug-induced liver injury", True)
    stored = AdverseEvent.objects.get()
    assert (stored.term, stored.term_other) == ("Drug-induced liver injury", True)
    kept = patch_current(api, url(event), {"grade": 2, "reason": REASON}, format="json")
    assert (kept.json()["term"], kept.json()["term_other"]) == ("Drug-induced liver injury", True)


def test_an_event_recorded_under_an_unlisted_term_is_corrected_without_retyping_it(api, event, coordinator):
    event.term = "Transaminitis"
    audited_save(event, by=coordinator, reason="Recorded before the CTCAE list")

    response = patch_current(api, url(event), {"grade": 2, "reason": REASON}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["term"], response.json()["grade"]) == ("Transaminitis", 2)


def test_a_coordinator_cannot_change_causality_an_investigator_can(event, coordinator, investigator):
    refused = patch_current(client_for(coordinator), url(event),
                            {"relationship": "unrelated", "reason": REASON}, format="json")
    same = patch_current(client_for(coordinator), url(event), {"relationship": "possible", "description": "ALT 6 x ULN",
                                                      "reason": REASON}, format="json")
    unsigned = patch_current(client_for(investigator), url(event), {"relationship": "unrelated",
                                                           "reason": "Alternative cause"}, format="json")
    accepted = patch_current(client_for(investigator), url(event),
                             {"relationship": "unrelated", "reason": "Alternative cause",
                                                           "password": SIGNER_PASSWORD}, format="json")

    assert refused.status_code == 403
    assert refused.json() == {"errors": {"detail": ["Only an investigator changes the relationship to treatment "
                                                    "(causality)."]}}
    assert same.status_code == 200, same.json()
    assert unsigned.status_code == 403
    assert accepted.status_code == 200, accepted.json()
    assert (accepted.json()["relationship"], accepted.json()["dlt"]["is_dlt"]) == ("unrelated", False)
    assert [row.history_change_reason for row in AdverseEvent.objects.get().history.all()][:2] == [
        "Alternative cause", REASON]


def test_a_dismissed_event_and_a_draft_are_not_corrected(api, participant, coordinator, investigator):
    base = {"participant": participant, "term": "Anemia", "category": "haematological", "onset_date": dlt_onset(),
            "status": "draft", "reported_by": coordinator}
    draft = AdverseEvent.objects.create(**base)
    dismissed = AdverseEvent.objects.create(**base)
    services.adverse_event_dismiss(event=dismissed, reason="Sample haemolysed", password=SIGNER_PASSWORD,
                                   by=investigator)

    on_draft = patch_current(api, url(draft), {"grade": 2, "reason": REASON}, format="json")
    on_dismissed = patch_current(api, url(dismissed), {"grade": 2, "reason": REASON}, format="json")

    assert on_draft.status_code == on_dismissed.status_code == 409
    assert on_draft.json() == {"errors": {"non_field_errors": [
        "This adverse event is a draft: an investigator confirms or dismisses it first."]}}
    assert on_dismissed.json() == {"errors": {"non_field_errors": [
        "This adverse event was dismissed; a dismissed event is not corrected."]}}
    assert list(AdverseEvent.objects.filter(grade__isnull=False)) == []


def test_the_site_cannot_learn_of_a_reported_sae_after_its_report(api, participant, coordinator):
    aware = timezone.now().replace(microsecond=0) - timedelta(hours=5)
    event = AdverseEventFactory(participant=participant, term="Lung infection", category="non_haematological",
                                onset_date=timezone.localdate(), grade=3, serious=True, seriousness=["hospitalisation"],
                                relationship="unlikely", site_aware_at=aware, by=coordinator)
    confirm_adverse_event(event)
    services.adverse_event_sae_report(event=event, reported_at=aware + timedelta(hours=2), by=coordinator)

    response = patch_current(api, url(event),
                             {"site_aware_at": (aware + timedelta(hours=3)).isoformat(), "reason": REASON},
                         format="json")

    assert response.status_code == 400
    reported = timezone.localtime(aware + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    assert response.json() == {"errors": {"site_aware_at": [
        f"The site learned of the event before its SAE report ({reported})."]}}


def test_a_patch_that_changes_nothing_writes_nothing(api, event):
    response = patch_current(api, url(event), {"grade": 3, "relationship": "possible", "reason": REASON}, format="json")
    assert response.status_code == 200
    assert event.history.count() == 2  # recorded, signed


# --- roles and sites ----------------------------------------------------------------------------

def test_get_returns_the_event_with_its_dlt_assessment_to_every_role_of_the_site(event, make_user):
    for role in ("coordinator", "investigator", "monitor"):
        body = client_for(make_user(role)).get(url(event)).json()
        assert (body["id"], body["grade"], body["dlt"]["is_dlt"]) == (event.pk, 3, True)


def test_a_monitor_cannot_correct_and_another_site_gets_404(event, make_user):
    monitor = client_for(make_user("monitor"))
    elsewhere = client_for(make_user("investigator", site="XH"))

    assert patch_current(monitor, url(event), {"grade": 2, "reason": REASON}, format="json").status_code == 403
    assert elsewhere.get(url(event)).status_code == 404
    assert patch_current(elsewhere, url(event), {"grade": 2, "reason": REASON}, format="json").status_code == 404
    assert patch_current(APIClient(), url(event), {"grade": 2, "reason": REASON}, format="json").status_code == 401
    assert AdverseEvent.objects.get().grade == 3


def test_the_service_locks_the_row_and_reads_a_bounded_number_of_rows_sets(event, coordinator,
                                                                          django_assert_max_num_queries):
    fresh = AdverseEvent.objects.select_related("participant").get(pk=event.pk)
    data = services.AdverseEventInput(**{name: services.KEEP for name in services.ADVERSE_EVENT_CORRECTABLE})
    data.grade = 2
    with django_assert_max_num_queries(10):
        services.adverse_event_update(event=fresh, data=data, reason=REASON, by=coordinator,
                                      version=fresh.row_version)
    assert AdverseEvent.objects.get().grade == 2


def test_the_audit_page_of_the_event_shows_the_correction(client, api, event, coordinator):
    patch_current(api, url(event), {"description": "ALT 6 x ULN", "reason": REASON}, format="json")
    client.force_login(coordinator)

    entries = client.get(reverse("audit-trail", args=["adverse-event", event.pk])).context["entries"]

    assert (entries[0].action, entries[0].reason) == ("changed", REASON)
    assert [(c.field, c.old, c.new) for c in entries[0].changes] == [("description", "", "ALT 6 x ULN")]


@pytest.fixture
def overdue_sae(participant, coordinator):
    aware = timezone.now().replace(microsecond=0) - timedelta(hours=30)
    return confirm_adverse_event(AdverseEventFactory(
        participant=participant, term="Lung infection", category="non_haematological", onset_date=timezone.localdate(),
        grade=3, serious=True, seriousness=["hospitalisation"], relationship="unlikely", site_aware_at=aware,
        by=coordinator))


def test_a_coordinator_cannot_restart_the_sae_clock_an_investigator_can(overdue_sae, coordinator, investigator):
    later = {"site_aware_at": timezone.now().isoformat(), "reason": "Site learned of it today"}
    refused = patch_current(client_for(coordinator), url(overdue_sae), later, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"errors": {"detail": [
        "Only an investigator moves later the time the site learned of a serious adverse event: it starts the "
        "24-hour reporting clock."]}}
    overdue_sae.refresh_from_db()
    assert overdue_sae.sae_overdue

    earlier = (overdue_sae.site_aware_at - timedelta(hours=1)).isoformat()
    assert patch_current(client_for(coordinator), url(overdue_sae), {"site_aware_at": earlier, "reason": REASON},
                                         format="json").status_code == 200
    accepted = patch_current(client_for(investigator), url(overdue_sae), later, format="json")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["sae_overdue"] is False


def test_an_event_made_serious_starts_its_reporting_clock_at_the_correction(api, participant, coordinator):
    aware = timezone.now() - timedelta(days=3)
    event = AdverseEventFactory(participant=participant, term="Lung infection", category="non_haematological",
                                onset_date=timezone.localdate(), grade=3, serious=False, relationship="unlikely",
                                site_aware_at=aware, by=coordinator)
    confirm_adverse_event(event)
    before = timezone.now()
    response = patch_current(api, url(event), {"serious": True, "seriousness": ["hospitalisation"],
                                      "reason": "Admitted to hospital"}, format="json")
    assert response.status_code == 200, response.json()
    event.refresh_from_db()
    assert before <= event.site_aware_at <= timezone.now()
    assert response.json()["sae_overdue"] is False
