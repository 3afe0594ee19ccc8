"""The study page's locked casebooks per site are counted in the SDV progress's pass over the
participants under the key-items plan (no statement of their own), and in their own statement
under the all-items plan: the same rows either way (`enrollment.selectors.locked_casebooks_by_site`)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.locks import casebook_lock
from enrollment.selectors import locked_casebooks_by_site
from followup import signoff
from followup.sdv_models import SdvPlan
from followup.sdv_progress import study_sdv_sites
from followup.study_views import _locked_casebooks
from followup.tests.support import study_locked_rows
from followup.tests.test_participant_budget import record
from trials.tests.support import SIGNER_PASSWORD


def _locked_one(participant, coordinator, investigator, make_user):
    record(participant, coordinator, 0, 15)
    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    participant.refresh_from_db()
    casebook_lock(participant=participant, by=make_user("data_manager"), reason="Casebook clean")


@pytest.mark.parametrize("scope, statements", [("key", 0), ("all", 1)])
def test_locked_casebooks_counted_with_the_sdv_progress_under_the_key_plan_only(
        participant, coordinator, investigator, make_user, django_assert_num_queries, scope, statements):
    """Key-items plan: counted in the SDV progress's pass (no statement); all items: their own."""
    _locked_one(participant, coordinator, investigator, make_user)
    user = make_user("data_manager")
    study = participant.study
    if scope == "all":
        SdvPlan.objects.create(study=study, scope="all", reason="Full SDV", changed_at=timezone.now())
        study.refresh_from_db()
    sites = study_sdv_sites(study, user)
    assert all((row.locked is None) == (scope == "all") for row in sites)
    with django_assert_num_queries(statements):
        shown = _locked_casebooks(user, study, sites)
    assert shown == locked_casebooks_by_site(user, study) == [{"site_code": "PUMCH", "enrolled": 1, "locked": 1}]


def test_the_study_page_shows_the_same_locked_casebooks_under_either_plan(
        client, participant, coordinator, investigator, make_user):
    _locked_one(participant, coordinator, investigator, make_user)
    client.force_login(make_user("data_manager"))
    url = reverse("study-detail", args=[participant.study.code])

    key = study_locked_rows(client, url)
    SdvPlan.objects.create(study=participant.study, scope="all", reason="Full SDV", changed_at=timezone.now())
    assert key == study_locked_rows(client, url) == [("PUMCH", "1", "1")]
