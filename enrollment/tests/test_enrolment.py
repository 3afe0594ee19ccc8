"""Consent, enrolment, caps, targets, numbering and withdrawal (services and API)."""
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from dosing.models import Infusion
from enrollment import services
from enrollment.models import Participant, Screening
from enrollment.tests.support import REFRACTORY, eligible_p2_screening, today
from trials.audit import audited_save
from trials.errors import ConflictError, ServiceError
from trials.models import DoseLevel, Study
from trials.tests.support import Later, made, require_service, setup_update


def test_enrolment_numbers_are_sequential_per_site(studies, coordinator):
    numbers = [services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A",
                                          by=coordinator).study_number for _ in range(3)]
    assert numbers == ["HUCMSC-ITP-ESC-PUMCH-001", "HUCMSC-ITP-ESC-PUMCH-002", "HUCMSC-ITP-ESC-PUMCH-003"]


def test_full_dose_level_is_a_conflict(studies, coordinator):
    for _ in range(3):
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    with pytest.raises(ConflictError) as caught:
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    assert caught.value.errors == {"dose_level": ["Dose level A is full (3 of 3 places taken)."]}


def test_withdrawn_participant_frees_a_place_but_keeps_the_number(studies, coordinator):
    first = services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A",
                                       by=coordinator)
    for _ in range(2):
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    services.participant_withdraw(participant=first, withdrawn_on=today(), reason="consent_withdrawn", by=coordinator)
    fourth = services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A",
                                        by=coordinator)
    assert fourth.study_number == "HUCMSC-ITP-ESC-PUMCH-004"
    first.refresh_from_db()
    assert (first.status, first.withdrawal_reason, first.study_number) == ("withdrawn", "consent_withdrawn",
                                                                           "HUCMSC-ITP-ESC-PUMCH-001")


def test_level_that_is_not_open_is_refused(studies, coordinator):
    with pytest.raises(ConflictError) as caught:
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="B", by=coordinator)
    assert caught.value.errors == {"dose_level": ["Dose level B is planned, not open for enrolment."]}
    assert Participant.objects.count() == 0


def test_escalation_study_needs_a_dose_level(studies, coordinator):
    with pytest.raises(ServiceError) as caught:
        services.participant_enrol(screening=eligible_p2_screening(coordinator), by=coordinator)
    assert caught.value.errors == {"dose_level": ["Choose the dose level: A, B, C."]}


def test_enrolment_target_is_respected(studies, coordinator):
    study = Study.objects.get(code="HUCMSC-ITP-ESC")
    study.enrolment_target = 1
    audited_save(study, by=coordinator, reason="test target")
    services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    with pytest.raises(ConflictError) as caught:
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    assert caught.value.errors == {"study": ["HUCMSC-ITP-ESC has reached its enrolment target of 1."]}


def test_enrolment_before_consent_is_refused(studies, coordinator):
    screening = eligible_p2_screening(coordinator)
    with pytest.raises(ServiceError) as caught:
        services.participant_enrol(screening=screening, dose_level_code="A", enrolled_on=today() - timedelta(days=1),
                                   by=coordinator)
    assert caught.value.errors == {"enrolled_on": ["The enrolment date is before the consent was signed."]}


def test_not_eligible_screening_is_refused_with_the_failing_criteria(studies, coordinator):
    screening = eligible_p2_screening(coordinator)
    screening.refresh_from_db()  # as confirmed by the investigator
    services.screening_update(screening=screening, version=screening.row_version,
                              data=services.ScreeningInput(prior_therapies=REFRACTORY[:2]),
                              reason="Rituximab course was in fact a response", by=coordinator)
    with pytest.raises(ServiceError) as caught:
        services.participant_enrol(screening=screening, dose_level_code="A", by=coordinator)
    assert caught.value.errors == {"eligibility": ["The patient is not eligible (criteria not met: refractory)."]}


def test_enrolled_screening_facts_cannot_change(studies, coordinator):
    screening = eligible_p2_screening(coordinator)
    services.participant_enrol(screening=screening, dose_level_code="A", by=coordinator)
    with pytest.raises(ServiceError) as caught:
        services.screening_update(screening=screening, version=screening.row_version,
                                  data=services.ScreeningInput(values={"initials": "XY"}),
                                  reason="typo", by=coordinator)
    assert "non_field_errors" in caught.value.errors


@pytest.mark.parametrize(
    "reason, detail, withdrawn_on, errors",
    [
        ("other", "", Later(today), {"detail": ["Say what the other reason is."]}),
        ("bored", "", Later(today), {"reason": ["Use one of consent_withdrawn, adverse_event, lost_to_follow_up, "
                                                "investigator_decision, other."]}),
        ("adverse_event", "", Later(lambda: today() + timedelta(days=1)),
         {"withdrawn_on": ["The withdrawal date cannot be in the future."]}),
    ],
)
def test_withdrawal_refuses_bad_input(studies, coordinator, reason, detail, withdrawn_on, errors):
    withdrawn_on = made(withdrawn_on)
    participant = services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A",
                                             by=coordinator)
    with pytest.raises(ServiceError) as caught:
        services.participant_withdraw(participant=participant, withdrawn_on=withdrawn_on, reason=reason, detail=detail,
                                      by=coordinator)
    assert caught.value.errors == errors
    participant.refresh_from_db()
    assert participant.status == "enrolled"


def test_api_full_level_is_409_and_unknown_level_is_400(studies, coordinator):
    api = APIClient()
    api.force_authenticate(coordinator)
    for _ in range(3):
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    screening = eligible_p2_screening(coordinator)
    full = api.post(f"/api/v1/screenings/{screening.pk}/enrol/", {"dose_level": "A"}, format="json")
    assert full.status_code == 409
    assert full.json() == {"errors": {"dose_level": ["Dose level A is full (3 of 3 places taken)."]}}
    unknown = api.post(f"/api/v1/screenings/{screening.pk}/enrol/", {"dose_level": "Z"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json() == {"errors": {"dose_level": ["Unknown dose level; this arm has A, B, C."]}}


def test_enrolment_query_budget(studies, coordinator, django_assert_max_num_queries):
    screening = eligible_p2_screening(coordinator)
    with django_assert_max_num_queries(20):
        services.participant_enrol(screening=screening, dose_level_code="A", by=coordinator)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_enrolments_into_the_last_place_only_one_succeeds(studies, make_user):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    coordinator = make_user("coordinator")
    for _ in range(2):
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    contenders = [eligible_p2_screening(coordinator), eligible_p2_screening(coordinator)]
    barrier = threading.Barrier(2)
    outcomes = {}

    def enrol(screening):
        try:
            barrier.wait(timeout=10)
            participant = services.participant_enrol(screening=Screening.objects.get(pk=screening.pk),
                                                     dose_level_code="A", by=coordinator)
            outcomes[screening.pk] = participant.study_number
        except ConflictError as error:
            outcomes[screening.pk] = error.errors
        finally:
            connections.close_all()

    threads = [threading.Thread(target=enrol, args=(s,)) for s in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    results = sorted(outcomes.values(), key=str)
    assert results == ["HUCMSC-ITP-ESC-PUMCH-003", {"dose_level": ["Dose level A is full (3 of 3 places taken)."]}]
    numbers = sorted(Participant.objects.values_list("study_number", flat=True))
    assert numbers == ["HUCMSC-ITP-ESC-PUMCH-001", "HUCMSC-ITP-ESC-PUMCH-002", "HUCMSC-ITP-ESC-PUMCH-003"]
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="A").participants.count() == 3


def test_participant_withdrawn_after_an_infusion_keeps_the_place(studies, coordinator):
    first = services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A",
                                       by=coordinator)
    for _ in range(2):
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    setup_update(Infusion.objects.filter(participant=first, number=1), state="given", started_at=timezone.now(),
                 weight_kg=70)
    services.participant_withdraw(participant=first, withdrawn_on=today(), reason="adverse_event", by=coordinator)
    with pytest.raises(ConflictError) as caught:
        services.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)
    assert caught.value.errors == {"dose_level": ["Dose level A is full (3 of 3 places taken)."]}
