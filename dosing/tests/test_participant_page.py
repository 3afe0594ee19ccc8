"""The participant page shows the infusion plan with windows and statuses, updated after each infusion."""
from datetime import timedelta

from django.urls import reverse

from dosing.tests.support import day0, give
from enrollment import services as enrolment
from enrollment.tests.support import eligible_p2_screening


def test_participant_page_shows_the_plan_and_moves_it_after_a_late_infusion(client, api, participant, coordinator):
    client.force_login(coordinator)
    before = client.get(reverse("participant-detail", args=[participant.pk]))
    rows = [(i.number, i.target_date, i.status) for i in before.context["schedule"]["infusions"]]
    assert rows[:3] == [(1, day0(), "overdue"), (2, day0() + timedelta(days=7), "waiting"),
                        (3, day0() + timedelta(days=21), "waiting")]  # 2 and 3 follow infusion 1
    give(api, participant, 1, 0)
    give(api, participant, 2, 9, deviation_reason="Fever")
    after = client.get(reverse("participant-detail", args=[participant.pk]))
    rows = [(i.number, i.target_date, i.status, i.deviation) for i in after.context["schedule"]["infusions"]]
    assert rows[:3] == [(1, day0(), "given", False), (2, day0() + timedelta(days=7), "given_out_of_window", True),
                        (3, day0() + timedelta(days=23), "overdue", False)]
    html = after.content.decode()
    assert "out of window" in html and "infusion 2 given" in html
    assert [v.code for v in after.context["schedule"]["visits"]][:2] == ["BL", "D14"]


def test_participant_page_query_count_is_fixed(client, participant, coordinator, django_assert_max_num_queries):
    large = enrolment.participant_enrol(screening=eligible_p2_screening(coordinator, sex="female"), dose_level_code="A",
                                        by=coordinator)
    client.force_login(coordinator)
    for someone in (participant, large):
        client.get(reverse("participant-detail", args=[someone.pk]))
        with django_assert_max_num_queries(15):
            assert client.get(reverse("participant-detail", args=[someone.pk])).status_code == 200
