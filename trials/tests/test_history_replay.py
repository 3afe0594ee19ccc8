"""The audit trail is the record's history: random sequences of audited edits (criteria created,
changed and deleted in the administration's path, or several changed at once by a queryset update
with a reason; screening facts corrected through their service),
then replaying each record's history rows gives back the record exactly as stored, with one history
row per accepted change."""
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enrollment import services
from enrollment.models import Screening
from enrollment.tests.support import create_screening
from trials.audit import audited_delete, audited_save, change_context
from trials.models import EligibilityCriterion, Study

CODES = ("c1", "c2", "c3")
OPERATIONS = st.lists(st.tuples(st.sampled_from(("save", "delete", "update")), st.sampled_from(CODES),
                                st.text(alphabet="abcdefgh xyz", min_size=1, max_size=12),
                                st.integers(min_value=0, max_value=99)), min_size=1, max_size=12)
EDITS = st.lists(st.tuples(st.sampled_from(("weight_kg", "initials", "ecog")), st.integers(min_value=0, max_value=4)),
                 min_size=1, max_size=5)


class Rollback(Exception):
    """Undo one example's writes (each example runs in its own transaction)."""


def concrete(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def replayed(model, pk):
    """The record as its newest history row holds it, or None when that row is its deletion."""
    newest = model.history.filter(id=pk).order_by("-history_date", "-history_id").first()
    return None if newest is None or newest.history_type == "-" else newest.instance


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_replaying_criterion_history_gives_back_every_criterion(studies, operations):
    try:
        with transaction.atomic():
            study = Study.objects.get(code="MSC-ITP-5")
            touched, accepted = {}, {}
            for number, (operation, code, text, order) in enumerate(operations):
                row = EligibilityCriterion.objects.filter(study=study, code=code).first()
                if operation == "update":  # the criteria up to `code`, at once
                    rows = EligibilityCriterion.objects.filter(study=study, code__in=CODES[:CODES.index(code) + 1])
                    pks = list(rows.values_list("pk", flat=True))
                    with change_context(by=None, reason=f"Reordered {number}"):
                        assert rows.update(order=order, text=text) == len(pks)
                    for pk in pks:
                        touched.setdefault(code, set()).add(pk)
                        accepted[pk] = accepted.get(pk, 0) + 1
                    continue
                if operation == "delete":
                    if row is None:
                        continue
                    pk = row.pk
                    audited_delete(row, by=None, reason=f"Removed {number}")
                else:
                    row = row or EligibilityCriterion(study=study, code=code, kind="inclusion", rule_type="age_range",
                                                      params={"min_years": 18, "max_years": 75})
                    row.text, row.order = text, order
                    audited_save(row, by=None, reason=f"Edit {number}")
                    pk = row.pk
                touched.setdefault(code, set()).add(pk)
                accepted[pk] = accepted.get(pk, 0) + 1
            for pk in {pk for pks in touched.values() for pk in pks}:
                stored = EligibilityCriterion.objects.filter(pk=pk).first()
                again = replayed(EligibilityCriterion, pk)
                assert (again is None) == (stored is None)
                if stored is not None:
                    assert concrete(again) == concrete(stored)
                assert EligibilityCriterion.history.filter(id=pk).count() == accepted[pk]
            raise Rollback
    except Rollback:
        pass


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_replaying_screening_history_gives_back_the_screening(studies, coordinator, edits):
    try:
        with transaction.atomic():
            screening = create_screening(coordinator)
            for number, (field, value) in enumerate(edits):
                current = Screening.objects.get(pk=screening.pk)
                new = {"weight_kg": 50.0 + value, "initials": "ABCDE"[value] * 2, "ecog": value % 3}[field]
                services.screening_update(screening=current, version=current.row_version, reason=f"Edit {number}",
                                          data=services.ScreeningInput(values={field: new}), by=coordinator)
            stored = Screening.objects.get(pk=screening.pk)
            assert concrete(replayed(Screening, screening.pk)) == concrete(stored)
            versions = list(Screening.history.filter(id=screening.pk).order_by("history_date", "history_id")
                            .values_list("row_version", flat=True))
            assert versions == sorted(versions) and versions[-1] == stored.row_version
            raise Rollback
    except Rollback:
        pass
