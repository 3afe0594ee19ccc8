"""The subjects of the ODM export kept as written (`followup.export_odm_kept`): a kept subject is
copied out only while nothing it was written from changed (its rows and their history, changed
through the history or outside it, the name of who locked its casebook, the setting), the document
is the one every subject written again gives, and only the changed subjects are written again.
On SQLite nothing is kept and every export writes every subject."""
import io
import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, models
from django.db.models.functions import Concat
from django.utils import timezone, translation

from config.celery import app
from enrollment import services as enrolment
from enrollment.models import Participant, Screening
from enrollment.tests.factories import ScreeningFactory
from enrollment.tests.support import REFRACTORY, screened_on
from followup import export_odm, export_odm_kept
from followup.export_odm import write_odm
from followup.exports import one_snapshot
from followup.models import KeptOdmSubject, LabResult, Visit
from followup.synthetic import build_synthetic_study
from followup.tasks import keep_odm_subjects
from trials.audit_context import change_context
from trials.tests.support import setup_update

POSTGRES = connection.vendor == "postgresql"


def timeless(document: bytes) -> bytes:
    return re.sub(rb'(FileOID|CreationDateTime)="[^"]*"', rb'\1=""', document, count=2)


def export(study, *, keep=True) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = write_odm(study, sites=list(study.sites.all()), out=out, locked=False, keep=keep)
    return out.getvalue(), count


@pytest.fixture
def written(monkeypatch) -> list:
    """The subjects each export writes (rather than copies), as (kind, id)."""
    found = []
    render = export_odm._ClinicalWriter.render

    def spy(self, kind, ids):
        found.extend((kind, pk) for pk in ids)
        return render(self, kind, ids)

    monkeypatch.setattr(export_odm._ClinicalWriter, "render", spy)
    return found


@pytest.fixture
def study(make_user):
    """Six participants and two screenings never enrolled."""
    found = build_synthetic_study(participants=6, seed=5, by=make_user("admin"), code="KEPT-6",
                                  today=timezone.localdate())
    coordinator = make_user("coordinator")
    for initials in ("SF", "TG"):
        data = enrolment.ScreeningInput(
            values={"screening_date": screened_on(), "birth_date": date(1990, 5, 1), "sex": "male",
                    "disease": "ITP", "initials": initials},
            prior_therapies=list(REFRACTORY))
        ScreeningFactory(study=found.code, site="PUMCH", data=data, by=coordinator)
    return found


def subjects(study) -> list[tuple[str, int]]:
    people = [("P", pk) for pk in Participant.objects.filter(study=study).order_by("site__code", "sequence")
              .values_list("pk", flat=True)]
    return people + [("S", pk) for pk in Screening.objects.filter(study=study, participant__isnull=True)
                     .order_by("site__code", "sequence").values_list("pk", flat=True)]


def assert_as_written_again(study, document: bytes, count: int) -> None:
    again, again_count = export(study, keep=False)
    assert timeless(document) == timeless(again)
    assert count == again_count > 0


def test_kept_subjects_are_copied_and_the_document_is_the_one_written_again(study, written):
    everyone = subjects(study)
    assert len(everyone) > 6  # participants and screenings never enrolled
    first, count = export(study)
    assert sorted(written) == sorted(everyone)
    written.clear()
    second, second_count = export(study)
    if not POSTGRES:  # nothing kept: every subject written each time
        assert not KeptOdmSubject.objects.exists() and sorted(written) == sorted(everyone)
    else:
        assert KeptOdmSubject.objects.filter(study=study).count() == len(everyone)
        assert written == []
    assert timeless(second) == timeless(first) and second_count == count
    assert_as_written_again(study, second, second_count)


def test_only_the_subjects_whose_data_changed_are_written_again(study, written, make_user):
    export(study)
    people = [pk for kind, pk in subjects(study) if kind == "P"]
    middle, other, locked = people[2], people[4], people[1]
    never_enrolled = next(pk for kind, pk in subjects(study) if kind == "S")
    lab = LabResult.objects.filter(assessment__participant=middle).order_by("id").first()
    setup_update(LabResult.objects.filter(pk=lab.pk), value=lab.value + 7)  # through the history
    models.QuerySet.update(Visit.objects.filter(participant=other), missed_reason="Outside the history")
    models.QuerySet.update(Screening.objects.filter(pk=never_enrolled), initials="ZZ")
    admin = make_user("admin")
    models.QuerySet.update(Participant.objects.filter(pk=locked), locked_at=timezone.now(), locked_by=admin,
                           lock_reason="Signed")
    written.clear()

    document, count = export(study)

    changed = [("P", middle), ("P", other), ("P", locked), ("S", never_enrolled)]
    assert sorted(written) == sorted(changed if POSTGRES else subjects(study))
    assert b"Outside the history" in document and f"{lab.value + 7!r}".encode() in document
    assert_as_written_again(study, document, count)

    # The name of who locked a casebook is written: renaming them writes that casebook again.
    written.clear()
    setup_update(get_user_model().objects.filter(pk=admin.pk), username="renamed-admin")
    document, count = export(study)
    assert written == ([("P", locked)] if POSTGRES else subjects(study))
    assert b"locked by renamed-admin" in document
    assert_as_written_again(study, document, count)


def test_a_deleted_row_writes_its_subject_again(study, written):
    export(study)
    lab = LabResult.objects.filter(assessment__participant__study=study).order_by("-id").first()
    participant = lab.assessment.participant_id
    with change_context(by=None, reason="Entered twice"):
        lab.delete()
    written.clear()
    document, count = export(study)
    if POSTGRES:
        assert written == [("P", participant)]
    assert b'TransactionType="Remove"' in document
    assert_as_written_again(study, document, count)


def test_a_new_setting_writes_every_subject_again(study, written, monkeypatch):
    export(study)
    written.clear()
    monkeypatch.setattr(export_odm_kept, "FORMAT", export_odm_kept.FORMAT + 1)
    document, count = export(study)
    assert sorted(written) == sorted(subjects(study))
    assert_as_written_again(study, document, count)
    # The arm codes are part of the setting too.
    written.clear()
    setup_update(study.arms, code=Concat(models.F("code"), models.Value("X")))
    document, count = export(study)
    assert sorted(written) == sorted(subjects(study))
    assert_as_written_again(study, document, count)


def test_without_keeping_nothing_is_kept_or_copied(study, written):
    export(study)
    written.clear()
    document, count = export(study, keep=False)
    assert sorted(written) == sorted(subjects(study))
    assert KeptOdmSubject.objects.filter(study=study).count() == (len(subjects(study)) if POSTGRES else 0)


@pytest.mark.django_db(transaction=True)
def test_exports_in_their_snapshots_keep_subjects_through_a_connection_of_their_own(make_user, written):
    """The export task's read-only snapshot (`one_snapshot`): the subjects written are kept by
    another connection, and the next export, in its own snapshot, copies them."""
    study = build_synthetic_study(participants=3, seed=9, by=make_user("admin"), code="KEPT-3",
                                  today=timezone.localdate())
    documents = []
    for _ in range(2):
        out = io.BytesIO()
        with one_snapshot(0):
            count = write_odm(study, sites=list(study.sites.all()), out=out, locked=False)
        documents.append(out.getvalue())
    if POSTGRES:
        assert KeptOdmSubject.objects.filter(study=study).count() == len(subjects(study))
        assert sorted(written) == sorted(subjects(study))  # the first export only
    assert timeless(documents[0]) == timeless(documents[1])
    assert_as_written_again(study, documents[1], count)


def test_a_row_written_twice_in_one_transaction_writes_its_subject_again(study, written):
    """Both versions of the row have the same transaction (`xmin`): their places tell them apart."""
    other = next(pk for kind, pk in subjects(study) if kind == "P")
    models.QuerySet.update(Visit.objects.filter(participant=other), missed_reason="First reason")
    export(study)
    written.clear()
    models.QuerySet.update(Visit.objects.filter(participant=other), missed_reason="Second reason")
    document, count = export(study)
    if POSTGRES:
        assert written == [("P", other)]
    assert b"Second reason" in document and b"First reason" not in document
    assert_as_written_again(study, document, count)


def test_a_screening_since_enrolled_is_no_longer_kept_as_its_own_subject(study):
    """A screening kept as a subject of its own (never enrolled), then enrolled: its participant is
    exported, and its old subject is dropped when the next subjects are kept."""
    export(study)
    participant = Participant.objects.filter(study=study).order_by("id").first()
    kept = KeptOdmSubject.objects.filter(study=study).first()
    if POSTGRES:  # as kept before the enrolment
        KeptOdmSubject.objects.create(study=study, kind="S", subject=participant.screening_id, setting=kept.setting,
                                      fingerprint="0:0", current_values=1, users=[], body="<SubjectData/>",
                                      records="")
    models.QuerySet.update(Participant.objects.filter(pk=participant.pk), withdrawal_detail="Changed")
    document, count = export(study)
    kept = set(KeptOdmSubject.objects.filter(study=study).values_list("kind", "subject"))
    assert ("S", participant.screening_id) not in kept
    if POSTGRES:
        assert kept == set(subjects(study))
    assert_as_written_again(study, document, count)


def test_the_export_reports_the_share_of_the_subjects_written(study, monkeypatch):
    monkeypatch.setattr(export_odm_kept, "CHUNK", 3)
    reported = []
    write_odm(study, sites=list(study.sites.all()), out=io.BytesIO(), locked=False, progress=reported.append)
    # Eight subjects, three at a time: each chunk written is reported, up to 95 (the copy is the rest).
    assert reported == [3 * 95 // 8, 6 * 95 // 8, 95]
    reported.clear()
    models.QuerySet.update(Participant.objects.filter(study=study), withdrawal_detail="All changed")
    write_odm(study, sites=list(study.sites.all()), out=io.BytesIO(), locked=False, progress=reported.append)
    assert reported == ([3 * 95 // 6, 95] if POSTGRES else [3 * 95 // 8, 6 * 95 // 8, 95])


def test_a_kept_subject_replaced_while_the_export_runs_fails_the_export(study, monkeypatch):
    """Only the kept rows as read are copied: one replaced meanwhile fails the export, said in the
    user's language, rather than mixing two versions in one document."""
    export(study)
    copy = export_odm_kept.Subjects.copy

    def replaced_then_copied(self, out, part):
        if part == "records":
            KeptOdmSubject.objects.filter(study=study, kind="P").update(fingerprint="replaced by another export")
        return copy(self, out, part)

    monkeypatch.setattr(export_odm_kept.Subjects, "copy", replaced_then_copied)
    if not POSTGRES:  # nothing kept, nothing copied
        assert export(study)[1] > 0
        return
    with pytest.raises(DatabaseError) as failure:
        export(study)
    with translation.override("zh-hans"):
        assert str(failure.value) == "ODM 导出所保存的受试者数据在导出过程中发生了变化；请重新开始导出。"


def test_subjects_that_cannot_be_kept_are_written_all_the_same(study, monkeypatch, caplog):
    """Keeping is a saving, not part of the export: a failure to keep is logged, and the export
    (and the caller's transaction) goes on."""
    fingerprints = export_odm_kept.fingerprints
    monkeypatch.setattr(export_odm_kept, "fingerprints", lambda order: {
        key: value * 9 for key, value in fingerprints(order).items()})  # too long to be kept
    document, count = export(study)
    assert not KeptOdmSubject.objects.filter(study=study).exists()
    if POSTGRES:
        assert "could not be kept" in caplog.text
    assert_as_written_again(study, document, count)


def test_the_periodic_task_keeps_the_subjects_ready_for_the_next_export(study, written):
    assert app.conf.beat_schedule["keep-odm-subjects"] == {"task": "followup.keep_odm_subjects", "schedule": 900.0}
    everyone = subjects(study)
    first = keep_odm_subjects()
    if not POSTGRES:  # nothing kept: nothing written ahead
        assert first == {} and written == [] and not KeptOdmSubject.objects.exists()
        return
    assert first[study.code] == len(everyone) and sorted(written) == sorted(everyone)
    assert keep_odm_subjects().get(study.code) is None  # nothing changed: nothing written
    participant = everyone[3][1]
    models.QuerySet.update(Participant.objects.filter(pk=participant), withdrawal_detail="Changed since")
    written.clear()
    assert keep_odm_subjects()[study.code] == 1 and written == [("P", participant)]
    written.clear()
    document, count = export(study)
    assert written == [] and b"Changed since" in document
    assert_as_written_again(study, document, count)
