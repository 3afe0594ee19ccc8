"""Recording an infusion in the browser: the form, its refusals and the Chromium journey."""

from django.urls import reverse

from dosing.models import Infusion
from dosing.tests.support import form_data


def test_coordinator_records_an_infusion_from_the_participant_page(client, participant, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("participant-detail", args=[participant.pk]))
    assert reverse("infusion-record", args=[participant.pk]) in page.content.decode()
    response = client.post(reverse("infusion-record", args=[participant.pk]), form_data(0))
    assert response.status_code == 302
    row = Infusion.objects.get(participant=participant, number=1)
    assert (row.state, row.computed_dose, row.product["lot"], row.vitals) == (
        "given", 6e9, "MSC-2026-014", {"before": {"temperature_c": 36.6}, "after": {"temperature_c": 37.1}})


def test_infusion_form_shows_the_service_messages_on_the_fields(client, participant, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("infusion-record", args=[participant.pk]),
                           form_data(0, weight_kg="500", product_viability_pct="130", cells_infused="9e9"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["weight_kg"] == ["A weight of 500 kg is not plausible (1-350 kg)."]
    assert errors["product_viability_pct"] == ["The viability (%) 130 is outside 0-100."]
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"


def test_missed_infusion_from_the_page(client, participant, coordinator):
    client.force_login(coordinator)
    refused = client.post(reverse("infusion-missed", args=[participant.pk]), {"number": 1, "reason": ""})
    assert refused.status_code == 200 and "reason" in refused.context["missed_form"].errors
    client.post(reverse("infusion-missed", args=[participant.pk]), {"number": 1, "reason": "Line infection"})
    assert Infusion.objects.get(participant=participant, number=1).state == "missed"


def test_monitor_cannot_open_the_infusion_form(client, participant, make_user):
    client.force_login(make_user("monitor"))
    assert client.get(reverse("infusion-record", args=[participant.pk])).status_code == 403
    assert client.post(reverse("infusion-missed", args=[participant.pk]),
                       {"number": 1, "reason": "x"}).status_code == 403
