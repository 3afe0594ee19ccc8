"""No lost update through the correction pages (trials/concurrency.py): two users open the same
screening, assessment or adverse event and both save a change. The first save is applied; the
second, made from the version the page was read at (its hidden field), is not: the page comes back
(200) with the conflict box naming who changed which fields, when and why, the user's values still
in the form and the form at the current version, so that saving again applies them. Nothing is
overwritten and history has the accepted saves' rows only. Racing on PostgreSQL: 50 pairs per
record type posted at the same moment."""
import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dosing.tests.escalation_setup import adverse_event, dlt_onset, enrol_p2
from enrollment.models import Screening
from enrollment.tests.support import create_screening
from followup.models import AdverseEvent, Assessment
from followup.tests.rendered_forms import conflict_box, rendered_form
from followup.tests.test_assessment_update_api import w1_body
from trials.tests.support import client_for, require_service


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def opened(client, url) -> dict:
    """The correction page as its user opened it: its form as the browser would send it back."""
    response = client.get(url)
    assert response.status_code == 200
    return rendered_form(response.content.decode())


# Each kind: the record's model, its field corrected on the page, the page that corrects it, the
# page a saved correction goes to, a value of the field per (pair, side), and the history rows of
# one accepted save (a screening's: its facts, then their evaluation).
KINDS = {
    "screening": (Screening, "weight_kg", "screening-edit", "screening-detail",
                  lambda n, side: f"{50 + n % 20 + side / 10:.1f}", 2),
    "assessment": (Assessment, "notes", "assessment-edit", "participant-detail",
                   lambda n, side: f"Pair {n} by {side}", 1),
    "adverse event": (AdverseEvent, "description", "adverse-event-edit", "adverse-event-detail",
                      lambda n, side: f"Pair {n} by {side}", 1),
}


def record_of(kind, coordinator, woman):
    if kind == "screening":
        return create_screening(coordinator)
    if kind == "assessment":
        response = client_for(coordinator).post(f"/api/v1/participants/{woman.pk}/assessments/", w1_body(),
                                                format="json")
        assert response.status_code == 201, response.json()
        return Assessment.objects.get(pk=response.json()["id"])
    return adverse_event(enrol_p2(coordinator), onset=dlt_onset(), by=coordinator, description="ALT 6 x ULN")


def stored(model, pk, field):
    value = model.objects.values_list(field, flat=True).get(pk=pk)
    return f"{value:.1f}" if isinstance(value, float) else value


def done_at(kind, record) -> str:
    if kind == "assessment":
        return reverse("participant-detail", args=[record.participant_id])
    return reverse(KINDS[kind][3], args=[record.pk])


@pytest.mark.parametrize("kind", ["assessment", "adverse event", "screening"])
def test_a_save_from_an_older_read_shows_the_other_change_and_keeps_the_users_values(
        studies, coordinator, make_user, woman, kind):
    model, field, page, _done, _value, rows_per_save = KINDS[kind]
    record = record_of(kind, coordinator, woman)
    url = reverse(page, args=[record.pk])
    mine, theirs = signed_in(coordinator), signed_in(other := make_user("coordinator"))
    my_form, their_form = opened(mine, url), opened(theirs, url)
    read_at = int(my_form["version"])
    assert read_at == record.row_version and their_form["version"] == my_form["version"]
    their_value, my_value = ("63.0", "60.0") if kind == "screening" else ("Seen by the nurse", "Mine, not yours")
    before = stored(model, record.pk, field)

    saved = theirs.post(url, {**their_form, field: their_value, "reason": "Copied from the source"})
    assert saved.status_code == 302 and saved.url == done_at(kind, record), saved.context and saved.context[
        "conflict"]
    rows = model.history.filter(id=record.pk).count()
    latest = model.history.filter(id=record.pk).first()

    response = mine.post(url, {**my_form, field: my_value, "reason": "Mine is right"})

    assert response.status_code == 200
    page_html = response.content.decode()
    box = conflict_box(page_html)
    assert other.username in box and "Copied from the source" in box  # who, why
    assert timezone.localtime(latest.history_date).strftime("%Y-%m-%d %H:%M") in box  # when
    assert f"<code>{field}</code> {before} &rarr; {their_value}" in box  # which field, from -> to
    assert f"version {read_at}, now {read_at + rows_per_save}" in box
    assert stored(model, record.pk, field) == their_value  # nothing overwritten
    assert model.history.filter(id=record.pk).count() == rows  # nothing written
    again = rendered_form(page_html)
    assert (again[field], again["reason"]) == (my_value, "Mine is right")  # the user's values kept
    assert int(again["version"]) == read_at + rows_per_save  # the form is now at the current version

    applied = mine.post(url, again)

    assert applied.status_code == 302 and applied.url == done_at(kind, record)
    assert stored(model, record.pk, field) == my_value
    assert model.history.filter(id=record.pk).first().history_change_reason == "Mine is right"


@pytest.mark.parametrize("kind", ["assessment", "adverse event", "screening"])
def test_a_page_without_its_version_is_refused_above_the_form_and_writes_nothing(studies, coordinator, woman, kind):
    """A page opened without the version (sent from an older page) is refused, and says why above
    the form: its hidden field shows no message."""
    model, field, page, _done, value, _rows = KINDS[kind]
    record = record_of(kind, coordinator, woman)
    url = reverse(page, args=[record.pk])
    client = signed_in(coordinator)
    form = opened(client, url)
    before, rows = stored(model, record.pk, field), model.history.filter(id=record.pk).count()

    response = client.post(url, {**form, "version": "", field: value(1, 1), "reason": "From an old page"})

    assert response.status_code == 200
    html = response.content.decode()
    assert not conflict_box(html)
    assert html.count("Send the version of the record you read") == 1  # shown, once
    assert (stored(model, record.pk, field), model.history.filter(id=record.pk).count()) == (before, rows)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["screening", "assessment", "adverse event"])
def test_racing_page_corrections_never_overwrite_silently(studies, make_user, woman, kind):
    """50 pairs of users open the same correction page and save a change at the same moment: one of
    each pair is saved (redirected), the other gets the page again with the conflict box naming the
    winner and their change, and its own values kept; the stored value is the winner's and history
    has the accepted save's rows only."""
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    model, field, page, _done, value, rows_per_save = KINDS[kind]
    users = {1: make_user("coordinator"), 2: make_user("coordinator")}
    record = record_of(kind, users[1], woman)
    url, done = reverse(page, args=[record.pk]), done_at(kind, record)
    clients = {side: signed_in(user) for side, user in users.items()}
    raced = 0
    for pair in range(50):
        forms = {side: opened(client, url) for side, client in clients.items()}
        read_at = int(forms[1]["version"])
        assert forms[2]["version"] == str(read_at) == str(model.objects.get(pk=record.pk).row_version)
        before = stored(model, record.pk, field)
        rows = model.history.filter(id=record.pk).count()
        barrier = threading.Barrier(2)
        responses, spans = {}, {}

        def save(side, forms=forms, barrier=barrier, responses=responses, spans=spans, pair=pair):
            try:
                body = {**forms[side], field: value(pair, side), "reason": f"Pair {pair} side {side}"}
                barrier.wait(timeout=10)
                started = time.monotonic()
                responses[side] = clients[side].post(url, body)
                spans[side] = (started, time.monotonic())
            finally:
                connections.close_all()

        threads = [threading.Thread(target=save, args=(side,)) for side in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses = {side: response.status_code for side, response in responses.items()}
        assert sorted(statuses.values()) == [200, 302], (kind, pair, statuses)
        winner = next(side for side, code in statuses.items() if code == 302)
        loser = 3 - winner
        assert responses[winner].url == done
        assert stored(model, record.pk, field) == value(pair, winner)  # no silent overwrite
        assert model.history.filter(id=record.pk).count() - rows == rows_per_save
        html = responses[loser].content.decode()
        box = conflict_box(html)
        assert users[winner].username in box and f"Pair {pair} side {winner}" in box, (kind, pair, box)
        assert f"<code>{field}</code> {before} &rarr; {value(pair, winner)}" in box, (kind, pair, box)
        kept = rendered_form(html)
        assert kept[field] == value(pair, loser) and kept["reason"] == f"Pair {pair} side {loser}"
        assert int(kept["version"]) == read_at + rows_per_save
        raced += max(start for start, _end in spans.values()) < min(end for _start, end in spans.values())
    assert raced >= 25, f"only {raced} of 50 pairs were posted at the same time"  # the pairs did race
