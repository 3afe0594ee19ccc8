"""The investigator's signed eligibility confirmation before enrolment: the API
(`POST /api/v1/screenings/{id}/eligibility-confirmation/`), the screening page, its withdrawal when
the facts change, and the per-study setting."""
from datetime import timedelta

import pytest
import yaml
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from enrollment import services
from enrollment.models import Participant, Screening
from enrollment.tests.support import consent, create_screening, p3_facts, post_screening
from trials.models import Study
from trials.services import STUDIES_DIR, LoadReport, study_load
from trials.signatures import ELIGIBILITY_MEANING
from trials.tests.submission import TOKEN, messages_of
from trials.tests.support import (
    SIGNER_PASSWORD,
    Later,
    client_for,
    confirm_eligibility,
    made,
    patch_current,
    setup_update,
    site_investigator,
)

MEANING = ("I confirm that I have reviewed this screening and that the patient meets every eligibility criterion of "
           "the study.")
NOT_CONFIRMED = ("Eligibility not confirmed by an investigator: an investigator of the site confirms it with their "
                 "signature on the screening page before enrolment.")


@pytest.fixture
def screening(studies, coordinator):
    """An eligible, consented MSC-ITP-5 screening, not confirmed yet."""
    screening = create_screening(coordinator)
    consent(screening, coordinator)
    assert (screening.eligible, screening.eligibility_confirmed_at) == (True, None)
    return screening


def confirm_url(screening) -> str:
    return f"/api/v1/screenings/{screening.pk}/eligibility-confirmation/"


def enrol_url(screening) -> str:
    return f"/api/v1/screenings/{screening.pk}/enrol/"


# --- API -----------------------------------------------------------------------------------------

def test_meaning_text_is_the_one_stored():
    assert str(ELIGIBILITY_MEANING) == MEANING


def test_enrolment_is_409_until_the_investigator_confirms_then_201(api, screening, investigator):
    refused = api.post(enrol_url(screening), {}, format="json")
    assert (refused.status_code, refused.json()) == (409, {"errors": {"eligibility": [NOT_CONFIRMED]}})
    assert Participant.objects.count() == 0

    before = timezone.now()
    signed = client_for(investigator).post(confirm_url(screening), {"password": SIGNER_PASSWORD}, format="json")

    assert signed.status_code == 201, signed.json()
    body = signed.json()["eligibility_confirmation"]
    assert (body["confirmed_by"], body["meaning"]) == (investigator.username, MEANING)
    row = Screening.objects.get(pk=screening.pk)
    assert (row.eligibility_confirmed_by, row.eligibility_confirmation_meaning) == (investigator, MEANING)
    assert before <= row.eligibility_confirmed_at <= timezone.now()
    assert (row.history.first().history_change_reason, row.history.first().history_user) == (
        "Eligibility confirmed and signed by the investigator", investigator)
    assert api.get(f"/api/v1/screenings/{screening.pk}/").json()["eligibility_confirmation"]["confirmed_by"] == (
        investigator.username)
    assert api.post(enrol_url(screening), {}, format="json").status_code == 201


def test_a_coordinator_or_monitor_cannot_confirm(api, screening, make_user):
    assert api.post(confirm_url(screening), {"password": SIGNER_PASSWORD}, format="json").status_code == 403
    monitor = client_for(make_user("monitor"))
    assert monitor.post(confirm_url(screening), {"password": SIGNER_PASSWORD}, format="json").status_code == 403
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_at is None


@pytest.mark.parametrize("body", [{"password": "not-my-password"}, {"password": ""}, {}])
def test_a_wrong_or_missing_password_is_403_and_writes_nothing(screening, investigator, body):
    history = screening.history.count()
    response = client_for(investigator).post(confirm_url(screening), body, format="json")
    assert (response.status_code, response.json()) == (403, {"errors": {"detail": [
        "The password is not correct: eligibility was not confirmed."]}})
    row = Screening.objects.get(pk=screening.pk)
    assert (row.eligibility_confirmed_at, row.history.count()) == (None, history)


def test_another_sites_investigator_does_not_see_the_screening(screening, make_user, other_site_study):
    other = client_for(make_user("investigator", site="XH"))
    assert other.post(confirm_url(screening), {"password": SIGNER_PASSWORD}, format="json").status_code == 404


@pytest.mark.parametrize("changes, eligible", [
    ({"understands_and_complies": False}, False),  # an inclusion criterion not met
    (Later(lambda: {"labs": p3_facts()["labs"][:-1]}), None),  # creatinine missing: pending
])
def test_a_screening_not_eligible_is_409(api, studies, investigator, changes, eligible):
    screening = Screening.objects.get(pk=post_screening(api, **made(changes)).json()["id"])
    assert screening.eligible is eligible
    response = client_for(investigator).post(confirm_url(screening), {"password": SIGNER_PASSWORD}, format="json")
    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["eligibility"]
    assert response.json()["errors"]["eligibility"][0].startswith("The patient is not eligible (")
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_at is None


def test_a_second_confirmation_is_409_naming_the_first(screening, investigator):
    confirm_eligibility(screening, by=investigator)
    again = client_for(investigator).post(confirm_url(screening), {"password": SIGNER_PASSWORD}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"]["non_field_errors"][0].startswith(
        f"Eligibility was already confirmed by {investigator.username} at ")


def test_a_change_of_the_facts_withdraws_the_confirmation_with_its_reason(api, screening, investigator):
    confirm_eligibility(screening, by=investigator)
    initials = patch_current(api, f"/api/v1/screenings/{screening.pk}/",
                             {"initials": "WX", "reason": "Typo in initials"},
                         format="json")
    assert initials.status_code == 200
    assert initials.json()["eligibility_confirmation"]["confirmed_by"] == investigator.username  # not a fact judged

    changed = patch_current(api, f"/api/v1/screenings/{screening.pk}/", {"weight_kg": 61.0, "reason": "Weighed again"},
                        format="json")

    assert changed.status_code == 200
    assert (changed.json()["eligibility"]["eligible"], changed.json()["eligibility_confirmation"]) == (True, None)
    row = Screening.objects.get(pk=screening.pk)
    assert (row.eligibility_confirmed_by, row.eligibility_confirmed_at, row.eligibility_confirmation_meaning) == (
        None, None, "")
    assert row.history.first().history_change_reason == (
        f"Eligibility confirmation by {investigator.username} withdrawn: facts changed (Weighed again)")
    refused = api.post(enrol_url(screening), {}, format="json")
    assert (refused.status_code, refused.json()) == (409, {"errors": {"eligibility": [NOT_CONFIRMED]}})
    confirm_eligibility(screening, by=investigator)  # signed again
    assert api.post(enrol_url(screening), {}, format="json").status_code == 201


def test_a_study_without_the_setting_enrols_without_confirmation(api, screening):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), eligibility_confirmation_required=False)
    assert api.post(enrol_url(screening), {}, format="json").status_code == 201


def test_the_setting_is_on_by_default_loaded_from_the_study_file_and_shown(api, studies):


    assert all(study.eligibility_confirmation_required for study in studies.values())
    assert api.get("/api/v1/studies/MSC-ITP-5/").json()["eligibility_confirmation_required"] is True
    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text())
    data.update(code="NO-SIGN", eligibility_confirmation_required=False)
    assert study_load(data, by=None, reason="test", report=LoadReport()).eligibility_confirmation_required is False
    del data["eligibility_confirmation_required"]
    data["code"] = "DEFAULT-SIGN"
    assert study_load(data, by=None, reason="test", report=LoadReport()).eligibility_confirmation_required is True


def test_the_setting_is_editable_in_the_admin(client, studies, make_user):
    admin = make_user("admin")
    client.force_login(admin)
    page = client.get(reverse("admin:trials_study_change", args=[studies["MSC-ITP-5"].pk])).content.decode()
    assert 'name="eligibility_confirmation_required"' in page


# --- the screening page ------------------------------------------------------------------------------

def test_the_investigator_sees_the_form_the_coordinator_the_wait(client, screening, coordinator, investigator):
    url = reverse("screening-detail", args=[screening.pk])
    client.force_login(coordinator)
    waiting = client.get(url)
    assert waiting.context["confirm_form"] is None and waiting.context["enrol_form"] is None
    html = waiting.content.decode()
    assert 'data-testid="eligibility-awaiting"' in html and 'data-testid="eligibility-confirm-form"' not in html
    client.force_login(investigator)
    html = client.get(url).content.decode()
    assert 'data-testid="eligibility-confirm-form"' in html and MEANING in html and 'type="password"' in html


def test_a_coordinator_posting_the_form_is_refused(client, screening, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("screening-eligibility-confirm", args=[screening.pk]),
                           {"password": SIGNER_PASSWORD})
    assert response.status_code == 403
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_at is None


def test_the_page_confirms_with_the_password_and_shows_the_signature_to_everyone(client, screening, coordinator,
                                                                                 investigator):
    client.force_login(investigator)
    url = reverse("screening-eligibility-confirm", args=[screening.pk])
    wrong = client.post(url, {"password": "guess"})
    assert wrong.status_code == 200
    assert wrong.context["confirm_form"].errors["password"] == [
        "The password is not correct: eligibility was not confirmed."]
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_at is None

    signed = client.post(url, {"password": SIGNER_PASSWORD})

    assert signed["Location"] == reverse("screening-detail", args=[screening.pk])
    client.force_login(coordinator)
    page = client.get(signed["Location"])
    html = page.content.decode()
    when = timezone.localtime(Screening.objects.get(pk=screening.pk).eligibility_confirmed_at)
    assert (f"Signed by {investigator.username} ({investigator.username}) on {when:%Y-%m-%d %H:%M %Z %z}."
            in html)
    assert f'data-testid="eligibility-meaning">{MEANING}<' in html
    assert page.context["enrol_form"] is not None


def test_the_enrol_page_is_refused_before_the_confirmation(client, screening, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("screening-enrol", args=[screening.pk]),
                           {"enrol-enrolled_on": timezone.localdate().isoformat()})
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["The patient was not enrolled.", NOT_CONFIRMED]
    assert Participant.objects.count() == 0


def test_the_service_refuses_a_coordinator(screening, coordinator):
    with pytest.raises(PermissionDenied):
        services.screening_eligibility_confirm(screening=screening, password=SIGNER_PASSWORD, by=coordinator)


def test_site_investigator_helper_signs_for_the_site(screening):
    confirm_eligibility(screening)
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_by == site_investigator()
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_at > timezone.now() - timedelta(minutes=1)


def test_the_screening_log_shows_whether_the_eligibility_is_signed(client, screening, coordinator, investigator):
    signed = create_screening(coordinator)
    confirm_eligibility(signed, by=investigator)
    client.force_login(coordinator)
    html = client.get(reverse("screening-log", args=["MSC-ITP-5"])).content.decode()
    assert html.count('data-testid="eligibility-signed"') == 1
    assert html.count('data-testid="eligibility-unsigned"') == 1


def test_the_confirmation_form_posted_twice_signs_once_and_shows_the_signature(client, screening, investigator):
    client.force_login(investigator)
    detail = reverse("screening-detail", args=[screening.pk])
    page = client.get(detail).content.decode()
    form = page[page.index('data-testid="eligibility-confirm-form"'):]
    token = TOKEN.search(form[:form.index("</form>")]).group(1)
    url = reverse("screening-eligibility-confirm", args=[screening.pk])

    first = client.post(url, {"password": SIGNER_PASSWORD, "submission_token": token})
    signed_at = Screening.objects.get(pk=screening.pk).eligibility_confirmed_at
    again = client.post(url, {"password": SIGNER_PASSWORD, "submission_token": token})

    assert first["Location"] == again["Location"] == detail
    assert messages_of(client, again)[-1] == "This form was already submitted; the record below was created then."
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_at == signed_at is not None
    assert Screening.history.filter(id=screening.pk, history_change_reason__icontains="eligib").count() == 1
