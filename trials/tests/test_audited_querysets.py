"""A queryset's own writes (update, bulk_update, bulk_create) on a model that keeps history cannot
bypass its audit trail: without a reason they are refused before anything is written; with one,
each row changed or created gets its history row, with who and why, in a fixed number of
statements whatever the number of rows."""
import pytest
from django.db import NotSupportedError, connection, models
from django.test.utils import CaptureQueriesContext, isolate_apps

from enrollment.models import Consent
from trials.audit import AuditReasonRequired, audited_delete, audited_save, change_context
from trials.audit_querysets import (
    AuditedQuerySet,
    audited_bulk_create,
    audited_bulk_update,
    check_guarded_managers,
    guard_managers,
    keeps_history,
    unguarded_managers,
)
from trials.models import Arm, DoseLevel, Site, Study, Therapy, VisitDefinition


def newest_history(model, pk):
    return model.history.filter(id=pk).order_by("-history_date", "-history_id").first()


def therapies(count: int) -> list[Therapy]:
    return audited_bulk_create([Therapy(code=f"t{number}", name=f"Therapy {number}", therapy_class="test")
                                for number in range(count)], by=None)


@pytest.mark.django_db(transaction=True)
def test_update_without_a_reason_is_refused_before_any_statement(studies):
    # Autocommit: no transaction around the update would roll it back.
    levels = DoseLevel.objects.filter(arm__study__code="HUCMSC-ITP-ESC")
    before = {level.pk: level.status for level in levels}
    history_before = DoseLevel.history.count()
    for context in (None, change_context(by=None, reason="  ")):
        with CaptureQueriesContext(connection) as queries, pytest.raises(
                AuditReasonRequired, match="A reason is required to change dose levels"):
            if context is None:
                levels.update(status="closed")
            else:
                with context:
                    levels.update(status="closed")
        assert queries.captured_queries == []
    assert {level.pk: level.status for level in levels} == before
    assert DoseLevel.history.count() == history_before


@pytest.mark.django_db(transaction=True)
def test_bulk_update_without_a_reason_is_refused_before_any_statement(studies):
    rows = list(VisitDefinition.objects.filter(study__code="MSC-ITP-5"))
    history_before = VisitDefinition.history.count()
    for row in rows:
        row.window_after += 1
    with CaptureQueriesContext(connection) as queries, pytest.raises(AuditReasonRequired):
        VisitDefinition.objects.bulk_update(rows, ["window_after"])
    assert queries.captured_queries == []
    assert [row.window_after for row in VisitDefinition.objects.filter(pk__in=[row.pk for row in rows])] == [
        row.window_after - 1 for row in rows]
    assert VisitDefinition.history.count() == history_before


@pytest.mark.django_db(transaction=True)
def test_related_managers_are_refused_without_a_reason(studies, participant):
    study = Study.objects.get(code="MSC-ITP-5")
    consents = participant.screening.consents
    signed = list(consents.values_list("signed_at", flat=True))
    with pytest.raises(AuditReasonRequired, match="consents"):
        consents.update(obtained_by="Someone else")
    with pytest.raises(AuditReasonRequired):
        study.sites.update(name="Renamed")
    other = Study.objects.get(code="UCB-IRIC")
    arm = study.arms.first()
    with pytest.raises(AuditReasonRequired):
        other.arms.add(arm)  # Django's UPDATE through the base manager
    assert list(consents.values_list("signed_at", flat=True)) == signed
    assert Arm.objects.get(pk=arm.pk).study_id == study.pk


def test_update_with_a_reason_writes_one_history_row_per_row_changed(studies, make_user):
    admin = make_user("admin")
    levels = DoseLevel.objects.filter(arm__study__code="HUCMSC-ITP-ESC")
    planned = set(levels.filter(status="planned").values_list("pk", flat=True))
    assert planned and planned != set(levels.values_list("pk", flat=True))
    others = {level.pk: level.history.count() for level in levels.exclude(pk__in=planned)}
    with change_context(by=admin, reason="Opened for the cohort"):
        assert levels.filter(status="planned").update(status="open") == len(planned)
    for pk in planned:
        row = newest_history(DoseLevel, pk)
        assert (row.history_type, row.status, row.history_user, row.history_change_reason) == (
            "~", "open", admin, "Opened for the cohort")
        assert DoseLevel.history.filter(id=pk, history_type="~", history_change_reason="Opened for the cohort"
                                        ).count() == 1
    assert {pk: DoseLevel.history.filter(id=pk).count() for pk in others} == others


def test_related_manager_update_with_a_reason_is_recorded(participant, coordinator):
    consent = participant.screening.consents.get()
    with change_context(by=coordinator, reason="Date corrected"):
        assert participant.screening.consents.update(obtained_by="Dr Checked") == 1
    row = newest_history(Consent, consent.pk)
    assert (row.history_type, row.obtained_by, row.history_user, row.history_change_reason) == (
        "~", "Dr Checked", coordinator, "Date corrected")


def test_bulk_update_with_a_reason_records_each_object(studies, make_user):
    admin = make_user("admin")
    rows = list(VisitDefinition.objects.filter(study__code="MSC-ITP-5").order_by("pk")[:3])
    for row in rows:
        row.window_after += 2
    assert audited_bulk_update(rows, ["window_after"], by=admin, reason="Windows widened") == 3
    for row in rows:
        history = newest_history(VisitDefinition, row.pk)
        assert (history.history_type, history.window_after, history.history_user, history.history_change_reason) == (
            "~", row.window_after, admin, "Windows widened")


def test_bulk_update_of_partly_loaded_objects_records_the_whole_rows(studies):
    rows = list(VisitDefinition.objects.filter(study__code="MSC-ITP-5").only("pk", "window_after").order_by("pk")[:2])
    for row in rows:
        row.window_after += 1
    with change_context(by=None, reason="Windows widened"):
        VisitDefinition.objects.bulk_update(rows, ["window_after"])
    for row in rows:
        stored = VisitDefinition.objects.get(pk=row.pk)
        history = newest_history(VisitDefinition, row.pk)
        assert (history.code, history.window_after, history.study_id) == (stored.code, stored.window_after,
                                                                           stored.study_id)


def test_bulk_create_writes_the_creation_rows_even_without_a_change_in_progress(db, make_user):
    created = Therapy.objects.bulk_create([Therapy(code="x1", name="X 1", therapy_class="c"),
                                           Therapy(code="x2", name="X 2", therapy_class="c")])
    for row in created:
        history = Therapy.history.get(id=row.pk)
        assert (history.history_type, history.code, history.history_user, history.history_change_reason) == (
            "+", row.code, None, None)
    admin = make_user("admin")
    [row] = audited_bulk_create([Therapy(code="x3", name="X 3", therapy_class="c")], by=admin, reason="Catalogued")
    history = Therapy.history.get(id=row.pk)
    assert (history.history_type, history.history_user, history.history_change_reason) == ("+", admin, "Catalogued")


@pytest.mark.django_db(transaction=True)
def test_bulk_create_ignoring_conflicts_is_refused_before_anything_is_written():
    with CaptureQueriesContext(connection) as queries, pytest.raises(NotSupportedError):
        Therapy.objects.bulk_create([Therapy(code="x1", name="X 1", therapy_class="c")], ignore_conflicts=True)
    assert queries.captured_queries == []
    assert not Therapy.objects.filter(code="x1").exists()


@pytest.mark.parametrize("count", [1, 50])
def test_an_audited_update_takes_the_same_statements_for_one_row_or_fifty(db, django_assert_num_queries, count):
    # The keys (locked), the UPDATE, the rows, one INSERT of their history.
    therapies(count)
    with change_context(by=None, reason="Renamed"), django_assert_num_queries(4):
        assert Therapy.objects.filter(therapy_class="test").update(therapy_class="renamed") == count
    assert Therapy.history.filter(history_type="~", therapy_class="renamed", history_change_reason="Renamed"
                                  ).count() == count


@pytest.mark.parametrize("count", [1, 50])
def test_an_audited_bulk_update_and_bulk_create_take_the_same_statements_for_one_row_or_fifty(
        db, django_assert_num_queries, count):
    rows = [Therapy(code=f"t{number}", name=f"Therapy {number}", therapy_class="test") for number in range(count)]
    with django_assert_num_queries(2):  # the INSERT, one INSERT of the history
        audited_bulk_create(rows, by=None)
    for row in rows:
        row.name += " (renamed)"
    with django_assert_num_queries(2):  # the UPDATE, one INSERT of the history
        assert audited_bulk_update(rows, ["name"], by=None, reason="Renamed") == count
    assert Therapy.history.filter(history_type="~", history_change_reason="Renamed").count() == count


def test_update_record_updates_a_matching_record_and_writes_its_history_in_two_statements(
        studies, make_user, django_assert_num_queries):
    admin = make_user("admin")
    level = DoseLevel.objects.filter(arm__study__code="HUCMSC-ITP-ESC", status="planned").first()
    history_before = level.history.count()
    with change_context(by=admin, reason="Opened"):
        assert DoseLevel.objects.filter(status="open").update_record(level, status="open") is False
        assert level.history.count() == history_before and level.status == "planned"
        with django_assert_num_queries(2):
            assert DoseLevel.objects.filter(status="planned").update_record(level, status="open") is True
    assert level.status == "open" == DoseLevel.objects.get(pk=level.pk).status
    row = newest_history(DoseLevel, level.pk)
    assert (row.history_type, row.status, row.history_user, row.history_change_reason) == (
        "~", "open", admin, "Opened")
    with pytest.raises(AuditReasonRequired):
        DoseLevel.objects.filter(status="open").update_record(level, status="closed")


def test_every_manager_of_every_model_with_history_is_guarded(studies, participant):
    assert unguarded_managers() == [] and check_guarded_managers() == []
    assert keeps_history(Therapy) and not keeps_history(Therapy.history.model)
    assert isinstance(participant.screening.consents.all(), AuditedQuerySet)
    assert isinstance(Study.objects.get(code="MSC-ITP-5").sites.all(), AuditedQuerySet)
    assert isinstance(Site._base_manager.all(), AuditedQuerySet)
    assert not isinstance(Therapy.history.all(), AuditedQuerySet)  # django-simple-history's own


def test_a_reason_given_to_an_audited_save_is_not_reused_by_a_later_plain_save(studies, make_user):
    admin = make_user("admin")
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B")
    level.status = "open" if level.status != "open" else "closed"
    audited_save(level, by=admin, reason="Opened")
    assert not hasattr(level, "_change_reason") and not hasattr(level, "_history_user")
    level.status = "planned"
    with pytest.raises(AuditReasonRequired):
        level.save()
    assert DoseLevel.objects.get(pk=level.pk).status != "planned"
    visit = VisitDefinition.objects.filter(study__code="MSC-ITP-5").last()
    audited_delete(visit, by=admin, reason="Removed")
    assert not hasattr(visit, "_change_reason") and not hasattr(visit, "_history_user")


class NotesManager(models.Manager):
    pass


@isolate_apps("trials")
def test_a_model_with_history_not_declaring_a_guarded_queryset_is_guarded_at_start_up():
    # As one of Django's models given history by `simple_history.register`: its manager comes from an
    # abstract model and is not an AuditedQuerySet's.
    class Abstract(models.Model):
        notes = NotesManager()

        class Meta:
            abstract = True

    class Note(Abstract):
        text = models.CharField(max_length=10)

        class Meta:
            app_label = "trials"

    Note._meta.simple_history_manager_attribute = "history"
    assert not isinstance(Note.notes.all(), AuditedQuerySet)
    guard_managers(Note)
    Note._meta._expire_cache()  # Django makes its copies of the managers again: still guarded
    assert isinstance(Note.notes.all(), AuditedQuerySet) and isinstance(Note.notes, NotesManager)
    assert Note._base_manager is Note._default_manager
    with pytest.raises(AuditReasonRequired, match="notes"):  # before any statement: no database here
        Note.notes.filter(text="a").update(text="b")
