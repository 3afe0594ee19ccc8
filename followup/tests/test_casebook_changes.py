"""The stored time of each casebook's latest change (`followup.casebook_changes`): kept by triggers
on the history tables of the casebook's records, always equal to the latest history row of them."""
import pytest
from django.apps import apps
from django.db import connection

from enrollment.models import Participant
from followup import casebook_changes
from followup.models import CasebookChange
from followup.tests.support import enrol
from followup.tests import test_casebook_signoff as signoff_tests
from followup.tests.test_casebook_signoff import CHANGES, sign

casebook = signoff_tests.casebook  # the fixture: a participant with an assessment and an adverse event


def stored():
    return dict(CasebookChange.objects.values_list("participant_id", "changed_at"))


def from_history():
    rows = Participant.objects.annotate(at=casebook_changes.latest_change_from_history()).values_list("pk", "at")
    return {pk: at for pk, at in rows if at != casebook_changes.NEVER}


@pytest.mark.django_db
def test_every_history_table_of_the_casebook_has_its_trigger():
    tables = {table for _trigger, table, _when, _condition in casebook_changes._tracked(apps.get_model)}
    assert len(tables) == len(casebook_changes.ALL_RECORDS) == 12
    assert casebook_changes.installed(connection) == tables


@pytest.mark.django_db
def test_after_migrate_puts_back_a_trigger_a_rebuilt_table_lost():
    casebook_changes.uninstall(connection)
    assert casebook_changes.installed(connection) == set()
    casebook_changes.after_migrate(sender=None, using="default")
    assert len(casebook_changes.installed(connection)) == 12


def test_enrolment_stores_the_participants_first_change(coordinator):
    participant = enrol(coordinator)
    assert stored() == from_history() and participant.pk in stored()


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_the_stored_time_is_the_latest_history_row_after_every_kind_of_change(api, casebook, investigator,
                                                                              coordinator, change):
    other = enrol(coordinator)
    sign(casebook, investigator)
    before = stored()

    change(api, casebook)

    after = stored()
    assert after == from_history()
    assert after[casebook.pk] > before[casebook.pk]
    assert after[other.pk] == before[other.pk]  # another participant's casebook is left as it was


def test_rebuild_recomputes_the_stored_times_from_the_history(api, casebook, coordinator):
    enrol(coordinator)
    kept = stored()
    CasebookChange.objects.all().delete()
    assert casebook_changes.rebuild() == len(kept)
    assert stored() == kept == from_history()
