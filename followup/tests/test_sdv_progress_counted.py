"""The study page's SDV progress per site, counted in the database (`followup.sdv_progress`), equals
the progress computed record by record (`followup.sdv.study_sdv`), on a synthetic study with
infusions, visits, assessments and adverse events, items verified, and verifications withdrawn by a
change; in a constant number of queries."""
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrollment.models import Participant
from followup.sdv import participant_records, plan_scope, study_sdv
from followup.sdv_progress import study_sdv_sites
from followup.services import sdv_plan_set
from followup.synthetic import SITES
from trials.accounts import user_upsert
from trials.audit_context import change_context

from .sdv_support import verify

TODAY = date(2026, 6, 1)


def _figures(sites):
    return [(row.site.code, row.participants, row.progress.required, row.progress.verified) for row in sites]


@pytest.fixture
def synthetic(studies):
    call_command("make_synthetic_study", participants=12, seed=5, today=TODAY)
    monitor = data_manager = None
    for code, _name in SITES:
        monitor = user_upsert(username="all-sites-monitor", role="monitor", site_code=code).user
        data_manager = user_upsert(username="all-sites-dm", role="data_manager", site_code=code).user
    return Participant.objects.get(study__code="SYN-12-5", sequence=1, site__code="PUMCH").study, monitor, data_manager


def _verify_some(study, monitor) -> int:
    """Verify the plan items of the first complete record of each kind of a few participants; the
    number of items verified."""
    verified = 0
    for participant in Participant.objects.filter(study=study).order_by("pk")[:3]:
        seen = set()
        for record in participant_records(Participant.objects.get(pk=participant.pk), scope=plan_scope(study)):
            if record.kind in seen or not record.counted:
                continue
            seen.add(record.kind)
            codes = [status.code for status in record.required][:2]
            verify(record.record, codes, monitor, kind=record.kind,
                   version=1 if record.kind == "consent" else None)
            verified += len(codes)
    return verified


@pytest.mark.django_db
def test_progress_counted_in_the_database_equals_the_records_progress(synthetic):
    study, monitor, _dm = synthetic
    verified = _verify_some(study, monitor)

    counted = _figures(study_sdv_sites(study, monitor))

    assert counted == _figures(study_sdv(study, monitor)[1])
    assert sum(row[3] for row in counted) == verified > 0
    assert sum(row[1] for row in counted) == Participant.objects.filter(study=study).count()


@pytest.mark.django_db
def test_a_change_withdraws_the_counted_verification(synthetic):
    study, monitor, _dm = synthetic
    _verify_some(study, monitor)
    before = sum(row.progress.verified for row in study_sdv_sites(study, monitor))
    participant = Participant.objects.filter(study=study).order_by("pk").first()
    screening = participant.screening
    with change_context(by=None, reason="Corrected against source"):
        type(screening).objects.filter(pk=screening.pk).update(row_version=screening.row_version + 1)

    counted = _figures(study_sdv_sites(study, monitor))

    assert counted == _figures(study_sdv(study, monitor)[1])
    assert sum(row[3] for row in counted) == before - 2  # the screening's two items


@pytest.mark.django_db
def test_the_all_items_plan_is_counted_as_the_records_are(synthetic):
    study, monitor, data_manager = synthetic
    _verify_some(study, monitor)
    sdv_plan_set(study=study, scope="all", reason="Every item", by=data_manager)
    study.refresh_from_db()

    assert _figures(study_sdv_sites(study, monitor)) == _figures(study_sdv(study, monitor)[1])


@pytest.mark.django_db
def test_progress_per_site_costs_the_same_queries_for_few_and_many_participants(studies):
    call_command("make_synthetic_study", participants=4, seed=2, today=TODAY)
    call_command("make_synthetic_study", participants=24, seed=2, today=TODAY)
    monitor = None
    for code, _name in SITES:
        monitor = user_upsert(username="all-sites-monitor", role="monitor", site_code=code).user
    counts = []
    for code in ("SYN-4-2", "SYN-24-2"):
        study = Participant.objects.filter(study__code=code).first().study
        user = type(monitor).objects.get(pk=monitor.pk)  # nothing of the user read yet
        with CaptureQueriesContext(connection) as queries:
            study_sdv_sites(study, user)
        counts.append(len(queries))
    # the plan, the user's sites, the study's, the participants per site, and one statement for every
    # figure (the fields of six kinds of forms, the labs of two, the ticks)
    assert counts[0] == counts[1] == 5
