"""3+3 counts from real participants, infusions and adverse events, and the signed decision
(CLINICAL_RULES.md section 4; `dosing.selectors.escalation_state`, `dosing.services.escalation_decide`)."""
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from dosing.escalation import DLT_CATEGORIES, DLT_RELATEDNESS
from dosing.models import EscalationDecision
from dosing.selectors import escalation_state
from dosing.services import SignatureRefused, escalation_decide
from dosing.tests.escalation_setup import PASSWORD, adverse_event, dlt_onset, enrol_p2, in_window, today, window_over
from enrollment import services as enrolment
from enrollment.models import Participant
from enrollment.tests.support import eligible_p2_screening
from followup.models import AdverseEvent, AdverseEventCategory, Relationship
from trials.errors import ConflictError, ServiceError
from trials.messages import message
from trials.models import DoseLevel, Study
from trials.tests.support import Later, made, require_service, setup_update


def window_end():
    return window_over() + timedelta(days=21 + 28)


@pytest.fixture
def study(studies):
    return Study.objects.get(code="HUCMSC-ITP-ESC")


def counts(state, code):
    row = state.level(code)
    return (row.level.status, row.enrolled, row.evaluable, row.dlts, row.in_dlt_window)


def proposal(state):
    return (state.proposal.action, state.proposal.level)


def statuses(study):
    return {lv.code: (lv.status, lv.group_cap) for lv in DoseLevel.objects.filter(arm__study=study)}


def three_without_dlt(by):
    return [enrol_p2(by) for _ in range(3)]


# --------------------------------------------------------------------------- counts


def test_escalation_state_grade_3_possibly_related_event_inside_the_window_is_a_dlt(study, coordinator):
    first, *_ = three_without_dlt(coordinator)
    adverse_event(first, onset=dlt_onset(), by=coordinator)

    state = escalation_state(study, today=today())

    assert counts(state, "A") == ("open", 3, 3, 1, 0)
    row = next(p for p in state.level("A").participants if p.participant == first)
    assert [d.explanation for d in row.dlts] == [
        "DLT: grade 3 non-haematological toxicity, possibly related: grade >= 3 (section 4)."]
    assert row.dlt_window == (window_over(), window_end())
    assert (row.first_infusion, row.infusions_received, row.infusions_planned) == (window_over(), 4, 4)
    assert proposal(state) == ("expand", "A")
    assert state.proposal.reason == "1 of 3 evaluable participants at level A had a DLT: treat 3 more at A (3+3)."


@pytest.mark.parametrize(
    "onset, relationship",
    [
        (Later(lambda: window_end() + timedelta(days=1)), "possible"),  # the day after the window
        (Later(lambda: window_over() - timedelta(days=1)), "possible"),  # before the first infusion
        (Later(dlt_onset), "unrelated"),
        (Later(dlt_onset), "unlikely"),
    ],
)
def test_escalation_state_event_outside_the_window_or_unrelated_is_not_a_dlt(study, coordinator, onset,
                                                                             relationship):
    first, *_ = three_without_dlt(coordinator)
    adverse_event(first, onset=made(onset), relationship=relationship, by=coordinator)

    state = escalation_state(study, today=today())

    assert counts(state, "A") == ("open", 3, 3, 0, 0)
    assert proposal(state) == ("escalate", "B")


def test_escalation_state_last_day_of_the_window_is_inside(study, coordinator):
    first, *_ = three_without_dlt(coordinator)
    adverse_event(first, onset=window_end(), by=coordinator)
    assert counts(escalation_state(study, today=today()), "A") == ("open", 3, 3, 1, 0)


def test_escalation_state_waits_while_a_participant_is_in_the_window(study, coordinator):
    enrol_p2(coordinator)
    enrol_p2(coordinator)
    enrol_p2(coordinator, day0=in_window())

    state = escalation_state(study, today=today())

    assert counts(state, "A") == ("open", 3, 3, 0, 1)
    assert proposal(state) == ("wait", "A")
    assert state.proposal.reason == (
        "Level A: 3 of 3 participants DLT-evaluable, 1 still inside the DLT window or not yet evaluable; "
        "wait for their DLT assessment (0 with a DLT so far).")


def test_escalation_state_participant_still_receiving_infusions_is_not_evaluable(study, coordinator):
    enrol_p2(coordinator, day0=today() - timedelta(days=8), infusions=2)

    state = escalation_state(study, today=today())

    assert counts(state, "A") == ("open", 1, 0, 0, 1)
    (row,) = state.level("A").participants
    assert (row.infusions_received, row.infusions_planned, row.assessment) == (2, 4, "Receiving infusions")
    assert proposal(state) == ("wait", "A")


def test_escalation_state_escalates_after_three_complete_windows_without_dlt(study, coordinator):
    three_without_dlt(coordinator)

    state = escalation_state(study, today=today())

    assert [counts(state, code) for code in "ABC"] == [
        ("open", 3, 3, 0, 0), ("planned", 0, 0, 0, 0), ("planned", 0, 0, 0, 0)]
    assert proposal(state) == ("escalate", "B")
    assert state.proposal.reason == "0 of 3 evaluable participants at level A had a DLT: escalate to B (3+3)."


def test_escalation_state_participant_withdrawn_before_any_infusion_is_not_counted(study, coordinator):
    dropped = enrol_p2(coordinator, day0=today(), infusions=0)
    enrolment.participant_withdraw(participant=dropped, withdrawn_on=today(), reason="consent_withdrawn",
                                   by=coordinator)
    three_without_dlt(coordinator)

    state = escalation_state(study, today=today())

    assert counts(state, "A") == ("open", 3, 3, 0, 0)
    assert len(state.level("A").participants) == 4
    assert proposal(state) == ("escalate", "B")


def test_escalation_state_withdrawn_after_an_infusion_is_replaced_once_the_window_ends(study, coordinator):
    stopped = enrol_p2(coordinator, infusions=1)
    enrolment.participant_withdraw(participant=stopped, withdrawn_on=window_over() + timedelta(days=3),
                                   reason="adverse_event", by=coordinator)
    enrol_p2(coordinator)
    enrol_p2(coordinator)

    state = escalation_state(study, today=today())

    assert counts(state, "A") == ("open", 3, 2, 0, 0)
    assert state.proposal.reason == (
        "Level A has 3 enrolled but only 2 DLT-evaluable of the 3 needed; enrol 1 more to replace those not evaluable.")


def test_escalation_state_takes_a_fixed_number_of_queries(study, coordinator, django_assert_num_queries):
    for _ in range(3):
        adverse_event(enrol_p2(coordinator), onset=dlt_onset() + timedelta(days=30), by=coordinator)
    with django_assert_num_queries(5):
        escalation_state(study, today=today())


# --------------------------------------------------------------------------- decisions


def test_escalation_decide_escalate_closes_a_and_opens_b(study, coordinator, investigator):
    three_without_dlt(coordinator)

    decision = escalation_decide(study=study, action="escalate", level_code="B", rationale="", password=PASSWORD,
                                 by=investigator)

    assert statuses(study) == {"A": ("closed", 3), "B": ("open", 3), "C": ("planned", 3)}
    decision.refresh_from_db()
    assert (decision.action, decision.level.code, decision.proposal_action, decision.proposal_level) == (
        "escalate", "B", "escalate", "B")
    assert decision.proposal_reason == "0 of 3 evaluable participants at level A had a DLT: escalate to B (3+3)."
    assert (decision.signed_by, decision.contradicts_proposal) == (investigator, False)
    assert decision.level_counts[0] == {"code": "A", "status": "open", "group_cap": 3, "enrolled": 3,
                                        "evaluable": 3, "dlts": 0, "in_dlt_window": 0}
    b = DoseLevel.objects.get(arm__study=study, code="B")
    assert (b.history.first().history_change_reason, b.history.first().history_user) == (
        f"Escalation decision {decision.pk}: escalate B", investigator)
    assert decision.history.first().history_change_reason == "Escalation decision signed"
    assert escalation_state(study, today=today()).proposal.reason == "Level B has 0 of 3 places enrolled; enrol 3 more."


def test_escalation_decide_after_escalate_enrols_into_b_and_refuses_a(study, coordinator, investigator):
    three_without_dlt(coordinator)
    escalation_decide(study=study, action="escalate", level_code="B", rationale="", password=PASSWORD,
                      by=investigator)

    into_b = enrolment.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="B",
                                         by=coordinator)
    with pytest.raises(ConflictError) as refused:
        enrolment.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A", by=coordinator)

    assert into_b.dose_level.code == "B"
    assert refused.value.errors == {"dose_level": ["Dose level A is closed, not open for enrolment."]}


def test_escalation_decide_expand_after_one_dlt_raises_the_cap_to_six(study, coordinator, investigator):
    first, *_ = three_without_dlt(coordinator)
    adverse_event(first, onset=dlt_onset(), by=coordinator)

    escalation_decide(study=study, action="expand", level_code="A", rationale="", password=PASSWORD, by=investigator)

    assert statuses(study) == {"A": ("open", 6), "B": ("planned", 3), "C": ("planned", 3)}
    fourth = enrolment.participant_enrol(screening=eligible_p2_screening(coordinator), dose_level_code="A",
                                         by=coordinator)
    assert fourth.dose_level.code == "A"
    state = escalation_state(study, today=today())
    assert counts(state, "A") == ("open", 4, 3, 1, 1)
    assert state.proposal.reason == ("Level A has 4 of 6 places enrolled; "
                                     "enrol 2 more (1 still inside the DLT window or not yet evaluable).")


def test_escalation_decide_stop_when_the_lowest_dose_is_too_toxic_closes_it(study, coordinator, investigator):
    first, second, _third = three_without_dlt(coordinator)
    adverse_event(first, onset=dlt_onset(), by=coordinator)
    adverse_event(second, onset=dlt_onset(), grade=4, category="allergic", relationship="probable",
                  term="Anaphylaxis", by=coordinator)
    assert proposal(escalation_state(study, today=today())) == ("stop", None)

    decision = escalation_decide(study=study, action="stop", level_code="", rationale="", password=PASSWORD,
                                 by=investigator)

    assert (decision.level, decision.contradicts_proposal) == (None, False)
    assert statuses(study) == {"A": ("closed", 3), "B": ("planned", 3), "C": ("planned", 3)}


def test_escalation_decide_choose_expansion_dose_opens_it_with_six_places(study, coordinator, investigator):
    setup_update(DoseLevel.objects.filter(arm__study=study, code__in="AB"), status="closed")
    setup_update(DoseLevel.objects.filter(arm__study=study, code="C"), status="open")
    for _ in range(3):
        enrol_p2(coordinator, level="C")
    assert proposal(escalation_state(study, today=today())) == ("choose_expansion_dose", None)

    decision = escalation_decide(study=study, action="choose_expansion_dose", level_code="B", rationale="",
                                 password=PASSWORD, by=investigator)

    assert decision.contradicts_proposal is False
    assert statuses(study) == {"A": ("closed", 3), "B": ("open", 6), "C": ("closed", 3)}


def test_escalation_decide_wrong_password_is_refused_and_records_nothing(study, coordinator, investigator):
    three_without_dlt(coordinator)

    with pytest.raises(SignatureRefused) as refused:
        escalation_decide(study=study, action="escalate", level_code="B", rationale="", password="not-my-password",
                          by=investigator)

    assert str(refused.value) == "The password is not correct: the decision was not signed."
    assert isinstance(refused.value, PermissionDenied)
    assert EscalationDecision.objects.count() == 0
    assert EscalationDecision.history.count() == 0
    assert statuses(study) == {"A": ("open", 3), "B": ("planned", 3), "C": ("planned", 3)}


def test_escalation_decide_locks_after_five_wrong_passwords(study, investigator):
    for _ in range(5):
        with pytest.raises(SignatureRefused):
            escalation_decide(study=study, action="escalate", level_code="B", rationale="x", password="guess",
                              by=investigator)
    with pytest.raises(SignatureRefused) as locked:
        escalation_decide(study=study, action="escalate", level_code="B", rationale="x", password=PASSWORD,
                          by=investigator)
    assert str(locked.value) == "Too many wrong passwords: signing is locked for 15 minutes."
    assert EscalationDecision.objects.count() == 0


def test_escalation_decide_coordinator_is_refused(study, coordinator):
    three_without_dlt(coordinator)
    with pytest.raises(PermissionDenied):
        escalation_decide(study=study, action="escalate", level_code="B", rationale="", password=PASSWORD,
                          by=coordinator)
    assert EscalationDecision.objects.count() == 0


TOWARDS_SAFETY = ("A decision may differ from the proposal only towards safety (wait, expand the current level, stop, "
                  "de-escalate); a level above what the rule allows is never opened.")
WAIT_A = 'The proposal is "wait A" under rule "wait: Level A has 1 of 3 places enrolled; enrol 2 more.". '
ESCALATE_B = 'The proposal is "escalate B" under rule "0 of 3 with a DLT: escalate". '


def test_escalation_decide_contradicting_the_proposal_needs_a_rationale(study, coordinator, investigator):
    enrol_p2(coordinator)

    with pytest.raises(ServiceError) as refused:
        escalation_decide(study=study, action="expand", level_code="A", rationale="  ", password=PASSWORD,
                          by=investigator)

    assert refused.value.errors == {"rationale": [
        'The proposal is "wait A": Level A has 1 of 3 places enrolled; enrol 2 more. '
        "A decision that differs from it needs a rationale."]}
    assert EscalationDecision.objects.count() == 0
    assert statuses(study) == {"A": ("open", 3), "B": ("planned", 3), "C": ("planned", 3)}


def test_escalation_decide_towards_safety_with_a_rationale_is_recorded(study, coordinator, investigator):
    enrol_p2(coordinator)

    decision = escalation_decide(study=study, action="expand", level_code="A", by=investigator, password=PASSWORD,
                                 rationale="Safety committee: treat 6 at A before any escalation")

    assert (decision.proposal_action, decision.contradicts_proposal) == ("wait", True)
    assert decision.signature_meaning == (
        'I approve expand A under rule "wait: Level A has 1 of 3 places enrolled; enrol 2 more." '
        "(the 3+3 rule of the study).")
    assert statuses(study) == {"A": ("open", 6), "B": ("planned", 3), "C": ("planned", 3)}


def test_escalation_decide_escalating_while_the_rule_says_wait_is_refused_whatever_the_rationale(
        study, coordinator, investigator):
    enrol_p2(coordinator)

    with pytest.raises(ConflictError) as refused:
        escalation_decide(study=study, action="escalate", level_code="B", by=investigator, password=PASSWORD,
                          rationale="Safety committee: level A dose shown safe in the pilot study")

    assert refused.value.errors == {"action": [
        'The 3+3 rule does not allow "escalate B": only the level the rule escalates to may be opened, and the rule '
        "does not escalate to B now. " + WAIT_A + TOWARDS_SAFETY]}
    assert EscalationDecision.objects.count() == 0
    assert statuses(study)["B"] == ("planned", 3)


@pytest.mark.parametrize(
    "action, level, why",
    [
        ("escalate", "C",
         "only the level the rule escalates to may be opened, and the rule does not escalate to C now"),
        ("expand", "B", "level B was never opened: only an escalation the rule proposes opens it"),
        ("choose_expansion_dose", "C", "level C was never opened: only an escalation the rule proposes opens it"),
        ("choose_expansion_dose", "A", "choosing the dose to expand is the final step, once the top level is done; "
                                       "expand the current level or a lower one instead"),
    ],
)
def test_escalation_decide_decision_the_rule_does_not_allow_is_a_conflict(study, coordinator, investigator,
                                                                         action, level, why):
    three_without_dlt(coordinator)
    with pytest.raises(ConflictError) as refused:
        escalation_decide(study=study, action=action, level_code=level, rationale="Investigators' choice",
                          password=PASSWORD, by=investigator)
    decided = f"{action} {level}"
    assert refused.value.errors == {"action": [
        f'The 3+3 rule does not allow "{decided}": {why}. ' + ESCALATE_B + TOWARDS_SAFETY]}
    assert EscalationDecision.objects.count() == 0
    assert statuses(study) == {"A": ("open", 3), "B": ("planned", 3), "C": ("planned", 3)}


def test_escalation_decide_expand_twice_is_a_conflict(study, coordinator, investigator):
    first, *_ = three_without_dlt(coordinator)
    adverse_event(first, onset=dlt_onset(), by=coordinator)
    escalation_decide(study=study, action="expand", level_code="A", rationale="", password=PASSWORD, by=investigator)
    with pytest.raises(ConflictError) as refused:
        escalation_decide(study=study, action="expand", level_code="A", rationale="", password=PASSWORD,
                          by=investigator)
    assert refused.value.errors == {"action": ["Level A already takes 6 participants: there is nothing to expand."]}


def test_escalation_decide_no_escalation_above_an_exceeded_dose(study, coordinator, investigator):
    first, second, _third = three_without_dlt(coordinator)
    for participant in (first, second):
        adverse_event(participant, onset=dlt_onset(), by=coordinator)
    with pytest.raises(ConflictError) as refused:
        escalation_decide(study=study, action="escalate", level_code="B", rationale="We disagree", password=PASSWORD,
                          by=investigator)
    assert refused.value.errors == {"action": [
        'The 3+3 rule does not allow "escalate B": level A exceeded the dose (2 DLTs): B may not be used. '
        'The proposal is "stop" under rule ">= 2 of 3 with a DLT: dose exceeded, stop". ' + TOWARDS_SAFETY]}


def test_escalation_decide_unknown_level_and_action_are_named(study, investigator):
    with pytest.raises(ServiceError) as refused:
        escalation_decide(study=study, action="escalate", level_code="Z", rationale="x", password=PASSWORD,
                          by=investigator)
    assert refused.value.errors == {"level": ["Unknown dose level Z; this study has A, B, C."]}
    with pytest.raises(ServiceError) as refused:
        escalation_decide(study=study, action="open", level_code="B", rationale="x", password=PASSWORD,
                          by=investigator)
    assert refused.value.errors == {"action": ["Use one of escalate, expand, stop, choose_expansion_dose."]}


def test_escalation_decide_study_without_escalation_is_refused(studies, investigator):
    with pytest.raises(ServiceError) as refused:
        escalation_decide(study=Study.objects.get(code="MSC-ITP-5"), action="stop", level_code="", rationale="x",
                          password=PASSWORD, by=investigator)
    assert refused.value.errors == {"study": ["MSC-ITP-5 does not use dose escalation."]}


# --------------------------------------------------------------------------- database invariants


def test_decision_against_the_proposal_without_rationale_violates_a_constraint(study, investigator):
    level = DoseLevel.objects.get(arm__study=study, code="B")
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationDecision.objects.create(study=study, action="escalate", level=level, proposal_action="wait",
                                          proposal_message=message("escalation_none_open", level="A"), rationale="",
                                          signed_by=investigator, signed_at=timezone.now())


def test_decision_other_than_stop_without_a_level_violates_a_constraint(study, investigator):
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationDecision.objects.create(study=study, action="expand", level=None, proposal_action="expand",
                                          proposal_message=message("escalation_none_open", level="A"),
                                          signed_by=investigator, signed_at=timezone.now())


@pytest.mark.parametrize("changes", [{"grade": 0}, {"grade": 6},
                                     Later(lambda: {"resolution_date": window_over() - timedelta(days=1)}),
                                     {"term": ""}, {"category": "cardiac"}, {"relationship": "maybe"}])
def test_adverse_event_impossible_values_violate_constraints(study, coordinator, changes):
    participant = enrol_p2(coordinator, infusions=0, day0=today())
    values = {"participant": participant, "term": "Fever", "category": "fever", "onset_date": window_over(),
              "grade": 3, "serious": False, "relationship": "possible", "reported_by": coordinator, **made(changes)}
    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(**values)


# --------------------------------------------------------------------------- concurrency (PostgreSQL)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_investigators_signing_escalate_at_once_only_one_decision_is_recorded(studies, make_user):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    study = Study.objects.get(code="HUCMSC-ITP-ESC")
    coordinator = make_user("coordinator")
    three_without_dlt(coordinator)
    signers = [make_user("investigator"), make_user("investigator")]
    barrier = threading.Barrier(2)
    outcomes = {}

    def sign(user):
        try:
            barrier.wait(timeout=10)
            decision = escalation_decide(study=Study.objects.get(pk=study.pk), action="escalate", level_code="B",
                                         rationale="", password=PASSWORD, by=user)
            outcomes[user.pk] = decision.action
        except ConflictError as error:
            outcomes[user.pk] = error.errors
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign, args=(user,)) for user in signers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # The second signer reads the state the first one left (B open, no one treated at B): the rule
    # now waits, so escalating to B again is refused by the rule.
    signed, refused = sorted(outcomes.values(), key=lambda outcome: isinstance(outcome, dict))
    assert signed == "escalate"
    assert list(refused) == ["action"] and refused["action"][0].startswith('The 3+3 rule does not allow "escalate B"')
    assert EscalationDecision.objects.count() == 1
    assert statuses(study) == {"A": ("closed", 3), "B": ("open", 3), "C": ("planned", 3)}
    assert Participant.objects.filter(study=study).count() == 3


def test_adverse_event_vocabularies_are_those_of_the_dlt_definition():
    assert (tuple(AdverseEventCategory.values), tuple(Relationship.values)) == (DLT_CATEGORIES, DLT_RELATEDNESS)
