"""The participants list (`/participants/`, `/studies/<code>/participants/`, `GET /api/v1/participants/`):
search, filters, pagination, site scoping, refusals and the statements a page costs."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from enrollment.models import Participant, Screening
from enrollment.tests.support import today
from followup import participant_list
from followup.tests.support import enrol, overdue_visit
from trials.audit_context import change_context
from trials.models import Site, Study
from trials.tests.support import client_for, forget_site_roles, setup_update

API = "/api/v1/participants/"


def named(participant, initials: str) -> Participant:
    setup_update(Screening.objects.filter(pk=participant.screening_id), initials=initials)
    return Participant.objects.select_related("screening").get(pk=participant.pk)


@pytest.fixture
def three(p3, coordinator):
    """Three P3 participants at PUMCH: WXM (overdue baseline), LHY (withdrawn), ZQ."""
    first = named(enrol(coordinator), "WXM")
    overdue_visit(first)
    second = named(enrol(coordinator), "LHY")
    setup_update(Participant.objects.filter(pk=second.pk), status="withdrawn", withdrawn_on=today(),
                 withdrawal_reason="consent_withdrawn")
    third = named(enrol(coordinator), "ZQ")
    return first, second, third


@pytest.fixture
def elsewhere(three, make_user):
    """A participant of P3 at another site (XH), which P3 now runs too."""
    xh = Site.objects.create(code="XH", name="Xiehe Other Hospital")
    with change_context(by=None, reason="Second site opens"):
        Study.objects.get(code="MSC-ITP-5").sites.add(xh)
    moved = named(enrol(make_user("coordinator")), "WXY")
    setup_update(Screening.objects.filter(pk=moved.screening_id), site=xh)
    setup_update(Participant.objects.filter(pk=moved.pk), site=xh)
    return moved


def numbers(body) -> list[str]:
    return [row["study_number"] for row in body["results"]]


# --- search --------------------------------------------------------------------------------------

def test_search_by_initials_ignores_case(api, three):
    first, _second, _third = three
    assert numbers(api.get(API, {"q": "wxm"}).json()) == [first.study_number]


def test_search_by_part_of_the_study_number(api, three):
    _first, _second, third = three
    assert numbers(api.get(API, {"q": third.study_number[-4:].lower()}).json()) == [third.study_number]


def test_search_by_screening_number_and_the_contract_name_search(api, three):
    _first, second, _third = three
    body = api.get("/api/v1/studies/MSC-ITP-5/participants/", {"search": second.screening.number}).json()
    assert numbers(body) == [second.study_number]


def test_page_search_finds_by_initials(client, coordinator, three):
    first, _second, _third = three
    client.force_login(coordinator)
    page = client.get(reverse("participant-list"), {"q": "Wx"}).content.decode()
    assert f'href="/participants/{first.pk}/" data-testid="participant-link">{first.study_number}<' in page
    assert page.count('data-testid="participant-link"') == 1


# --- filters -------------------------------------------------------------------------------------

def test_filter_by_status(api, three):
    _first, second, _third = three
    assert numbers(api.get(API, {"status": "withdrawn"}).json()) == [second.study_number]


def test_filter_by_an_unknown_status_is_refused(api, three):
    response = api.get(API, {"status": "asleep"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]


def test_filter_by_overdue_leaves_out_the_withdrawn(api, three):
    first, second, _third = three
    overdue_visit(second)  # withdrawn: their visits are cancelled, not overdue
    body = api.get(API, {"overdue": "true"}).json()
    assert numbers(body) == [first.study_number]
    assert body["results"][0]["overdue"] is True


def test_filter_by_arm_and_dose_level(api, three, woman):
    assert numbers(api.get(API, {"level": "MSC:STD"}).json()) == sorted(p.study_number for p in three)
    level = woman.dose_level
    assert numbers(api.get(API, {"level": f"{woman.arm.code}:{level.code}"}).json()) == [woman.study_number]
    assert numbers(api.get(API, {"study": "HUCMSC-ITP-ESC", "level": woman.arm.code}).json()) == [woman.study_number]
    assert api.get(API, {"level": "MSC:NONE"}).json()["count"] == 0


def test_filter_by_disease(api, three):
    _first, _second, third = three
    setup_update(Screening.objects.filter(pk=third.screening_id), disease="AIHA")
    assert numbers(api.get(API, {"disease": "AIHA"}).json()) == [third.study_number]
    assert len(api.get(API, {"disease": "ITP"}).json()["results"]) == 2


def test_filter_by_site_and_study(api, three, woman):
    assert len(api.get(API, {"site": "PUMCH"}).json()["results"]) == 4
    assert api.get(API, {"site": "XH"}).json()["results"] == []
    assert numbers(api.get(API, {"study": "HUCMSC-ITP-ESC"}).json()) == [woman.study_number]


def test_page_filters_keep_their_values(client, coordinator, three):
    client.force_login(coordinator)
    page = client.get(reverse("study-participants", args=["MSC-ITP-5"]),
                      {"status": "withdrawn", "overdue": "1"}).content.decode()
    assert '<option value="withdrawn" selected>' in page
    assert 'name="overdue" value="1" checked' in page
    assert 'data-testid="participant-list-empty"' in page  # a withdrawn participant is never overdue


# --- pagination ----------------------------------------------------------------------------------

def test_api_pages_in_order_with_links(api, three, monkeypatch):
    monkeypatch.setattr(participant_list, "PAGE_SIZE", 2)
    first = api.get(API, {"study": "MSC-ITP-5"}).json()
    assert (first["count"], first["page"], first["pages"], first["previous"]) == (3, 1, 2, None)
    assert first["next"].endswith("/api/v1/participants/?study=MSC-ITP-5&page=2")
    second = api.get(first["next"]).json()
    assert second["next"] is None and second["previous"].endswith("page=1")
    assert numbers(first) + numbers(second) == [p.study_number for p in three]
    assert api.get(API, {"page": 3}).status_code == 400
    assert api.get(API, {"page": "x"}).status_code == 400


def test_page_pages_keep_the_filters(client, coordinator, three, monkeypatch):
    monkeypatch.setattr(participant_list, "PAGE_SIZE", 2)
    client.force_login(coordinator)
    url = reverse("participant-list")
    page = client.get(url, {"q": "", "study": "MSC-ITP-5"}).content.decode()
    assert page.count('data-testid="participant-link"') == 2
    assert 'href="?q=&amp;study=MSC-ITP-5&amp;page=2" data-testid="page-next"' in page
    last = client.get(url, {"study": "MSC-ITP-5", "page": 2}).content.decode()
    assert last.count('data-testid="participant-link"') == 1 and "Page 2 of 2" in last
    assert client.get(url, {"page": "99"}).context["page_obj"].number == 2  # beyond the end: the last page
    assert client.get(url, {"page": "x"}).context["page_obj"].number == 1


# --- scoping and refusals ------------------------------------------------------------------------

def test_another_sites_participants_never_appear(api, client, coordinator, elsewhere, make_user):
    body = api.get(API, {"q": "WX"}).json()
    assert numbers(body) == [Participant.objects.get(screening__initials="WXM").study_number]
    assert api.get(API, {"site": "XH"}).json()["count"] == 0
    client.force_login(coordinator)
    assert elsewhere.study_number not in client.get(reverse("participant-list")).content.decode()
    xh_monitor = client_for(make_user("monitor", site="XH"))
    assert numbers(xh_monitor.get(API).json()) == [elsewhere.study_number]


def test_a_study_of_no_site_of_the_user_is_404(api, client, coordinator, three, other_site_study):
    assert api.get("/api/v1/studies/XH-MSC/participants/").status_code == 404
    client.force_login(coordinator)
    assert client.get(reverse("study-participants", args=["XH-MSC"])).status_code == 404
    assert client.get(reverse("study-grid", args=["XH-MSC"])).status_code == 404


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor", "data_manager", "admin"])
def test_every_role_of_the_site_reads_the_list(role, three, make_user):
    assert client_for(make_user(role)).get(API).json()["count"] == 3


def test_strangers_are_sent_to_sign_in_and_users_without_a_site_refused(client, three, django_user_model):
    assert APIClient().get(API).status_code == 401
    response = client.get(reverse("participant-list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    nobody = django_user_model.objects.create_user("nobody", password="Correct-Horse-88")
    assert client_for(nobody).get(API).status_code == 403
    client.force_login(nobody)
    assert client.get(reverse("participant-list")).status_code == 403
    assert client.get(reverse("study-grid", args=["MSC-ITP-5"])).status_code == 403


def test_navigation_and_study_page_link_to_the_list(client, coordinator, studies):
    client.force_login(coordinator)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("participant-list")}" data-testid="nav-participants"' in home
    study = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()
    assert f'href="{reverse("study-participants", args=["MSC-ITP-5"])}"' in study
    assert f'href="{reverse("study-grid", args=["MSC-ITP-5"])}"' in study


# --- statements ----------------------------------------------------------------------------------

def many(by, count):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    participants = [enrol(by, day0=today() - timedelta(days=5), enrolled_on=today() - timedelta(days=20))
                    for _ in range(count)]
    setup_update(Screening.objects.filter(participant__in=participants), initials="AB")
    return participants


@pytest.mark.parametrize("count", [1, 50])
def test_list_page_costs_the_same_for_1_and_50(client, studies, coordinator, count, django_assert_num_queries):
    many(coordinator, count)
    client.force_login(coordinator)
    # session, user, study, count, 4 filter choices, page, the session's save (savepoint, update, release)
    with django_assert_num_queries(12):
        response = client.get(reverse("study-participants", args=["MSC-ITP-5"]), {"q": "ab", "overdue": "1"})
    assert response.content.decode().count('data-testid="participant-link"') == count
    assert response.content.decode().count('data-testid="overdue"') == count


@pytest.mark.parametrize("count", [1, 50])
def test_api_costs_the_same_for_1_and_50(api, studies, coordinator, count, django_assert_num_queries):
    many(coordinator, count)
    forget_site_roles(coordinator)
    with django_assert_num_queries(3):  # memberships, count, page
        body = api.get(API, {"q": "AB", "status": "enrolled"}).json()
    assert body["count"] == count and all(row["overdue"] for row in body["results"])
    assert timezone.localdate().isoformat() > body["results"][0]["enrolled_on"]


def test_schema_names_both_lists(api, studies):
    paths = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert paths["/api/v1/participants/"]["get"]["operationId"] == "participants_list"
    assert paths["/api/v1/studies/{code}/participants/"]["get"]["operationId"] == "studies_participants_list"
