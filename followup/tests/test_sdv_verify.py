"""Source data verification: the study's plan, items ticked by a monitor, a form verified only when
every item of the plan it holds is, and a change to the record withdrawing its verification."""
from dataclasses import fields

import pytest
from django.core.exceptions import PermissionDenied

from followup import services
from followup.record_states import COMPLETE, IN_PROGRESS, VERIFIED
from followup.sdv import plan_scope
from followup.sdv_models import ItemVerification, SdvPlan
from trials.concurrency import StaleVersion
from trials.errors import ConflictError, RecordLocked, ServiceError
from trials.locks import study_lock

from .sdv_support import assessment, state_of, verify

KEY_ITEMS = ["date", "lab:HGB", "lab:PLT"]


@pytest.fixture
def monitor(make_user):
    return make_user("monitor")


@pytest.fixture
def data_manager(make_user):
    return make_user("data_manager")


# --- the plan ------------------------------------------------------------------------------------

def test_plan_is_key_items_until_a_data_manager_chooses_all(studies, data_manager):
    study = studies["MSC-ITP-5"]
    assert plan_scope(study) == "key"

    plan = services.sdv_plan_set(study=study, scope="all", reason="Sponsor asks for 100 % SDV", by=data_manager)

    assert (plan.scope, plan.changed_by, plan.reason) == ("all", data_manager, "Sponsor asks for 100 % SDV")
    study.refresh_from_db()
    assert plan_scope(study) == "all"
    latest = plan.history.first()
    assert (latest.history_user, latest.history_change_reason) == (data_manager, "Sponsor asks for 100 % SDV")


def test_plan_change_is_kept_in_its_history_with_the_reason(studies, data_manager):
    study = studies["MSC-ITP-5"]
    services.sdv_plan_set(study=study, scope="all", reason="Start of the study", by=data_manager)
    services.sdv_plan_set(study=study, scope="key", reason="Risk review: key items suffice", by=data_manager)
    plan = SdvPlan.objects.get(study=study)
    assert [(h.scope, h.history_change_reason) for h in plan.history.order_by("history_date")] == [
        ("all", "Start of the study"), ("key", "Risk review: key items suffice")]


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor"])
def test_plan_is_refused_to_roles_that_do_not_manage_sdv(studies, make_user, role):
    with pytest.raises(PermissionDenied):
        services.sdv_plan_set(study=studies["MSC-ITP-5"], scope="all", reason="why", by=make_user(role))
    assert not SdvPlan.objects.exists()


def test_plan_without_reason_or_with_unknown_scope_is_refused_naming_the_field(studies, data_manager):
    with pytest.raises(ServiceError) as refused:
        services.sdv_plan_set(study=studies["MSC-ITP-5"], scope="half", reason=" ", by=data_manager)
    assert set(refused.value.errors) == {"scope", "reason"}


# --- ticking items ------------------------------------------------------------------------------

def test_form_is_verified_only_when_every_key_item_it_holds_is(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    assert state_of(recorded).state == COMPLETE
    assert [s.code for s in state_of(recorded).required] == KEY_ITEMS

    verify(recorded, ["date", "lab:PLT"], monitor)
    partly = state_of(recorded)
    assert (partly.state, partly.verified_count, partly.awaiting) == (COMPLETE, 2, True)

    verify(recorded, ["lab:HGB"], monitor)
    done = state_of(recorded)
    assert (done.state, done.verified_count, done.awaiting, done.withdrawn) == (VERIFIED, 3, False, False)
    assert done.statuses["lab:PLT"].current.verified_by == monitor.get_username()
    assert not done.statuses["lab:WBC"].verified  # not a key item: not asked for


def test_all_items_plan_asks_for_every_item_the_record_holds(studies, participant, coordinator, monitor, make_user):
    services.sdv_plan_set(study=studies["MSC-ITP-5"], scope="all", reason="Full SDV", by=make_user("data_manager"))
    recorded = assessment(participant, coordinator)
    verify(recorded, KEY_ITEMS, monitor)
    assert state_of(recorded).state == COMPLETE
    assert [s.code for s in state_of(recorded).required if not s.verified] == ["bleeding_grade", "lab:WBC"]

    verify(recorded, ["bleeding_grade", "lab:WBC"], monitor)
    assert state_of(recorded).state == VERIFIED


def test_items_verified_again_at_the_same_version_are_left_as_they_are(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    verify(recorded, ["date"], monitor)
    verify(recorded, ["date", "lab:PLT"], monitor)
    assert sorted(ItemVerification.objects.values_list("item_code", flat=True)) == ["date", "lab:PLT"]
    row = ItemVerification.objects.get(item_code="date")
    assert (row.participant, row.record_kind, row.record_pk, row.record_version) == (
        participant, "assessment", recorded.pk, recorded.row_version)
    assert row.history.first().history_change_reason == "Verified against source"


def test_unknown_item_is_refused_and_nothing_is_verified(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    with pytest.raises(ServiceError) as refused:
        verify(recorded, ["date", "lab:CRP", "weight_kg"], monitor)
    assert list(refused.value.errors) == ["items"]
    assert "lab:CRP, weight_kg" in refused.value.errors["items"][0]
    assert not ItemVerification.objects.exists()


def test_stale_version_is_refused_with_409(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    with pytest.raises(StaleVersion) as refused:
        verify(recorded, ["date"], monitor, version=recorded.row_version - 1 or 99)
    assert refused.value.status == 409
    assert not ItemVerification.objects.exists()


def test_record_in_progress_is_not_verified(participant, monitor):
    planned = participant.infusions.get(number=1)
    assert state_of(planned, "infusion").state == IN_PROGRESS
    with pytest.raises(ConflictError):
        verify(planned, ["dose_per_kg"], monitor, kind="infusion")


@pytest.mark.parametrize("role", ["coordinator", "investigator", "data_manager"])
def test_only_a_monitor_verifies(participant, coordinator, make_user, role):
    recorded = assessment(participant, coordinator)
    with pytest.raises(PermissionDenied):
        verify(recorded, ["date"], make_user(role))


def test_a_consent_written_once_is_verified_at_version_1(participant, monitor):
    consent = participant.screening.consents.get()
    verify(consent, ["version", "signed_at"], monitor, kind="consent", version=1)
    assert state_of(consent, "consent").state == VERIFIED


# --- a change withdraws the verification -----------------------------------------------------------

def _keep_all() -> dict:
    return {f.name: services.KEEP for f in fields(services.AssessmentInput)}


def test_correcting_a_verified_assessment_withdraws_its_verification(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    verify(recorded, KEY_ITEMS, monitor)
    assert state_of(recorded).state == VERIFIED

    services.assessment_update(assessment=recorded, version=state_of(recorded).version, reason="Transcription error",
                               by=coordinator, data=services.AssessmentInput(**{**_keep_all(), "bleeding_grade": 2}))

    after = state_of(recorded)
    assert (after.state, after.withdrawn, after.awaiting, after.verified_count) == (COMPLETE, True, True, 0)
    assert after.statuses["lab:PLT"].withdrawn.verified_by == monitor.get_username()

    verify(recorded, KEY_ITEMS, monitor)  # verified again against the corrected record
    assert state_of(recorded).state == VERIFIED
    assert ItemVerification.objects.count() == 6  # the first ticks stay in the trail


def test_verification_is_refused_once_the_study_is_locked(studies, participant, coordinator, monitor, make_user):
    recorded = assessment(participant, coordinator)
    study_lock(study=studies["MSC-ITP-5"], by=make_user("data_manager"), reason="Database lock for the analysis")
    with pytest.raises(RecordLocked):
        verify(recorded, ["date"], monitor)
    assert not ItemVerification.objects.exists()
