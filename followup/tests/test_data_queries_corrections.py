"""A correction of an adverse event answering the data query it was opened from, as a correction
of an assessment does: through the API's PATCH (`query`) and the edit page the query page links to
(`?query=`), the answer and the link to the change written with the correction or, when the query
is refused (another record's, another site's, no longer open), nothing at all. The records with no
correction (screening, consent, infusion, visit) say so on the query page."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from dosing.tests.escalation_setup import adverse_event, dlt_onset, enrol_p2
from enrollment import services as enrollment_services
from enrollment.tests.factories import ConsentFactory, ParticipantFactory, ScreeningFactory
from enrollment.tests.support import screened_on
from followup import services
from followup.data_queries import query_close, query_open
from followup.models import AdverseEvent, DataQuery
from followup.query_views import NO_CORRECTION
from followup.record_refs import RecordRef
from followup.tests.support import adverse_event_form_as_posted, assessment_form_as_posted
from trials.labs import LabInput
from trials.tests.support import SIGNER_PASSWORD, client_for, confirm_eligibility, patch_current

REASON = "Grade 2 on the lab report"


@pytest.fixture
def event(studies, coordinator):
    """A confirmed grade 3 ALT increase, possibly related."""
    return adverse_event(enrol_p2(coordinator), onset=dlt_onset(), by=coordinator, description="ALT 6 x ULN")


def ask(record, by, item="grade", kind="adverse_event"):
    return query_open(RecordRef(kind, record.pk), item, "Grade 2 or 3 on the source?", by)


def api_url(event) -> str:
    return f"/api/v1/adverse-events/{event.pk}/"


def edit_url(event, query=None) -> str:
    return reverse("adverse-event-edit", args=[event.pk]) + (f"?query={query.pk}" if query else "")


def unchanged(event, query) -> None:
    """Nothing of the correction was written: the event as it was, the query open and unanswered."""
    row = AdverseEvent.objects.get(pk=event.pk)
    assert (row.grade, row.status, row.history.count()) == (event.grade, "confirmed", event.history.count())
    query = DataQuery.objects.get(pk=query.pk)
    assert (query.answer, query.correction_history_id) == ("", None)


# --- API ------------------------------------------------------------------------------------------

def test_a_patch_answers_the_query_and_links_the_change(api, event, monitor, coordinator):
    query = ask(event, monitor)

    response = patch_current(api, api_url(event), {"grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 200, response.json()
    query.refresh_from_db()
    change = AdverseEvent.history.filter(id=event.pk).latest("history_id")
    assert (change.grade, change.history_change_reason) == (2, REASON)
    assert (query.state, query.answer, query.answered_by, query.correction_kind, query.correction_pk,
            query.correction_history_id) == ("answered", REASON, coordinator, "adverse-event", event.pk,
                                             change.history_id)
    body = client_for(monitor).get(f"/api/v1/queries/{query.pk}/").json()
    assert body["correction"]["history_id"] == change.history_id
    assert [m["kind"] for m in body["messages"]] == ["question", "answer"]


def test_an_investigators_signed_correction_answers_the_query(event, monitor, investigator):
    query = ask(event, monitor)

    response = patch_current(client_for(investigator), api_url(event), {
        "grade": 2, "reason": REASON, "password": SIGNER_PASSWORD, "query": query.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "confirmed"
    query.refresh_from_db()
    assert (query.state, query.answered_by, query.correction_history_id) == (
        "answered", investigator, AdverseEvent.history.filter(id=event.pk).latest("history_id").history_id)


def test_a_patch_changing_nothing_answers_the_query_without_a_link(api, event, monitor):
    query = ask(event, monitor)

    response = patch_current(api, api_url(event), {"grade": 3, "reason": "Grade 3 on the source", "query": query.pk},
                             format="json")

    assert response.status_code == 200, response.json()
    query.refresh_from_db()
    assert (query.state, query.answer, query.correction_history_id) == ("answered", "Grade 3 on the source", None)


def test_a_query_of_another_record_is_refused_and_nothing_is_written(api, event, monitor, coordinator):
    other = adverse_event(event.participant, onset=dlt_onset(), by=coordinator, term="Headache", grade=1)
    query = ask(other, monitor)

    response = patch_current(api, api_url(event), {"grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["query"] == ["This is not a query on this record."]
    unchanged(event, query)
    assert DataQuery.objects.get(pk=query.pk).state == "open"


def test_a_query_on_another_kind_of_record_is_refused(api, event, monitor, coordinator):
    query = ask(event.participant.screening, monitor, item="weight_kg", kind="screening")

    response = patch_current(api, api_url(event), {"grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 400 and "query" in response.json()["errors"]
    unchanged(event, query)


@pytest.mark.parametrize("query_id", [0, -1, "x", 2 ** 63])
def test_a_query_that_is_no_id_is_refused_on_the_field(api, event, query_id):
    response = patch_current(api, api_url(event), {"grade": 2, "reason": REASON, "query": query_id}, format="json")

    assert response.status_code == 400 and "query" in response.json()["errors"]
    assert AdverseEvent.objects.get(pk=event.pk).grade == 3


def test_a_closed_query_is_a_conflict_and_nothing_is_written(api, event, monitor):
    query = ask(event, monitor)
    query_close(query, monitor, "Withdrawn.")

    response = patch_current(api, api_url(event), {"grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 409
    assert response.json()["errors"]["query"] == ["This query is closed."]
    unchanged(event, query)


def test_an_answered_query_is_a_conflict(api, event, monitor):
    query = ask(event, monitor)
    assert patch_current(api, api_url(event), {"description": "ALT 6 x ULN on day 3", "reason": "Source re-read",
                                               "query": query.pk}, format="json").status_code == 200

    response = patch_current(api, api_url(event), {"grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 409 and "query" in response.json()["errors"]
    assert AdverseEvent.objects.get(pk=event.pk).grade == 3


def test_a_refused_signature_leaves_the_query_open(event, monitor, investigator):
    query = ask(event, monitor)

    response = patch_current(client_for(investigator), api_url(event), {
        "grade": 2, "reason": REASON, "password": "not my password", "query": query.pk}, format="json")

    assert response.status_code == 403
    unchanged(event, query)
    assert DataQuery.objects.get(pk=query.pk).state == "open"


def test_a_refused_correction_leaves_the_query_open(api, event, monitor):
    query = ask(event, monitor)

    response = patch_current(api, api_url(event), {"grade": 2, "reason": "", "query": query.pk}, format="json")

    assert response.status_code == 400 and "reason" in response.json()["errors"]
    unchanged(event, query)
    assert DataQuery.objects.get(pk=query.pk).state == "open"


def test_a_query_of_another_site_is_refused(api, event, other_site_study, make_user):
    xh_coordinator = make_user("coordinator", site="XH")
    elsewhere = _xh_participant(xh_coordinator)
    query = ask(elsewhere.screening, make_user("monitor", site="XH"), item="weight_kg", kind="screening")

    response = patch_current(api, api_url(event), {"grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["query"] == ["This is not a query on this record."]
    unchanged(event, query)


def _xh_participant(by):
    data = enrollment_services.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": screened_on().replace(year=1990), "sex": "female",
                "disease": "ITP", "weight_kg": 60.0, "height_cm": 165},
        labs=[LabInput("PLT", 18, "10^9/L"), LabInput("ALT", 20, "U/L", 7, 40), LabInput("AST", 20, "U/L", 13, 35),
              LabInput("TBIL", 10, "umol/L", 3, 21), LabInput("CREAT", 60, "umol/L", 45, 84)],
        prior_therapies=[enrollment_services.TherapyInput("splenectomy", "relapse", screened_on().replace(year=2020),
                                                          screened_on().replace(year=2020))],
        conditions={"lactating": False},
        answers={"diagnosis_meets_guideline": True, "thrombocytopenia_months": 24,
                 "stable_maintenance_therapy_4_weeks": True, "childbearing_potential": False, "fertile": False,
                 "understands_and_complies": True})
    screening = ScreeningFactory(study="XH-MSC", site="XH", data=data, by=by)
    ConsentFactory(screening=screening, by=by, signed_at=timezone.now() - timedelta(days=1))
    confirm_eligibility(screening)
    return ParticipantFactory(screening=screening, by=by)


def test_a_correction_with_a_query_fits_its_budget(event, monitor, coordinator, django_assert_max_num_queries):
    query = ask(event, monitor)
    fresh = AdverseEvent.objects.select_related("participant").get(pk=event.pk)
    data = services.AdverseEventInput(**{name: services.KEEP for name in services.ADVERSE_EVENT_CORRECTABLE})
    data.grade = 2
    with django_assert_max_num_queries(16):  # 10 without a query
        services.adverse_event_update(event=fresh, data=data, reason=REASON, by=coordinator,
                                      version=fresh.row_version, query=query.pk)
    assert DataQuery.objects.get(pk=query.pk).state == "answered"


# --- pages ----------------------------------------------------------------------------------------

def test_the_query_page_links_the_events_edit_page_with_the_query(client, event, monitor, coordinator):
    query = ask(event, monitor)
    client.force_login(coordinator)

    page = client.get(reverse("query-detail", args=[query.pk]))

    assert page.context["correct_url"] == edit_url(event, query)
    assert b'data-testid="query-correct"' in page.content
    client.force_login(monitor)  # the asker does not answer: no link
    assert client.get(reverse("query-detail", args=[query.pk])).context["correct_url"] is None


def test_the_query_page_offers_no_correction_of_a_draft_event(client, event, monitor, coordinator):
    draft = adverse_event(event.participant, onset=dlt_onset(), by=coordinator, term="Headache", grade=1,
                          confirmed=False)
    query = ask(draft, monitor)
    client.force_login(coordinator)

    page = client.get(reverse("query-detail", args=[query.pk]))

    assert (page.context["correct_url"], page.context["no_correction"]) == (None, None)
    assert page.context["forms"]["answer"] is not None


def test_the_edit_page_shows_the_question_and_the_correction_answers_it(client, event, monitor, coordinator):
    query = ask(event, monitor)
    client.force_login(coordinator)
    page = client.get(edit_url(event, query))
    assert page.context["answering"] == query
    assert b'data-testid="answering-query"' in page.content and query.question.encode() in page.content
    assert f'name="query" value="{query.pk}"'.encode() in page.content

    response = client.post(edit_url(event), {**adverse_event_form_as_posted(page.context["form"]), "grade": "2",
                                             "reason": REASON, "query": str(query.pk)})

    assert response.status_code == 302 and response.url == reverse("query-detail", args=[query.pk])
    query.refresh_from_db()
    change = AdverseEvent.history.filter(id=event.pk).latest("history_id")
    assert (query.state, query.answer, query.correction_kind, query.correction_history_id) == (
        "answered", REASON, "adverse-event", change.history_id)
    assert AdverseEvent.objects.get(pk=event.pk).grade == 2
    detail = client.get(response.url)
    assert b'data-testid="query-correction"' in detail.content
    assert detail.context["audit_url"] == reverse("audit-trail", args=["adverse-event", event.pk])


def test_the_edit_page_refuses_a_closed_query_and_writes_nothing(client, event, monitor, coordinator):
    query = ask(event, monitor)
    client.force_login(coordinator)
    page = client.get(edit_url(event, query))
    query_close(query, monitor)  # closed while the coordinator was correcting

    response = client.post(edit_url(event), {**adverse_event_form_as_posted(page.context["form"]), "grade": "2",
                                             "reason": REASON, "query": str(query.pk)})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["This query is closed."]
    assert b'data-testid="answering-query-state"' in response.content
    unchanged(event, query)


def test_the_edit_page_refuses_a_query_of_another_record(client, event, monitor, coordinator):
    other = adverse_event(event.participant, onset=dlt_onset(), by=coordinator, term="Headache", grade=1)
    query = ask(other, monitor)
    client.force_login(coordinator)
    page = client.get(edit_url(event, query))
    assert page.context["answering"] is None
    assert b'data-testid="answering-query-unknown"' in page.content

    response = client.post(edit_url(event), {**adverse_event_form_as_posted(page.context["form"]), "grade": "2",
                                             "reason": REASON, "query": str(query.pk)})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["This is not a query on this record."]
    unchanged(event, query)


def test_the_edit_page_without_a_query_corrects_as_before(client, event, coordinator):
    client.force_login(coordinator)
    page = client.get(edit_url(event))
    assert b'name="query"' not in page.content and page.context["answering"] is None

    response = client.post(edit_url(event), {**adverse_event_form_as_posted(page.context["form"]),
                                             "description": "ALT 6 x ULN on day 3", "reason": REASON})

    assert response.status_code == 302 and response.url == reverse("adverse-event-detail", args=[event.pk])


def test_the_assessment_page_refuses_a_query_of_another_record(client, assessment, monitor, coordinator, woman):
    elsewhere = ask(woman.screening, monitor, item="weight_kg", kind="screening")
    client.force_login(coordinator)
    edit = reverse("assessment-edit", args=[assessment.pk])
    page = client.get(f"{edit}?query={elsewhere.pk}")
    data = {**assessment_form_as_posted(page), "bleeding_grade": "2", "reason": REASON, "query": str(elsewhere.pk)}

    response = client.post(edit, data)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["This is not a query on this record."]
    assert (assessment.__class__.objects.get(pk=assessment.pk).bleeding_grade,
            DataQuery.objects.get(pk=elsewhere.pk).state) == (1, "open")


@pytest.mark.parametrize(("kind", "item"), [("screening", "weight_kg"), ("consent", "signed_at"),
                                            ("infusion", "weight_kg"), ("visit", "done_at")])
def test_records_recorded_once_say_they_have_no_correction(client, woman, monitor, coordinator, kind, item):
    record = {"screening": woman.screening, "consent": woman.screening.consents.first(),
              "infusion": woman.infusions.get(number=1), "visit": woman.visits.first()}[kind]
    query = ask(record, monitor, item=item, kind=kind)
    client.force_login(coordinator)

    page = client.get(reverse("query-detail", args=[query.pk]))

    assert page.context["correct_url"] is None
    assert page.context["no_correction"] == NO_CORRECTION[kind]
    assert f'data-testid="query-no-correction">{escape(NO_CORRECTION[kind])}<'.encode() in page.content
