"""Adverse events in the browser: recording one, the SAE deadline on the participant page, and the
investigator confirming or dismissing a lab-derived draft."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing.tests.support import day0
from followup.models import AdverseEvent
from followup.tests.support import assess_labs
from trials.audit import change_context
from trials.tests.support import SIGNER_PASSWORD


def form_body():
    return {"term": "Lung infection", "category": "non_haematological",
            "onset_date": (day0() + timedelta(days=5)).isoformat(), "grade": "3", "serious": "yes",
            "seriousness": ["hospitalisation"], "relationship": "unlikely",
            "action_taken": "dose_delayed", "outcome": "recovering", "description": "Admitted for IV antibiotics"}


@pytest.fixture
def draft(api, anaemic):
    assess_labs(api, anaemic, 3, ("HGB", 75, "g/L", 120, 160))
    return AdverseEvent.objects.get()


def test_coordinator_records_a_serious_adverse_event_and_sees_its_deadline(client, participant, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    assert reverse("adverse-event-new", args=[participant.pk]) in page

    response = client.post(reverse("adverse-event-new", args=[participant.pk]), form_body())

    assert response.status_code == 302, response.context["form"].errors
    event = AdverseEvent.objects.get()
    # A coordinator's event is a draft until the investigator signs it; its SAE clock runs all the same.
    assert (event.status, event.grade, event.serious, event.seriousness, event.outcome, event.confirmed_by) == (
        "draft", 3, True, ["hospitalisation"], "recovering", None)
    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    due = timezone.localtime(event.sae_report_due).strftime("%Y-%m-%d %H:%M")
    assert 'data-testid="sae-due"' in page and due in page and "(overdue)" not in page
    assert 'data-testid="sae-report-link"' in page


def test_the_adverse_event_page_shows_everything_recorded(client, participant, coordinator):
    client.force_login(coordinator)
    client.post(reverse("adverse-event-new", args=[participant.pk]), form_body())
    event = AdverseEvent.objects.get()

    page = client.get(reverse("adverse-event-detail", args=[event.pk])).content.decode()

    for shown in ("Draft, to be confirmed and signed by an investigator", "Ongoing", 'data-testid="ae-grade">3<',
                  "Yes: Requires or prolongs hospitalisation", 'data-testid="ae-relationship">Unlikely<',
                  "Admitted for IV antibiotics", timezone.localtime(event.site_aware_at).strftime("%Y-%m-%d %H:%M"),
                  f"by {coordinator.get_username()}"):
        assert shown in page, shown
    assert "Confirmed by the investigator" not in page


def test_the_record_form_names_the_missing_seriousness_criterion(client, participant, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("adverse-event-new", args=[participant.pk]), {**form_body(), "seriousness": []})
    assert response.status_code == 200
    assert response.context["form"].errors["seriousness"] == [
        "A serious adverse event needs at least one seriousness criterion: Results in death, Life-threatening, "
        "Requires or prolongs hospitalisation, Persistent or significant disability, Congenital anomaly, "
        "Other important medical event."]
    assert AdverseEvent.objects.count() == 0


def test_an_overdue_sae_report_is_shown_in_red(client, participant, coordinator):
    client.force_login(coordinator)
    aware = timezone.localtime() - timedelta(hours=30)
    client.post(reverse("adverse-event-new", args=[participant.pk]),
                {**form_body(), "site_aware_at": aware.strftime("%Y-%m-%dT%H:%M")})
    event = AdverseEvent.objects.get()
    assert event.sae_overdue

    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    assert 'class="text-danger fw-bold"' in page and "(overdue)" in page


def test_investigator_confirms_a_draft_from_the_participant_page(client, draft, investigator):
    client.force_login(investigator)
    page = client.get(reverse("participant-detail", args=[draft.participant_id])).content.decode()
    url = reverse("adverse-event-detail", args=[draft.pk])
    assert url in page and "suggested 3" in page
    form_page = client.get(url)
    assert form_page.context["can_sign"] and 'data-testid="suggested-grade"' in form_page.content.decode()

    response = client.post(url, {"grade": "2", "serious": "no", "relationship": "unrelated", "outcome": "recovering",
                                 "password": SIGNER_PASSWORD})

    assert response.status_code == 302, response.context["confirm_form"].errors
    draft.refresh_from_db()
    assert (draft.status, draft.grade, draft.suggested_grade, draft.serious) == ("confirmed", 2, 3, False)
    assert (draft.confirmed_by, draft.confirmation_meaning) == (
        investigator, "I confirm grade, seriousness and relationship to treatment of this adverse event.")


def test_investigator_dismisses_a_draft(client, draft, investigator):
    client.force_login(investigator)
    url = reverse("adverse-event-detail", args=[draft.pk])
    missing = client.post(url, {"dismiss": "1", "reason": "", "password": SIGNER_PASSWORD})
    assert missing.context["dismiss_form"].errors["reason"] == ["Say why the suggested adverse event is dismissed."]

    assert client.post(url, {"dismiss": "1", "reason": "Sample haemolysed", "password": SIGNER_PASSWORD}
                       ).status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.dismissed_reason) == ("dismissed", "Sample haemolysed")


def test_coordinator_sees_the_draft_but_cannot_confirm_it(client, draft, coordinator):
    client.force_login(coordinator)
    url = reverse("adverse-event-detail", args=[draft.pk])
    page = client.get(reverse("participant-detail", args=[draft.participant_id])).content.decode()
    assert url in page and 'data-testid="adverse-event-review"' not in page  # it opens, without the review link
    assert client.get(url).context["can_sign"] is False
    assert client.post(url, {"grade": "3", "serious": "no", "relationship": "unrelated"}).status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_confirm_form_of_a_lab_derived_draft_preselects_the_suggested_grade(client, draft, investigator):
    client.force_login(investigator)

    page = client.get(reverse("adverse-event-detail", args=[draft.pk]))

    assert draft.suggested_grade == 3 and draft.grade is None
    assert page.context["confirm_form"]["grade"].value() == 3
    html = page.content.decode()
    grade = re.search(r'<select name="grade"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d)" selected>', grade) == ["3"]
    assert 'data-testid="suggested-grade"' in html
    assert "Preselected: the suggested grade 3. Choose another if your judgement differs." in html


def test_confirm_form_refused_keeps_the_grade_the_investigator_chose(client, draft, investigator):
    client.force_login(investigator)

    response = client.post(reverse("adverse-event-detail", args=[draft.pk]),
                           {"grade": "2", "serious": "no", "relationship": "unrelated", "password": "wrong"})

    assert response.status_code == 200
    grade = re.search(r'<select name="grade"[^>]*>(.*?)</select>', response.content.decode(), re.S).group(1)
    assert re.findall(r'<option value="(\d)" selected>', grade) == ["2"]
    draft.refresh_from_db()
    assert (draft.status, draft.grade) == ("draft", None)


def test_confirm_form_of_a_graded_draft_preselects_its_grade_without_the_suggestion_note(client, draft, investigator):
    with change_context(by=None, reason="Graded by the coordinator"):
        AdverseEvent.objects.filter(pk=draft.pk).update(grade=2)
    client.force_login(investigator)

    page = client.get(reverse("adverse-event-detail", args=[draft.pk]))

    grade = re.search(r'<select name="grade"[^>]*>(.*?)</select>', page.content.decode(), re.S).group(1)
    assert re.findall(r'<option value="(\d)" selected>', grade) == ["2"]
    assert "Preselected: the suggested grade" not in page.content.decode()
