"""No lost update on the infusion plan (API.md "Versions", `trials.concurrency`): every infusion row
carries a version; recording it from a version older than the row (re-planned or changed by someone
else since it was read) is refused with 409 (API) or the conflict box (page), nothing written."""
from django.urls import reverse

from dosing.models import Infusion
from dosing.tests.support import form_data, give
from trials.audit import audited_save


def _infusions(api, participant):
    return {row["number"]: row for row in api.get(f"/api/v1/participants/{participant.pk}/infusions/").json()}


def test_the_api_gives_each_infusion_its_version_and_moves_it_on_when_recorded(api, participant):
    before = _infusions(api, participant)
    assert {row["version"] for row in before.values()} == {1}
    response = give(api, participant, 1, 0, version=before[1]["version"])
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 2 and response["ETag"] == '"2"'


def test_recording_from_a_plan_read_before_a_re_planning_is_refused_with_the_current_row(api, participant):
    give(api, participant, 1, 0)
    read = _infusions(api, participant)[3]["version"]
    assert give(api, participant, 2, 9, deviation_reason="Fever on day 7").status_code == 201  # re-plans 3
    third = Infusion.objects.get(participant=participant, number=3)
    assert third.row_version == read + 1
    history_rows = third.history.count()

    stale = give(api, participant, 3, 23, version=read)
    assert stale.status_code == 409
    body = stale.json()
    assert "since you read it" in body["errors"]["version"][0]
    assert (body["current"]["version"], body["current"]["state"]) == (read + 1, "planned")
    third.refresh_from_db()
    assert (third.state, third.row_version, third.history.count()) == ("planned", read + 1, history_rows)

    by_header = api.post(f"/api/v1/participants/{participant.pk}/infusions/",
                         {"number": 3, "missed": True, "reason": "Admitted elsewhere"}, format="json",
                         HTTP_IF_MATCH=f'"{read}"')
    assert by_header.status_code == 409
    assert Infusion.objects.get(participant=participant, number=3).state == "planned"

    current = give(api, participant, 3, 23, version=read + 1)
    assert current.status_code == 201, current.json()


def test_recording_without_a_version_still_works(api, participant):
    """A version is checked when the caller sends one (integrations recording what happened at the
    bedside need not read the row first); the same infusion recorded twice is refused either way."""
    assert give(api, participant, 1, 0).status_code == 201
    again = give(api, participant, 1, 0)
    assert again.status_code in (400, 409) and Infusion.objects.filter(participant=participant,
                                                                    state="given").count() == 1


def test_the_page_shows_who_changed_the_plan_and_keeps_the_values_entered(client, participant, coordinator,
                                                                          make_user):
    client.force_login(coordinator)
    page = client.get(reverse("infusion-record", args=[participant.pk]))
    read = page.context["form"].initial["version"]
    assert 'name="version"' in page.content.decode()

    row = Infusion.objects.get(participant=participant, number=1)
    row.anchor_message = {"code": "text", "params": {"text": "first infusion, moved by the pharmacy"}}
    audited_save(row, by=make_user("coordinator", username="colleague"), reason="Pharmacy slot moved")

    stale = client.post(reverse("infusion-record", args=[participant.pk]),
                        form_data(0, version=str(read), premedication="Paracetamol 500 mg"))
    assert stale.status_code == 200
    text = stale.content.decode()
    assert 'data-testid="edit-conflict"' in text
    assert "colleague" in text and "Pharmacy slot moved" in text
    assert stale.context["form"]["premedication"].value() == "Paracetamol 500 mg"
    assert stale.context["form"]["version"].value() == str(read + 1)
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"

    again = client.post(reverse("infusion-record", args=[participant.pk]), stale.context["form"].data)
    assert again.status_code == 302
    given = Infusion.objects.get(participant=participant, number=1)
    assert (given.state, given.premedication) == ("given", "Paracetamol 500 mg")


def test_a_missed_infusion_from_a_stale_page_is_refused_then_recorded_from_the_current_version(
        client, participant, coordinator):
    client.force_login(coordinator)
    read = client.get(reverse("infusion-record", args=[participant.pk])).context["missed_form"].initial["version"]
    row = Infusion.objects.get(participant=participant, number=1)
    row.anchor_message = {"code": "text", "params": {"text": "moved"}}
    audited_save(row, by=coordinator, reason="Slot moved")
    stale = client.post(reverse("infusion-missed", args=[participant.pk]),
                        {"number": 1, "version": read, "reason": "Line infection"})
    assert stale.status_code == 200 and stale.context["conflict"] is not None
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"
    again = client.post(reverse("infusion-missed", args=[participant.pk]), stale.context["missed_form"].data)
    assert again.status_code == 302
    assert Infusion.objects.get(participant=participant, number=1).state == "missed"
