"""Each role sees only its sites, through pages, the API and the admin."""
import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from trials.models import Study
from trials.scoping import Action, can, site_ids_for

ROLES = ["coordinator", "investigator", "monitor", "admin"]


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.parametrize("role", ROLES)
def test_home_lists_only_studies_of_the_users_site(client, studies, other_site_study, make_user, role):
    client.force_login(make_user(role))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    codes = [s.code for s in response.context["studies"]]
    assert codes == ["HUCMSC-ITP-ESC", "MSC-ITP-5", "UCB-IRIC"]


@pytest.mark.parametrize("role", ROLES)
def test_study_page_of_another_site_is_not_found(client, other_site_study, make_user, role):
    client.force_login(make_user(role))
    assert client.get(reverse("study-detail", args=["XH-MSC"])).status_code == 404
    assert client.get(reverse("study-detail", args=["MSC-ITP-5"])).status_code == 200


def test_user_of_the_other_site_sees_only_its_study(client, studies, other_site_study, make_user):
    client.force_login(make_user("coordinator", site="XH"))
    assert [s.code for s in client.get(reverse("home")).context["studies"]] == ["XH-MSC"]
    assert client.get(reverse("study-detail", args=["MSC-ITP-5"])).status_code == 404


def test_user_without_any_site_sees_no_study(client, studies, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x" * 12))
    assert list(client.get(reverse("home")).context["studies"]) == []
    assert client.get(reverse("study-detail", args=["MSC-ITP-5"])).status_code == 404


def test_pages_require_sign_in(client, studies):
    for url in (reverse("home"), reverse("study-detail", args=["MSC-ITP-5"]),
                reverse("audit-trail", args=["study", studies["MSC-ITP-5"].pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ROLES)
def test_api_study_list_is_scoped_to_the_users_sites(api, studies, other_site_study, make_user, role):
    api.force_authenticate(make_user(role))
    response = api.get("/api/v1/studies/")
    assert response.status_code == 200
    assert [s["code"] for s in response.json()] == ["HUCMSC-ITP-ESC", "MSC-ITP-5", "UCB-IRIC"]


def test_api_study_of_another_site_is_404_in_the_error_format(api, other_site_study, make_user):
    api.force_authenticate(make_user("investigator"))
    response = api.get("/api/v1/studies/XH-MSC/")
    assert response.status_code == 404
    assert set(response.json()) == {"errors"}


def test_api_requires_authentication(api, studies):
    response = api.get("/api/v1/studies/")
    assert response.status_code == 401
    assert response.json() == {"errors": {"detail": ["Authentication credentials were not provided."]}}


def test_api_accepts_a_token(api, studies, make_user):
    token = Token.objects.create(user=make_user("monitor"))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/studies/").status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert api.get("/api/v1/studies/").status_code == 401


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor"])
def test_admin_is_refused_to_roles_that_do_not_configure(client, studies, make_user, role):
    client.force_login(make_user(role))
    response = client.get("/admin/trials/study/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_admin_lists_only_the_studies_of_the_administrators_sites(client, studies, other_site_study, make_user):
    client.force_login(make_user("admin"))
    response = client.get("/admin/trials/study/")
    assert response.status_code == 200
    assert sorted(s.code for s in response.context["cl"].result_list) == ["HUCMSC-ITP-ESC", "MSC-ITP-5", "UCB-IRIC"]
    other = Study.objects.get(code="XH-MSC")
    assert client.get(f"/admin/trials/study/{other.pk}/change/").status_code == 302  # not visible: sent back


def test_permission_matrix_by_role(studies, make_user):
    pumch = studies["MSC-ITP-5"].sites.get().pk
    expected = {
        "coordinator": {Action.VIEW, Action.VIEW_AUDIT, Action.SCREEN, Action.CAPTURE, Action.ANSWER_QUERY},
        "investigator": {Action.VIEW, Action.VIEW_AUDIT, Action.SCREEN, Action.CAPTURE, Action.SIGN,
                         Action.QUERY, Action.ANSWER_QUERY, Action.CLOSE_QUERY, Action.EXPORT},
        # a monitor and a data manager never edit clinical data
        "monitor": {Action.VIEW, Action.VIEW_AUDIT, Action.VERIFY, Action.QUERY, Action.CLOSE_QUERY, Action.EXPORT},
        "data_manager": {Action.VIEW, Action.VIEW_AUDIT, Action.QUERY, Action.CLOSE_QUERY, Action.LOCK,
                         Action.MANAGE_SDV, Action.EXPORT},
        "admin": {Action.VIEW, Action.VIEW_AUDIT, Action.CONFIGURE_STUDY, Action.LOCK, Action.MANAGE_SDV,
                  Action.EXPORT},
    }
    for role, actions in expected.items():
        user = make_user(role)
        assert {action for action in Action if can(user, action, [pumch])} == actions, role
        assert site_ids_for(user, Action.VIEW) == [pumch]
