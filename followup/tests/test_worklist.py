"""The worklist (API.md `GET /api/v1/worklist/`, page `/worklist/`): visits and infusions whose window
is open or passed, SAE reports to make and adverse event drafts to confirm, at the user's sites."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dosing import services as dosing
from dosing.models import Infusion
from enrollment import services as enrolment
from enrollment.tests.support import today
from followup import services
from followup import worklist as work
from followup.models import AdverseEvent, Visit
from followup.schedule import PlannedVisit
from followup.tests.support import enrol, event, items, move_visit, overdue_visit
from trials.models import Study
from trials.tests.support import client_for, forget_site_roles, setup_update

TZ = timezone.get_current_timezone()


def local(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat()


# --- pure classification ------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=dt_timezone.utc)
WINDOW = PlannedVisit(code="D14", label="Day 14", target=NOW, window_start=NOW - timedelta(days=3),
                      window_end=NOW + timedelta(days=3), provisional=False, timed=False)


@pytest.mark.parametrize("now, expected", [
    (NOW - timedelta(days=3, seconds=1), None),
    (NOW - timedelta(days=3), work.DUE),
    (NOW + timedelta(days=3), work.DUE),
    (NOW + timedelta(days=3, seconds=1), work.OVERDUE),
])
def test_visit_work_status_follows_the_window(now, expected):
    assert work.visit_work_status(WINDOW, now=now) == expected


@pytest.mark.parametrize("today, held, expected", [
    (date(2026, 3, 5), False, None),
    (date(2026, 3, 6), False, work.DUE),
    (date(2026, 3, 8), False, work.DUE),
    (date(2026, 3, 9), False, work.OVERDUE),
    (date(2026, 3, 9), True, None),
])
def test_infusion_work_status_follows_the_window(today, held, expected):
    assert work.infusion_work_status(window_start=date(2026, 3, 6), window_end=date(2026, 3, 8), today=today,
                                     held=held) == expected


def test_sae_report_is_due_up_to_its_deadline_then_overdue():
    assert work.sae_report_work_status(due=NOW, now=NOW) == work.DUE
    assert work.sae_report_work_status(due=NOW, now=NOW + timedelta(seconds=1)) == work.OVERDUE


def item(kind, status, due_at, number="P-001", object_id=1):
    return work.WorkItem(kind=kind, status=status, due_at=due_at, window_start=due_at, window_end=due_at,
                         object_id=object_id, participant_id=1, study_number=number, study="S", site="X", site_id=1,
                         label="", url="")


def test_sort_puts_overdue_first_then_by_due_time():
    late_visit = item(work.VISIT, work.OVERDUE, NOW - timedelta(days=1))
    older_infusion = item(work.INFUSION, work.OVERDUE, NOW - timedelta(days=5))
    soon_sae = item(work.SAE_REPORT, work.DUE, NOW + timedelta(hours=2))
    later_visit = item(work.VISIT, work.DUE, NOW + timedelta(days=2))
    assert work.sort_items([later_visit, soon_sae, late_visit, older_infusion]) == [
        older_infusion, late_visit, soon_sae, later_visit]


# --- the API --------------------------------------------------------------------------------------

@pytest.fixture
def participant(studies, coordinator):
    return enrol(coordinator)


def test_nothing_due_before_any_window_opens(api, participant):
    body = api.get("/api/v1/worklist/").json()
    assert (body["items"], body["counts"]) == ([], {"overdue": 0, "due": 0})


def test_overdue_visit_is_listed_with_the_page_to_record_it(api, participant):
    visit = overdue_visit(participant)

    assert items(api) == [{
        "kind": "visit", "status": "overdue", "due_at": local(visit.target_at),
        "window_start": local(visit.window_start), "window_end": local(visit.window_end), "id": visit.pk,
        "participant": {"id": participant.pk, "study_number": participant.study_number, "study": "MSC-ITP-5"},
        "screening": None,
        "site": "PUMCH", "label": "Visit BL: Baseline",
        "url": f"/participants/{participant.pk}/assessments/new/?visit=BL",
        "participant_url": f"/participants/{participant.pk}/",
    }]


def test_visit_whose_window_is_open_is_due(api, participant):
    move_visit(participant, "BL", start=today() - timedelta(days=1), end=today() + timedelta(days=1))
    assert [(i["kind"], i["status"]) for i in items(api)] == [("visit", "due")]


def test_visit_done_or_missed_is_not_listed(api, studies, coordinator):
    participant = enrol(coordinator, enrolled_on=today() - timedelta(days=10))
    done = overdue_visit(participant, "BL")
    services.visit_record(visit=done, done_at=timezone.now() - timedelta(days=4), deviation_reason="", by=coordinator)
    missed = overdue_visit(participant, "D14")
    services.visit_miss(visit=missed, reason="Patient travelling", by=coordinator)
    assert items(api) == []


def test_infusion_window_open_then_overdue_until_given(api, studies, coordinator):
    today_plan = enrol(coordinator, day0=today(), enrolled_on=today() - timedelta(days=1))
    first = Infusion.objects.get(participant=today_plan, number=1)
    listed = [i for i in items(api) if i["kind"] == "infusion"]
    assert listed == [{
        "kind": "infusion", "status": "due", "due_at": f"{today().isoformat()}T00:00:00+08:00",
        "window_start": f"{today().isoformat()}T00:00:00+08:00",
        "window_end": f"{today().isoformat()}T23:59:59.999999+08:00", "id": first.pk,
        "participant": {"id": today_plan.pk, "study_number": today_plan.study_number, "study": "MSC-ITP-5"},
        "screening": None,
        "site": "PUMCH", "label": "Infusion 1", "url": f"/participants/{today_plan.pk}/infusions/new/",
        "participant_url": f"/participants/{today_plan.pk}/"}]

    setup_update(Infusion.objects.filter(pk=first.pk), target_date=today() - timedelta(days=1),
                                                window_start=today() - timedelta(days=1),
                                                window_end=today() - timedelta(days=1))
    assert [(i["kind"], i["status"], i["id"]) for i in items(api, "?kind=infusion")] == [
        ("infusion", "overdue", first.pk)]

    dosing.infusion_miss(participant=today_plan, number=1, reason="Product not released", by=coordinator)
    assert items(api, "?kind=infusion") == []


def test_sae_report_due_then_overdue_until_reported(api, participant, coordinator):
    aware = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    sae = event(participant, coordinator, aware=aware)
    event(participant, coordinator, serious=False, term="Headache")

    assert items(api) == [{
        "kind": "sae_report", "status": "due", "due_at": local(aware + timedelta(hours=24)),
        "window_start": local(aware), "window_end": local(aware + timedelta(hours=24)), "id": sae.pk,
        "participant": {"id": participant.pk, "study_number": participant.study_number, "study": "MSC-ITP-5"},
        "screening": None,
        "site": "PUMCH", "label": "SAE report: Lung infection", "url": f"/adverse-events/{sae.pk}/",
        "participant_url": f"/participants/{participant.pk}/"}]

    setup_update(AdverseEvent.objects.filter(pk=sae.pk), site_aware_at=aware - timedelta(hours=23))
    assert [(i["kind"], i["status"]) for i in items(api)] == [("sae_report", "overdue")]

    services.adverse_event_sae_report(event=sae, reported_at=None, by=coordinator)
    assert items(api) == []


def test_draft_waits_for_the_investigator(api, participant, coordinator, make_user):
    draft = event(participant, coordinator, draft=True, term="Anemia")
    assert items(api) == []  # the coordinator cannot confirm it
    assert items(client_for(make_user("monitor"))) == []
    listed = items(client_for(make_user("investigator")))
    assert [(i["kind"], i["status"], i["label"], i["url"], i["window_end"]) for i in listed] == [
        ("adverse_event_draft", "due", "Adverse event to confirm and sign (grade, seriousness, relationship): Anemia",
         f"/adverse-events/{draft.pk}/", None)]
    assert listed[0]["due_at"] == local(draft.reported_at)


def test_withdrawn_participant_is_left_out_but_for_an_sae_report(api, participant, coordinator):
    overdue_visit(participant)
    sae = event(participant, coordinator)
    event(participant, coordinator, draft=True, term="Anemia")
    enrolment.participant_withdraw(participant=participant, withdrawn_on=today(), reason="adverse_event",
                                   by=coordinator)
    assert [(i["kind"], i["id"]) for i in items(api)] == [("sae_report", sae.pk)]


def test_items_are_sorted_overdue_first_then_by_due_time(api, studies, coordinator):
    first, second = enrol(coordinator), enrol(coordinator)
    overdue_visit(first, "BL", days_ago=2)
    overdue_visit(second, "BL", days_ago=9)
    move_visit(second, "D14", start=today() - timedelta(days=1), end=today() + timedelta(days=5))
    # as once the last infusion is given
    setup_update(Visit.objects.filter(participant=second, code="D14"), provisional=False)
    sae = event(first, coordinator, aware=timezone.now() - timedelta(hours=1))
    listed = [(i["status"], i["participant"]["id"], i["label"]) for i in items(api)]
    assert listed == [
        ("overdue", second.pk, "Visit BL: Baseline"),
        ("overdue", first.pk, "Visit BL: Baseline"),
        ("due", second.pk, "Visit D14: Day 14 after the last infusion"),
        ("due", first.pk, f"SAE report: {sae.term}"),
    ]


def test_filters_by_kind_study_and_site(api, participant, coordinator):
    overdue_visit(participant)
    event(participant, coordinator)
    assert [i["kind"] for i in items(api, "?kind=sae_report")] == ["sae_report"]
    assert sorted(i["kind"] for i in items(api, "?kind=visit,sae_report")) == ["sae_report", "visit"]
    assert sorted(i["kind"] for i in items(api, "?kind=visit&kind=sae_report")) == ["sae_report", "visit"]
    assert len(items(api, "?study=MSC-ITP-5&site=PUMCH")) == 2
    assert items(api, "?study=UCB-IRIC") == []
    assert items(api, "?site=XH") == []
    refused = api.get("/api/v1/worklist/?kind=visit,lunch")
    assert (refused.status_code, refused.json()) == (400, {"errors": {"kind": [
        "Unknown kind lunch; use visit, infusion, sae_report, adverse_event_draft, eligibility_confirmation, "
        "casebook_signature."]}})


def test_other_sites_see_nothing_and_admins_and_strangers_are_refused(participant, coordinator, make_user):
    overdue_visit(participant)
    assert items(client_for(make_user("coordinator", site="XH"))) == []
    assert [i["kind"] for i in items(client_for(make_user("monitor")))] == ["visit"]
    assert [i["kind"] for i in items(client_for(make_user("investigator")))] == ["visit"]
    assert client_for(make_user("admin")).get("/api/v1/worklist/").status_code == 403
    assert APIClient().get("/api/v1/worklist/").status_code == 401


def many_overdue(by, count):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    participants = [enrol(by) for _ in range(count)]
    for participant in participants:
        overdue_visit(participant)
        event(participant, by, aware=timezone.now() - timedelta(hours=30))
    return participants


@pytest.mark.parametrize("count", [1, 50])
def test_api_query_count_does_not_grow_with_items(api, studies, coordinator, count, django_assert_num_queries):
    many_overdue(coordinator, count)
    yesterday = today() - timedelta(days=1)
    setup_update(Infusion.objects.filter(number=1), window_start=yesterday, target_date=yesterday, window_end=yesterday)
    forget_site_roles(coordinator)
    with django_assert_num_queries(4):  # memberships, visits, infusions, adverse events
        body = api.get("/api/v1/worklist/").json()
    assert body["counts"] == {"overdue": 3 * count, "due": 0}


# --- the page -------------------------------------------------------------------------------------

def test_page_lists_items_with_badges_and_links(client, participant, coordinator):
    overdue_visit(participant)
    sae = event(participant, coordinator, aware=timezone.now() - timedelta(hours=1))
    client.force_login(coordinator)

    response = client.get(reverse("worklist"))

    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("worklist")}"' in page  # the navbar link
    assert page.count('data-kind="visit" data-status="overdue"') == 1
    assert page.count('data-kind="sae_report" data-status="due"') == 1
    assert f'href="/participants/{participant.pk}/assessments/new/?visit=BL" data-testid="worklist-act"' in page
    assert f'href="/adverse-events/{sae.pk}/" data-testid="worklist-act"' in page
    assert "1 overdue, 1 due" in page


def test_page_filters_by_kind(client, participant, coordinator):
    overdue_visit(participant)
    event(participant, coordinator)
    client.force_login(coordinator)
    page = client.get(reverse("worklist") + "?kind=visit").content.decode()
    assert 'data-kind="visit"' in page and 'data-kind="sae_report"' not in page
    assert '<option value="visit" selected>' in page


def test_page_links_a_monitor_to_the_participant(client, participant, make_user):
    overdue_visit(participant)
    client.force_login(make_user("monitor"))
    page = client.get(reverse("worklist")).content.decode()
    assert f'href="/participants/{participant.pk}/" data-testid="worklist-act"' in page
    assert "assessments/new" not in page


def test_page_refuses_admins_and_sends_strangers_to_sign_in(client, participant, make_user):
    client.force_login(make_user("admin"))
    assert client.get(reverse("worklist")).status_code == 403
    client.logout()
    response = client.get(reverse("worklist"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_page_shows_no_navbar_link_to_an_admin(client, studies, make_user):
    client.force_login(make_user("admin"))
    assert f'href="{reverse("worklist")}"' not in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("count", [1, 50])
def test_page_query_count_does_not_grow_with_items(client, studies, coordinator, count,
                                                   django_assert_max_num_queries):
    many_overdue(coordinator, count)
    client.force_login(coordinator)
    with django_assert_max_num_queries(11):  # session, user, memberships, 3 item reads, filter choices
        response = client.get(reverse("worklist"))
    assert response.context["counts"] == {"overdue": 2 * count, "due": 0}


def test_only_the_next_infusion_is_work_and_visits_after_an_infusion_not_given_wait_for_it(api, studies, coordinator):
    """Infusion 1 four months overdue: infusions 2-5 (planned from it) and the follow-up visits planned
    after the last infusion (provisional) would all look overdue; only infusion 1 and the baseline
    visit (before day 0) are work."""
    late = enrol(coordinator, day0=today() - timedelta(days=120), enrolled_on=today() - timedelta(days=122))
    first = Infusion.objects.get(participant=late, number=1)
    assert Infusion.objects.filter(participant=late, state="planned", window_end__lt=today()).count() == 5
    after = Visit.objects.filter(participant=late, provisional=True, definition__offset__gt=0,
                                 window_end__lt=timezone.now())
    assert after.count() >= 2
    listed = items(api)
    assert [(i["kind"], i["id"]) for i in listed if i["kind"] == "infusion"] == [("infusion", first.pk)]
    assert [i["label"] for i in listed if i["kind"] == "visit"] == ["Visit BL: Baseline"]


def test_the_participant_page_and_api_agree_with_the_worklist_on_what_waits(api, client, studies, coordinator):
    late = enrol(coordinator, day0=today() - timedelta(days=120), enrolled_on=today() - timedelta(days=122))
    schedule = api.get(f"/api/v1/participants/{late.pk}/").json()["schedule"]
    assert [i["status"] for i in schedule["infusions"]] == ["overdue", "waiting", "waiting", "waiting", "waiting"]
    visits = {v["code"]: v["status"] for v in schedule["visits"]}
    assert visits["BL"] == "overdue" and visits["D14"] == "waiting" and visits["M1"] == "waiting"
    client.force_login(coordinator)
    page = client.get(reverse("participant-detail", args=[late.pk])).content.decode()
    assert page.count("waiting for an earlier infusion") >= 6
