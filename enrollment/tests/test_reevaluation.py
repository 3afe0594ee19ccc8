"""A screening keeps the protocol version and criteria it was evaluated under; after an amendment its
page says so and it is evaluated again only on request, with a reason (page and API); the
participant keeps the version of their enrolment."""
from datetime import date

import pytest
from django.urls import reverse

from enrollment import services
from enrollment.models import Screening
from enrollment.tests.support import consent, create_screening
from trials.amendments import amendment_activate
from trials.audit import change_context
from trials.models import EligibilityCriterion, Study
from trials.tests.support import client_for, confirm_eligibility, setup_update, study_administrator


def enrol(user):
    screening = create_screening(user)
    consent(screening, user)
    confirm_eligibility(screening)
    return services.participant_enrol(screening=screening, by=user)


def amend(code="MSC-ITP-5", version="2"):
    """An amendment: a criterion is reworded, one removed, and the amendment is activated as a new
    protocol version by an administrator of the study's sites."""
    study = Study.objects.get(code=code)
    with change_context(by=None, reason=f"Amendment {version}"):
        EligibilityCriterion.objects.get(study=study, code="compliance").delete()
        criterion = EligibilityCriterion.objects.get(study=study, code="tbil")
        criterion.text, criterion.params = "Total bilirubin <= 1 x ULN.", {**criterion.params, "multiple": 1}
        criterion.save()
    amendment_activate(study=study, version=version, effective_date=date.today(), reason=f"Amendment {version}",
                       by=study_administrator(study))


def test_a_screening_records_the_version_it_was_evaluated_under(studies, coordinator, coordinator_client):
    screening = create_screening(coordinator)
    assert screening.protocol_version == "1"

    page = coordinator_client.get(reverse("screening-detail", args=[screening.pk]))

    assert "under protocol version 1, with the criteria shown below" in page.content.decode()
    assert page.context["other_criteria_now"] is False


def test_after_an_amendment_the_screening_keeps_its_criteria_and_says_so(studies, coordinator, coordinator_client):
    screening = create_screening(coordinator)
    before = list(screening.eligibility)
    amend()

    page = coordinator_client.get(reverse("screening-detail", args=[screening.pk]))

    screening.refresh_from_db()
    assert screening.eligibility == before  # nothing re-evaluated behind the coordinator's back
    assert page.context["other_criteria_now"] is True
    html = page.content.decode()
    assert "criteria have changed since this evaluation (protocol version 2 now)" in html
    assert 'data-testid="reevaluate"' in html


def test_a_coordinator_evaluates_again_with_a_reason_on_the_page(studies, coordinator, coordinator_client):
    screening = create_screening(coordinator)
    amend()
    url = reverse("screening-reevaluate", args=[screening.pk])

    refused = coordinator_client.post(url, {"reason": ""})
    assert refused.status_code == 200 and refused.context["reevaluation_form"].errors["reason"]
    response = coordinator_client.post(url, {"reason": "Amendment 2 in force"})

    assert response.status_code == 302
    screening.refresh_from_db()
    assert screening.protocol_version == "2"
    assert "compliance" not in [c["code"] for c in screening.eligibility]
    tbil = next(c for c in screening.eligibility if c["code"] == "tbil")
    assert tbil["text"] == "Total bilirubin <= 1 x ULN."
    latest = screening.history.latest("history_date")
    assert (latest.history_user, latest.history_change_reason) == (coordinator, "Amendment 2 in force")
    page = coordinator_client.get(reverse("screening-detail", args=[screening.pk]))
    assert page.context["other_criteria_now"] is False


def test_the_api_evaluates_again_with_a_reason_and_refuses_an_enrolled_patient(studies, coordinator):
    api = client_for(coordinator)
    screening = create_screening(coordinator)
    participant = enrol(coordinator)
    amend()
    url = f"/api/v1/screenings/{screening.pk}/re-evaluation/"

    assert api.post(url, {}, format="json").json()["errors"] == {"reason": ["This field is required."]}
    body = api.post(url, {"reason": "Amendment 2 in force"}, format="json").json()
    assert body["protocol_version"] == "2" and "compliance" not in [c["code"] for c in body["eligibility"]["criteria"]]

    enrolled = api.post(f"/api/v1/screenings/{participant.screening_id}/re-evaluation/", {"reason": "x"},
                        format="json")
    assert enrolled.status_code == 409
    assert participant.protocol_version == "1"
    assert Screening.objects.get(pk=participant.screening_id).protocol_version == "1"


@pytest.mark.parametrize(("role", "site", "status"), [("monitor", "PUMCH", 403), ("coordinator", "XH", 404)])
def test_only_a_screener_of_the_site_evaluates_again(studies, other_site_study, coordinator, make_user, role, site,
                                                      status):
    screening = create_screening(coordinator)
    response = client_for(make_user(role, site=site)).post(f"/api/v1/screenings/{screening.pk}/re-evaluation/",
                                                           {"reason": "x"}, format="json")
    assert response.status_code == status
    assert Screening.objects.get(pk=screening.pk).history.count() == screening.history.count()


def test_a_changed_outcome_withdraws_the_investigators_confirmation(studies, coordinator):
    screening = create_screening(coordinator)
    confirm_eligibility(screening)
    setup_update(EligibilityCriterion.objects.filter(study__code="MSC-ITP-5", code="tbil"), 
        params={"analyte": "TBIL", "op": "<=", "multiple": 0.1, "limit": "uln"})
    study = Study.objects.get(code="MSC-ITP-5")
    amendment_activate(study=study, version="2", effective_date=date.today(), reason="Amended",
                       by=study_administrator(study))

    client_for(coordinator).post(f"/api/v1/screenings/{screening.pk}/re-evaluation/", {"reason": "Amended"},
                                 format="json")

    screening.refresh_from_db()
    assert screening.eligible is False and screening.eligibility_confirmed_at is None
