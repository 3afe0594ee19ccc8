"""A large cohort's safety part (adverse events by term and worst grade, serious events, the 3+3
counts per group) moved with the outcomes' kept sums (`followup.dashboard_base`) by the participants
whose infusions or adverse events were written since (`followup.signoff_models.DashboardMark`,
written by the triggers of `followup.dashboard_version` whatever the write path): after new, graded,
dismissed and regraded events and infusions missed and given again, the moved part is the part built
from every participant, figure for figure and rendered, and only the participants marked are read
again; the marks carry the data version their commit raised and are removed after two days."""
import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.template.loader import render_to_string
from django.utils import timezone

from dosing.models import Infusion
from enrollment.models import Participant
from followup import dashboard as dashboard_module
from followup import dashboard_base
from followup.dashboard import OUTCOMES, SAFETY, dashboard
from followup.dashboard_cache import tokens_of
from followup.dashboard_views import _part_context
from followup.models import AdverseEvent, DashboardMark, DashboardVersion
from followup.tests.dashboard_world import graded
from followup.outcomes import outcomes_refresh
from followup.tests.test_dashboard_base import TODAY, _committed, _count, _everyone
from followup.tests.test_dashboard_base import cohort as cohort_fixture
from trials.audit_context import change_context

pytestmark = pytest.mark.django_db
cohort = cohort_fixture  # the 90 participants' synthetic study and a reader of every site
SAFETY_FIELDS = ("adverse_events", "any_adverse_event", "serious", "dlts")


class Moves:
    """Counts the reads whose safety part was moved, and the participants each read again."""

    def __init__(self, monkeypatch):
        self.moved, self.read = 0, []
        real_moved, real_safety_of = dashboard_base.moved, dashboard_module._safety_of

        def moved(*args, **kwargs):
            found = real_moved(*args, **kwargs)
            self.moved += found is not None and found.safety is not None
            return found

        def safety_of(user, study, narrowed, pks, *args):
            self.read.append(set(pks))
            return real_safety_of(user, study, narrowed, pks, *args)
        monkeypatch.setattr(dashboard_base, "moved", moved)
        monkeypatch.setattr(dashboard_module, "_safety_of", safety_of)


def cache_entry(user, study) -> dashboard_base.Base:
    return cache.get(dashboard_base.key(user, study, _everyone(user), tokens_of(study), TODAY))


def _rendered(user, study, data) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("followup/_dashboard_part_safety.html", _part_context(request, study, "safety", data))


def _same(user, study):
    """After the writes so far are committed: the safety part moved from the kept sums (with the
    outcomes) equals the part built from every participant."""
    _committed()
    narrowed = _everyone(user)
    moved = dashboard(user, study, narrowed, today=TODAY, parts=(OUTCOMES, SAFETY), tokens=tokens_of(study))
    built = dashboard(user, study, narrowed, today=TODAY, parts=(SAFETY,))
    for name in SAFETY_FIELDS:
        assert getattr(moved, name) == getattr(built, name), name
    assert _rendered(user, study, moved) == _rendered(user, study, built)
    return moved


def _treated(study) -> list[int]:
    return list(Participant.objects.filter(study=study, infusions__state="given").order_by("pk")
                .values_list("pk", flat=True).distinct())


def test_adverse_events_and_infusions_move_the_kept_safety_counts(cohort, monkeypatch):
    study, user = cohort
    moves = Moves(monkeypatch)
    _committed()
    first = _same(user, study)  # built from every participant, and kept
    assert moves.moved == 0 and first.dlts
    treated = _treated(study)
    # a new serious event of grade 4, confirmed: a DLT inside the window of a participant just treated
    event = graded(Participant.objects.get(pk=treated[0]), user, "Fever", 4, serious=True)
    shown = _same(user, study)
    assert moves.moved == 1 and moves.read == [{treated[0]}]
    assert shown.serious != first.serious and shown.any_adverse_event != first.any_adverse_event
    # the event regraded, then dismissed: out of every table again
    for values in ({"grade": 2, "serious": False}, {"status": "dismissed", "dismissed_reason": "Entered in error"}):
        with change_context(by=user, reason="Corrected"):
            AdverseEvent.objects.filter(pk=event.pk).update(**values)
        _same(user, study)
    assert _same(user, study).adverse_events == first.adverse_events
    # a participant's infusions recorded as missed (not evaluable), then given again
    given = list(Infusion.objects.filter(participant_id=treated[1], state="given").values_list("pk", flat=True))
    for state, reason in (("missed", "Recorded in error"), ("given", "")):
        with change_context(by=user, reason="Corrected"):
            Infusion.objects.filter(pk__in=given).update(state=state, missed_reason=reason)
        _same(user, study)
    # the participants marked since the sums were kept are read again (kept again after `KEEP_AGAIN`)
    assert moves.moved == 6 and moves.read[-1] == {treated[0], treated[1]}
    # another study's participant written: not read, nothing moves
    call_command("make_synthetic_study", participants=5, seed=3, today=TODAY)
    stranger = Participant.objects.filter(study__code="SYN-5-3", infusions__state="given").first()
    graded(stranger, user, "Fever", 2)
    _same(user, study)
    assert moves.moved == 7 and stranger.pk not in moves.read[-1]


def test_a_read_of_the_outcomes_alone_keeps_the_safety_marks_for_the_next(cohort, monkeypatch):
    """Sums moved and kept again by a read of the outcomes part alone (the safety part's HTML cached)
    keep the version of the safety contributions: the next read with the safety part still counts the
    participants written before."""
    study, user = cohort
    monkeypatch.setattr(dashboard_base, "KEEP_AGAIN", 1)
    moves = Moves(monkeypatch)
    _committed()
    _same(user, study)
    kept = cache_entry(user, study)
    treated = _treated(study)
    graded(Participant.objects.get(pk=treated[0]), user, "Fever", 4, serious=True)
    _count(user, treated[1], by=100)
    outcomes_refresh(study=study)
    _committed()
    dashboard(user, study, _everyone(user), today=TODAY, parts=(OUTCOMES,), tokens=tokens_of(study))
    again = cache_entry(user, study)  # kept again under the new count, the safety part not moved
    assert moves.moved == 0 and again.covers > kept.covers and again.version == kept.version
    _same(user, study)
    assert moves.moved == 1 and moves.read == [{treated[0]}]


def test_random_writes_in_any_order_give_the_counts_of_every_participant(cohort, monkeypatch):
    study, user = cohort
    monkeypatch.setattr(dashboard_base, "KEEP_AGAIN", 2)  # kept again under newer versions along the way
    moves = Moves(monkeypatch)
    _committed()
    _same(user, study)
    treated = _treated(study)
    given = {pk: list(Infusion.objects.filter(participant_id=pk, state="given").values_list("pk", flat=True))
             for pk in treated}
    chance = random.Random(5)
    for step in range(6):
        for participant_id in chance.sample(treated, 2):
            if chance.random() < 0.5:
                graded(Participant.objects.get(pk=participant_id), user, chance.choice(["Fever", "Palpitations"]),
                       chance.choice([1, 3, 4]), serious=chance.random() < 0.3)
            else:
                infusion = chance.choice(given[participant_id])  # given, or recorded as missed in error
                with change_context(by=user, reason="Corrected"):
                    Infusion.objects.filter(pk=infusion).update(
                        state=chance.choice(["given", "missed"]), missed_reason="Recorded in error")
        _same(user, study)
    assert moves.moved == 6
    # kept again along the way: a later read reads again only the participants marked after it
    assert all(len(pks) <= 4 for pks in moves.read)


def test_a_moved_read_with_the_safety_part_runs_a_fixed_number_of_statements(cohort, monkeypatch):
    study, user = cohort
    moves = Moves(monkeypatch)
    _committed()
    _same(user, study)
    counted = []
    for participants in (_treated(study)[:1], _treated(study)[1:9]):
        for participant_id in participants:
            graded(Participant.objects.get(pk=participant_id), user, "Palpitations", 2)
        _committed()
        with CaptureQueriesContext(connection) as queries:
            dashboard(user, study, _everyone(user), today=TODAY, parts=(OUTCOMES, SAFETY), tokens=tokens_of(study))
        counted.append(len(queries))
    assert moves.moved == 2 and [len(pks) for pks in moves.read] == [1, 9]  # 8 more since the sums were kept
    assert counted[0] == counted[1] <= 16


def test_the_marks_carry_the_version_their_commit_raised_and_are_removed_after_two_days(cohort):
    study, user = cohort
    _committed()
    participant = Participant.objects.filter(study=study).order_by("pk").first()
    graded(participant, user, "Palpitations", 1)
    if connection.vendor == "postgresql":  # given at the commit; read as marked by this transaction until then
        assert DashboardMark.objects.filter(participant_id=participant.pk, version__isnull=True).exists()
        assert participant.pk in dashboard_base.marked_since(study, 10**12)
    _committed()
    version = DashboardVersion.objects.get(study_id=study.pk).version
    marks = DashboardMark.objects.filter(participant_id=participant.pk, version=version)
    assert marks.exists() and set(marks.values_list("study_id", flat=True)) == {study.pk}
    assert dashboard_base.marked_since(study, version - 1) >= {participant.pk}
    assert participant.pk not in dashboard_base.marked_since(study, version)
    # marks older than two days are removed by the next write of the study's marks
    DashboardMark.objects.filter(study_id=study.pk).update(at=timezone.now() - timedelta(days=3))
    other = Participant.objects.filter(study=study).order_by("pk")[1]
    graded(other, user, "Palpitations", 1)
    _committed()
    assert set(DashboardMark.objects.filter(study_id=study.pk).values_list("participant_id", flat=True)) == {other.pk}
