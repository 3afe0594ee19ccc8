"""The study dashboard's cache (`followup.dashboard_cache`) under the study's data version
(`followup.dashboard_version`): every kind of write that can change the dashboard moves the version
(database triggers), so the page read after it is built again and shows the write; readers with
other sites, language, filter or page of lanes never share an entry; a cached read runs a fixed
number of statements.

The tests of a write moving the version commit it (transactional tests): on PostgreSQL the version is
raised at the commit."""
import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment import services as enrolment
from enrollment.locks import casebook_lock
from enrollment.tests.support import create_screening, today
from followup import dashboard_version, signoff
from followup.models import OutcomeResult
from followup.outcomes import outcomes_compute
from followup.tests.dashboard_world import build_world, graded
from followup.tests.support import NON_RESPONDER, enrol, treated_participant
from followup.tests.test_study_dashboard import counts, rows
from trials.tests.support import SIGNER_PASSWORD, change_context

URL = reverse("study-dashboard", args=["MSC-ITP-5"])


def built(response) -> bool:
    """True when the page was built for this request, False when its figures came from the cache."""
    return "data" in response.context


def of_study(model, study):
    """Some record of `model` that belongs to `study` (the lookup from the model to the study)."""
    for lookup in ("study", "screening__study", "participant__study", "assessment__participant__study",
                   "arm__study", "studies"):
        try:
            found = model.objects.filter(**{lookup: study}).order_by("pk").first()
        except Exception:  # noqa: S112 (not this model's path to the study)
            continue
        if found is not None:
            return found
    if model._meta.label == "trials.ResponseCriteriaSet":
        return study.diseases.first().response_criteria
    return model.objects.filter(pk=study.pk).first() if model._meta.label == "trials.Study" else None


def records_the_world_lacks(study, by):
    """A transfusion, a rescue therapy and an escalation decision (the world has none)."""
    assessment = apps.get_model("followup", "Assessment").objects.filter(participant__study=study).first()
    with change_context(by=by, reason="Dashboard version test"):
        apps.get_model("followup", "Transfusion").objects.create(assessment=assessment, kind="platelet",
                                                                 date=assessment.date)
        apps.get_model("followup", "RescueTherapy").objects.create(assessment=assessment, therapy="ivig",
                                                                   start=assessment.date)
        apps.get_model("dosing", "EscalationDecision").objects.create(
            study=study, action="escalate", level=apps.get_model("trials", "DoseLevel").objects.filter(
                arm__study=study).first(), proposal_action="escalate", proposal_message={},
            signed_by=by, signed_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_every_tracked_record_moves_the_version(p3, coordinator):
    """Each kind of record of `TRACKED` (casebooks, screenings, decisions, configuration, stored
    outcomes), saved once, raises the study's version and gives a new token."""
    build_world(p3, coordinator)
    records_the_world_lacks(p3, coordinator)
    outcomes_compute(study=p3)
    missing = []
    for app, name, _how, _kind in dashboard_version.TRACKED:
        record = of_study(apps.get_model(app, name), p3)
        if record is None:
            missing.append(name)
            continue
        before = dashboard_version.current(p3.pk)
        with change_context(by=coordinator, reason="Dashboard version test"):
            record.save()
        after = dashboard_version.current(p3.pk)
        assert after != before, name
        assert int(after.split(".")[0]) == int(before.split(".")[0]) + 1, name
    assert missing == []


@pytest.mark.django_db(transaction=True)
def test_the_page_after_a_write_shows_it(client, p3, coordinator, investigator, make_user):
    """Read twice (the second from the cache), then after each write the page is built again and
    shows it: a screening, a withdrawal, an adverse event, a lock, the study's configuration and the
    outcomes task's stored results."""
    a = treated_participant(coordinator, [(30, 110), (37, 125)])
    b = treated_participant(coordinator, NON_RESPONDER)
    d = enrol(coordinator)
    outcomes_compute(study=p3)
    client.force_login(investigator)

    def read():
        first = client.get(URL)
        assert not built(client.get(URL))  # the cached page
        return first

    page = read()
    assert built(page) and counts(page.content.decode())["screened"] == 3

    create_screening(coordinator)
    page = read()
    assert built(page) and counts(page.content.decode())["screened"] == 4

    enrolment.participant_withdraw(participant=d, withdrawn_on=today(), reason="lost_to_follow_up", by=coordinator)
    page = read()
    assert built(page) and counts(page.content.decode())["withdrawn"] == 1

    assert page.context["data"].any_adverse_event is None
    graded(b, coordinator, "Fever", 3)
    page = read()
    assert built(page) and page.context["data"].any_adverse_event is not None

    signoff.casebook_sign(participant=a, password=SIGNER_PASSWORD, by=investigator)
    a.refresh_from_db()
    casebook_lock(participant=a, by=make_user("data_manager"), reason="Casebook clean")
    assert built(read())

    with change_context(by=None, reason="Arm renamed"):
        arm = p3.arms.get()
        arm.name = "Renamed arm"
        arm.save()
    assert built(read())

    # the outcomes task stores B's result as a response: the response rates move at once
    assert rows(page.content.decode(), "outcomes")[-1][3] == "1"
    OutcomeResult.objects.filter(participant=b).update(best="CR")
    page = read()
    assert built(page) and rows(page.content.decode(), "outcomes")[-1][3] == "2"


def test_readers_never_share_an_entry(client, p3, coordinator, investigator, make_user):
    """Other sites, language, filter or page of lanes: each built for itself, never another's."""
    build_world(p3, coordinator)
    other_site = make_user("investigator", site="XH")
    client.force_login(investigator)
    pumch = client.get(URL)
    assert built(pumch) and counts(pumch.content.decode())["screened"] == 7
    client.force_login(other_site)
    xh = client.get(URL)
    assert built(xh) and counts(xh.content.decode())["screened"] == 1
    assert not built(client.get(URL))
    client.force_login(investigator)
    assert not built(again := client.get(URL)) and counts(again.content.decode())["screened"] == 7
    for query in ({"disease": "ITP"}, {"lanes": "2"}, {"group": f"arm-{p3.arms.get().pk}"}):
        narrowed = client.get(URL, query)
        assert built(narrowed), query
        assert not built(client.get(URL, query)), query
    english = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert not built(english) and "Response rates" in english.content.decode()
    chinese = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert built(chinese) and "缓解率" in chinese.content.decode() and "Response rates" not in chinese.content.decode()
    assert not built(client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans"))


def test_a_cached_read_runs_a_fixed_number_of_statements(client, p3, coordinator, investigator):
    treated_participant(coordinator, [(30, 20)])
    client.force_login(investigator)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        assert not built(client.get(URL))
    for _ in range(3):
        treated_participant(coordinator, [(30, 110)])
    client.get(URL)
    with CaptureQueriesContext(connection) as more:
        assert not built(client.get(URL))
    assert len(few.captured_queries) == len(more.captured_queries) <= 8
