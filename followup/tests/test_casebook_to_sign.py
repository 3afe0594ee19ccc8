"""What the worklist's casebooks to sign read of each participant's stored row
(`followup.casebook_changes`): whether an infusion is recorded and the latest signature's time, kept
by triggers on the infusions' history and on the signatures, always equal to the tables themselves."""
import pytest
from django.db import connection
from django.db.models import Max

from dosing.models import Infusion
from enrollment.models import Participant
from followup import casebook_changes
from followup.models import CasebookChange, CasebookSignature
from followup.tests import test_casebook_signoff as signoff_tests
from followup.tests.support import enrol
from followup.tests.test_casebook_signoff import CHANGES, record_infusion, sign
from trials.audit_context import change_context

casebook = signoff_tests.casebook  # the fixture: a participant with an assessment and an adverse event


def stored():
    return {pk: (recorded, signed_at) for pk, recorded, signed_at
            in CasebookChange.objects.values_list("participant_id", "recorded", "signed_at")}


def from_tables():
    """(an infusion recorded, the latest signature's time) of every participant, from their tables."""
    recorded = set(Infusion.objects.exclude(state="planned").values_list("participant_id", flat=True))
    signed = dict(CasebookSignature.objects.order_by().values("participant_id").annotate(at=Max("signed_at"))
                  .values_list("participant_id", "at"))
    return {pk: (pk in recorded, signed.get(pk)) for pk in Participant.objects.values_list("pk", flat=True)}


def test_a_new_casebook_has_no_infusion_recorded_nor_signature(coordinator):
    participant = enrol(coordinator)
    assert stored() == from_tables() and stored()[participant.pk] == (False, None)


def test_an_infusion_recorded_and_each_signature_are_stored_as_they_are_written(api, casebook, investigator,
                                                                             coordinator):
    other = enrol(coordinator)
    assert stored()[casebook.pk] == (False, None)
    record_infusion(api, casebook)
    assert stored() == from_tables() and stored()[casebook.pk] == (True, None)

    first = sign(casebook, investigator)
    assert stored() == from_tables() and stored()[casebook.pk] == (True, first.signed_at)
    CHANGES["assessment update"](api, casebook)
    second = sign(casebook, investigator)
    assert stored() == from_tables() and stored()[casebook.pk] == (True, second.signed_at)
    assert second.signed_at > first.signed_at
    assert stored()[other.pk] == (False, None)  # another participant's row is left as it was


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_kind_of_change_keeps_the_stored_row_equal_to_the_tables(api, casebook, investigator, change):
    sign(casebook, investigator)
    change(api, casebook)
    assert stored() == from_tables()


def test_a_signature_or_an_infusion_removed_whatever_the_path_is_followed(api, casebook, investigator):
    record_infusion(api, casebook)
    first = sign(casebook, investigator)
    CHANGES["lab added"](api, casebook)
    second = sign(casebook, investigator)
    assert stored()[casebook.pk] == (True, second.signed_at)

    with change_context(by=investigator, reason="Test of the stored row"):  # not paths of the product
        CasebookSignature.objects.filter(pk=second.pk).delete()
        assert stored() == from_tables() and stored()[casebook.pk] == (True, first.signed_at)
        CasebookSignature.objects.filter(pk=first.pk).update(signed_at=second.signed_at)
        assert stored()[casebook.pk] == (True, second.signed_at)
        CasebookSignature.objects.all().delete()
        assert stored() == from_tables() and stored()[casebook.pk] == (True, None)

        for infusion in Infusion.objects.filter(participant=casebook).exclude(state="planned"):
            infusion.delete()  # its history row (a deletion) moves the stored row
        assert stored() == from_tables() and stored()[casebook.pk] == (False, None)


def test_rebuild_recomputes_the_stored_rows_from_the_tables(api, casebook, investigator, coordinator):
    enrol(coordinator)
    record_infusion(api, casebook)
    sign(casebook, investigator)
    kept = stored()
    CasebookChange.objects.all().delete()
    casebook_changes.rebuild()
    assert stored() == kept == from_tables()


@pytest.mark.django_db
def test_the_signatures_trigger_is_put_back_after_migrate():
    def signature_triggers():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s",
                               [f"{casebook_changes.SIGNED_TRIGGER}%"])
            else:
                cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                               [f"{casebook_changes.SIGNED_TRIGGER}%"])
            return len(cursor.fetchall())

    installed = signature_triggers()
    assert installed == (1 if connection.vendor == "postgresql" else 3)
    casebook_changes.uninstall(connection)
    assert signature_triggers() == 0
    casebook_changes.after_migrate(sender=None, using="default")
    assert signature_triggers() == installed
