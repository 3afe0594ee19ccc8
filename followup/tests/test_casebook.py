"""The printable casebook (`followup.casebook`): every form with every item's value and its
verification, the signatures, the data queries with their threads, the audit trail's changes with
their reasons, the lock state; for the roles of the participant's site only; a fixed number of
statements however many records."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from enrollment.locks import casebook_lock
from followup.models import Assessment
from followup.signoff import casebook_sign
from followup.tests.sdv_support import assessment
from followup.tests.test_participant_audit import monitored
from trials import catalogues
from trials.tests.support import SIGNER_PASSWORD

READERS = ["coordinator", "investigator", "monitor", "data_manager", "admin"]


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="chen")


@pytest.fixture
def casebook(participant, coordinator, investigator, monitor, admin):
    first, query = monitored(participant, coordinator, investigator, monitor, admin)
    return participant, first, query


def _get(client, participant):
    return client.get(reverse("participant-casebook", args=[participant.pk]))


def test_the_casebook_prints_every_form_with_its_values_and_verifications(client, casebook, monitor):
    participant, first, _ = casebook
    client.force_login(monitor)
    response = _get(client, participant)
    assert response.status_code == 200
    book = response.context["casebook"]
    kinds = [record.kind for record in book.records]
    assert kinds[:3] == ["screening", "consent", "infusion"] and kinds[-2:] == ["assessment", "adverse_event"]
    html = response.content.decode()
    screening = participant.screening
    assert f'data-record="screening-{screening.pk}"' in html
    screening_values = book.records[0].values
    form = html.split(f'data-record="screening-{screening.pk}"')[1]
    weight = form.split('data-item="weight_kg"')[1].split("</tr>")[0]
    assert f"{screening.weight_kg:g}" in weight
    therapies = screening.prior_therapies.all()
    # each therapy by its catalogue name, with its outcome
    names = [str(catalogues.current().therapy_name(therapy.therapy)) for therapy in therapies]
    assert names and all(name in screening_values["prior_therapies"] for name in names)
    plt = first.labs.get(analyte="PLT")
    form = html.split(f'data-record="assessment-{first.pk}"')[1].split("</section>")[0]
    assert f"{plt.entered_value:g} {plt.entered_unit}" in form
    assert f"verified by {monitor.get_username()} on" in form.split('data-item="lab:PLT"')[1].split("</tr>")[0]
    assert "Headache" in html


def test_the_casebook_prints_signatures_queries_and_changes(client, casebook, investigator):
    participant, _, query = casebook
    client.force_login(investigator)
    html = _get(client, participant).content.decode()
    signatures = html.split('data-testid="casebook-signatures"')[1].split("</section>")[0]
    assert f"({investigator.get_username()})" in signatures and "Signed by" in signatures
    queries = html.split('data-testid="casebook-queries"')[1].split("</section>")[0]
    assert "Is the date the day of the sample?" in queries and "Yes, as in the lab report" in queries
    assert "Confirmed against the lab report" in queries
    audit = html.split('data-testid="casebook-audit"')[1].split("</section>")[0]
    assert "Ready for the interim analysis" in audit and "Late lab result to enter" in audit
    assert 'data-action="created"' not in audit
    assert 'data-testid="casebook-unlocked"' in html


def test_a_locked_casebook_says_so(client, casebook, admin, investigator):
    participant, _, _ = casebook
    casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    casebook_lock(participant=participant, by=admin, reason="Final analysis")
    client.force_login(admin)
    assert 'data-testid="casebook-locked"' in _get(client, participant).content.decode()


@pytest.mark.parametrize("role", READERS)
def test_every_role_of_the_site_reads_the_casebook(client, participant, make_user, role):
    client.force_login(make_user(role, username=f"reader-{role}"))
    assert _get(client, participant).status_code == 200


def test_another_site_and_anonymous_are_refused(client, participant, make_user):
    assert _get(client, participant).status_code == 302  # to sign in
    client.force_login(make_user("investigator", username="elsewhere", site="WCH"))
    assert _get(client, participant).status_code == 404


def test_the_participant_page_links_the_casebook(client, participant, coordinator):
    client.force_login(coordinator)
    html = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    assert reverse("participant-casebook", args=[participant.pk]) in html


def _statements(client, participant) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert _get(client, participant).status_code == 200
    return len(queries)


def test_the_same_statements_for_one_and_for_many_records(client, casebook, coordinator, monitor):
    participant, _, _ = casebook
    client.force_login(monitor)
    _get(client, participant)  # the session's first request also stores its activity
    few = _statements(client, participant)
    for day in range(2, 12):
        assessment(participant, coordinator, day=day)
    assert Assessment.objects.filter(participant=participant).count() == 11
    assert _statements(client, participant) == few
    assert few <= 45
