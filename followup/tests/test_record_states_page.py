"""The participant page shows each form's state through the whole monitoring chain: complete ->
signed once the investigator signs the casebook -> locked once the data manager locks it; a change
after signing takes the signature away and the forms are complete again."""
import re

from django.urls import reverse

from enrollment.locks import casebook_lock
from followup import signoff
from followup.data_queries import query_answer, query_open
from followup.record_refs import RecordRef
from followup.tests.support import study_locked_rows
from followup.tests.test_participant_budget import record
from trials.tests.support import SIGNER_PASSWORD


def states(client, participant) -> set[str]:
    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()
    section = page[page.index('data-testid="sdv-states"'):]
    return set(re.findall(r'data-sdv-state="([a-z_]+)"', section))


def test_forms_read_signed_then_locked_and_a_later_change_withdraws_the_signature(
        client, participant, coordinator, investigator, make_user):
    record(participant, coordinator, 0, 15)
    client.force_login(coordinator)
    assert "complete" in states(client, participant) and not {"signed", "locked"} & states(client, participant)

    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    found = states(client, participant)
    assert "signed" in found and "complete" not in found and "locked" not in found

    record(participant, coordinator, 1, 18)  # a later assessment: the signature no longer holds
    found = states(client, participant)
    assert "complete" in found and "signed" not in found

    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    participant.refresh_from_db()
    casebook_lock(participant=participant, by=make_user("data_manager"), reason="Casebook clean")
    assert states(client, participant) == {"locked"}


def test_the_study_page_counts_locked_casebooks_per_site(client, participant, coordinator, investigator, make_user):
    record(participant, coordinator, 0, 15)
    client.force_login(make_user("data_manager"))
    url = reverse("study-detail", args=[participant.study.code])

    assert study_locked_rows(client, url) == [("PUMCH", "1", "0")]
    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    participant.refresh_from_db()
    casebook_lock(participant=participant, by=make_user("data_manager"), reason="Casebook clean")
    assert study_locked_rows(client, url) == [("PUMCH", "1", "1")]


def test_queries_and_signatures_have_their_audit_trail_at_their_site_only(
        client, participant, coordinator, investigator, make_user):
    record(participant, coordinator, 0, 15)
    assessment = participant.assessments.get()
    query = query_open(RecordRef("assessment", assessment.pk), "lab:PLT", "Source says 51?", make_user("monitor"))
    query_answer(query, "Transcription checked: 15 stands.", coordinator)
    signature = signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)

    client.force_login(make_user("monitor"))
    page = client.get(reverse("audit-trail", args=["data-query", query.pk])).content.decode()
    assert "Source says 51?" in page and "Transcription checked: 15 stands." in page
    assert reverse("audit-trail", args=["data-query", query.pk]) in client.get(
        reverse("query-detail", args=[query.pk])).content.decode()
    page = client.get(reverse("audit-trail", args=["casebook-signature", signature.pk])).content.decode()
    assert signature.meaning in page
    assert reverse("audit-trail", args=["casebook-signature", signature.pk]) in client.get(
        reverse("participant-detail", args=[participant.pk])).content.decode()

    client.force_login(make_user("monitor", site="XH"))
    assert client.get(reverse("audit-trail", args=["data-query", query.pk])).status_code == 404
    assert client.get(reverse("audit-trail", args=["casebook-signature", signature.pk])).status_code == 404
