"""Correcting a confirmed adverse event in the browser: the Correct link of the detail page, the form
prefilled with the event, the reason, causality kept for investigators, roles and sites."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing.tests.escalation_setup import adverse_event, dlt_onset, enrol_p2
from followup.models import AdverseEvent
from followup.tests.support import adverse_event_form_as_posted
from trials.tests.support import SIGNER_PASSWORD, setup_update


@pytest.fixture
def event(studies, coordinator):
    return adverse_event(enrol_p2(coordinator), onset=dlt_onset(), by=coordinator, description="ALT 6 x ULN")


def edit_url(event) -> str:
    return reverse("adverse-event-edit", args=[event.pk])


def test_participant_page_links_a_confirmed_event_to_its_page_with_the_correct_link(client, event, coordinator):
    client.force_login(coordinator)
    detail = reverse("adverse-event-detail", args=[event.pk])

    assert detail in client.get(reverse("participant-detail", args=[event.participant_id])).content.decode()
    page = client.get(detail).content.decode()

    assert f'href="{edit_url(event)}"' in page
    assert reverse("audit-trail", args=["adverse-event", event.pk]) in page


def test_a_monitor_sees_no_correct_link(client, event, make_user):
    client.force_login(make_user("monitor"))
    page = client.get(reverse("adverse-event-detail", args=[event.pk])).content.decode()
    assert edit_url(event) not in page


def test_the_form_shows_the_event_and_the_ctcae_term_list(client, event, coordinator):
    client.force_login(coordinator)

    response = client.get(edit_url(event))

    assert response.status_code == 200
    form = response.context["form"]
    assert (form["term"].value(), form["grade"].value(), form["serious"].value(), form["relationship"].value(),
            form["description"].value(), form["term_other"].value()) == (
        "Alanine aminotransferase increased", 3, "no", "possible", "ALT 6 x ULN", False)
    assert form.fields["relationship"].disabled  # causality is the investigator's
    page = response.content.decode()
    assert 'list="ctcae-terms"' in page and '<datalist id="ctcae-terms"' in page
    assert '<option value="Infusion related reaction">' in page
    assert 'name="reason"' in page and "style=" not in page and "<script>" not in page


def test_the_coordinator_corrects_the_grade_with_a_reason(client, event, coordinator):
    client.force_login(coordinator)
    data = adverse_event_form_as_posted(client.get(edit_url(event)).context["form"])

    response = client.post(edit_url(event), {**data, "grade": "2", "relationship": "unrelated",
                                             "reason": "Grade 2 on the lab report"})

    assert response.status_code == 302, response.context and response.context["form"].errors
    event.refresh_from_db()
    assert (event.grade, event.relationship) == (2, "possible")  # a disabled field keeps its value
    assert (event.status, event.confirmed_by, event.confirmed_at) == ("draft", None, None)  # signature withdrawn
    assert [row.history_change_reason for row in event.history.all()[:2]] == [
        "Grade 2 on the lab report",
        f"Signature withdrawn: grade changed by {coordinator.username}: Grade 2 on the lab report"]
    assert event.history.first().site_aware_at == event.history.last().site_aware_at  # the minute shown is kept


def test_the_investigator_changes_causality(client, event, investigator):
    client.force_login(investigator)
    response = client.get(edit_url(event))
    assert not response.context["form"].fields["relationship"].disabled

    posted = client.post(edit_url(event), {**adverse_event_form_as_posted(response.context["form"]),
                                           "relationship": "unrelated", "stopped_infusions": "on",
                                           "reason": "Alternative cause found",
                                           "password": SIGNER_PASSWORD})

    assert posted.status_code == 302, posted.context and posted.context["form"].errors
    event.refresh_from_db()
    assert (event.relationship, event.stopped_infusions, event.confirmed_by) == ("unrelated", True, investigator)


def test_the_form_without_a_reason_or_with_an_unlisted_term_names_the_fields(client, event, coordinator):
    client.force_login(coordinator)
    data = adverse_event_form_as_posted(client.get(edit_url(event)).context["form"])

    response = client.post(edit_url(event), {**data, "term": "Anaemia", "reason": ""})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["reason"] == ["Say why the adverse event is corrected (kept in the audit trail)."]
    assert errors["term"] == ["'Anaemia' is not in this product's CTCAE v5.0 term list "
                              "(the terms common in these studies). Choose a listed term or, "
                              "for an event the list does not name, tick \"Other, specify\". "
                              "Closest listed terms: Anemia."]
    assert AdverseEvent.objects.get().history.count() == 2  # recorded, signed


def test_the_site_aware_time_changed_on_the_form_is_stored(client, event, coordinator):
    client.force_login(coordinator)
    data = adverse_event_form_as_posted(client.get(edit_url(event)).context["form"])
    aware = (timezone.localtime() - timedelta(days=1)).replace(second=0, microsecond=0)

    client.post(edit_url(event), {**data, "site_aware_at": aware.strftime("%Y-%m-%dT%H:%M"),
                                  "reason": "The site learned of it the day before"})

    event.refresh_from_db()
    assert event.site_aware_at == aware


def test_a_draft_is_not_corrected_from_the_form(client, event, coordinator):
    draft = AdverseEvent.objects.create(participant=event.participant, term="Anemia", category="haematological",
                                        onset_date=dlt_onset(), status="draft", reported_by=coordinator)
    client.force_login(coordinator)

    response = client.get(edit_url(draft))

    assert response.status_code == 302 and response["Location"] == reverse("adverse-event-detail", args=[draft.pk])
    assert edit_url(draft) not in client.get(response["Location"]).content.decode()


def test_a_monitor_cannot_open_the_form_and_another_site_gets_404(client, event, make_user):
    assert client.get(edit_url(event)).status_code == 302  # anonymous: to sign in
    client.force_login(make_user("monitor"))
    assert client.get(edit_url(event)).status_code == 403
    assert client.post(edit_url(event), {"grade": "2", "reason": "x"}).status_code == 403
    client.force_login(make_user("investigator", site="XH"))
    assert client.get(edit_url(event)).status_code == 404
    assert AdverseEvent.objects.get().grade == 3


def test_the_edit_page_explains_why_a_coordinator_cannot_restart_the_sae_clock(client, event, coordinator):
    setup_update(AdverseEvent.objects.filter(pk=event.pk), serious=True, seriousness=["hospitalisation"],
                                                    site_aware_at=timezone.now() - timedelta(hours=30))
    client.force_login(coordinator)
    form = client.get(edit_url(event)).context["form"]
    later = timezone.localtime().strftime("%Y-%m-%dT%H:%M")

    response = client.post(edit_url(event), {**adverse_event_form_as_posted(form), "site_aware_at": later,
                                              "reason": "Learned today"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Only an investigator moves later the time the site learned of a serious adverse event: it starts the "
        "24-hour reporting clock."]
    event.refresh_from_db()
    assert event.sae_overdue
