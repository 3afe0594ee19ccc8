"""An infusion's dose arithmetic, a dose's problem and the date its window is planned from, kept as
messages (`dosing.messages`): worded in English and Chinese, read back from the English stored
before (`dosing.messages_legacy`, data migration 0008, forward and back), and shown in the reader's
language on the pages, in the API and on the audit trail; in English in the ODM export."""
import io
import re
from xml.etree import ElementTree
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation

from dosing.dose import check_dose
from dosing.messages import dose_explanation, missed, plus_days
from dosing.messages_legacy import anchor_message_of, dose_message_of
from dosing.models import Infusion
from dosing.tests.support import MSC, at, day0, give
from dosing.windows import InfusionEvent, InfusionRule, plan_infusions
from trials.messages import english, message, text
from trials.tests.support import assert_worded


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


COMPUTED = message("dose_computed", dose_per_kg=1e8, weight=60, computed=6e9)
GIVEN = message("dose_given", cells=6e9, weight=60, per_kg=1e8)
PLANNED_2 = message("anchor_planned", n=2, date="2026-03-09")

CASES = [
    (message("dose_flat", dose=1e9), "flat dose 1 x10^9 cells", "固定剂量 1 x10^9 个细胞"),
    (COMPUTED, "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells", "1 x10^8 个细胞/kg × 60 kg = 6 x10^9 个细胞"),
    (message("dose_given", cells=1.5e9, weight=62.5, per_kg=2.4e7),
     "given 1.5 x10^9 cells / 62.5 kg = 2.4 x10^7 cells/kg",
     "实际输注 1.5 x10^9 个细胞 / 62.5 kg = 2.4 x10^7 个细胞/kg"),
    (message("dose_given", cells=6e7, weight=60.125, per_kg=6e7 / 60.125),
     "given 6 x10^7 cells / 60.125 kg = 9.979 x10^5 cells/kg",
     "实际输注 6 x10^7 个细胞 / 60.125 kg = 9.979 x10^5 个细胞/kg"),
    (dose_explanation(COMPUTED, GIVEN),
     "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg",
     "1 x10^8 个细胞/kg × 60 kg = 6 x10^9 个细胞；实际输注 6 x10^9 个细胞 / 60 kg = 1 x10^8 个细胞/kg"),
    (message("dose_above_hard_limit", given=1.5e10, ratio=2.5, limit=2, limit_cells=1.2e10),
     "1.5 x10^10 cells is 2.5x the computed dose: it exceeds the hard limit of 2x the computed dose (1.2 x10^10 cells)",
     "1.5 x10^10 个细胞为计算剂量的 2.5 倍：超过硬性上限，即计算剂量的 2 倍（1.2 x10^10 个细胞）"),
    (message("dose_above_hard_limit", given=6e13, ratio=10000, limit=2, limit_cells=1.2e10),
     "6 x10^13 cells is 1 x10^4x the computed dose: it exceeds the hard limit of 2x the computed dose "
     "(1.2 x10^10 cells)",
     "6 x10^13 个细胞为计算剂量的 1 x10^4 倍：超过硬性上限，即计算剂量的 2 倍（1.2 x10^10 个细胞）"),
    (message("dose_below_hard_limit", given=2.4e9, ratio=0.4, limit=0.5, limit_cells=3e9),
     "2.4 x10^9 cells is 0.4x the computed dose: it is below the hard limit of 0.5x the computed dose (3 x10^9 cells)",
     "2.4 x10^9 个细胞为计算剂量的 0.4 倍：低于硬性下限，即计算剂量的 0.5 倍（3 x10^9 个细胞）"),
    (message("dose_above_computed", given=7.2e9, percent=20, computed=6e9, tolerance=10),
     "7.2 x10^9 cells is 20 % above the computed dose 6 x10^9 cells (more than 10 %)",
     "7.2 x10^9 个细胞比计算剂量 6 x10^9 个细胞高 20 %（超过 10 %）"),
    (message("dose_below_computed", given=4.8e9, percent=20, computed=6e9, tolerance=10),
     "4.8 x10^9 cells is 20 % below the computed dose 6 x10^9 cells (more than 10 %)",
     "4.8 x10^9 个细胞比计算剂量 6 x10^9 个细胞低 20 %（超过 10 %）"),
    (plus_days(message("anchor_day0", date="2026-03-02"), 0), "day 0 (2026-03-02) + 0 days",
     "第 0 天（2026-03-02） + 0 天"),
    (plus_days(message("anchor_day0", date="2026-03-02"), 1), "day 0 (2026-03-02) + 1 day",
     "第 0 天（2026-03-02） + 1 天"),
    (plus_days(message("anchor_day0_given", date="2026-03-02", n=1), 7),
     "day 0 (2026-03-02, infusion 1 given) + 7 days", "第 0 天（2026-03-02，第 1 次输注已完成） + 7 天"),
    (plus_days(message("anchor_given", n=2, date="2026-03-09"), 14), "infusion 2 given 2026-03-09 + 14 days",
     "第 2 次输注于 2026-03-09 完成 + 14 天"),
    (plus_days(message("anchor_given_after_missed", n=2, date="2026-03-09", missed=missed([3])), 14),
     "infusion 2 given 2026-03-09 (infusion 3 missed) + 14 days",
     "第 2 次输注于 2026-03-09 完成（第 3 次输注未进行） + 14 天"),
    (plus_days(message("anchor_given_after_missed", n=1, date="2026-03-02", missed=missed([2, 3])), 14),
     "infusion 1 given 2026-03-02 (infusions 2, 3 missed) + 14 days",
     "第 1 次输注于 2026-03-02 完成（第 2、3 次输注未进行） + 14 天"),
    (plus_days(PLANNED_2, 14), "planned day of infusion 2 (2026-03-09, not yet given) + 14 days",
     "第 2 次输注的计划日（2026-03-09，尚未输注） + 14 天"),
    (plus_days(message("anchor_planned_missed", n=3, date="2026-03-23"), 14),
     "planned day of infusion 3 (2026-03-23, missed) + 14 days", "第 3 次输注的计划日（2026-03-23，未进行） + 14 天"),
    (plus_days(message("anchor_planned_after_missed", n=2, date="2026-03-09", missed=missed([3])), 14),
     "planned day of infusion 2 (2026-03-09, not yet given; infusion 3 missed) + 14 days",
     "第 2 次输注的计划日（2026-03-09，尚未输注；第 3 次输注未进行） + 14 天"),
    (plus_days(message("anchor_none_given", day0=message("anchor_day0", date="2026-03-02"), missed=missed([1])), 7),
     "day 0 (2026-03-02) (none given; infusion 1 missed) + 7 days",
     "第 0 天（2026-03-02）（均未输注；第 1 次输注未进行） + 7 天"),
    (text("first infusion, moved by the pharmacy"), "first infusion, moved by the pharmacy",
     "first infusion, moved by the pharmacy"),
    ({}, "", ""),
]


@pytest.mark.parametrize(("msg", "in_english", "in_chinese"), CASES)
def test_each_message_is_worded_in_english_and_in_chinese(msg, in_english, in_chinese):
    assert_worded(msg, in_english, in_chinese)


def test_a_dose_check_keeps_its_arithmetic_and_its_problem_as_messages():
    check = check_dose(weight_kg=60, dose_per_kg=1e8, cells_infused=7.2e9)

    assert check.explanation_message == dose_explanation(COMPUTED, message("dose_given", cells=7.2e9, weight=60,
                                                                           per_kg=1.2e8))
    assert check.problem_message == message("dose_above_computed", given=7.2e9, percent=20, computed=6e9,
                                            tolerance=10)
    assert check.problem == "7.2 x10^9 cells is 20 % above the computed dose 6 x10^9 cells (more than 10 %)"
    assert check_dose(weight_kg=60, dose_per_kg=None, cells_infused=None).explanation_message == {}


# Texts as infusions stored them in English: every wording of the anchor and of the dose arithmetic.
STORED_ANCHORS = [english(msg) for msg, _en, _zh in CASES if msg and msg["code"].startswith("anchor_")] + [
    "day 0 (2026-03-02) + -1 day",
    "infusion 4 given 2026-04-10 (infusions 5, 6, 7 missed) + 28 days",
    "day 0 (2026-03-02, infusion 1 given) (none given; infusions 1, 2 missed) + 7 days",
]
STORED_DOSES = [
    "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg",
    "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells",
    "given 1.5 x10^9 cells / 62.5 kg = 2.4 x10^7 cells/kg",
    "flat dose 1 x10^9 cells; given 1.1 x10^9 cells / 70 kg = 1.571 x10^7 cells/kg",
    "2.5 x10^6 cells/kg x 60.125 kg = 1.503 x10^8 cells; given 1.5 x10^8 cells / 60.125 kg = 2.495 x10^6 cells/kg",
]


@pytest.mark.parametrize("stored", STORED_ANCHORS)
def test_a_stored_english_anchor_is_read_back_into_its_message(stored):
    msg = anchor_message_of(stored)

    assert msg["code"] in ("anchor_plus_day", "anchor_plus_days")
    assert english(msg) == stored


@pytest.mark.parametrize("stored", STORED_DOSES)
def test_a_stored_english_dose_arithmetic_is_read_back_into_its_message(stored):
    msg = dose_message_of(stored)

    assert msg["code"] != "text"
    assert english(msg) == stored


def test_a_stored_text_is_read_into_the_message_the_rules_give_now():
    assert anchor_message_of("infusion 1 given 2026-03-02 (infusions 2, 3 missed) + 14 days") == plus_days(
        message("anchor_given_after_missed", n=1, date="2026-03-02", missed=missed([2, 3])), 14)
    assert dose_message_of("1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; given 6 x10^9 cells / 60 kg = 1 x10^8 "
                           "cells/kg") == dose_explanation(COMPUTED, GIVEN)


@pytest.mark.parametrize(("weight", "per_kg", "flat", "cells"), [
    (60, 1e8, None, 6e9), (62.5, 1e8, None, 7.3e9), (60.125, 2.5e6, None, 1.5e8), (70, None, 1e9, 1.1e9),
    (3.2, 1e6, None, 9e6), (60, 1e8, None, None), (81.7, 1.25e6, None, 2.0e8),
])
def test_every_dose_arithmetic_the_check_words_is_read_back(weight, per_kg, flat, cells):
    said = check_dose(weight_kg=weight, dose_per_kg=per_kg, flat_dose=flat, cells_infused=cells).explanation

    assert english(dose_message_of(said)) == said and dose_message_of(said)["code"] != "text"


@pytest.mark.parametrize("missed_rule", ["last_given", "planned_date"])
def test_every_anchor_the_plan_words_is_read_back(missed_rule):
    rules = [InfusionRule(1, "day0", 0, 0, 0), InfusionRule(2, "previous_actual", 7, 1, 1)] + [
        InfusionRule(n, "previous_actual", 14, 3, 3) for n in (3, 4, 5)]
    day0 = date(2026, 3, 2)
    for events in ([], [InfusionEvent(1, given_on=day0)], [InfusionEvent(1, missed=True)],
                   [InfusionEvent(1, given_on=day0), InfusionEvent(2, missed=True), InfusionEvent(3, missed=True)],
                   [InfusionEvent(1, given_on=day0), InfusionEvent(3, missed=True)]):
        for planned in plan_infusions(rules, day0=day0, events=events, today=day0, missed_rule=missed_rule):
            assert anchor_message_of(planned.anchor) == planned.anchor_message


@pytest.mark.parametrize("stored", ["first infusion, moved by the pharmacy", "day 0 (soon) + 3 days",
                                    "infusion 2 given 2026-03-09 (infusion 3 skipped) + 14 days",
                                    "given 6 x10^9 cells", "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; nonsense"])
def test_a_text_that_cannot_be_read_is_kept_word_for_word(stored):
    reader = dose_message_of if "cells" in stored else anchor_message_of
    assert reader(stored) == {"code": "text", "params": {"text": stored}}
    assert anchor_message_of("") == {} and dose_message_of("") == {}


# --- the data migration, forward and back, on rows and their history ------------------------------

BEFORE = [("dosing", "0007_infusion_message_fields")]
CONVERTED = [("dosing", "0008_infusion_messages")]
RECORDED = [  # (anchor, dose arithmetic) as infusions stored them
    ("day 0 (2026-03-02, infusion 1 given) + 0 days",
     "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg"),
    ("infusion 1 given 2026-03-02 + 7 days", ""),
    ("moved by hand to the pharmacy's slot", "given 6 x10^9 cells"),
]


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_reads_stored_texts_and_its_reverse_writes_them_back(participant,
                                                                                 back_to_the_latest_schema):
    rows = list(Infusion.objects.filter(participant=participant).order_by("number").values_list("pk", flat=True))
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    old, old_history = apps.get_model("dosing", "Infusion"), apps.get_model("dosing", "HistoricalInfusion")
    for pk, (anchor, dose) in zip(rows, RECORDED, strict=False):
        old.objects.filter(pk=pk).update(anchor=anchor, dose_explanation=dose, anchor_message={}, dose_message={})
        old_history.objects.filter(id=pk).update(anchor=anchor, dose_explanation=dose, anchor_message={},
                                                 dose_message={})

    executor = MigrationExecutor(connection)
    executor.migrate(CONVERTED)
    apps = executor.loader.project_state(CONVERTED).apps
    forward = {row.pk: row for row in apps.get_model("dosing", "Infusion").objects.filter(pk__in=rows[:3])}
    history = apps.get_model("dosing", "HistoricalInfusion").objects.filter(id__in=rows[:3])

    for pk, (anchor, dose) in zip(rows, RECORDED, strict=False):
        assert (english(forward[pk].anchor_message), english(forward[pk].dose_message)) == (anchor, dose)
    assert forward[rows[0]].anchor_message == plus_days(message("anchor_day0_given", date="2026-03-02", n=1), 0)
    assert forward[rows[0]].dose_message == dose_explanation(COMPUTED, GIVEN)
    assert forward[rows[1]].dose_message == {}
    assert forward[rows[2]].anchor_message == text("moved by hand to the pharmacy's slot")
    assert forward[rows[2]].dose_message == text("given 6 x10^9 cells")
    assert history.exists() and all(english(h.anchor_message) == h.anchor for h in history)

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    backward = apps.get_model("dosing", "Infusion").objects.filter(pk__in=rows[:3]).order_by("number")
    assert [(row.anchor, row.dose_explanation) for row in backward] == RECORDED


# --- shown in the reader's language ----------------------------------------------------------------

def _is_chinese(shown: str) -> bool:
    return re.findall(r"[A-Za-z]{3,}", shown) == []


def test_the_api_words_the_anchor_and_the_dose_arithmetic_in_the_callers_language(api, participant):
    give(api, participant, 1, 0)
    url = f"/api/v1/participants/{participant.pk}/infusions/"

    chinese = api.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    english_rows = api.get(url, HTTP_ACCEPT_LANGUAGE="en").json()

    assert english_rows[0]["dose_explanation"] == ("1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; "
                                                   "given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg")
    assert chinese[0]["dose_explanation"] == ("1 x10^8 个细胞/kg × 60 kg = 6 x10^9 个细胞；"
                                              "实际输注 6 x10^9 个细胞 / 60 kg = 1 x10^8 个细胞/kg")
    assert english_rows[1]["anchor"].startswith("infusion 1 given ") and english_rows[1]["anchor"].endswith(" + 7 days")
    assert chinese[1]["anchor"].startswith("第 1 次输注于 ") and _is_chinese(chinese[1]["anchor"])
    assert chinese[0]["dose_explanation"] and english_rows[2]["dose_explanation"] == ""
    schedule = api.get(f"/api/v1/participants/{participant.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["schedule"]
    assert schedule["infusions"][1]["anchor"] == chinese[1]["anchor"]


def _give_in_chinese(api, participant, cells):
    body = {"number": 1, "started_at": at(0), "ended_at": at(0, 10, 5), "weight_kg": 60.0, "cells_infused": cells,
            "product": MSC}
    return api.post(f"/api/v1/participants/{participant.pk}/infusions/", body, format="json",
                    HTTP_ACCEPT_LANGUAGE="zh-hans")


def test_a_refused_dose_says_why_in_the_callers_language(api, participant):
    refused = _give_in_chinese(api, participant, 1.5e10)

    assert refused.status_code == 400
    assert refused.json()["errors"]["cells_infused"][0].startswith(
        "1.5 x10^10 个细胞为计算剂量的 2.5 倍：超过硬性上限，即计算剂量的 2 倍（1.2 x10^10 个细胞）。")
    deviation = _give_in_chinese(api, participant, 7.2e9)
    assert "7.2 x10^9 个细胞比计算剂量 6 x10^9 个细胞高 20 %（超过 10 %）" in (
        deviation.json()["errors"]["dose_confirmation"][0])


def test_the_pages_show_the_anchor_and_the_dose_arithmetic_in_chinese(client, api, participant, coordinator):
    give(api, participant, 1, 0)
    client.force_login(coordinator)

    page = client.get(reverse("participant-detail", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    form = client.get(reverse("infusion-record", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = page.content.decode()
    assert "实际输注 6 x10^9 个细胞 / 60 kg = 1 x10^8 个细胞/kg" in html
    second = page.context["schedule"]["infusions"][1].anchor
    assert second.startswith("第 1 次输注于 ") and f'data-testid="planned-from">{second}</td>' in html
    assert f'data-testid="planned-from">({second})</span>' in form.content.decode()


def test_the_audit_trail_words_the_messages_for_the_reader(client, api, participant, coordinator):
    give(api, participant, 1, 0)
    client.force_login(coordinator)
    second = Infusion.objects.get(participant=participant, number=2)

    page = client.get(reverse("audit-trail", args=["infusion", second.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = page.content.decode()
    assert "第 1 次输注的计划日" in html and "第 1 次输注于 " in html
    assert "anchor_plus_days" not in html and "&quot;code&quot;" not in html


def test_the_odm_export_words_the_messages_in_english(api, participant, studies):
    # followup imports dosing, never the reverse at import time: the export is read where it is used
    from followup.export_odm import write_odm  # noqa: PLC0415

    give(api, participant, 1, 0)
    out = io.BytesIO()
    with translation.override("zh-hans"):
        write_odm(participant.study, sites=participant.study.sites.all(), out=out, locked=False)

    xml = out.getvalue().decode()
    assert "anchor_plus" not in xml
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    root = ElementTree.fromstring(out.getvalue())
    records = {r.get("ID"): r for r in root.iterfind(".//odm:AuditRecords/odm:AuditRecord", ns)}

    def values(event, item):
        return [(one.get("TransactionType"), one.text, one.get("AuditRecordID")) for one in root.findall(
            f".//odm:StudyEventData[@StudyEventOID='{event}']//odm:ItemDataAny[@ItemOID='{item}']", ns)]

    day = day0().isoformat()
    assert ("Insert", "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg") \
        in [value[:2] for value in values("SE.INFUSION.1", "IT.INF.DOSE_EXPLANATION")]
    assert ("Update", f"day 0 ({day}, infusion 1 given) + 0 days") in [
        value[:2] for value in values("SE.INFUSION.1", "IT.INF.ANCHOR")]
    # Each value an item worded from a message held, pointing to the audit record of the change that set it.
    second = values("SE.INFUSION.2", "IT.INF.ANCHOR")
    assert [value[0] for value in second] == ["Insert", "Update"]
    assert second[-1][1] == f"infusion 1 given {day} + 7 days"
    assert records[second[-1][2]].find("odm:ReasonForChange", ns).text == "Re-planned after infusion 1"


def test_the_participant_page_stays_within_its_statements(client, api, participant, coordinator,
                                                          django_assert_max_num_queries):
    give(api, participant, 1, 0)
    client.force_login(coordinator)
    client.get(reverse("participant-detail", args=[participant.pk]))

    with django_assert_max_num_queries(15):
        page = client.get(reverse("participant-detail", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200


def test_day_arithmetic_of_a_re_planned_infusion_is_stored_as_a_message(api, participant):
    give(api, participant, 1, 0)
    give(api, participant, 2, 9, deviation_reason="Fever on day 7")

    third = Infusion.objects.get(participant=participant, number=3)
    day = (day0() + timedelta(days=9)).isoformat()
    assert third.anchor_message == plus_days(message("anchor_given", n=2, date=day), 14)
