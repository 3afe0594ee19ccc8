"""The SDV progress kept per participant (`followup.sdv_counts`) equals a full recount from the
records after any sequence of writes (participants enrolled, assessments recorded and corrected,
items verified, records changed by a queryset, the plan changed, counts refreshed or not): the
study page's figures at once after each write, the kept rows once counted again."""
import random
from dataclasses import fields

import pytest
from django.db import connection

from enrollment.models import Participant
from followup import sdv_counts, services
from followup.models import Assessment
from followup.sdv import participant_records, plan_scope, study_sdv
from followup.sdv_counts import fresh_participants, stale_participants
from followup.sdv_recount import sdv_counts_refresh
from followup.sdv_models import SdvCount
from followup.sdv_progress import key_plan_figures, named_figures, study_sdv_sites
from trials.tests.support import setup_update

from .sdv_support import assessment, verify
from .support import enrol

pytestmark = pytest.mark.django_db


def _figures(sites):
    return [(row.site.code, row.participants, row.progress.required, row.progress.verified) for row in sites]


def _keep_all() -> dict:
    return {f.name: services.KEEP for f in fields(services.AssessmentInput)}


def _recount_matches(study, monitor):
    study.refresh_from_db()
    assert _figures(study_sdv_sites(study, monitor)) == _figures(study_sdv(study, monitor)[1])
    site_ids = list(study.sites.values_list("pk", flat=True))
    recount = key_plan_figures(study.pk, site_ids, by="participant")
    fresh = Participant.objects.filter(fresh_participants(), study=study).values_list("pk", flat=True)
    for row in SdvCount.objects.filter(participant__in=list(fresh)):
        assert [row.required, row.verified] == recount.get(row.pk, [0, 0]), row


def _verify_something(rng, study, monitor):
    participant = rng.choice(list(Participant.objects.filter(study=study)))
    records = [record for record in participant_records(
        Participant.objects.select_related("screening").get(pk=participant.pk), scope=plan_scope(study))
        if record.counted and not record.state == "verified"]
    if not records:
        return
    record = rng.choice(records)
    codes = [status.code for status in record.required if not status.verified]
    verify(record.record, rng.sample(codes, k=rng.randint(1, len(codes))), monitor, kind=record.kind,
           version=1 if record.kind == "consent" else None)


def _correct_assessment(rng, coordinator):
    recorded = rng.choice(list(Assessment.objects.all()))
    labs = rng.choice([[{"analyte": "PLT", "value": rng.randint(10, 90), "unit": "10^9/L"}],
                       [{"analyte": "PLT", "value": 30, "unit": "10^9/L"}, {"analyte": "HGB", "value": 110,
                                                                            "unit": "g/L"}], []])
    data = {**_keep_all(), "labs": labs} if rng.random() < 0.7 else {**_keep_all(), "bleeding_grade": rng.randint(0, 2)}
    services.assessment_update(assessment=recorded, version=recorded.row_version, data=services.AssessmentInput(**data),
                               reason="Corrected against source", by=coordinator)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_progress_equals_a_full_recount_after_random_writes(seed, p3, participant, coordinator, monitor,
                                                                 data_manager):
    rng = random.Random(seed)
    study = p3
    for step in range(14):
        action = rng.choice(["enrol", "assess", "correct", "verify", "verify", "touch", "plan", "refresh"])
        if action == "enrol":
            enrol(coordinator)
        elif action == "assess":
            assessment(rng.choice(list(Participant.objects.filter(study=study))), coordinator, day=step)
        elif action == "correct" and Assessment.objects.exists():
            _correct_assessment(rng, coordinator)
        elif action == "verify":
            _verify_something(rng, study, monitor)
        elif action == "touch":  # a change made by a queryset: it withdraws the screening's ticks
            screening = rng.choice(list(Participant.objects.filter(study=study))).screening
            setup_update(type(screening).objects.filter(pk=screening.pk), initials="ZZ")
        elif action == "plan":
            services.sdv_plan_set(study=study, scope=rng.choice(["key", "all"]), reason="Plan reviewed",
                                  by=data_manager)
        else:
            pks = list(Participant.objects.filter(study=study).values_list("pk", flat=True))
            sdv_counts_refresh(rng.sample(pks, k=rng.randint(1, len(pks))))
        _recount_matches(study, monitor)
    services.sdv_plan_set(study=study, scope="key", reason="Key items", by=data_manager)
    sdv_counts_refresh(study=study)
    assert not Participant.objects.filter(stale_participants(), study=study).exists()
    _recount_matches(study, monitor)


def test_a_verification_and_a_new_lab_move_the_page_figures_at_once(p3, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    sdv_counts_refresh(study=p3)
    [before] = study_sdv_sites(p3, monitor)

    verify(recorded, ["date"], monitor)
    [verified] = study_sdv_sites(p3, monitor)
    current = Assessment.objects.get(pk=recorded.pk)
    services.assessment_update(assessment=current, version=current.row_version, data=services.AssessmentInput(**{
        **_keep_all(), "labs": [{"analyte": "PLT", "value": 20, "unit": "10^9/L"},
                                {"analyte": "HGB", "value": 120, "unit": "g/L"}]}),
        reason="Lab report received", by=coordinator)
    [corrected] = study_sdv_sites(p3, monitor)

    assert verified.progress.verified == before.progress.verified + 1
    assert corrected.progress.verified == before.progress.verified  # the change withdrew the tick
    assert _figures([corrected]) == _figures(study_sdv(p3, monitor)[1])


def test_the_page_reads_the_kept_figures_in_four_queries_whatever_the_participants(
        p3, participant, coordinator, monitor, django_assert_num_queries):
    assessment(participant, coordinator)
    for _n in range(3):
        enrol(coordinator)
    sdv_counts_refresh(study=p3)
    user = type(monitor).objects.get(pk=monitor.pk)

    # the user's sites, the study's sites, the plan, the kept figures per site
    with django_assert_num_queries(4):
        [site] = study_sdv_sites(p3, user)

    assert site.participants == 4
    assert _figures([site]) == _figures(study_sdv(p3, monitor)[1])


def test_another_participants_enrolment_leaves_the_kept_figures_fresh(p3, participant, coordinator):
    sdv_counts_refresh(study=p3)
    other = enrol(coordinator)

    assert Participant.objects.filter(fresh_participants(), pk=participant.pk).exists()
    assert not SdvCount.objects.filter(participant=other).exists()  # counted from its records until refreshed
    assert Participant.objects.filter(stale_participants(), pk=other.pk).exists()


def test_a_tick_and_a_change_make_the_kept_figures_stale_without_a_statement_of_their_own(
        p3, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    sdv_counts_refresh(study=p3)
    assert Participant.objects.filter(fresh_participants(), pk=participant.pk).exists()

    verify(recorded, ["date"], monitor)  # the trigger of the ticks' history clears the row
    assert SdvCount.objects.get(pk=participant.pk).counted_at is None
    assert sdv_counts_refresh(study=p3) == 1
    assert Participant.objects.filter(fresh_participants(), pk=participant.pk).exists()

    current = Assessment.objects.get(pk=recorded.pk)
    services.assessment_update(assessment=current, version=current.row_version,
                               data=services.AssessmentInput(**{**_keep_all(), "bleeding_grade": 2}),
                               reason="Corrected against source", by=coordinator)
    assert Participant.objects.filter(stale_participants(), pk=participant.pk).exists()
    assert sdv_counts_refresh(study=p3) == 1
    assert sdv_counts_refresh(study=p3) == 0


def test_the_few_stale_casebooks_are_counted_in_one_statement_as_the_nine_queries_count_them(
        p3, participant, coordinator, monitor, django_assert_num_queries):
    recorded = assessment(participant, coordinator)
    verify(recorded, ["date"], monitor)
    others = [enrol(coordinator) for _n in range(2)]
    others_ids = [other.pk for other in others]
    sdv_counts_refresh(study=p3)
    site_ids = list(p3.sites.values_list("pk", flat=True))
    for ids in ([participant.pk], [participant.pk, others[0].pk], [others[1].pk], [participant.pk, *others_ids]):
        expected = key_plan_figures(p3, site_ids, only=Participant.objects.filter(pk__in=ids))
        assert named_figures(p3, site_ids, ids) == expected
        assert expected and all(required > 0 for required, _verified in expected.values())
    assert named_figures(p3, site_ids, [participant.pk])[participant.site_id][1] == 1  # the tick
    assert named_figures(p3, site_ids, []) == {}
    assert named_figures(p3, [], [participant.pk]) == {}  # no site seen: nothing counted
    # another study's participant counts nowhere
    assert named_figures(p3, site_ids, [10 ** 9]) == {}

    current = Assessment.objects.get(pk=recorded.pk)
    services.assessment_update(assessment=current, version=current.row_version,
                               data=services.AssessmentInput(**{**_keep_all(), "bleeding_grade": 2}),
                               reason="Corrected against source", by=coordinator)
    user = type(monitor).objects.get(pk=monitor.pk)
    # the user's sites, the study's sites, the plan, the kept figures, the stale casebook's figures
    with django_assert_num_queries(5):
        [site] = study_sdv_sites(p3, user)
    assert _figures([site]) == _figures(study_sdv(p3, monitor)[1])


@pytest.mark.django_db
def test_the_trigger_of_the_ticks_is_installed_and_put_back_after_migrate():
    assert sdv_counts.installed(connection)
    sdv_counts.uninstall(connection)
    assert not sdv_counts.installed(connection)
    sdv_counts.after_migrate(sender=None, using="default")
    assert sdv_counts.installed(connection)
