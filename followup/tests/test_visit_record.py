"""Marking visits done and timed samples collected, with deviations (CLINICAL_RULES.md section 8)."""
from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from followup.models import Visit

TZ = timezone.get_current_timezone()


def record(api, participant, code, **body):
    return api.post(f"/api/v1/participants/{participant.pk}/visits/{code}/", body, format="json")


def at(participant, hour, minute):
    return datetime.combine(participant.planned_day0, time(hour, minute), tzinfo=TZ).isoformat()


def test_samples_are_timed_from_the_first_infusions_actual_start(woman):
    samples = {v.code: timezone.localtime(v.target_at).strftime("%H:%M")
               for v in woman.visits.filter(code__startswith="PK")}
    assert (samples["PK-30M"], samples["PK30M"], samples["PK4H"]) == ("08:30", "09:30", "13:00")
    assert not woman.visits.get(code="PK-30M").provisional


def test_sample_collected_inside_its_window(api, woman):
    response = record(api, woman, "PK-30M", done_at=at(woman, 8, 20))
    body = response.json()
    assert response.status_code == 200, body
    assert (body["state"], body["deviation"]) == ("done", False)


def test_sample_outside_its_window_needs_a_reason(api, woman):
    refused = record(api, woman, "PK-30M", done_at=at(woman, 8, 40))
    assert refused.status_code == 400
    day = woman.planned_day0.isoformat()
    assert refused.json()["errors"] == {"deviation_reason": [
        f"PK-30M on {day} 08:40 is outside its window {day} 08:15 to {day} 08:30: give the reason "
        "(it is recorded as a protocol deviation)."]}
    accepted = record(api, woman, "PK-30M", done_at=at(woman, 8, 40), deviation_reason="Line blocked")
    assert accepted.json()["deviation"] is True
    assert Visit.objects.get(participant=woman, code="PK-30M").history.first().history_change_reason == "PK-30M done"


def test_missed_sample_needs_a_reason_and_is_recorded_once(api, woman):
    assert record(api, woman, "PK96H", missed=True).json() == {
        "errors": {"reason": ["Say why the visit or sample was missed."]}}
    assert record(api, woman, "PK96H", missed=True, reason="Patient left").json()["state"] == "missed"
    assert record(api, woman, "PK96H", missed=True, reason="again").status_code == 409


def test_visit_in_the_future_or_before_enrolment_is_refused(api, woman):
    future = record(api, woman, "W1", done_at=(timezone.now() + timedelta(days=1)).isoformat())
    assert future.json() == {"errors": {"done_at": ["A visit cannot be done in the future."]}}
    before = datetime.combine(woman.enrolled_on - timedelta(days=1), time(9), tzinfo=TZ)
    assert record(api, woman, "W1", done_at=before.isoformat()).json() == {
        "errors": {"done_at": ["A visit cannot be dated before enrolment."]}}


def test_monitor_cannot_record_a_visit(woman, make_user):
    monitor = APIClient()
    monitor.force_authenticate(make_user("monitor"))
    assert record(monitor, woman, "W1", done_at=timezone.now().isoformat()).status_code == 403


def test_sample_recorded_from_the_participant_page(client, woman, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("participant-detail", args=[woman.pk])).content.decode()
    assert reverse("visit-record", args=[woman.pk, "PK30M"]) in page
    url = reverse("visit-record", args=[woman.pk, "PK30M"])
    refused = client.post(url, {"done_at": f"{woman.planned_day0.isoformat()}T10:30"})
    assert "deviation_reason" in refused.context["done_form"].errors
    client.post(url, {"done_at": f"{woman.planned_day0.isoformat()}T09:31"})
    assert Visit.objects.get(participant=woman, code="PK30M").state == "done"


def test_monitor_cannot_open_the_visit_form(client, woman, make_user):
    client.force_login(make_user("monitor"))
    assert client.get(reverse("visit-record", args=[woman.pk, "W1"])).status_code == 403
