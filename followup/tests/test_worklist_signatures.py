"""What waits for an investigator's signature on the worklist (`followup/worklist.py`): eligible
screenings to confirm and adverse event drafts to confirm; for the site's investigators only, with
a number of queries that does not grow with the rows."""
import pytest
from django.urls import reverse

from enrollment.tests.support import consent, create_screening, today
from followup.tests.factories import AdverseEventFactory
from followup.tests.support import enrol, items
from trials.models import Study
from trials.tests.support import client_for, confirm_eligibility, forget_site_roles, setup_update


def eligible(by, **changes):
    screening = create_screening(by, **changes)
    consent(screening, by)
    return screening


def coordinator_draft(participant, by, term="Headache"):
    return AdverseEventFactory(participant=participant, term=term, category="non_haematological", onset_date=today(),
                               grade=2, serious=False, relationship="definite", by=by)


def test_an_eligible_screening_waits_for_the_sites_investigator(studies, coordinator, investigator, make_user):
    screening = eligible(coordinator)
    create_screening(coordinator, understands_and_complies=False)  # not eligible: nothing to confirm

    listed = items(client_for(investigator))

    assert [(i["kind"], i["status"], i["id"], i["label"], i["url"], i["participant"], i["window_end"])
            for i in listed] == [
        ("eligibility_confirmation", "due", screening.pk, f"Eligibility to confirm and sign: {screening.number}",
         f"/screenings/{screening.pk}/#eligibility-confirmation", None, None)]
    assert listed[0]["screening"] == {"id": screening.pk, "number": screening.number, "study": "MSC-ITP-5"}
    assert items(client_for(coordinator)) == []
    assert items(client_for(make_user("monitor"))) == []
    assert items(client_for(make_user("investigator", site="XH"))) == []

    confirm_eligibility(screening, by=investigator)
    assert items(client_for(investigator)) == []


def test_a_study_without_the_setting_lists_no_confirmation(studies, coordinator, investigator):
    eligible(coordinator)
    setup_update(Study.objects.filter(code="MSC-ITP-5"), eligibility_confirmation_required=False)
    assert items(client_for(investigator)) == []


def test_a_coordinators_draft_waits_for_the_investigator_to_sign(studies, coordinator, investigator):
    participant = enrol(coordinator)
    draft = coordinator_draft(participant, coordinator)
    assert items(client_for(coordinator), "?kind=adverse_event_draft") == []
    listed = items(client_for(investigator), "?kind=adverse_event_draft")
    assert [(i["kind"], i["id"], i["label"]) for i in listed] == [
        ("adverse_event_draft", draft.pk,
         "Adverse event to confirm and sign (grade, seriousness, relationship): Headache")]


def test_the_page_lists_both_for_an_investigator_with_the_pages_to_sign(client, studies, coordinator, investigator):
    participant = enrol(coordinator)
    draft = coordinator_draft(participant, coordinator)
    screening = eligible(coordinator)
    client.force_login(investigator)

    page = client.get(reverse("worklist")).content.decode()

    assert page.count('data-kind="eligibility_confirmation" data-status="due"') == 1
    assert page.count('data-kind="adverse_event_draft" data-status="due"') == 1
    assert f'href="/screenings/{screening.pk}/#eligibility-confirmation" data-testid="worklist-act"' in page
    assert f'href="/adverse-events/{draft.pk}/" data-testid="worklist-act"' in page
    filtered = client.get(reverse("worklist") + "?kind=eligibility_confirmation")
    assert [row["item"].kind for row in filtered.context["rows"]] == ["eligibility_confirmation"]


def many_to_sign(by, count):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    for _ in range(count):
        coordinator_draft(enrol(by), by)
        eligible(by)


@pytest.mark.parametrize("count", [1, 20])
def test_an_investigators_api_query_count_does_not_grow_with_rows(studies, coordinator, investigator, count,
                                                                  django_assert_num_queries):
    many_to_sign(coordinator, count)
    api = client_for(investigator)
    forget_site_roles(investigator)
    with django_assert_num_queries(6):  # memberships, visits, infusions, adverse events, screenings, casebooks
        body = api.get("/api/v1/worklist/").json()
    assert body["counts"] == {"overdue": 0, "due": 2 * count}


@pytest.mark.parametrize("count", [1, 20])
def test_an_investigators_page_query_count_does_not_grow_with_rows(client, studies, coordinator, investigator, count,
                                                                   django_assert_max_num_queries):
    many_to_sign(coordinator, count)
    client.force_login(investigator)
    with django_assert_max_num_queries(13):  # session, user, memberships, 5 item reads, filter choices
        response = client.get(reverse("worklist"))
    assert response.context["counts"]["due"] >= 2 * count
