"""Pages of source data verification: a record's verification page, the participant page's SDV
states, the study page's SDV per site and plan form."""
from dataclasses import fields

import pytest
from django.urls import reverse

from followup import services
from followup.sdv_models import ItemVerification, SdvPlan

from .sdv_support import assessment, state_of, verify


@pytest.fixture
def monitor(make_user):
    return make_user("monitor")


def _verify_url(participant, record, kind="assessment"):
    return reverse("record-verify", args=[participant.pk, kind, record.pk])


def test_verification_page_lists_items_with_values_and_required_marks(client, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    client.force_login(monitor)

    page = client.get(_verify_url(participant, recorded)).content.decode()

    assert 'data-item="lab:PLT"' in page and "20 10^9/L" in page
    assert page.count('name="items"') == 5  # date, bleeding grade, HGB, PLT, WBC
    assert page.count(" checked") == 3  # the key items preselected
    assert page.count("badge text-bg-primary") == 3
    assert 'data-testid="verify-submit"' in page


def test_verify_selected_records_the_ticks_and_shows_who(client, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    client.force_login(monitor)

    response = client.post(_verify_url(participant, recorded), {"items": ["date", "lab:PLT", "lab:HGB"],
                                                                 "version": recorded.row_version})

    assert response.status_code == 302
    assert state_of(recorded).state == "verified"
    page = client.get(_verify_url(participant, recorded)).content.decode()
    assert page.count('data-testid="verified-by"') == 3 and monitor.get_username() in page


def test_edit_shows_verification_withdrawn_with_when_and_who(client, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    verify(recorded, ["date", "lab:PLT", "lab:HGB"], monitor)
    keep = {f.name: services.KEEP for f in fields(services.AssessmentInput)}
    services.assessment_update(assessment=recorded, version=state_of(recorded).version, reason="Typo", by=coordinator,
                               data=services.AssessmentInput(**{**keep, "bleeding_grade": 2}))
    client.force_login(monitor)

    page = client.get(_verify_url(participant, recorded)).content.decode()

    assert 'data-testid="verification-withdrawn"' in page
    assert f"by {coordinator.get_username()}" in page
    assert page.count('data-testid="withdrawn"') == 3
    participant_page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    assert f'data-sdv-record="assessment-{recorded.pk}"' in participant_page
    assert 'data-sdv-state="withdrawn"' in participant_page
    worklist = client.get(reverse("study-sdv", args=["MSC-ITP-5"])).content.decode()
    assert worklist.index(f'data-sdv-record="assessment-{recorded.pk}"') < worklist.index('data-sdv-record="screening-')
    assert f"by {coordinator.get_username()}" in worklist


@pytest.mark.parametrize("role", ["coordinator", "investigator", "data_manager"])
def test_verification_post_is_refused_to_other_roles(client, participant, coordinator, make_user, role):
    recorded = assessment(participant, coordinator)
    client.force_login(make_user(role))
    page = client.get(_verify_url(participant, recorded))
    assert page.status_code == 200 and 'name="items"' not in page.content.decode()
    response = client.post(_verify_url(participant, recorded), {"items": ["date"], "version": recorded.row_version})
    assert response.status_code == 403
    assert not ItemVerification.objects.exists()


def test_verification_page_of_another_site_is_404(client, participant, coordinator, other_site_study, make_user):
    recorded = assessment(participant, coordinator)
    client.force_login(make_user("monitor", site="XH"))
    assert client.get(_verify_url(participant, recorded)).status_code == 404


def test_participant_page_shows_each_records_sdv_state(client, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    verify(recorded, ["date", "lab:PLT", "lab:HGB"], monitor)
    client.force_login(monitor)
    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    assert 'data-testid="sdv-states"' in page
    assert 'data-sdv-state="verified"' in page and 'data-sdv-state="in_progress"' in page
    assert _verify_url(participant, recorded) in page


def test_study_page_shows_sdv_per_site_and_the_plan_form_to_a_data_manager(client, participant, coordinator,
                                                                            monitor, make_user):
    verify(participant.screening.consents.get(), ["version", "signed_at"], monitor, kind="consent", version=1)
    client.force_login(make_user("data_manager"))
    page = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()
    assert 'data-site="PUMCH"' in page and "2/12" in page and "16.7 %" in page  # consent 2 of 10 + 2 key items
    assert 'data-testid="sdv-plan-form"' in page

    response = client.post(reverse("study-sdv-plan", args=["MSC-ITP-5"]), {"scope": "all", "reason": "Full SDV"})

    assert response.status_code == 302
    assert SdvPlan.objects.get().scope == "all"


def test_plan_form_is_refused_to_a_monitor(client, studies, monitor):
    client.force_login(monitor)
    assert 'data-testid="sdv-plan-form"' not in client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()
    response = client.post(reverse("study-sdv-plan", args=["MSC-ITP-5"]), {"scope": "all", "reason": "why"})
    assert response.status_code == 403
    assert not SdvPlan.objects.exists()


def test_sdv_worklist_page_is_for_monitors(client, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    client.force_login(monitor)
    page = client.get(reverse("study-sdv", args=["MSC-ITP-5"])).content.decode()
    assert f'data-sdv-record="assessment-{recorded.pk}"' in page
    client.force_login(coordinator)
    assert client.get(reverse("study-sdv", args=["MSC-ITP-5"])).status_code == 403


def test_verify_from_a_stale_page_records_nothing_and_says_so(client, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    client.force_login(monitor)
    response = client.post(_verify_url(participant, recorded), {"items": ["date"], "version": recorded.row_version + 3},
                           follow=True)
    assert "changed since you read it" in response.content.decode()
    assert not ItemVerification.objects.exists()
