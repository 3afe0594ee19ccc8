"""A locked casebook, and every casebook of a locked study, refuses the monitoring writes too:
opening, answering, closing and re-opening a data query, verifying items against source, the
investigator's signature, and (a locked study) a change of the SDV plan. The services raise
`RecordLocked` and write nothing, the API answers 409 with `errors.lock`, the pages 403 naming the
lock, and the pages offer none of these forms on a locked record."""
from dataclasses import dataclass

import pytest
from django.urls import reverse

from enrollment.locks import casebook_lock, casebook_unlock
from enrollment.models import Participant
from followup import signoff
from followup.data_queries import query_answer, query_close, query_open, query_reopen
from followup.models import Assessment, DataQuery
from followup.query_models import DataQueryMessage
from followup.record_refs import RecordRef
from followup.sdv_models import ItemVerification, SdvPlan
from followup.services import items_verify, sdv_plan_set
from followup.signoff_models import CasebookSignature
from trials.errors import RecordLocked
from trials.locks import study_lock
from trials.models import Study
from trials.tests.support import SIGNER_PASSWORD, client_for

from .support import history_rows

REASONS = {"casebook": "Casebook clean", "study": "Final analysis"}


@dataclass
class Monitoring:
    """The `assessment` fixture's participant with a query in each state, raised before the lock."""

    assessment: Assessment
    open: DataQuery
    answered: DataQuery
    closed: DataQuery
    monitor: object
    coordinator: object
    investigator: object
    data_manager: object

    @property
    def participant(self) -> Participant:
        return Participant.objects.get(pk=self.assessment.participant_id)

    @property
    def study(self) -> Study:
        return Study.objects.get(participants__pk=self.assessment.participant_id)

    def query(self, state: str) -> DataQuery:
        return DataQuery.objects.select_related("participant").get(pk=getattr(self, state).pk)


@pytest.fixture
def monitoring(assessment, monitor, coordinator, investigator, data_manager):
    ref = RecordRef("assessment", assessment.pk)
    opened = query_open(ref, "lab:PLT", "Is 42 the value of the source?", monitor)
    answered = query_answer(query_open(ref, "bleeding_grade", "Grade 1?", monitor), "Yes, as in the notes", coordinator)
    closed = query_close(query_open(ref, "date", "Date of the visit?", monitor), monitor, "Fine")
    return Monitoring(assessment, opened, answered, closed, monitor, coordinator, investigator, data_manager)


def _lock(scope: str, m: Monitoring) -> None:
    if scope == "casebook":
        signoff.casebook_sign(participant=m.participant, password=SIGNER_PASSWORD, by=m.investigator)
        casebook_lock(participant=m.participant, by=m.data_manager, reason=REASONS["casebook"])
    else:
        study_lock(study=m.study, by=m.data_manager, reason=REASONS["study"])


def _written() -> tuple:
    return (history_rows(), DataQueryMessage.objects.count(), ItemVerification.objects.count(),
            CasebookSignature.objects.count(), SdvPlan.objects.count())


def _version(m: Monitoring) -> int:
    return Assessment.objects.get(pk=m.assessment.pk).row_version


SERVICES = {
    "query_open": lambda m: query_open(RecordRef("assessment", m.assessment.pk), "lab:HGB", "And HGB?", m.monitor),
    "query_answer": lambda m: query_answer(m.query("open"), "Checked against the source", m.coordinator),
    "query_close": lambda m: query_close(m.query("answered"), m.monitor, "Answer accepted"),
    "query_reopen": lambda m: query_reopen(m.query("closed"), m.monitor, "The source says otherwise"),
    "items_verify": lambda m: items_verify(record_ref=RecordRef("assessment", m.assessment.pk), item_codes=["date"],
                                           by=m.monitor, version=_version(m)),
    "casebook_sign": lambda m: signoff.casebook_sign(participant=m.participant, password=SIGNER_PASSWORD,
                                                     by=m.investigator),
}
SERVICE_CASES = [(scope, name) for scope in REASONS for name in SERVICES]


@pytest.mark.parametrize("scope, name", SERVICE_CASES, ids=[f"{s}-{n}" for s, n in SERVICE_CASES])
def test_every_monitoring_write_refuses_a_locked_record_and_writes_nothing(monitoring, scope, name):
    _lock(scope, monitoring)
    before = _written()

    with pytest.raises(RecordLocked) as refused:
        SERVICES[name](monitoring)

    assert refused.value.status == 409 and list(refused.value.errors) == ["lock"]
    assert REASONS[scope] in refused.value.message and monitoring.data_manager.username in refused.value.message
    assert _written() == before


def test_a_locked_study_keeps_its_sdv_plan(monitoring):
    _lock("study", monitoring)
    before = _written()

    with pytest.raises(RecordLocked) as refused:
        sdv_plan_set(study=monitoring.study, scope="all", reason="Sponsor asks for 100 %",
                     by=monitoring.data_manager)

    assert REASONS["study"] in refused.value.message
    assert _written() == before


def test_an_unlocked_casebook_takes_answers_again(monitoring, make_user):
    _lock("casebook", monitoring)
    with pytest.raises(RecordLocked):
        SERVICES["query_answer"](monitoring)
    casebook_unlock(participant=monitoring.participant, by=make_user("admin"), reason="Query to answer")

    answered = SERVICES["query_answer"](monitoring)

    assert answered.state == "answered"


# --- the API: 409 with errors.lock -------------------------------------------------------------------

def _api_cases(m: Monitoring) -> dict:
    """name: (user, method, url, body)."""
    p, a = m.assessment.participant_id, m.assessment.pk
    return {
        "query-open": (m.monitor, "post", reverse("api-participant-queries", args=[p]),
                       {"kind": "assessment", "record": str(a), "item": "lab:HGB", "question": "And HGB?"}),
        "query-answer": (m.coordinator, "post", reverse("api-query-answer", args=[m.open.pk]), {"answer": "Checked"}),
        "query-close": (m.monitor, "post", reverse("api-query-close", args=[m.answered.pk]), {"note": "Accepted"}),
        "query-reopen": (m.monitor, "post", reverse("api-query-reopen", args=[m.closed.pk]),
                         {"reason": "The source says otherwise"}),
        "verify": (m.monitor, "post", reverse("api-participant-verification", args=[p]),
                   {"kind": "assessment", "record": a, "items": ["date"], "version": _version(m)}),
        "signature": (m.investigator, "post", reverse("api-participant-signature", args=[p]),
                      {"password": SIGNER_PASSWORD}),
        "sdv-plan": (m.data_manager, "put", reverse("api-study-sdv-plan", args=[m.study.code]),
                     {"scope": "all", "reason": "Sponsor asks for 100 %"}),
    }


API_CASES = [(scope, name) for scope in REASONS for name in ("query-open", "query-answer", "query-close",
                                                             "query-reopen", "verify", "signature")]
API_CASES += [("study", "sdv-plan")]


@pytest.mark.parametrize("scope, name", API_CASES, ids=[f"{s}-{n}" for s, n in API_CASES])
def test_every_monitoring_endpoint_answers_409_naming_the_lock(monitoring, scope, name):
    _lock(scope, monitoring)
    user, method, url, body = _api_cases(monitoring)[name]
    before = _written()

    response = getattr(client_for(user), method)(url, body, format="json")

    assert response.status_code == 409, response.content
    assert list(response.json()["errors"]) == ["lock"]
    assert REASONS[scope] in response.json()["errors"]["lock"][0]
    assert _written() == before


# --- the pages: 403 naming the lock; no form offered ----------------------------------------------------

def _page_cases(m: Monitoring) -> dict:
    """name: (user, url, post data)."""
    p, a = m.assessment.participant_id, m.assessment.pk
    new = reverse("query-new", args=[p]) + f"?kind=assessment&record={a}&item=lab:HGB"
    return {
        "query-new": (m.monitor, new, {"kind": "assessment", "record": a, "item": "lab:HGB", "question": "And HGB?"}),
        "query-answer": (m.coordinator, reverse("query-detail", args=[m.open.pk]),
                         {"action": "answer", "answer": "Checked"}),
        "query-close": (m.monitor, reverse("query-detail", args=[m.answered.pk]), {"action": "close", "note": ""}),
        "query-reopen": (m.monitor, reverse("query-detail", args=[m.closed.pk]),
                         {"action": "reopen", "reason": "The source says otherwise"}),
        "verify": (m.monitor, reverse("record-verify", args=[p, "assessment", a]),
                   {"items": ["date"], "version": _version(m)}),
        "signature": (m.investigator, reverse("participant-casebook-sign", args=[p]), {"password": SIGNER_PASSWORD}),
        "sdv-plan": (m.data_manager, reverse("study-sdv-plan", args=[m.study.code]),
                     {"scope": "all", "reason": "Sponsor asks for 100 %"}),
    }


PAGE_CASES = [(scope, name) for scope in REASONS for name in ("query-new", "query-answer", "query-close",
                                                              "query-reopen", "verify", "signature")]
PAGE_CASES += [("study", "sdv-plan")]


@pytest.mark.parametrize("scope, name", PAGE_CASES, ids=[f"{s}-{n}" for s, n in PAGE_CASES])
def test_every_monitoring_page_answers_403_naming_the_lock(client, monitoring, scope, name):
    _lock(scope, monitoring)
    user, url, data = _page_cases(monitoring)[name]
    client.force_login(user)
    before = _written()

    responses = [client.post(url, data)] + ([client.get(url)] if name == "query-new" else [])

    for response in responses:
        assert response.status_code == 403, (response.request["REQUEST_METHOD"], response.status_code)
        text = response.content.decode()
        assert REASONS[scope] in text and "is locked" in text
    assert _written() == before


@pytest.mark.parametrize("scope", REASONS)
def test_the_query_page_of_a_locked_record_shows_the_lock_and_no_form(client, monitoring, scope):
    _lock(scope, monitoring)
    pages = [(monitoring.coordinator, monitoring.open), (monitoring.monitor, monitoring.answered),
             (monitoring.monitor, monitoring.closed), (monitoring.data_manager, monitoring.answered)]

    for user, query in pages:
        client.force_login(user)
        response = client.get(reverse("query-detail", args=[query.pk]))
        assert response.status_code == 200
        assert response.context["forms"] == {"answer": None, "close": None, "reopen": None}
        text = response.content.decode()
        assert 'data-testid="casebook-lock"' in text and REASONS[scope] in text
        assert not any(f'data-testid="query-{form}-form"' in text for form in ("answer", "close", "reopen"))


@pytest.mark.parametrize("scope", REASONS)
def test_the_participant_page_of_a_locked_record_offers_no_query_verification_or_signature(client, monitoring,
                                                                                           scope):
    participant_url = reverse("participant-detail", args=[monitoring.assessment.participant_id])
    client.force_login(monitoring.monitor)
    unlocked = client.get(participant_url)
    assert unlocked.context["can_query"] and unlocked.context["sdv"]["may_verify"]  # offered before the lock
    _lock(scope, monitoring)

    as_monitor = client.get(participant_url)
    client.force_login(monitoring.investigator)
    as_investigator = client.get(participant_url)

    assert not as_monitor.context["can_query"]
    assert 'data-testid="assessment-query"' not in as_monitor.content.decode()
    assert not as_monitor.context["sdv"]["may_verify"]
    assert as_investigator.context["signoff_form"] is None
    assert 'data-testid="casebook-sign-form"' not in as_investigator.content.decode()


@pytest.mark.parametrize("scope", REASONS)
def test_the_verification_page_of_a_locked_record_shows_the_lock_and_no_ticks(client, monitoring, scope):
    _lock(scope, monitoring)
    client.force_login(monitoring.monitor)
    p, a = monitoring.assessment.participant_id, monitoring.assessment.pk

    response = client.get(reverse("record-verify", args=[p, "assessment", a]))

    assert response.status_code == 200 and not response.context["may_verify"]
    text = response.content.decode()
    assert 'data-testid="verify-submit"' not in text and 'name="items"' not in text
    assert 'data-testid="casebook-lock"' in text and REASONS[scope] in text


def test_the_study_page_of_a_locked_study_offers_no_sdv_plan(client, monitoring):
    client.force_login(monitoring.data_manager)
    url = reverse("study-detail", args=[monitoring.study.code])
    assert 'data-testid="sdv-plan-form"' in client.get(url).content.decode()  # offered before the lock
    _lock("study", monitoring)

    response = client.get(url)

    assert response.context["sdv_plan_form"] is None
    assert 'data-testid="sdv-plan-form"' not in response.content.decode()
