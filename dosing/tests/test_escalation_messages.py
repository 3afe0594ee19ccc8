"""The reason of a 3+3 proposal kept as a message (`dosing.escalation_messages`): stored with a
signed decision, worded in the reader's language on the escalation page and in the API; the texts
decisions stored before are read back by the data migration (`dosing.escalation_legacy`), forward
and back."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation

from dosing.escalation import LevelState, propose
from dosing.escalation_legacy import proposal_message_of
from dosing.models import EscalationDecision
from dosing.services import escalation_decide
from dosing.tests.escalation_setup import PASSWORD, enrol_p2
from trials.messages import english, message, render, text
from trials.models import Study
from trials.tests.support import assert_worded, client_for

ESCALATE_B = "0 of 3 evaluable participants at level A had a DLT: escalate to B (3+3)."
ESCALATE_B_ZH = "剂量水平 A 的 3 例可评估受试者中 0 例发生 DLT：升级至 B（3+3）。"


def level(code, status, enrolled=0, evaluable=0, dlts=0, in_dlt_window=0, drafts=()):
    return LevelState(code=code, order="ABC".index(code) + 1, status=status, enrolled=enrolled,
                      evaluable=evaluable, dlts=dlts, in_dlt_window=in_dlt_window, drafts_to_confirm=drafts)


DRAFT = message("escalation_draft", participant="ESC-001", onset="2026-03-05")
CASES = [  # every kind of reason the rule gives
    [level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")],
    [level("A", "open", 3, 3, 1), level("B", "planned"), level("C", "planned")],
    [level("A", "closed", 6, 6, 1), level("B", "open", 3, 3, 2), level("C", "planned")],
    [level("A", "closed", 3, 3, 0), level("B", "open", 3, 2, 2, 1), level("C", "planned")],
    [level("A", "open", 3, 3, 2), level("B", "planned"), level("C", "planned")],
    [level("A", "closed", 3, 3, 0), level("B", "closed", 3, 3, 0), level("C", "open", 3, 3, 0)],
    [level("A", "planned"), level("B", "planned"), level("C", "planned")],
    [level("A", "open", 1, 0, 0, 1), level("B", "planned"), level("C", "planned")],
    [level("A", "open", 3, 2, 0, 1, drafts=(DRAFT,)), level("B", "planned"), level("C", "planned")],
    [level("A", "open", 3, 2, 0), level("B", "planned"), level("C", "planned")],
    [level("A", "closed", 4, 4, 1), level("B", "open", 3, 3, 2), level("C", "planned")],
    [level("A", "closed", 6, 5, 1, 1), level("B", "closed", 3, 3, 2), level("C", "planned")],
]


def test_a_proposal_keeps_its_reason_as_a_message_worded_for_the_reader():
    proposal = propose(CASES[0])
    assert proposal.message == message("escalation_escalate", level="B", count=message(
        "escalation_dlt_count", dlts=0, evaluable=3, level="A"))
    assert_worded(proposal.message, ESCALATE_B, ESCALATE_B_ZH)
    with translation.override("zh-hans"):
        assert proposal.reason == ESCALATE_B_ZH


def test_a_draft_to_confirm_comes_first_in_either_language():
    proposal = propose(CASES[8])
    assert_worded(
        proposal.message,
        "The adverse event draft of ESC-001 on 2026-03-05 must be confirmed or dismissed before the rule can decide. "
        "Level A: 2 of 3 participants DLT-evaluable, 1 still inside the DLT window or not yet evaluable; wait for "
        "their DLT assessment (0 with a DLT so far).",
        "ESC-001 于 2026-03-05 发生的不良事件草稿须先确认或驳回，规则方可作出判定。 "
        "剂量水平 A：3 例中 2 例可评估 DLT，1 例仍在 "
        "DLT 时间窗内或尚不可评估；请等待其 DLT 评估（目前 0 例发生 DLT）。")


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_reason_worded_in_either_language_is_read_back(case, language):
    proposal = propose(CASES[case])
    with translation.override(language):
        stored = render(proposal.message)
    assert proposal_message_of(stored) == proposal.message


@pytest.mark.parametrize("stored", ["Level A has 0 of 3 places enrolled.", "升级到 B", "1 of 3"])
def test_a_reason_that_cannot_be_read_is_kept_word_for_word(stored):
    assert proposal_message_of(stored) == text(stored)
    assert proposal_message_of("") == {}


# --- stored with the decision, shown in the reader's language ---------------------------------------

@pytest.fixture
def decided(studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    study = Study.objects.get(code="HUCMSC-ITP-ESC")
    with translation.override("zh-hans"):  # signed by an investigator reading Chinese
        decision = escalation_decide(study=study, action="escalate", level_code="B", rationale="",
                                     password=PASSWORD, by=investigator)
    decision.refresh_from_db()
    return study, decision


def test_a_decision_keeps_the_reason_as_a_message_whatever_the_signers_language(decided):
    _study, decision = decided
    assert english(decision.proposal_message) == ESCALATE_B
    with translation.override("zh-hans"):
        assert decision.proposal_reason == ESCALATE_B_ZH


@pytest.mark.parametrize(("language", "reason"), [("en", ESCALATE_B), ("zh-hans", ESCALATE_B_ZH)])
def test_the_api_words_the_decisions_reason_for_the_caller(decided, investigator, language, reason):
    study, _decision = decided
    body = client_for(investigator).get(f"/api/v1/studies/{study.code}/escalation/",
                                        HTTP_ACCEPT_LANGUAGE=language).json()
    assert body["decisions"][0]["proposal"]["reason"] == reason


@pytest.mark.parametrize(("language", "reason"), [("en", ESCALATE_B), ("zh-hans", ESCALATE_B_ZH)])
def test_the_page_words_the_decisions_reason_for_the_reader(client, decided, investigator, language, reason):
    study, _decision = decided
    client.force_login(investigator)
    html = client.get(reverse("study-escalation", args=[study.code]), HTTP_ACCEPT_LANGUAGE=language)
    assert reason in html.content.decode()


# --- the data migration, forward and back, on decisions and their history ---------------------------

BEFORE = [("dosing", "0010_escalation_decision_message_field")]
CONVERTED = [("dosing", "0011_escalation_decision_messages")]


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_reads_stored_reasons_and_its_reverse_writes_them_back(decided,
                                                                                   back_to_the_latest_schema):
    _study, decision = decided
    recorded = [ESCALATE_B_ZH, ESCALATE_B, "moved by hand"]
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    old, old_history = (apps.get_model("dosing", "EscalationDecision"),
                        apps.get_model("dosing", "HistoricalEscalationDecision"))
    row = old.objects.get(pk=decision.pk)
    rows = [row.pk]
    for reason in recorded[1:]:
        row.pk = None
        row.save()
        rows.append(row.pk)
    for pk, reason in zip(rows, recorded, strict=True):
        old.objects.filter(pk=pk).update(proposal_reason=reason, proposal_message={})
    old_history.objects.filter(id=decision.pk).update(proposal_reason=ESCALATE_B_ZH, proposal_message={})

    executor = MigrationExecutor(connection)
    executor.migrate(CONVERTED)
    apps = executor.loader.project_state(CONVERTED).apps
    forward = {row.pk: row.proposal_message for row in apps.get_model("dosing", "EscalationDecision").objects.all()}
    assert forward[rows[0]] == forward[rows[1]] == propose(CASES[0]).message
    assert forward[rows[2]] == text("moved by hand")
    history = apps.get_model("dosing", "HistoricalEscalationDecision").objects.filter(id=decision.pk)
    assert history.exists() and all(h.proposal_message == propose(CASES[0]).message for h in history)

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    backward = dict(apps.get_model("dosing", "EscalationDecision").objects.values_list("pk", "proposal_reason"))
    assert [backward[pk] for pk in rows] == [ESCALATE_B, ESCALATE_B, "moved by hand"]
    assert EscalationDecision.objects.count() >= 0
