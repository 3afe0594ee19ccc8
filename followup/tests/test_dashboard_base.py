"""A large cohort's outcomes part moved from its kept sums (`followup.dashboard_base`): after new
counts, corrections that change responses, the outcomes task's runs and many changes at once, the
moved part is the part built from every participant, figure for figure and rendered; what cannot be
moved (marks cleared, every result computed again, an analyte no longer large) is built again; the sums of
other readers, filters, days or data are never read; the tally's sums do not depend on the order the
participants were added in, and never take out what they were not given."""
import dataclasses
import marshal
import random
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dosing.models import Infusion
from enrollment.enums import WithdrawalReason
from enrollment.models import Participant, Screening
from enrollment.services import participant_enrol
from enrollment.tests.support import create_screening, eligible_p3_screening

from followup import dashboard as dashboard_module
from followup import dashboard_base, outcomes
from followup import dashboard_charts as charts
from followup.dashboard import OUTCOMES, PARTS, DashboardFilter, _analyte_chart, dashboard
from followup.dashboard_cache import tokens_of
from followup.dashboard_tables import outcome_groups
from followup.dashboard_tally import Contribution, OutcomeTally, packed, unpacked
from followup.models import LabResult
from followup.outcomes import outcomes_compute, outcomes_refresh
from followup.services import queue_outcomes
from followup.synthetic import SITES
from followup.tests.dashboard_world import graded
from followup.tests.test_dashboard_large_cohort import _rendered
from trials.accounts import user_upsert
from trials.audit_context import change_context
from trials.models import Site, Study
from trials.scoping import Action, site_ids_for
from trials.tests.support import setup_update

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 1)


@pytest.fixture
def cohort():
    call_command("make_synthetic_study", participants=90, seed=7, today=TODAY)
    study = Study.objects.prefetch_related("sites", "diseases__response_criteria", "arms__dose_levels").get(
        code="SYN-90-7")
    for code, _name in SITES:
        user_upsert(username="reader", role="investigator", site_code=code)
    user = get_user_model().objects.get(username="reader")
    outcomes_compute(study=study)
    _committed()  # on PostgreSQL the marks of the build given their version, as at its commit
    return study, user


def _everyone(user):
    return DashboardFilter(site_ids=tuple(sorted(site_ids_for(user, Action.VIEW))))


class Reads:
    """Counts the reads that moved kept sums (`dashboard_base.moved` returning them)."""

    def __init__(self, monkeypatch):
        self.moved = 0
        real = dashboard_base.moved

        def counted(*args, **kwargs):
            found = real(*args, **kwargs)
            self.moved += found is not None
            return found
        monkeypatch.setattr(dashboard_base, "moved", counted)


def _part(user, study, narrowed, *, tokens=None, page=1):
    return dashboard(user, study, narrowed, today=TODAY, parts=(OUTCOMES,), swimmer_page=page, tokens=tokens)


def _same(user, study, narrowed, tokens, page=1):
    """The part moved from the kept sums equals the part built from every participant."""
    moved = _part(user, study, narrowed, tokens=tokens, page=page)
    built = _part(user, study, narrowed, page=page)
    assert moved == built
    assert _rendered(user, study, moved) == _rendered(user, study, built)
    return moved


def _count(user, participant_id, *, by):
    """A platelet count of the participant changed by `by`, marked as the services mark it."""
    lab = LabResult.objects.filter(assessment__participant_id=participant_id, analyte="PLT").order_by("pk").last()
    with change_context(by=user, reason="Corrected"):
        lab.value = max(1, lab.value + by)
        lab.save()
    queue_outcomes(lab.assessment.participant.study_id, participant_id)


def _charted(study):
    return list(LabResult.objects.filter(assessment__participant__study=study, analyte="PLT")
                .order_by().values_list("assessment__participant_id", flat=True).distinct())


def test_new_counts_and_the_outcomes_task_move_the_kept_sums(cohort, monkeypatch):
    study, user = cohort
    reads = Reads(monkeypatch)
    narrowed, tokens = _everyone(user), tokens_of(study)
    first = _part(user, study, narrowed, tokens=tokens)
    assert first.analytes[0].charted > charts.INDIVIDUAL_LIMIT and reads.moved == 0
    assert cache.get(dashboard_base.key(user, study, narrowed, tokens, TODAY)) is not None
    participants = _charted(study)
    # a large rise (a response may start) and a fall, read before the outcomes task has run
    _count(user, participants[0], by=400)
    _count(user, participants[1], by=-200)
    moved = _same(user, study, narrowed, tokens)
    assert moved != first and reads.moved == 1
    # the outcomes task stores the new results: they are the ones counted
    outcomes_refresh(study=study)
    _same(user, study, narrowed, tokens)
    _count(user, participants[0], by=-390)
    _same(user, study, narrowed, tokens, page=2)
    # an infusion given a day earlier (the services mark its participant, as for a count): the days
    # since the first infusion of every value move
    infusion = Infusion.objects.filter(participant_id=participants[2], state="given").order_by("number").first()
    with change_context(by=user, reason="Corrected"):
        Infusion.objects.filter(pk=infusion.pk).update(started_at=infusion.started_at - timedelta(days=1))
    queue_outcomes(study.pk, participants[2])
    _same(user, study, narrowed, tokens)
    assert reads.moved == 4


def test_many_changes_in_any_order_give_the_figures_of_every_participant(cohort, monkeypatch):
    study, user = cohort
    monkeypatch.setattr(dashboard_base, "KEEP_AGAIN", 3)  # kept again under newer counts along the way
    reads = Reads(monkeypatch)
    narrowed, tokens = _everyone(user), tokens_of(study)
    _part(user, study, narrowed, tokens=tokens)
    participants = _charted(study)
    chance = random.Random(11)
    for step in range(8):
        for participant_id in chance.sample(participants, 3):
            _count(user, participant_id, by=chance.choice([-150, -20, 35, 300]))
        if step % 3 == 2:
            outcomes_refresh(study=study)
        _same(user, study, narrowed, tokens, page=1 + step % 2)
    assert reads.moved == 8


def test_what_cannot_be_moved_is_built_again(cohort, monkeypatch):
    study, user = cohort
    reads = Reads(monkeypatch)
    narrowed, tokens = _everyone(user), tokens_of(study)
    _part(user, study, narrowed, tokens=tokens)
    participants = _charted(study)
    # the marks the sums were counted under cleared by the outcomes task: every participant read again
    monkeypatch.setattr(outcomes, "MARKS_KEPT", 0)
    _count(user, participants[0], by=100)
    outcomes_refresh(study=study)
    _same(user, study, narrowed, tokens)
    assert reads.moved == 0
    monkeypatch.undo()
    reads = Reads(monkeypatch)
    # kept again by that build: the next change is moved
    _count(user, participants[1], by=100)
    _same(user, study, narrowed, tokens)
    assert reads.moved == 1
    # a count changed without a mark, then every result computed again: not moved, the new value shown
    lab = LabResult.objects.filter(assessment__participant_id=participants[3], analyte="PLT").order_by("pk").last()
    with change_context(by=user, reason="Corrected"):
        LabResult.objects.filter(pk=lab.pk).update(value=lab.value + 500)
    outcomes_compute(study=study)
    shown = _same(user, study, narrowed, tokens)
    assert reads.moved == 1 and shown.outcomes
    _count(user, participants[4], by=100)
    _same(user, study, narrowed, tokens)
    assert reads.moved == 2
    # a new screening, never enrolled, moves nothing the sums read
    coordinator = user_upsert(username="screener", role="coordinator", site_code=SITES[0][0]).user
    create_screening(coordinator, code=study.code)
    _count(user, participants[7], by=100)
    _same(user, study, narrowed, tokens)
    assert reads.moved == 3
    # a count changed without a mark, then the participant's disease changed and changed back, each
    # time followed by the outcomes task: their result stored again without a mark, built again
    moved_before = reads.moved
    _same(user, study, narrowed, tokens)  # the sums kept as of now
    changed = Participant.objects.get(pk=participants[8])
    lab = LabResult.objects.filter(assessment__participant=changed, analyte="PLT").order_by("pk").last()
    with change_context(by=user, reason="Corrected"):
        LabResult.objects.filter(pk=lab.pk).update(value=lab.value + 700)
    for disease in ("EVANS", changed.screening.disease):
        with change_context(by=user, reason="Corrected"):
            Screening.objects.filter(pk=changed.screening_id).update(disease=disease)
        outcomes_refresh(study=study)
    _same(user, study, narrowed, tokens)
    assert reads.moved == moved_before + 1  # the first read moved, the second did not
    # an analyte no longer above the charts' limit draws each participant: built again
    monkeypatch.setattr(charts, "INDIVIDUAL_LIMIT", 10_000)
    _count(user, participants[2], by=100)
    small = _same(user, study, narrowed, tokens)
    assert small.analytes[0].spaghetti is not None and reads.moved == 4


def test_the_sums_of_other_sites_filters_days_and_data_are_not_read(cohort, monkeypatch):
    study, user = cohort
    narrowed, tokens = _everyone(user), tokens_of(study)
    entry = dashboard_base.key(user, study, narrowed, tokens, TODAY)
    one_site = DashboardFilter(site_ids=narrowed.site_ids[:1])
    others = [dashboard_base.key(user, study, one_site, tokens, TODAY),
              dashboard_base.key(user, study, dataclasses.replace(narrowed, disease="ITP"), tokens, TODAY),
              dashboard_base.key(user, study, narrowed, tokens, date(2026, 3, 2))]
    for kind in dashboard_base.KINDS:
        others.append(dashboard_base.key(user, study, narrowed, {**tokens, kind: "moved"}, TODAY))
    assert len({entry, *others}) == len(others) + 1
    # what else moves is read again at every read (the marks of participants and results), not part of the key
    for kind in ("outcomes", "casebooks", "infusions", "adverse_events", "screenings", "participants"):
        assert dashboard_base.key(user, study, narrowed, {**tokens, kind: "moved"}, TODAY) == entry
    # a reader without a site is never given the sums of one who has it
    stranger = user_upsert(username="one-site", role="investigator", site_code=SITES[0][0]).user
    assert dashboard_base.key(stranger, study, narrowed, tokens, TODAY) != entry


def test_a_moved_read_runs_a_fixed_number_of_statements(cohort, monkeypatch):
    study, user = cohort
    reads = Reads(monkeypatch)
    narrowed, tokens = _everyone(user), tokens_of(study)
    _part(user, study, narrowed, tokens=tokens)
    counted = []
    for participants in (_charted(study)[:1], _charted(study)[1:9]):
        for participant_id in participants:
            _count(user, participant_id, by=50)
        with CaptureQueriesContext(connection) as queries:
            _part(user, study, narrowed, tokens=tokens)
        counted.append(len(queries))
    assert reads.moved == 2 and counted[0] == counted[1] <= 14


def _committed():
    """On PostgreSQL the data versions are raised at the commit: the writes so far fired as it would."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_the_whole_page_reads_the_moved_part(client, cohort, monkeypatch):
    study, user = cohort
    reads = Reads(monkeypatch)
    client.force_login(user)
    url = f"/studies/{study.code}/dashboard/"
    _committed()
    assert client.get(url).status_code == 200
    _count(user, _charted(study)[0], by=250)
    _committed()
    response = client.get(url)
    assert response.status_code == 200 and reads.moved == 1
    assert response.context["data"].built == ("outcomes",)
    _same_as_built(response.context["data"], dashboard(user, study, _everyone(user), parts=PARTS))
    # a serious adverse event: the outcomes moved (its lane marked), the safety tables built again
    graded(Participant.objects.get(pk=_lane_pk(study, response)), user, "Fever", 3, serious=True)
    _committed()
    response = client.get(url)
    assert reads.moved == 2 and response.context["data"].built == ("outcomes", "safety")
    built = dashboard(user, study, _everyone(user), parts=PARTS)
    _same_as_built(response.context["data"], built)
    assert response.context["data"].serious == built.serious and built.serious
    assert response.context["data"].swimmer_rows[0].serious_events
    # a participant's infusions recorded as missed (no longer treated), then given again: out, then in
    treated = Participant.objects.get(pk=_charted(study)[-1])
    given = list(treated.infusions.filter(state="given").values_list("pk", flat=True))
    lanes = []
    for state, reason in (("missed", "Recorded in error"), ("given", "")):
        with change_context(by=user, reason="Corrected"):
            Infusion.objects.filter(pk__in=given).update(state=state, missed_reason=reason)
        queue_outcomes(study.pk, treated.pk)
        _committed()
        response = client.get(url)
        _same_as_built(response.context["data"], dashboard(user, study, _everyone(user), parts=PARTS))
        lanes.append(response.context["data"].swimmer_total)
    assert reads.moved == 4 and lanes[0] == lanes[1] - 1

def _lane_pk(study, response) -> int:
    """The participant of the first lane shown."""
    return Participant.objects.get(study=study, study_number=response.context["data"].swimmer_rows[0].label).pk


def _same_as_built(shown, built) -> None:
    for name in ("outcomes", "analytes", "swimmer_rows", "swimmer", "swimmer_total", "swimmer_pages", "participants"):
        assert getattr(shown, name) == getattr(built, name), name


def _given(pk, *, days, flat, change, group="A", best="CR"):
    return Contribution((group, best, (days, True) if best == "CR" else None), (-days, f"P-{pk:03d}", pk),
                        "ITP", "PLT", tuple(flat), change)


def test_the_tally_does_not_depend_on_the_order_participants_were_added_in():
    given = {pk: _given(pk, days=pk % 7 * 10, flat=[0, 20.0 + pk % 5, 7, 30.0 + pk % 3], change=float(pk % 4),
                        best=("CR", "NR", "PR")[pk % 3])
             for pk in range(1, 40)}
    tallies = []
    for seed in (1, 2):
        order = list(given)
        random.Random(seed).shuffle(order)
        tally = OutcomeTally()
        for pk in order:
            tally.add(pk, given[pk])
        tally.sort()
        tallies.append(tally)
    assert tallies[0].outcome_rows() == tallies[1].outcome_rows()
    assert tallies[0].lanes == tallies[1].lanes
    assert tallies[0].analyte_figures("PLT") == tallies[1].analyte_figures("PLT")
    # taken out and put in again after the sort: the same sums
    moved = tallies[0]
    moved.remove(5)
    moved.add(5, given[5])
    assert moved.analyte_figures("PLT") == tallies[1].analyte_figures("PLT") and moved.lanes == tallies[1].lanes


def test_the_tallys_outcomes_table_is_read_again_only_when_its_counts_moved():
    tally = OutcomeTally()
    for pk in range(1, 30):
        tally.add(pk, _given(pk, days=pk * 3, flat=[0, 20.0], change=None, best=("CR", "NR", "PR")[pk % 3]))
    tally.sort()
    first = tally.outcome_groups()
    assert first == outcome_groups(tally.outcome_rows())
    # a participant taken out and put in again with the same outcome (their events, their values moved)
    tally.remove(3)
    tally.add(3, _given(3, days=9, flat=[0, 99.0], change=None, best="CR"))
    assert tally.outcome_groups() is first
    # a duration of response moved, then a best response: read again
    for best, days in (("CR", 12), ("NR", 12)):
        tally.remove(3)
        tally.add(3, _given(3, days=days, flat=[0, 20.0], change=None, best=best))
        again = tally.outcome_groups()
        assert again is not first and again == outcome_groups(tally.outcome_rows())
        first = again
    assert [g["responders"] for g in first if g["group"] == "all"] == [18]


def test_a_contribution_is_kept_as_it_was_given():
    given = Contribution(("MSC", "CR", (120, True)), (-78, "SYN-00001", 1), "ITP", "PLT", (0, 24.2, 63, 74), 208.3)
    again = unpacked(packed(given))
    assert again == given and type(again) is Contribution
    assert again.outcome[2][1] is True and type(again.flat[2]) is int
    untreated = Contribution(("MSC", "NE", None), (0, "SYN-00002", 2), None, None, (), None)
    assert unpacked(packed(untreated)) == untreated


def test_what_is_kept_of_a_participant_shown_is_read_back_as_it_was():
    for values in [(4, 5, "ITP", "female", "withdrawn", date(2026, 3, 1), "SYN10K-PUMCH-00001"),
                   (4, None, "AIHA", "", "follow_up", None, "P-2")]:
        assert dashboard_base.unpacked_shown(dashboard_base.packed_shown(values)) == values
    assert dashboard_base.unpacked_shown(None) is None


def test_the_tally_refuses_what_it_was_not_given():
    tally = OutcomeTally()
    tally.add(1, _given(1, days=10, flat=[0, 20.0], change=None))
    with pytest.raises(ValueError, match="already in the tally"):
        tally.add(1, _given(1, days=10, flat=[0, 20.0], change=None))
    with pytest.raises(ValueError, match="sorted before"):
        tally.remove(1)
    tally.sort()
    tally.remove(2)  # no contribution: not treated
    tally.of[1] = packed(_given(1, days=10, flat=[0, 25.0], change=None))  # not the values it was given
    with pytest.raises(ValueError, match="not in the tally"):
        tally.remove(1)


def test_an_analytes_thresholds_follow_its_diseases_codes_not_who_came_first(monkeypatch):
    monkeypatch.setattr(charts, "INDIVIDUAL_LIMIT", 1)
    sets = {"AIHA": SimpleNamespace(response_criteria=SimpleNamespace(family="aiha",
                                                                      thresholds={"pr_hb": 100, "cr_hb": 120})),
            "CAD": SimpleNamespace(response_criteria=SimpleNamespace(family="aiha",
                                                                     thresholds={"pr_hb": 90, "cr_hb": 120}))}
    charted = []
    for diseases in (("CAD", "AIHA", "AIHA"), ("AIHA", "CAD", "AIHA")):
        tally = OutcomeTally()
        for pk, disease in enumerate(diseases, start=1):
            tally.add(pk, _given(pk, days=30, flat=[0, 60.0 + pk, 14, 90.0 + pk], change=10.0 * pk)._replace(
                analyte="HGB", disease=disease))
        tally.sort()
        charted.append(_analyte_chart("HGB", tally, sets, None))
    assert charted[0] == charted[1]
    assert charted[0].thresholds == [(100.0, "PR 100"), (120.0, "CR 120"), (90.0, "PR 90")]
    assert charted[0].unit == "g/L" and charted[0].counted == (3, 3)


def test_writes_of_participants_and_screenings_mark_them_and_move_the_sums(cohort, monkeypatch):
    """Every write of a participant or of their screening marks them (database triggers, whatever the
    write path); a read moves the sums by the marked participants, whether their values are the ones
    kept (a casebook locked) or moved (a new sex, a participant moved to a site the filter does not
    show)."""
    study, user = cohort
    monkeypatch.setattr(charts, "INDIVIDUAL_LIMIT", 5)  # one site's participants a large cohort
    reads = Reads(monkeypatch)
    one_site = DashboardFilter(site_ids=_everyone(user).site_ids[:1])
    _committed()
    tokens = tokens_of(study)
    _part(user, study, one_site, tokens=tokens)
    shown = Participant.objects.filter(study=study, site_id=one_site.site_ids[0]).order_by("pk")
    version = dashboard_base.version_of(tokens)
    locked, changed, moved_away = shown[0], shown[1], shown[2]
    with change_context(by=user, reason="Casebook locked"):
        Participant.objects.filter(pk=locked.pk).update(locked_at=timezone.now(), locked_by=user,
                                                               lock_reason="Complete")
    _committed()
    assert dashboard_base.marked_since(study, version) == {locked.pk}
    _same(user, study, one_site, tokens)
    assert reads.moved == 1
    with change_context(by=user, reason="Corrected"):
        Screening.objects.filter(participant=changed).update(sex="male" if changed.screening.sex != "male"
                                                             else "female")
    _committed()
    assert changed.pk in dashboard_base.marked_since(study, version)
    _same(user, study, one_site, tokens)
    assert reads.moved == 2
    other_site = next(pk for pk in _everyone(user).site_ids if pk != one_site.site_ids[0])
    with change_context(by=user, reason="Transferred"):
        Participant.objects.filter(pk=moved_away.pk).update(site_id=other_site, sequence=10_000)
    _committed()
    _same(user, study, one_site, tokens)
    assert reads.moved == 3
    _count(user, shown[3].pk, by=100)
    _committed()
    _same(user, study, one_site, tokens)
    assert reads.moved == 4


def test_enrolments_withdrawals_and_moved_participants_move_the_sums_and_the_safety_tables(client, cohort,
                                                                                          monkeypatch):
    """A participant enrolled, withdrawn, with another disease, moved into or out of the sites shown:
    each read moves the kept sums and the safety tables by every participant marked since they were
    kept (shown as they are now, their contributions counted again), figure for figure the page
    built from every participant; the participants' count follows. Moved by many, they are kept
    again with the participants as they are now."""
    study, user = cohort
    monkeypatch.setattr(charts, "INDIVIDUAL_LIMIT", 5)  # one site's participants a large cohort
    reads = Reads(monkeypatch)
    one_site = DashboardFilter(site_ids=_everyone(user).site_ids[:1])
    site_id = one_site.site_ids[0]
    site = Site.objects.get(pk=site_id)
    coordinator = user_upsert(username="enroller", role="coordinator", site_code=site.code).user
    setup_update(Study.objects.filter(pk=study.pk), enrolment_target=200)  # room for one more
    screening = _eligible(study, site, coordinator)
    tokens = tokens_of(study)
    dashboard(user, study, one_site, today=TODAY, tokens=tokens)  # every part: the safety tables kept too
    entry = dashboard_base.key(user, study, one_site, tokens, TODAY)
    shown = list(Participant.objects.filter(study=study, site_id=site_id).order_by("pk"))
    elsewhere = Participant.objects.filter(study=study).exclude(site_id=site_id).order_by("pk")
    treated = set(_charted(study))
    withdrawn = next(p for p in shown if p.pk in treated)
    other_disease = next(p for p in shown if p.pk in treated and p.pk != withdrawn.pk)
    leaving = next(p for p in reversed(shown) if p.pk in treated)
    arriving = next(p for p in elsewhere if p.pk in treated)

    def moved_and_same(count_before):
        _committed()
        moved = dashboard(user, study, one_site, today=TODAY, tokens=tokens)
        built = dashboard(user, study, one_site, today=TODAY)
        _same_as_built(moved, built)
        for name in ("adverse_events", "serious", "dlts"):
            assert getattr(moved, name) == getattr(built, name), name
        assert reads.moved == count_before + 1
        return moved

    with change_context(by=user, reason="Withdrawn"):
        Participant.objects.filter(pk=withdrawn.pk).update(status="withdrawn", withdrawn_on=TODAY,
                                                           withdrawal_reason=WithdrawalReason.LOST_TO_FOLLOW_UP)
    first = moved_and_same(0)
    with change_context(by=user, reason="Corrected"):
        Screening.objects.filter(participant=other_disease).update(disease="EVANS")
    moved_and_same(1)
    with change_context(by=user, reason="Transferred"):
        Participant.objects.filter(pk=leaving.pk).update(site_id=elsewhere[0].site_id, sequence=10_000)
    assert moved_and_same(2).participants == first.participants - 1
    with change_context(by=user, reason="Transferred"):
        Participant.objects.filter(pk=arriving.pk).update(site_id=site_id, sequence=10_001)
    graded(arriving, user, "Fever", 3, serious=True)  # with a serious event: in the safety tables
    assert moved_and_same(3).participants == first.participants
    enrolled = participant_enrol(screening=screening.pk, by=coordinator)  # today (after the consent)
    assert moved_and_same(4).participants == first.participants + 1 and enrolled.site_id == site_id
    assert cache.get(entry).participants == first.participants  # moved by each, not kept again
    monkeypatch.setattr(dashboard_base, "KEEP_AGAIN", 5)
    moved_and_same(5)
    assert cache.get(entry).participants == first.participants + 1  # kept again as they are now
    _count(user, shown[0].pk, by=100)
    moved_and_same(6)


def test_a_participant_counted_who_stops_being_shown_between_the_two_reads_builds_again(cohort, monkeypatch):
    """The participants marked are read twice (their shown values, then with their results): one
    counted in the sums who is gone by the second read (moved away meanwhile) cannot be moved."""
    study, user = cohort
    reads = Reads(monkeypatch)
    narrowed, tokens = _everyone(user), tokens_of(study)
    _part(user, study, narrowed, tokens=tokens)
    leaving = _charted(study)[0]
    with change_context(by=user, reason="Withdrawn"):
        Participant.objects.filter(pk=leaving).update(status="withdrawn", withdrawn_on=TODAY,
                                                      withdrawal_reason=WithdrawalReason.LOST_TO_FOLLOW_UP)
    _committed()
    real, calls = dashboard_module._shown, []

    def second_read_without_them(*args, among=None, **kwargs):
        found = real(*args, among=among, **kwargs)
        if among is not None:
            calls.append(set(among))
            if len(calls) == 2:  # the read with the results: moved away since the first
                found = [one for one in found if one.row.pk != leaving]
        return found
    monkeypatch.setattr(dashboard_module, "_shown", second_read_without_them)
    _part(user, study, narrowed, tokens=tokens)
    assert len(calls) == 2 and leaving in calls[0] and reads.moved == 0


def _eligible(study, site, coordinator):
    """An eligible, consented and confirmed screening of the synthetic study (its protocol is P3's)."""
    return eligible_p3_screening(coordinator, study=study.code, site=site.code)


DAMAGES = ("values it was not given", "a contribution cut short", "a withdrawal date out of range")


@pytest.mark.parametrize("damage", DAMAGES)
def test_sums_that_cannot_be_read_back_as_kept_are_built_again(cohort, monkeypatch, damage):
    study, user = cohort
    reads = Reads(monkeypatch)
    narrowed, tokens = _everyone(user), tokens_of(study)
    _part(user, study, narrowed, tokens=tokens)
    entry = dashboard_base.key(user, study, narrowed, tokens, TODAY)
    kept = cache.get(entry)
    participant = _charted(study)[0]
    if damage == "values it was not given":
        given = unpacked(kept.tally.of[participant])
        kept.tally.of[participant] = packed(given._replace(flat=given.flat[:-1] + (given.flat[-1] + 0.5,)))
    elif damage == "a contribution cut short":
        kept.tally.of[participant] = kept.tally.of[participant][:-3]
    else:
        values = list(marshal.loads(kept.shown[participant]))
        values[5] = 10**30
        kept.shown[participant] = marshal.dumps(tuple(values))
    cache.set(entry, kept)
    _count(user, participant, by=100)
    if damage == "a withdrawal date out of range":
        graded(Participant.objects.get(pk=participant), user, "Fever", 2)  # marked: their kept values read back
        _committed()
    _same(user, study, narrowed, tokens)
    assert reads.moved == 0
