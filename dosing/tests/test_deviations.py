"""Protocol deviations are listed per study and per participant."""
from django.urls import reverse

from dosing.tests.support import give
from followup.deviations import protocol_deviations
from trials.models import Study


def test_deviations_are_listed_on_the_study_and_participant_pages(client, api, participant, coordinator, make_user,
                                                                   django_assert_max_num_queries):
    give(api, participant, 1, 0)
    give(api, participant, 2, 10, deviation_reason="Patient travelled")
    api.post(f"/api/v1/participants/{participant.pk}/infusions/", {"number": 3, "missed": True, "reason": "Fever"},
             format="json")
    client.force_login(make_user("monitor"))
    study_page = client.get(reverse("study-detail", args=["MSC-ITP-5"]))
    rows = [(d.participant.study_number, d.what, d.kind, d.reason) for d in study_page.context["deviations"]]
    assert sorted(rows) == [("MSC-ITP-5-PUMCH-001", "Infusion 2", "out_of_window", "Patient travelled"),
                            ("MSC-ITP-5-PUMCH-001", "Infusion 3", "missed", "Fever")]
    assert "Patient travelled" in study_page.content.decode()
    participant_page = client.get(reverse("participant-detail", args=[participant.pk]))
    assert [d.what for d in participant_page.context["deviations"]] == ["Infusion 2", "Infusion 3"]


def test_another_sites_deviations_are_not_listed(client, api, participant, make_user, other_site_study):
    give(api, participant, 1, 0)
    give(api, participant, 2, 10, deviation_reason="Patient travelled")
    client.force_login(make_user("coordinator", site="XH"))
    assert client.get(reverse("study-detail", args=["MSC-ITP-5"])).status_code == 404
    assert protocol_deviations(make_user("monitor", site="XH"), study=Study.objects.get(code="MSC-ITP-5")) == []
