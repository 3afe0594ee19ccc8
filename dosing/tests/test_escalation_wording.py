"""The 3+3 proposal and the statement an investigator signs are worded in the reader's language,
with the same numbers and level codes (`dosing.escalation`, `dosing.escalation_decisions`)."""
import re

from django.utils import translation

from dosing.escalation import LevelState, is_dlt, propose
from dosing.escalation_decisions import decision_refusal, rule_text, signature_meaning


def level(code, status, enrolled=0, evaluable=0, dlts=0, in_dlt_window=0):
    return LevelState(code=code, order="ABC".index(code) + 1, status=status, enrolled=enrolled,
                      evaluable=evaluable, dlts=dlts, in_dlt_window=in_dlt_window)


def english_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[A-Za-z]{2,}", text) if word != "DLT"]


def test_a_wait_reads_in_chinese_with_its_numbers():
    levels = [level("A", "open", enrolled=1, in_dlt_window=1), level("B", "planned"), level("C", "planned")]
    with translation.override("zh-hans"):
        proposal = propose(levels)
        meaning = signature_meaning("stop", None, rule_text(proposal))
        assert proposal.reason == (
            "剂量水平 A 的 3 个名额已入组 1 例；请再入组 2 例（1 例仍在 DLT 时间窗内或尚不可评估）。")
    with translation.override("en"):  # the reason is a message: worded again as the reader reads it
        assert proposal.reason == ("Level A has 1 of 3 places enrolled; enrol 2 more (1 still inside the DLT window "
                                   "or not yet evaluable).")
    assert meaning.startswith("我批准按规则“等待：剂量水平 A 的 3 个名额已入组 1 例")
    assert meaning.endswith("作出决定：停止。")


def test_every_proposal_of_the_table_reads_in_chinese():
    cases = [
        [level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")],  # escalate
        [level("A", "open", 3, 3, 1), level("B", "planned"), level("C", "planned")],  # expand
        [level("A", "closed", 6, 6, 1), level("B", "open", 3, 3, 2), level("C", "planned")],  # dose exceeded
        [level("A", "open", 3, 3, 2), level("B", "planned"), level("C", "planned")],  # lowest too toxic
        [level("A", "closed", 3, 3, 0), level("B", "closed", 3, 3, 0), level("C", "open", 3, 3, 0)],  # top
        [level("A", "planned"), level("B", "planned"), level("C", "planned")],  # nothing open
    ]
    with translation.override("zh-hans"):
        wordings = [(proposal.reason, rule_text(proposal)) for proposal in map(propose, cases)]
    assert [english_words(reason) + english_words(rule) for reason, rule in wordings] == [[]] * len(cases)


def test_the_english_wording_is_unchanged():
    levels = [level("A", "open", enrolled=1), level("B", "planned"), level("C", "planned")]
    with translation.override("en"):
        proposal = propose(levels)
        assert proposal.reason == "Level A has 1 of 3 places enrolled; enrol 2 more."
        assert signature_meaning("stop", None, rule_text(proposal)) == (
            'I approve stop under rule "wait: Level A has 1 of 3 places enrolled; enrol 2 more." '
            "(the 3+3 rule of the study).")


def test_a_dlt_judgement_reads_in_chinese():
    with translation.override("zh-hans"):
        dlt, explanation = is_dlt(grade=3, category="fever", related="possible", resolved_to_grade1_within_48h=False,
                                  stopped_infusions=False, platelet_drop_confirmed=False)
    assert (dlt, explanation) == (True, "DLT：3 级发热，可能相关：≥ 3 级（第 4 节）。")


def test_a_refused_decision_reads_in_chinese_with_its_levels_and_rule():
    levels = [level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")]
    with translation.override("zh-hans"):
        refusal = decision_refusal(levels, propose(levels), "escalate", "C")
    assert refusal == (
        "3+3 规则不允许“升级 C”：只能开放规则建议递增到的剂量水平，而规则目前并未建议递增至 C。"
        "按规则“3 例中 0 例发生 DLT：剂量升级”，建议为“升级 B”。"
        "决定只能朝更安全的方向偏离建议（等待、扩展当前剂量水平、停止、降低剂量）；高于规则允许的剂量水平绝不开放。")


def test_every_refusal_reads_in_chinese():
    cases = [
        ([level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")], "escalate", "C"),
        ([level("A", "open", 3, 3, 2), level("B", "planned"), level("C", "planned")], "expand", "B"),
        ([level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")], "expand", "B"),
        ([level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")], "choose_expansion_dose", "A"),
        ([level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")], "stop", "A"),
        ([level("A", "open", 3, 3, 0), level("B", "planned"), level("C", "planned")], "expand", None),
    ]
    with translation.override("zh-hans"):
        refusals = [decision_refusal(levels, propose(levels), action, code) for levels, action, code in cases]
    assert all(refusals)
    assert [english_words(text) for text in refusals] == [[]] * len(cases)


def test_an_inconsistent_level_is_refused_in_chinese():
    with translation.override("zh-hans"):
        try:
            level("B", "planned", enrolled=2)
        except ValueError as error:
            message = str(error)
    assert message == "剂量水平 B 为计划状态（从未开放），却已入组 2 例"
