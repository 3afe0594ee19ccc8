"""Casebooks awaiting the investigator's signature on the worklist (`followup/worklist.py`):
participants with an infusion recorded, never signed or changed since the last signature; for the
site's investigators only, with a number of queries that does not grow with the rows."""
from datetime import datetime, time, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dosing.tests.factories import InfusionFactory
from enrollment.models import Screening
from followup import signoff
from followup.tests.support import enrol, items
from trials.tests.support import SIGNER_PASSWORD, client_for, forget_site_roles, setup_update

TZ = timezone.get_current_timezone()
KIND = "?kind=casebook_signature"


def infused(coordinator):
    """A P3 participant whose first infusion was given three days ago."""
    day0 = timezone.localdate() - timedelta(days=3)
    participant = enrol(coordinator, day0=day0, enrolled_on=day0 - timedelta(days=2))
    InfusionFactory(participant=participant, number=1, started_at=datetime.combine(day0, time(9), tzinfo=TZ),
                    by=coordinator)
    return participant


def test_a_casebook_waits_for_signature_until_signed_and_again_after_a_change(studies, coordinator, investigator,
                                                                             make_user):
    enrol(coordinator)  # no infusion recorded: not yet a casebook to sign
    participant = infused(coordinator)
    client = client_for(investigator)

    listed = items(client, KIND)
    assert [(i["kind"], i["id"], i["label"], i["url"]) for i in listed] == [
        ("casebook_signature", participant.pk, "Casebook to sign: not signed yet",
         f"/participants/{participant.pk}/#casebook-signoff")]
    assert items(client_for(coordinator), KIND) == []
    assert items(client_for(make_user("monitor")), KIND) == []
    assert items(client_for(make_user("investigator", site="XH")), KIND) == []

    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    assert items(client, KIND) == []

    setup_update(Screening.objects.filter(pk=participant.screening_id), initials="LW")
    assert [i["label"] for i in items(client, KIND)] == [
        "Casebook to sign again: the data changed after the last signature"]


def test_the_casebooks_cost_the_same_queries_for_one_and_for_many(studies, coordinator, investigator):
    infused(coordinator)

    def count():
        forget_site_roles(investigator)
        with CaptureQueriesContext(connection) as queries:
            listed = items(client_for(investigator), KIND)
        return len(listed), len(queries)

    one = count()
    for _ in range(5):
        infused(coordinator)
    many = count()
    assert (one[0], many[0]) == (1, 6)
    assert one[1] == many[1]
