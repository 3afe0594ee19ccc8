"""Enrolment generates the whole infusion and visit schedule (CLINICAL_RULES.md section 8)."""
from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from enrollment import services
from enrollment.tests.support import eligible_p2_screening, eligible_p3_screening, today
from trials.audit import audited_save
from trials.models import DoseLevel


def test_p3_enrolment_plans_five_infusions_and_follow_up_from_the_last(studies, coordinator):
    day0 = today() + timedelta(days=3)
    participant = services.participant_enrol(screening=eligible_p3_screening(coordinator), first_infusion_on=day0,
                                             by=coordinator)
    infusions = [(i.number, (i.target_date - day0).days, (i.window_start - day0).days, (i.window_end - day0).days)
                 for i in participant.infusions.order_by("number")]
    assert infusions == [(1, 0, 0, 0), (2, 7, 6, 8), (3, 21, 18, 24), (4, 35, 32, 38), (5, 49, 46, 52)]
    visits = {v.code: (timezone.localtime(v.target_at).date() - day0).days for v in participant.visits.all()}
    assert visits == {"BL": 0, "D14": 63, "M1": 79, "M2": 109, "M3": 139, "M6": 229, "M9": 319, "M12": 409}
    assert all(v.provisional for v in participant.visits.all())
    assert participant.infusions.first().history.get().history_change_reason == "Planned at enrolment"


def test_p2_samples_follow_sex_and_the_first_nine_participants(studies, coordinator):
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="A")
    level.group_cap = 12
    audited_save(level, by=coordinator, reason="test: room for ten participants")
    samples = {f"PK{s}" for s in ("-30M", "30M", "60M", "2H", "4H", "8H", "16H", "24H", "48H", "96H")}
    woman = services.participant_enrol(screening=eligible_p2_screening(coordinator, sex="female"), dose_level_code="A",
                                       by=coordinator)
    man = services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    for _ in range(7):
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    tenth = services.participant_enrol(screening=eligible_p2_screening(coordinator, sex="female"), dose_level_code="A",
                                       by=coordinator)
    woman_codes = set(woman.visits.values_list("code", flat=True))
    man_codes = set(man.visits.values_list("code", flat=True))
    weekly = {f"W{w}" for w in range(1, 29)} | {"VIR-W4", "VIR-W16"}
    assert woman_codes == weekly | samples | {"D-1", "AB-PRE", "AB-48H"}
    assert man_codes == weekly | {"D-1", "AB-PRE", "AB-48H"}
    assert set(tenth.visits.values_list("code", flat=True)) == weekly | samples | {"D-1"}
    assert tenth.study_order == 10
    pre = woman.visits.get(code="PK-30M")
    assert pre.timed and timezone.localtime(pre.target_at) == datetime.combine(
        woman.planned_day0, datetime.min.time(), tzinfo=timezone.get_current_timezone()) - timedelta(minutes=30)


def test_participant_api_shows_the_schedule(studies, coordinator):
    participant = services.participant_enrol(screening=eligible_p3_screening(coordinator), by=coordinator)
    api = APIClient()
    api.force_authenticate(coordinator)
    schedule = api.get(f"/api/v1/participants/{participant.pk}/").json()["schedule"]
    first = schedule["infusions"][0]
    assert (first["number"], first["target_date"], first["status"], first["deviation"]) == (1, today().isoformat(),
                                                                                          "window_open", False)
    assert [i["status"] for i in schedule["infusions"][1:]] == ["planned"] * 4
    assert [v["code"] for v in schedule["visits"]] == ["BL", "D14", "M1", "M2", "M3", "M6", "M9", "M12"]
    assert schedule["visits"][0]["status"] == "window_open"


def test_withdrawal_holds_infusions_and_cancels_visits_but_keeps_them(studies, coordinator):
    participant = services.participant_enrol(screening=eligible_p3_screening(coordinator), by=coordinator)
    services.participant_withdraw(participant=participant, withdrawn_on=today(), reason="consent_withdrawn",
                                  by=coordinator)
    api = APIClient()
    api.force_authenticate(coordinator)
    schedule = api.get(f"/api/v1/participants/{participant.pk}/").json()["schedule"]
    assert {i["status"] for i in schedule["infusions"]} == {"held"}
    assert {v["status"] for v in schedule["visits"]} == {"cancelled"}
    assert participant.infusions.count() == 5 and participant.visits.count() == 8


def test_participant_api_query_count_does_not_grow_with_the_schedule(studies, coordinator,
                                                                     django_assert_max_num_queries):
    small = services.participant_enrol(screening=eligible_p3_screening(coordinator), by=coordinator)
    large = services.participant_enrol(screening=eligible_p2_screening(coordinator, sex="female"), dose_level_code="A",
                                       by=coordinator)
    api = APIClient()
    api.force_authenticate(coordinator)
    for participant in (small, large):
        with django_assert_max_num_queries(8):
            assert api.get(f"/api/v1/participants/{participant.pk}/").status_code == 200
