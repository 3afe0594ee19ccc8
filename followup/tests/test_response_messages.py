"""The response explanations kept as messages (`followup.response_messages`): every code worded in
English (as the rules have always said it) and in Chinese, the rules' reasons worded in Chinese,
and the participant page and the response API in the reader's language."""
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from dosing.tests.support import day0, give
from followup.response import Count, Therapy, itp_response
from followup.response_messages import TEMPLATES, WORDS
from followup.tests.support import assess_platelets
from trials.messages import english, listed, render, word
from trials.tests.support import client_for
from trials.messages import message as M

D = "2026-03-15"

CASES = [
    (M('several_counts', n=2, date='2026-03-15'),
     '2 counts on 2026-03-15, lowest used',
     '2026-03-15 有 2 个计数，取最低值'),
    (M('several_values', n=2, date='2026-03-15'),
     '2 values on 2026-03-15, lowest used',
     '2026-03-15 有 2 个数值，取最低值'),
    (M('baseline', analyte='PLT', value='25', date='2026-03-15'),
     'baseline PLT 25 on 2026-03-15',
     '基线 PLT 25（2026-03-15）'),
    (M('baseline_several', analyte='PLT', value='25', date='2026-03-15', several=M("several_counts", n=2, date=D)),
     'baseline PLT 25 on 2026-03-15 (2 counts on 2026-03-15, lowest used)',
     '基线 PLT 25（2026-03-15；2026-03-15 有 2 个计数，取最低值）'),
    (M('baseline_missing', days=14, first='2026-03-01'),
     'baseline missing: no count in the 14 days on or before the first infusion (2026-03-01)',
     '基线缺失：首次输注（2026-03-01）当天及之前 14 天内无计数'),
    (M('therapy_ongoing', therapy=word("ivig"), start='2026-03-15'),
     'ivig from 2026-03-15 (ongoing)',
     '静脉注射免疫球蛋白（IVIG） 自 2026-03-15 起（持续中）'),
    (M('therapy_on', therapy=word("ivig"), start='2026-03-15'),
     'ivig on 2026-03-15',
     '静脉注射免疫球蛋白（IVIG） 于 2026-03-15'),
    (M('therapy_period', therapy=word("ivig"), start='2026-03-15', end='2026-03-29'),
     'ivig 2026-03-15 to 2026-03-29',
     '静脉注射免疫球蛋白（IVIG） 2026-03-15 至 2026-03-29'),
    (M('outside_window', start='2026-03-15', end='2026-03-29'),
     'outside the evaluation window (2026-03-15 to 2026-03-29)',
     '不在评估窗口内（2026-03-15 至 2026-03-29）'),
    (M('explanation', criteria_set='IWG2009-ITP', best='CR',
       parts=listed("list_semicolon", [M("no_loss_rule"), M("no_evaluable")])),
     'IWG2009-ITP: best confirmed response CR; this criteria set defines no loss-of-response rule; no '
     'evaluable assessment.',
     'IWG2009-ITP：最佳确认疗效 CR；本疗效标准集未规定缓解丧失规则；无可评估的评估。'),
    (M('preamble', baseline=M("baseline", analyte="PLT", value="15", date="2026-03-01"), first='2026-03-01'),
     'baseline PLT 15 on 2026-03-01, first infusion 2026-03-01',
     '基线 PLT 15（2026-03-01），首次输注 2026-03-01'),
    (M('preamble_no_steroid', baseline=M("baseline", analyte="PLT", value="15", date="2026-03-01"), first='2026-03-01'),
     'baseline PLT 15 on 2026-03-01, first infusion 2026-03-01, no corticosteroid dose recorded at baseline',
     '基线 PLT 15（2026-03-01），首次输注 2026-03-01，基线时未记录糖皮质激素剂量'),
    (M('preamble_steroid', baseline=M("baseline", analyte="PLT", value="15", date="2026-03-01"),
       first='2026-03-01', dose='10'),
     'baseline PLT 15 on 2026-03-01, first infusion 2026-03-01, stable corticosteroid dose at baseline 10 '
     'mg/day prednisone equivalent',
     '基线 PLT 15（2026-03-01），首次输注 2026-03-01，基线稳定糖皮质激素剂量为泼尼松等效剂量 10 mg/天'),
    (M('evaluable_of', evaluable=3, total=4),
     '3 of 4 assessments evaluable',
     '4 次评估中 3 次可评估'),
    (M('response_confirmed', category='R', date='2026-03-15', by='2026-03-29', days=14),
     'response (R) on 2026-03-15 confirmed by 2026-03-29 (>= 14 days apart)',
     '2026-03-15 缓解（R），经 2026-03-29 确认（间隔 >= 14 天）'),
    (M('cr_confirmed', date='2026-03-15', by='2026-03-29', days=14),
     'CR on 2026-03-15 confirmed by 2026-03-29 (>= 14 days apart)',
     '2026-03-15 完全缓解（CR），经 2026-03-29 确认（间隔 >= 14 天）'),
    (M('loss_confirmed', date='2026-03-15', category='R', by='2026-03-29', days=14),
     'loss of response on 2026-03-15 (R) confirmed by 2026-03-29 (>= 14 day(s) apart)',
     '2026-03-15 缓解丧失（R），经 2026-03-29 确认（间隔 >= 14 天）'),
    (M('loss_cr_confirmed', date='2026-03-15', by='2026-03-29'),
     'loss of CR on 2026-03-15 confirmed by 2026-03-29',
     '2026-03-15 完全缓解（CR）丧失，经 2026-03-29 确认'),
    (M('no_loss_rule'),
     'this criteria set defines no loss-of-response rule',
     '本疗效标准集未规定缓解丧失规则'),
    (M('nr_not_confirmed', days=14),
     'NR not confirmed (NR needs two assessments >= 14 day(s) apart)',
     '无效（NR）未确认（NR 需要两次间隔 >= 14 天的评估）'),
    (M('no_response_confirmed', days=14),
     'no response confirmed by two assessments >= 14 days apart',
     '无两次间隔 >= 14 天的评估确认的缓解'),
    (M('no_evaluable'),
     'no evaluable assessment',
     '无可评估的评估'),
    (M('duration', days=14),
     'duration of response 14 days',
     '缓解持续时间 14 天'),
    (M('duration_censored', days=14, date='2026-03-15'),
     'duration of response 14 days (censored at the last evaluable assessment, 2026-03-15)',
     '缓解持续时间 14 天（在最后一次可评估的评估 2026-03-15 处删失）'),
    (M('time_in_response', days=14, observed=60),
     '14 of 60 observed days in response (each evaluable category held until the next)',
     '观察的 60 天中 14 天处于缓解（每个可评估的疗效分类保持至下一次评估）'),
    (M('category_because', category='R',
       reasons=listed("list_semicolon", [M("bleeding_not_recorded"), M("baseline_missing_short")])),
     'R: bleeding grade not recorded; baseline missing',
     'R：未记录出血分级；基线缺失'),
    (M('not_evaluable_because',
       reasons=listed("list_semicolon", [M("bleeding_not_recorded"), M("baseline_missing_short")])),
     'not evaluable: bleeding grade not recorded; baseline missing',
     '不可评估：未记录出血分级；基线缺失'),
    (M('not_evaluable_cr_r', level=M("platelets", value="120")),
     'not evaluable for CR/R: platelets 120, bleeding grade not recorded',
     '无法评估 CR/R：血小板 120，未记录出血分级'),
    (M('compared', value=M("hb", value="95"), op='>=', limit='100'),
     'Hb 95 >= 100',
     'Hb 95 >= 100'),
    (M('compared_both', value=M("platelets", value="60"), first='50',
       second=M("times_baseline", fold="2", baseline="15", product="30")),
     'platelets 60 >= 50 and >= 2 x baseline 15 (30)',
     '血小板 60 >= 50 且 >= 2 × 基线 15（30）'),
    (M('op_limit', op='>=', limit=M("times_baseline", fold="2", baseline="0.4", product="0.8")),
     '>= 2 x baseline 0.4 (0.8)',
     '>= 2 × 基线 0.4（0.8）'),
    (M('times_baseline', fold='2', baseline='15', product='30'),
     '2 x baseline 15 (30)',
     '2 × 基线 15（30）'),
    (M('platelets', value='25'),
     'platelets 25',
     '血小板 25'),
    (M('platelets_on', value='25', date='2026-03-15'),
     'platelets 25 on 2026-03-15',
     '2026-03-15 血小板 25'),
    (M('platelets_because', value='25', why=M("bleeding_not_recorded")),
     'platelets 25: bleeding grade not recorded',
     '血小板 25：未记录出血分级'),
    (M('hb', value='25'),
     'Hb 25',
     'Hb 25'),
    (M('hb_because', value='25', why=M("bleeding_not_recorded")),
     'Hb 25: bleeding grade not recorded',
     'Hb 25：未记录出血分级'),
    (M('anc', value='25'),
     'ANC 25',
     'ANC 25'),
    (M('anc_because', value='25', why=M("bleeding_not_recorded")),
     'ANC 25: bleeding grade not recorded',
     'ANC 25：未记录出血分级'),
    (M('after_rescue', platelets=M("platelets", value="20"), days=14, therapy=word("ivig")),
     'platelets 20 within 14 days after rescue therapy (ivig)',
     '血小板 20，处于挽救治疗后 14 天内（静脉注射免疫球蛋白（IVIG））'),
    (M('after_rbc', days=14, therapy=word("ivig")),
     'within 14 days after a red-cell transfusion (ivig)',
     '处于红细胞输注后 14 天内（静脉注射免疫球蛋白（IVIG））'),
    (M('after_gcsf', days=14, therapy=word("ivig")),
     'within 14 days after G-CSF (ivig)',
     '处于 G-CSF 使用后 14 天内（静脉注射免疫球蛋白（IVIG））'),
    (M('steroid_dependence', platelets=M("platelets", value="20"), dose='10', limit='100', above=M("no_baseline_dose")),
     'NR: corticosteroid dependence (platelets 20 on prednisone-equivalent 10 mg/day > 100, no dose recorded '
     'at baseline)',
     'NR：糖皮质激素依赖（血小板 20，泼尼松等效剂量 10 mg/天 > 100，基线时未记录剂量）'),
    (M('no_baseline_dose'),
     'no dose recorded at baseline',
     '基线时未记录剂量'),
    (M('above_stable_dose', dose='10'),
     '> stable dose at baseline 10 mg/day',
     '> 基线稳定剂量 10 mg/天'),
    (M('stable_steroid', dose='10', limit='100', stable='15'),
     'on a stable maintenance corticosteroid dose, prednisone-equivalent 10 mg/day (> 100, not above the '
     'baseline dose 15 mg/day): not dependence',
     '使用稳定的糖皮质激素维持剂量，泼尼松等效剂量 10 mg/天（> 100，未高于基线剂量 15 mg/天）：不属于依赖'),
    (M('bleeding_not_recorded'),
     'bleeding grade not recorded',
     '未记录出血分级'),
    (M('bleeding_grade', grade=2, op='>=', limit=2),
     'WHO bleeding grade 2 >= 2',
     'WHO 出血分级 2 >= 2'),
    (M('bleeding', grade=M("bleeding_grade", grade=2, op=">=", limit=2)),
     'bleeding (WHO bleeding grade 2 >= 2)',
     '出血（WHO 出血分级 2 >= 2）'),
    (M('reticulocytes', value='25'),
     'reticulocytes 25',
     '网织红细胞 25'),
    (M('reticulocytes_absolute', value='25'),
     'reticulocytes 25 (absolute count)',
     '网织红细胞 25（绝对计数）'),
    (M('reticulocytes_percentage', value='25'),
     'reticulocytes 25 (percentage, no absolute count)',
     '网织红细胞 25（百分比，无绝对计数）'),
    (M('with_range', value=M("reticulocytes_absolute", value="80"), low='0.5', high='2.5'),
     'reticulocytes 80 (absolute count), range 0.5-2.5',
     '网织红细胞 80（绝对计数），范围 0.5-2.5'),
    (M('lln_value', value='25'),
     'LLN 25',
     'LLN 25'),
    (M('rise', rise='25', baseline='15'),
     'rise 25 from baseline 15',
     '较基线 15 升高 25'),
    (M('rise_not_assessable'),
     'rise not assessable (baseline missing)',
     '升高值无法评估（基线缺失）'),
    (M('above_uln', names=listed("list_comma", [word("LDH"), word("total bilirubin")])),
     'above ULN: LDH, total bilirubin',
     '高于 ULN：乳酸脱氢酶、总胆红素'),
    (M('missing_for_cr', names=listed("list_comma", [word("LDH"), word("total bilirubin")])),
     'missing for CR: LDH, total bilirubin',
     '判定 CR 缺少：乳酸脱氢酶、总胆红素'),
    (M('missing_values', names=listed("list_comma", [word("LDH"), word("total bilirubin")])),
     'missing: LDH, total bilirubin',
     '缺少：乳酸脱氢酶、总胆红素'),
    (M('retic_pct_compared', value='25', op='>=', limit='100'),
     'reticulocytes 25 % >= 100 %',
     '网织红细胞 25 % >= 100 %'),
    (M('tbil_compared', value='25', op='>=', limit='100'),
     'total bilirubin 25 >= 100 umol/L',
     '总胆红素 25 >= 100 umol/L'),
    (M('antiglobulin_negative'),
     'antiglobulin tests negative',
     '抗人球蛋白试验阴性'),
    (M('antiglobulin_positive'),
     'antiglobulin tests positive',
     '抗人球蛋白试验阳性'),
    (M('transfusion_free', days=14, since=M("since_first_infusion", date="2026-03-01"), op='>=', needed=56),
     '14 days transfusion-free since first infusion 2026-03-01 (>= 56)',
     '自首次输注 2026-03-01 起 14 天未输血（>= 56）'),
    (M('since_transfusion', date='2026-03-15'),
     'last red-cell transfusion 2026-03-15',
     '末次红细胞输注 2026-03-15'),
    (M('since_first_infusion', date='2026-03-15'),
     'first infusion 2026-03-15',
     '首次输注 2026-03-15'),
    (M('hb_vs_sex_lln', value='25', op='>=', lln='120', sex=word("female")),
     'Hb 25 >= 120 (female LLN)',
     'Hb 25 >= 120（女 LLN）'),
    (M('baseline_missing_short'),
     'baseline missing',
     '基线缺失'),
    (M('lineage_category', lineage='PLT', category='R'),
     'PLT R',
     'PLT R'),
    (M('lineage_on', lineage='PLT', date='2026-03-15'),
     'PLT on 2026-03-15',
     'PLT 于 2026-03-15'),
    (M('lineages_preamble', lineages=listed("list_comma", [M("lineage_category", lineage="HGB", category="PR")]),
       days=14),
     'per lineage: HGB PR; lineages paired within 14 days',
     '各系：HGB PR；各系在 14 天内配对'),
    (M('paired_dates', parts=listed("list_semicolon", [M("no_loss_rule"), M("no_evaluable")]), days=14,
       dates=listed("list_comma", [M("lineage_on", lineage="HGB", date=D)])),
     'this criteria set defines no loss-of-response rule; no evaluable assessment (paired within 14 days: HGB '
     'on 2026-03-15)',
     '本疗效标准集未规定缓解丧失规则；无可评估的评估（在 14 天内配对：HGB 于 2026-03-15）'),
    (M('paired_missing', parts=listed("list_semicolon", [M("no_loss_rule"), M("no_evaluable")]), days=14,
       missing=listed("list_comma", ["ANC"])),
     'this criteria set defines no loss-of-response rule; no evaluable assessment; not assessed within 14 days: ANC',
     '本疗效标准集未规定缓解丧失规则；无可评估的评估；14 天内未评估：ANC'),
    (M('lineage_involved', lineage='PLT', disease='EVANS'),
     'PLT involved (EVANS)',
     'PLT 受累（EVANS）'),
    (M('lineage_no_baseline', lineage='PLT'),
     'PLT not assessed: no baseline value',
     'PLT 未评估：无基线值'),
    (M('lineage_below', lineage='PLT', value='25', limit='100'),
     'PLT involved: baseline 25 < 100',
     'PLT 受累：基线 25 < 100'),
    (M('lineage_not_below', lineage='PLT', value='25', limit='100'),
     'PLT not involved: baseline 25 >= 100',
     'PLT 未受累：基线 25 >= 100'),
    (M('lineages_then', lineages=listed("list_semicolon", [M("lineage_involved", lineage="PLT", disease="EVANS")]),
       overall=M("no_evaluable")),
     'PLT involved (EVANS). no evaluable assessment',
     'PLT 受累（EVANS）。无可评估的评估'),
    (M('no_count_near', days=14, date='2026-03-15'),
     'no evaluable count within 14 days of 2026-03-15',
     '2026-03-15 前后 14 天内无可评估的计数'),
    (M('category_on', category='R', date='2026-03-15'),
     'R on 2026-03-15',
     '2026-03-15 R'),
    (M('category_on_because', category='R', date='2026-03-15', reason=M("no_evaluable")),
     'R on 2026-03-15 (no evaluable assessment)',
     '2026-03-15 R（无可评估的评估）'),
    (M('confirmed_from', date='2026-03-15'),
     'confirmed response from 2026-03-15',
     '自 2026-03-15 起确认缓解'),
    (M('confirmed_not_yet'),
     'confirmed response not by then',
     '届时尚未确认缓解'),
    (M('lost_on', date='2026-03-15'),
     'lost on 2026-03-15',
     '于 2026-03-15 丧失'),
    (word('ivig'), 'ivig', '静脉注射免疫球蛋白（IVIG）'),
    (word('steroid_start'), 'steroid_start', '开始使用糖皮质激素'),
    (word('steroid_increase'), 'steroid_increase', '糖皮质激素加量'),
    (word('tpo_agent'), 'tpo_agent', 'TPO 类药物'),
    (word('platelet_transfusion'), 'platelet_transfusion', '血小板输注'),
    (word('platelet transfusion'), 'platelet transfusion', '血小板输注'),
    (word('rbc transfusion'), 'rbc transfusion', '红细胞输注'),
    (word('gcsf'), 'gcsf', 'G-CSF'),
    (word('Hb'), 'Hb', 'Hb'),
    (word('LDH'), 'LDH', '乳酸脱氢酶'),
    (word('total bilirubin'), 'total bilirubin', '总胆红素'),
    (word('reticulocytes'), 'reticulocytes', '网织红细胞'),
    (word('Hb LLN'), 'Hb LLN', 'Hb LLN'),
    (word('antiglobulin test'), 'antiglobulin test', '抗人球蛋白试验'),
    (word('reticulocytes %'), 'reticulocytes %', '网织红细胞 %'),
    (word('reticulocytes with LLN'), 'reticulocytes with LLN', '网织红细胞（含 LLN）'),
    (word('baseline Hb'), 'baseline Hb', '基线 Hb'),
    (word('male'), 'male', '男'),
    (word('female'), 'female', '女'),
]


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


@pytest.mark.parametrize(("msg", "in_english", "in_chinese"), CASES,
                         ids=lambda v: v.get("code") if isinstance(v, dict) else None)
def test_every_code_in_english_and_chinese(msg, in_english, in_chinese):
    assert english(msg) == in_english
    with translation.override("zh-hans"):
        assert render(msg) == in_chinese
    with translation.override("en"):
        assert render(msg) == in_english


def test_the_table_covers_every_code_and_word():
    codes = {msg["code"] for msg, _en, _zh in CASES}
    said = {msg["params"]["word"] for msg, _en, _zh in CASES if msg["code"] == "word"}
    assert set(TEMPLATES) <= codes and set(WORDS) <= said


THRESHOLDS = {"cr_platelets": 100, "r_platelets": 30, "r_fold_baseline": 2, "bleeding_grade_counts_from": 2,
              "rescue_exclusion_days": 14, "confirm_response_days": 7, "confirm_failure_days": 1}


def test_the_rules_reasons_and_explanation_in_both_languages():
    first = date(2026, 3, 1)
    counts = [Count(date(2026, 2, 27), 15, 0), Count(date(2026, 3, 8), 40, 0), Count(date(2026, 3, 8), 45, 0),
              Count(date(2026, 3, 15), 120, None), Count(date(2026, 3, 22), 150, 0), Count(date(2026, 3, 29), 160, 0),
              Count(date(2026, 4, 2), 20, 0)]
    result = itp_response(counts, first_infusion=first, thresholds=THRESHOLDS,
                          rescue=[Therapy("ivig", date(2026, 4, 1), date(2026, 4, 2))])
    assert [a.reason for a in result.assessments] == [
        "R: platelets 40 >= 30 and >= 2 x baseline 15 (30), WHO bleeding grade 0 < 2; 2 counts on 2026-03-08, "
        "lowest used",
        "not evaluable for CR/R: platelets 120 >= 100, bleeding grade not recorded",
        "CR: platelets 150 >= 100, WHO bleeding grade 0 < 2",
        "CR: platelets 160 >= 100, WHO bleeding grade 0 < 2",
        "platelets 20 within 14 days after rescue therapy (ivig 2026-04-01 to 2026-04-02)",
    ]
    assert result.explanation.startswith("IWG2009-ITP: best confirmed response CR; baseline PLT 15 on 2026-02-27, "
                                         "first infusion 2026-03-01; 3 of 5 assessments evaluable; ")
    with translation.override("zh-hans"):
        assert [a.reason_shown for a in result.assessments] == [
            "R：血小板 40 >= 30 且 >= 2 × 基线 15（30）、WHO 出血分级 0 < 2；2026-03-08 有 2 个计数，取最低值",
            "无法评估 CR/R：血小板 120 >= 100，未记录出血分级",
            "CR：血小板 150 >= 100、WHO 出血分级 0 < 2",
            "CR：血小板 160 >= 100、WHO 出血分级 0 < 2",
            "血小板 20，处于挽救治疗后 14 天内（静脉注射免疫球蛋白（IVIG） 2026-04-01 至 2026-04-02）",
        ]
        shown = result.explanation_shown
        body = result.as_api(render)
    assert shown.startswith("IWG2009-ITP：最佳确认疗效 CR；基线 PLT 15（2026-02-27），首次输注 2026-03-01；"
                            "5 次评估中 3 次可评估；")
    assert "2026-03-22 完全缓解（CR），经 2026-03-29 确认（间隔 >= 7 天）" in shown and shown.endswith("。")
    assert body["explanation"] == shown
    assert body["assessments"][2]["reason"] == "CR：血小板 150 >= 100、WHO 出血分级 0 < 2"
    assert result.as_api()["explanation"] == result.explanation  # English by default


@pytest.fixture
def treated(api, participant):
    assess_platelets(api, participant, 0, 15, visit="BL")
    for number, day in ((1, 0), (2, 7), (3, 21), (4, 35), (5, 49)):
        give(api, participant, number, day)
    for day, count in ((50, 40), (57, 45), (63, 110), (70, 120)):
        assess_platelets(api, participant, day, count)
    return participant


def on(days):
    return (day0() + timedelta(days=days)).isoformat()


def test_the_response_api_words_the_reasons_in_the_callers_language(api, treated):
    url = f"/api/v1/participants/{treated.pk}/response/"
    chinese = api.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    english_body = api.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english_body["assessments"][2]["reason"] == "CR: platelets 110 >= 100, WHO bleeding grade 0 < 2"
    assert chinese["assessments"][2]["reason"] == "CR：血小板 110 >= 100、WHO 出血分级 0 < 2"
    assert chinese["explanation"].startswith(
        f"IWG2009-ITP：最佳确认疗效 CR；基线 PLT 15（{on(0)}），首次输注 {on(0)}")
    assert f"{on(63)} 完全缓解（CR），经 {on(70)} 确认" in chinese["explanation"]
    assert english_body["explanation"].startswith(
        f"IWG2009-ITP: best confirmed response CR; baseline PLT 15 on {on(0)}, first infusion {on(0)}")
    assert [a["category"] for a in chinese["assessments"]] == ["R", "R", "CR", "CR"]  # the categories stay codes


def test_the_participant_page_shows_how_it_was_computed_in_chinese(client, coordinator, treated):
    client.force_login(coordinator)
    html = client.get(reverse("participant-detail", args=[treated.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
                      ).content.decode()
    assert f"IWG2009-ITP：最佳确认疗效 CR；基线 PLT 15（{on(0)}）" in html
    assert "CR：血小板 110 &gt;= 100、WHO 出血分级 0 &lt; 2" in html
    assert "best confirmed response CR;" not in html and "platelets 110" not in html


def test_another_site_cannot_read_the_worded_response(treated, make_user, other_site_study):

    other = client_for(make_user("investigator", site="XH"))
    assert other.get(f"/api/v1/participants/{treated.pk}/response/", HTTP_ACCEPT_LANGUAGE="zh-hans"
                     ).status_code == 404
