"""No lost update on the visit plan (API.md "Versions", `trials.concurrency`): a visit carries a
version; recording it done or missed from a read older than the row (re-dated or changed since) is
refused with 409 (API) or the conflict box (page), nothing written."""
from datetime import timedelta

from django.urls import reverse

from followup.models import Visit
from followup.tests.test_visit_record import at, record
from trials.audit import audited_save
from trials.tests.support import setup_update


def _re_date(visit_row, by, minutes=5):
    """Another user's change of the visit's plan (as the schedule's re-dating does)."""
    visit_row.target_at += timedelta(minutes=minutes)
    visit_row.window_end += timedelta(minutes=minutes)
    audited_save(visit_row, by=by, reason="Re-dated after the infusion")


def test_recording_a_visit_moves_its_version_on_and_answers_it(api, woman):
    read = Visit.objects.get(participant=woman, code="PK-30M").row_version
    response = record(api, woman, "PK-30M", done_at=at(woman, 8, 20), version=read)
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == read + 1 and response["ETag"] == f'"{read + 1}"'
    row = Visit.objects.get(participant=woman, code="PK-30M")
    assert (row.state, row.row_version, row.history.first().row_version) == ("done", read + 1, read + 1)


def test_a_visit_re_dated_since_it_was_read_is_refused_with_the_current_row(api, woman, make_user):
    row = Visit.objects.get(participant=woman, code="PK-30M")
    read = row.row_version
    _re_date(row, make_user("coordinator", username="colleague"))
    history = row.history.count()

    stale = record(api, woman, "PK-30M", done_at=at(woman, 8, 20), version=read)
    assert stale.status_code == 409
    body = stale.json()
    assert "colleague" in body["errors"]["version"][0]
    assert (body["current"]["version"], body["current"]["state"]) == (read + 1, "upcoming")
    by_header = api.post(f"/api/v1/participants/{woman.pk}/visits/PK-30M/", {"missed": True, "reason": "Asleep"},
                         format="json", HTTP_IF_MATCH=f'"{read}"')
    assert by_header.status_code == 409
    row.refresh_from_db()
    assert (row.state, row.row_version, row.history.count()) == ("upcoming", read + 1, history)

    assert record(api, woman, "PK-30M", done_at=at(woman, 8, 20), version=read + 1).status_code == 200


def test_the_visit_page_shows_the_change_and_keeps_the_values(client, woman, coordinator, make_user):
    client.force_login(coordinator)
    url = reverse("visit-record", args=[woman.pk, "PK30M"])
    read = client.get(url).context["done_form"].initial["version"]
    _re_date(Visit.objects.get(participant=woman, code="PK30M"), make_user("coordinator", username="colleague"))

    done_at = f"{woman.planned_day0.isoformat()}T09:31"
    stale = client.post(url, {"done_at": done_at, "version": read})
    assert stale.status_code == 200
    text = stale.content.decode()
    assert 'data-testid="edit-conflict"' in text and "colleague" in text and "Re-dated after the infusion" in text
    assert stale.context["done_form"]["version"].value() == str(read + 1)
    assert Visit.objects.get(participant=woman, code="PK30M").state == "upcoming"

    again = client.post(url, stale.context["done_form"].data)
    assert again.status_code == 302
    assert Visit.objects.get(participant=woman, code="PK30M").state == "done"


def test_a_queryset_update_of_a_versioned_record_moves_its_version_on(woman):
    """A change made outside the services (an audited queryset update) also makes older reads stale."""
    before = {v.pk: v.row_version for v in Visit.objects.filter(participant=woman)}
    setup_update(Visit.objects.filter(participant=woman), provisional=False)
    after = {v.pk: v.row_version for v in Visit.objects.filter(participant=woman)}
    assert after == {pk: version + 1 for pk, version in before.items()}
