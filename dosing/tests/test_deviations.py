"""Protocol deviations are listed per study and per participant."""
from datetime import date
from unittest import mock

from django.core.management import call_command
from django.urls import reverse

from dosing.tests.support import give
from followup.deviations import protocol_deviations
from followup.synthetic import SITES
from trials.accounts import user_upsert
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
    assert protocol_deviations(make_user("monitor", site="XH"), study=Study.objects.get(code="MSC-ITP-5")) == ([], 0)


def test_the_study_page_lists_the_first_deviations_in_the_same_order_and_counts_them_all(
        client, studies, make_user, django_assert_max_num_queries, django_assert_num_queries):
    call_command("make_synthetic_study", participants=40, seed=3, today=date(2026, 6, 1))
    study = Study.objects.get(code="SYN-40-3")
    monitor = None
    for code, _name in SITES:
        monitor = user_upsert(username="all-sites-monitor", role="monitor", site_code=code).user
    every, total = protocol_deviations(monitor, study=study)
    assert total == len(every) > 6

    for limit in (1, 5, len(every) - 1, len(every) + 3):
        # Two statements; the rows read only what a deviation shows, and nothing more is read to show them.
        with django_assert_num_queries(2):
            first, counted = protocol_deviations(monitor, study=study, limit=limit)
            shown = [(d.participant.pk, d.participant.study_number, d.what, d.kind, d.planned, d.happened, d.reason)
                     for d in first]
        assert (first, counted) == (every[:limit], total)
        assert shown == [(d.participant.pk, d.participant.study_number, d.what, d.kind, d.planned, d.happened,
                          d.reason) for d in every[:limit]]

    client.force_login(monitor)
    with mock.patch("followup.study_views.DEVIATIONS_SHOWN", 5):
        page = client.get(reverse("study-detail", args=[study.code]))
    assert page.context["deviations"] == every[:5]
    assert f"The first 5 of {total} protocol deviations" in page.content.decode()
