"""Recording the report of a serious adverse event (CLINICAL_RULES.md section 3: within 24 hours of the
site learning of it): the service, `POST /api/v1/adverse-events/{id}/sae-report/` and the pages."""
import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dosing.tests.support import day0
from enrollment import services as enrolment
from enrollment.tests.support import eligible_p3_screening
from followup import services
from followup.models import AdverseEvent
from followup.tests.factories import AdverseEventFactory
from trials.errors import ConflictError, ServiceError
from trials.tests.support import client_for, confirm_adverse_event, require_service, setup_update


@pytest.fixture
def now():
    """The time a test takes as now, to the second."""
    return timezone.now().replace(microsecond=0)


def serious_event(participant, by, *, aware_hours_ago=3, serious=True, status="confirmed", now=None):
    """A serious adverse event the site learned of ``aware_hours_ago`` hours before ``now`` (by default,
    the time of the call)."""
    now = now or timezone.now().replace(microsecond=0)
    event = AdverseEventFactory(participant=participant, term="Lung infection", category="non_haematological",
                                onset_date=day0() + timedelta(days=5), grade=3, serious=serious,
                                relationship="unlikely",
                                seriousness=["hospitalisation"] if serious else [],
                                site_aware_at=now - timedelta(hours=aware_hours_ago), by=by)
    if status == "confirmed":
        confirm_adverse_event(event)  # the site's investigator signs the coordinator's draft
    elif status != "draft":
        setup_update(AdverseEvent.objects.filter(pk=event.pk), status=status, grade=None, serious=None, relationship="")
        event.refresh_from_db()
    return event


def report(client, event, **body):
    return client.post(f"/api/v1/adverse-events/{event.pk}/sae-report/", body, format="json")


# --- service ----------------------------------------------------------------------------------

def test_sae_report_records_time_and_reporter_with_history(now, participant, coordinator):
    event = serious_event(participant, coordinator, now=now)
    at = now - timedelta(hours=1)

    services.adverse_event_sae_report(event=event, reported_at=at, by=coordinator, now=now)

    stored = AdverseEvent.objects.get(pk=event.pk)
    assert (stored.sae_reported_at, stored.sae_reported_by) == (at, coordinator)
    assert not stored.sae_overdue
    latest = stored.history.first()
    assert (latest.history_user, latest.history_change_reason) == (
        coordinator, f"SAE reported at {timezone.localtime(at):%Y-%m-%d %H:%M}")


def test_sae_report_after_the_deadline_is_recorded_as_late(now, participant, coordinator):
    event = serious_event(participant, coordinator, aware_hours_ago=30, now=now)
    services.adverse_event_sae_report(event=event, reported_at=None, by=coordinator, now=now)
    stored = AdverseEvent.objects.get(pk=event.pk)
    assert stored.sae_reported_at == now and not stored.sae_overdue
    assert stored.history.first().history_change_reason == (
        f"SAE reported at {timezone.localtime(now):%Y-%m-%d %H:%M}, after the 24-hour deadline")


def test_sae_report_in_the_future_or_before_the_site_knew_is_refused(now, participant, coordinator):
    event = serious_event(participant, coordinator, aware_hours_ago=3, now=now)
    with pytest.raises(ServiceError) as future:
        services.adverse_event_sae_report(event=event, reported_at=now + timedelta(minutes=5), by=coordinator, now=now)
    assert future.value.errors == {"reported_at": ["The SAE report cannot be dated in the future."]}
    with pytest.raises(ServiceError) as early:
        services.adverse_event_sae_report(event=event, reported_at=now - timedelta(hours=4), by=coordinator, now=now)
    aware = timezone.localtime(now - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
    assert early.value.errors == {"reported_at": [
        f"The SAE report cannot be dated before the site learned of the event ({aware})."]}
    assert AdverseEvent.objects.get(pk=event.pk).sae_reported_at is None


@pytest.mark.parametrize("serious, status, message", [
    (False, "confirmed", "This adverse event is not serious: there is no SAE report."),
    (False, "draft", "This adverse event is not serious: there is no SAE report."),
    (True, "dismissed", "This adverse event was dismissed by the investigator: there is no SAE report."),
])
def test_sae_report_only_for_a_serious_event_not_dismissed(participant, coordinator, serious, status, message):
    event = serious_event(participant, coordinator, serious=serious, status=status)
    with pytest.raises(ConflictError) as refused:
        services.adverse_event_sae_report(event=event, reported_at=None, by=coordinator)
    assert refused.value.errors == {"non_field_errors": [message]}


def test_a_second_sae_report_is_refused_and_names_the_first(now, participant, coordinator, investigator):
    event = serious_event(participant, coordinator, now=now)
    first_at = now - timedelta(hours=2)
    services.adverse_event_sae_report(event=event, reported_at=first_at, by=coordinator, now=now)
    stale = AdverseEvent.objects.get(pk=event.pk)
    stale.sae_reported_at = None  # a copy read before the first report

    with pytest.raises(ConflictError) as again:
        services.adverse_event_sae_report(event=stale, reported_at=None, by=investigator)

    assert again.value.errors == {"non_field_errors": [
        f"This serious adverse event was already reported at {timezone.localtime(first_at):%Y-%m-%d %H:%M} "
        f"by {coordinator.username}."]}
    assert AdverseEvent.objects.get(pk=event.pk).sae_reported_by == coordinator


# --- API --------------------------------------------------------------------------------------

def test_api_records_the_report_now_by_default(api, participant, coordinator):
    event = serious_event(participant, coordinator)
    before = timezone.now()

    response = report(api, event)

    assert response.status_code == 200, response.json()
    body = response.json()
    reported = datetime.fromisoformat(body["sae_reported_at"])
    assert before <= reported <= timezone.now()
    assert (body["sae_reported_by"], body["sae_overdue"], body["sae_reported_late"]) == (
        coordinator.username, False, False)
    assert body["id"] == event.pk and "dlt" in body


def test_api_late_report_at_a_given_time(now, api, participant, coordinator):
    event = serious_event(participant, coordinator, aware_hours_ago=30, now=now)
    at = timezone.localtime(now - timedelta(hours=1))
    body = report(api, event, reported_at=at.isoformat()).json()
    assert datetime.fromisoformat(body["sae_reported_at"]) == at
    assert body["sae_reported_late"] is True
    listed = api.get(f"/api/v1/participants/{participant.pk}/adverse-events/").json()
    assert [(e["sae_reported_by"], e["sae_reported_late"]) for e in listed] == [(event.reported_by.username, True)]


def test_api_refusals_name_the_field_or_the_conflict(api, participant, coordinator):
    event = serious_event(participant, coordinator)
    future = report(api, event, reported_at=(timezone.now() + timedelta(hours=1)).isoformat())
    assert (future.status_code, future.json()) == (
        400, {"errors": {"reported_at": ["The SAE report cannot be dated in the future."]}})
    bad = report(api, event, reported_at="yesterday")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["reported_at"]
    assert report(api, event).status_code == 200
    again = report(api, event)
    assert again.status_code == 409
    assert again.json()["errors"]["non_field_errors"][0].startswith("This serious adverse event was already reported")


def test_api_investigator_may_report(participant, coordinator, investigator):
    event = serious_event(participant, coordinator)
    assert report(client_for(investigator), event).json()["sae_reported_by"] == investigator.username


def test_api_monitor_other_site_and_anonymous_are_refused(participant, coordinator, make_user):
    event = serious_event(participant, coordinator)
    assert report(client_for(make_user("monitor")), event).status_code == 403
    assert report(client_for(make_user("coordinator", site="XH")), event).status_code == 404
    assert report(APIClient(), event).status_code == 401
    assert AdverseEvent.objects.get(pk=event.pk).sae_reported_at is None


# --- pages ------------------------------------------------------------------------------------

def test_detail_page_offers_the_report_form_and_records_it(now, client, participant, coordinator):
    event = serious_event(participant, coordinator, aware_hours_ago=30, now=now)
    client.force_login(coordinator)
    page = client.get(reverse("adverse-event-detail", args=[event.pk])).content.decode()
    assert 'data-testid="sae-report-form"' in page and "Record SAE report" in page
    assert "(overdue)" in page
    at = timezone.localtime(now - timedelta(hours=1))

    response = client.post(reverse("adverse-event-detail", args=[event.pk]),
                           {"sae_report": "1", "reported_at": at.strftime("%Y-%m-%dT%H:%M")})

    assert response.status_code == 302
    stored = AdverseEvent.objects.get(pk=event.pk)
    assert stored.sae_reported_at == at.replace(second=0) and stored.sae_reported_by == coordinator
    page = client.get(reverse("adverse-event-detail", args=[event.pk])).content.decode()
    assert 'data-testid="sae-report-form"' not in page
    assert f"reported {at:%Y-%m-%d %H:%M}" in page and "late: due" in page


def test_detail_page_shows_the_services_refusal_on_the_form(client, participant, coordinator):
    event = serious_event(participant, coordinator)
    client.force_login(coordinator)
    future = timezone.localtime() + timedelta(days=1)
    response = client.post(reverse("adverse-event-detail", args=[event.pk]),
                           {"sae_report": "1", "reported_at": future.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 200
    assert response.context["sae_form"].errors == {"reported_at": ["The SAE report cannot be dated in the future."]}
    assert AdverseEvent.objects.get(pk=event.pk).sae_reported_at is None


def test_detail_page_has_no_report_form_for_a_monitor_or_a_non_serious_event(client, participant, coordinator,
                                                                              make_user):
    serious = serious_event(participant, coordinator)
    mild = serious_event(participant, coordinator, serious=False)
    monitor = make_user("monitor")
    client.force_login(monitor)
    assert 'data-testid="sae-report-form"' not in client.get(
        reverse("adverse-event-detail", args=[serious.pk])).content.decode()
    refused = client.post(reverse("adverse-event-detail", args=[serious.pk]),
                          {"sae_report": "1", "reported_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert refused.status_code == 403
    client.force_login(coordinator)
    assert 'data-testid="sae-report-form"' not in client.get(
        reverse("adverse-event-detail", args=[mild.pk])).content.decode()
    client.force_login(make_user("coordinator", site="XH"))
    assert client.get(reverse("adverse-event-detail", args=[serious.pk])).status_code == 404
    assert AdverseEvent.objects.get(pk=serious.pk).sae_reported_at is None


def test_participant_page_shows_reported_instead_of_overdue(now, client, participant, coordinator):
    on_time = serious_event(participant, coordinator, aware_hours_ago=3, now=now)
    late = serious_event(participant, coordinator, aware_hours_ago=30, now=now)
    client.force_login(coordinator)
    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    assert page.count("(overdue)") == 1 and page.count('data-testid="sae-report-link"') == 2

    services.adverse_event_sae_report(event=on_time, reported_at=now - timedelta(hours=1), by=coordinator, now=now)
    services.adverse_event_sae_report(event=late, reported_at=now - timedelta(minutes=30), by=coordinator, now=now)
    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()

    assert "(overdue)" not in page and 'data-testid="sae-report-link"' not in page
    assert page.count('data-testid="sae-reported"') == 2
    assert f"reported {timezone.localtime(now - timedelta(hours=1)):%Y-%m-%d %H:%M}" in page
    due = timezone.localtime(late.sae_report_due).strftime("%Y-%m-%d %H:%M")
    assert page.count("late: due") == 1 and f"late: due {due}" in page


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reports_record_one(studies, make_user):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    coordinator, investigator = make_user("coordinator"), make_user("investigator")
    screening = eligible_p3_screening(coordinator)
    setup_update(screening.consents, signed_at=timezone.now() - timedelta(days=75))
    participant = enrolment.participant_enrol(screening=screening, enrolled_on=day0() - timedelta(days=2),
                                              first_infusion_on=day0(), by=coordinator)
    event = serious_event(participant, coordinator)
    barrier = threading.Barrier(2)
    outcomes = {}

    def report_as(user):
        try:
            barrier.wait(timeout=10)
            services.adverse_event_sae_report(event=AdverseEvent.objects.select_related("participant").get(pk=event.pk),
                                              reported_at=None, by=user)
            outcomes[user.username] = "reported"
        except ConflictError as error:
            outcomes[user.username] = error.errors["non_field_errors"][0].split(" at ")[0]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report_as, args=(user,)) for user in (coordinator, investigator)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["This serious adverse event was already reported", "reported"]
    stored = AdverseEvent.objects.get(pk=event.pk)
    assert outcomes[stored.sae_reported_by.username] == "reported"
    assert stored.history.filter(history_change_reason__startswith="SAE reported").count() == 1
