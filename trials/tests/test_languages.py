"""The interface language: the switch in the navigation, a signed-in user's own choice (kept with
their account, audited, applied on any browser and to the API, token or session), and the browser's
language for anonymous visitors and users without a choice."""
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from trials.api_tokens import token_issue
from trials.languages import language_choose
from trials.models import AccountSettings
from trials.tests.support import SIGNER_PASSWORD, client_for

SWITCH = reverse("set_language")
ME = "/api/v1/me/"


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A request activates its language in this thread; the next test starts from the default."""
    yield
    translation.deactivate()


def chinese(page) -> bool:
    text = page.content.decode()
    return 'lang="zh-hans"' in text and "退出登录" in text and "Sign out" not in text


def test_every_page_has_the_switch_a_labelled_group_of_buttons_posting_to_set_language(client, coordinator):
    client.force_login(coordinator)
    text = client.get("/studies/MSC-ITP-5/?tab=1", follow=True).content.decode()
    assert f'action="{SWITCH}"' in text and 'name="csrfmiddlewaretoken"' in text
    assert 'name="next" value="/studies/MSC-ITP-5/?tab=1"' in text
    assert 'role="group" aria-labelledby="language-switch-label"' in text and "Language of the pages" in text
    assert 'name="language" value="zh-hans" lang="zh-hans"' in text and "简体中文</button>" in text
    assert 'value="en" lang="en" class="btn btn-light" aria-pressed="true">English</button>' in text
    assert "<script>" not in text and " onclick" not in text


def test_the_switch_changes_the_page_language_and_keeps_the_users_choice_audited(client, coordinator):
    client.force_login(coordinator)
    assert not chinese(client.get("/"))

    answer = client.post(SWITCH, {"language": "zh-hans", "next": "/"}, HTTP_ACCEPT_LANGUAGE="en")

    assert answer.status_code == 302 and answer["Location"] == "/"
    assert chinese(client.get("/", HTTP_ACCEPT_LANGUAGE="en"))
    chosen = AccountSettings.objects.get(user=coordinator)
    assert chosen.language == "zh-hans"
    change = chosen.history.get()
    assert change.history_user == coordinator
    assert change.history_change_reason == "Language chosen with the language switch"

    client.post(SWITCH, {"language": "en", "next": "/"})
    assert not chinese(client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert [row.language for row in chosen.history.order_by("history_date")] == ["zh-hans", "en"]


def test_the_choice_is_applied_at_sign_in_on_a_fresh_browser(studies, coordinator):
    language_choose(coordinator, "zh-hans", by=coordinator, reason="test")
    browser = Client()  # no cookie, an English browser

    page = browser.post(reverse("login"), {"username": coordinator.username, "password": SIGNER_PASSWORD},
                        HTTP_ACCEPT_LANGUAGE="en", follow=True)

    assert page.redirect_chain and chinese(page)
    assert chinese(browser.get("/", HTTP_ACCEPT_LANGUAGE="en"))


def test_without_a_choice_the_browser_decides(client, coordinator):
    client.force_login(coordinator)
    assert chinese(client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"))
    assert not chinese(client.get("/", HTTP_ACCEPT_LANGUAGE="en"))
    assert not AccountSettings.objects.exists()


def test_an_anonymous_visitor_switches_the_sign_in_page_with_a_cookie_only(client, db):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'action="{SWITCH}"' in page and "简体中文</button>" in page

    answer = client.post(SWITCH, {"language": "zh-hans", "next": reverse("login")}, HTTP_ACCEPT_LANGUAGE="en")

    assert answer.status_code == 302 and answer.cookies["django_language"].value == "zh-hans"
    text = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="zh-hans"' in text and "登录" in text
    assert not AccountSettings.objects.exists()


def test_the_switch_refuses_a_get_and_ignores_an_unknown_language(client, coordinator):
    client.force_login(coordinator)
    assert client.get(SWITCH).status_code == 405
    assert client.post(SWITCH, {"language": "fr", "next": "/"}).status_code == 302
    assert not AccountSettings.objects.exists()


def test_the_switch_needs_the_csrf_token(coordinator):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(coordinator)
    assert browser.post(SWITCH, {"language": "zh-hans", "next": "/"}).status_code == 403
    assert not AccountSettings.objects.exists()


def test_the_api_answers_a_token_in_its_users_language(studies, coordinator):
    language_choose(coordinator, "zh-hans", by=coordinator, reason="test")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(coordinator).key}")

    response = api.post("/api/v1/studies/MSC-ITP-5/screenings/", {"weight_kg": -70}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400 and response["Content-Language"] == "zh-hans"
    messages = [message for texts in response.json()["errors"].values() for message in texts]
    assert messages and all(not message.isascii() for message in messages), messages
    assert api.get(ME).json() == {"username": coordinator.username, "language": "zh-hans"}


def test_a_token_of_a_user_without_a_choice_follows_accept_language(studies, coordinator):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(coordinator).key}")
    response = api.post("/api/v1/studies/MSC-ITP-5/screenings/", {"weight_kg": -70}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and response["Content-Language"] == "en"
    assert api.get(ME).json() == {"username": coordinator.username, "language": None}


def test_patch_me_chooses_the_language_audited_and_answers_in_it(coordinator):
    api = client_for(coordinator)

    response = api.patch(ME, {"language": "zh-hans"}, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200 and response["Content-Language"] == "zh-hans"
    assert response.json() == {"username": coordinator.username, "language": "zh-hans"}
    change = AccountSettings.objects.get(user=coordinator).history.get()
    assert (change.history_user, change.history_change_reason) == (coordinator, "Language changed through the API")

    cleared = api.patch(ME, {"language": None}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert cleared.json()["language"] is None and cleared["Content-Language"] == "en"
    assert AccountSettings.objects.get(user=coordinator).history.count() == 2


def test_patch_me_through_the_session_is_applied_to_the_next_pages(client, coordinator):
    client.force_login(coordinator)
    assert client.patch(ME, {"language": "zh-hans"}, content_type="application/json").status_code == 200
    assert chinese(client.get("/", HTTP_ACCEPT_LANGUAGE="en"))


@pytest.mark.parametrize("language", ["fr", "zh", "EN", 3])
def test_patch_me_refuses_an_unknown_language_naming_the_field(coordinator, language):
    response = client_for(coordinator).patch(ME, {"language": language}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["language"]
    assert not AccountSettings.objects.exists()


def test_me_refuses_anonymous_callers(db):
    api = APIClient()
    assert api.get(ME).status_code == 401
    assert api.patch(ME, {"language": "zh-hans"}, format="json").status_code == 401
    assert not AccountSettings.objects.exists()


def test_a_choice_is_audited_and_an_unknown_one_refused_by_the_service(coordinator, admin_user):
    language_choose(coordinator, "zh-hans", by=admin_user, reason="Asked for it by phone")
    language_choose(coordinator, "zh-hans", by=admin_user, reason="Again")  # unchanged: no history row
    rows = AccountSettings.objects.get(user=coordinator).history.all()
    assert [(row.history_user, row.history_change_reason) for row in rows] == [(admin_user, "Asked for it by phone")]
    with pytest.raises(ValueError):
        language_choose(coordinator, "fr", by=admin_user, reason="x")
