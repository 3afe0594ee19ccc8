"""An adverse event's CTCAE grading suggestion kept as a message (`followup.grading_messages`):
every code worded in English and Chinese, the English exactly as the grading wrote it before, read
back from the English stored before (`followup.grading_legacy`, data migration 0033, forward and
back), and shown in the reader's language on the pages and in the API; in English in the ODM export."""
import html
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation

from followup.export_odm_meta import ADVERSE_EVENT
from followup.grading import suggest_adverse_event
from followup.grading_legacy import suggestion_message_of
from followup.grading_messages import TEMPLATES, WORDS
from followup.models import AdverseEvent
from followup.tests.support import assess_labs
from trials.audit import change_context
from trials.messages import english, listed, message, render, text, word


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


ABS = message("ctcae_band_absolute", sign="<", threshold=100, unit="g/L")
LLN = message("ctcae_band_reference", sign="<", reference=word("LLN"))
TIMES_ULN = message("ctcae_band_multiple", sign=">", threshold=1.5, reference=word("ULN"))
TIMES_BASELINE = message("ctcae_band_multiple", sign=">=", threshold=1.5, reference=word("ctcae_baseline"))
BANDS = listed("list_semicolon", [message("ctcae_band_yes", grade=2, band=ABS),
                                  message("ctcae_band_no", grade=3, band=message("ctcae_band_absolute", sign="<",
                                                                               threshold=80, unit="g/L"))])
GRADING = message("ctcae_grade", analyte="HGB", value=95, unit="g/L", term=word("Anemia"), grade=2,
                  version="CTCAE v5.0", bands=BANDS)

CASES = [  # (message, English, Chinese)
    (ABS, "< 100 g/L", "< 100 g/L"),
    (LLN, "< LLN", "< LLN"),
    (TIMES_ULN, "> 1.5 x ULN", "> 1.5 × ULN"),
    (TIMES_BASELINE, ">= 1.5 x baseline", ">= 1.5 × 基线"),
    (message("ctcae_band_bound", band=TIMES_ULN, bound=25.65, unit="umol/L"), "> 1.5 x ULN (25.65 umol/L)",
     "> 1.5 × ULN（25.65 umol/L）"),
    (message("ctcae_band_yes", grade=1, band=LLN), "G1 < LLN: yes", "1 级 < LLN：是"),
    (message("ctcae_band_no", grade=3, band=ABS), "G3 < 100 g/L: no", "3 级 < 100 g/L：否"),
    (message("ctcae_by_baseline", band=message("ctcae_band_yes", grade=2, band=TIMES_BASELINE), baseline=60),
     "G2 >= 1.5 x baseline: yes (baseline 60)", "2 级 >= 1.5 × 基线：是（基线 60）"),
    (message("ctcae_basis_baseline", baseline=100, uln=40), "baseline 100 > ULN 40, so multiples of baseline",
     "基线 100 > ULN 40，故按基线倍数分级"),
    (message("ctcae_basis_uln", baseline=10, uln=17.1), "baseline 10 <= ULN 17.1, so multiples of ULN",
     "基线 10 <= ULN 17.1，故按 ULN 倍数分级"),
    (message("ctcae_duration_not_given", grade=4, band=message("ctcae_band_absolute", sign=">", threshold=40,
                                                                 unit="deg C"), limit=24),
     "G4 needs > 40 deg C for > 24 h: duration not given, graded without it",
     "4 级需 > 40 deg C 持续 > 24 小时：未填持续时间，未按持续时间分级"),
    (message("ctcae_duration_yes", grade=4, hours=30, limit=24), "G4 lasting 30 h > 24 h: yes",
     "4 级 持续 30 小时 > 24 小时：是"),
    (message("ctcae_duration_no", grade=4, hours=12.5, limit=24), "G4 lasting 12.5 h > 24 h: no",
     "4 级 持续 12.5 小时 > 24 小时：否"),
    (GRADING, "HGB 95 g/L -> Anemia grade 2 (CTCAE v5.0): G2 < 100 g/L: yes; G3 < 80 g/L: no",
     "HGB 95 g/L -> 贫血 2 级（CTCAE v5.0）：2 级 < 100 g/L：是；3 级 < 80 g/L：否"),
    (message("ctcae_grade_basis", analyte="ALT", value=130, unit="U/L", term=word("Alanine aminotransferase increased"),
             grade=2, version="CTCAE v5.0", basis=message("ctcae_basis_uln", baseline=20, uln=40),
             bands=listed("list_semicolon", [message("ctcae_band_yes", grade=2, band=message(
                 "ctcae_band_multiple", sign=">", threshold=3, reference=word("ULN")))])),
     "ALT 130 U/L -> Alanine aminotransferase increased grade 2 (CTCAE v5.0; baseline 20 <= ULN 40, so multiples "
     "of ULN): G2 > 3 x ULN: yes",
     "ALT 130 U/L -> 丙氨酸氨基转移酶升高 2 级（CTCAE v5.0；基线 20 <= ULN 40，故按 ULN 倍数分级）："
     "2 级 > 3 × ULN：是"),
    (message("ctcae_with_note", grading=message("text", text="X"), note=message("ctcae_note_anemia")),
     "X. Note: grade 3 'transfusion indicated' and grade 4 'life-threatening' are clinical",
     "X。注：3 级“需输血”和 4 级“危及生命”属临床判断"),
    (message("ctcae_note_transaminase"), "abnormal baseline (> ULN): multiples of baseline instead of ULN",
     "基线异常（> ULN）：按基线倍数而非 ULN 倍数分级"),
    (message("ctcae_note_creatinine"), "the worse of the ULN and the baseline grade", "取按 ULN 与按基线分级中较重者"),
    (message("ctcae_suggested_no_baseline", grading=text("X")),
     "X. Baseline value missing: suggested because grade >= 1.", "X。缺少基线值：因分级 >= 1 而建议。"),
    (message("ctcae_suggested_worse", grading=text("X"), baseline_grade=2, analyte="HGB", baseline=95, unit="g/L"),
     "X. Worse than baseline grade 2 (HGB 95 g/L).", "X。较基线分级 2 级加重（HGB 95 g/L）。"),
    (message("ctcae_suggested_from_grade_1", grading=text("X")), "X. Suggested from grade 1.", "X。自 1 级起建议。"),
] + [(word(term), term, zh) for term, zh in (
    ("Anemia", "贫血"), ("Platelet count decreased", "血小板计数降低"),
    ("Neutrophil count decreased", "中性粒细胞计数降低"),
    ("Alanine aminotransferase increased", "丙氨酸氨基转移酶升高"),
    ("Aspartate aminotransferase increased", "天门冬氨酸氨基转移酶升高"), ("Blood bilirubin increased", "血胆红素升高"),
    ("Creatinine increased", "肌酐升高"), ("Fever", "发热"))]


def _codes(msg) -> set[str]:
    found = {msg["code"]}
    for value in (msg.get("params") or {}).values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found |= _codes(item)
    return found


def test_every_code_and_word_is_worded_in_a_case():
    codes = set().union(*(_codes(msg) for msg, _en, _zh in CASES))
    assert set(TEMPLATES) <= codes
    terms = {msg["params"]["word"] for msg, _en, _zh in CASES if msg["code"] == "word"}
    assert terms | {"LLN", "ULN", "ctcae_baseline"} == set(WORDS)


@pytest.mark.parametrize(("msg", "en", "zh"), CASES, ids=[english(c[0])[:40] for c in CASES])
def test_each_code_in_english_and_chinese(msg, en, zh):
    assert english(msg) == en
    with translation.override("zh-hans"):
        assert render(msg) == zh
        assert english(msg) == en


SAMPLES = [  # (analyte, value, lln, uln, baseline value, fever hours): every path of the grading
    ("HGB", 75, 120, 160, 95, None), ("PLT", 20, 150, None, None, None), ("ANC", 0.4, 1.8, None, 1.2, None),
    ("ALT", 301, None, 40, 100, None), ("AST", 130, None, 40, 20, None), ("TBIL", 30, None, 17.1, 10, None),
    ("TBIL", 30, None, 17.1, None, None), ("CREAT", 130, None, 84, 60, None), ("CREAT", 100, None, 84, None, None),
    ("TEMP", 40.5, None, None, None, None), ("TEMP", 40.5, None, None, None, 30), ("TEMP", 40.5, None, None, None, 12),
    ("TEMP", 38.5, None, None, None, None),
]


@pytest.mark.parametrize(("analyte", "value", "lln", "uln", "baseline", "hours"), SAMPLES)
def test_a_suggestion_is_worded_in_chinese_and_read_back_from_its_english(analyte, value, lln, uln, baseline, hours):
    found = suggest_adverse_event(analyte, value, lln=lln, uln=uln, baseline_value=baseline, duration_hours=hours)
    assert found is not None and found.explanation == english(found.message)
    assert suggestion_message_of(found.explanation) == found.message
    with translation.override("zh-hans"):
        shown = render(found.message)
    assert re.findall(r"[a-z]{3,}", shown.replace("umol", "").replace("deg C", "")) == [], shown  # units aside


def test_text_that_cannot_be_read_back_is_kept_as_written():
    assert suggestion_message_of("") == {}
    assert suggestion_message_of("HGB low, see the lab report") == text("HGB low, see the lab report")
    moved = "HGB 75 g/L -> Anemia grade 3 (CTCAE v4.03): G3 < 80 g/L: yes. Suggested from grade 1."
    assert suggestion_message_of(moved) == text(moved)


# --- the data migration, forward and back ------------------------------------------------------------

BEFORE = [("followup", "0032_adverseevent_suggestion_message")]
CONVERTED = [("followup", "0033_adverseevent_suggestion_messages")]
RECORDED = [  # as adverse events stored them
    "HGB 75 g/L -> Anemia grade 3 (CTCAE v5.0): G1 < LLN (120 g/L): yes; G2 < 100 g/L: yes; G3 < 80 g/L: yes. "
    "Note: grade 3 'transfusion indicated' and grade 4 'life-threatening' are clinical. Worse than baseline "
    "grade 2 (HGB 95 g/L).",
    "TBIL 30 umol/L -> Blood bilirubin increased grade 2 (CTCAE v5.0; baseline 10 <= ULN 17.1, so multiples of "
    "ULN): G1 > ULN (17.1 umol/L): yes; G2 > 1.5 x ULN (25.65 umol/L): yes; G3 > 3 x ULN (51.3 umol/L): no; G4 > "
    "10 x ULN (171 umol/L): no. Note: abnormal baseline (> ULN): multiples of baseline instead of ULN. Suggested "
    "from grade 1.",
    "graded by hand: see the lab report",
    "",
]


@pytest.fixture
def draft(api, anaemic):
    assess_labs(api, anaemic, 3, ("HGB", 75, "g/L", 120, 160))
    return AdverseEvent.objects.get()


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_reads_stored_texts_and_its_reverse_writes_them_back(draft, back_to_the_latest_schema):
    rows = [draft.pk]
    for _ in RECORDED[1:]:
        copy = AdverseEvent.objects.get(pk=draft.pk)
        copy.pk = None
        with change_context(by=None, reason="Recorded sample"):
            copy.save()
        rows.append(copy.pk)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    old, old_history = apps.get_model("followup", "AdverseEvent"), apps.get_model("followup", "HistoricalAdverseEvent")
    assert old.objects.get(pk=draft.pk).suggestion == RECORDED[0]  # the reverse wrote the English back
    for pk, stored in zip(rows, RECORDED, strict=True):
        old.objects.filter(pk=pk).update(suggestion=stored, suggestion_message={})
        old_history.objects.filter(id=pk).update(suggestion=stored, suggestion_message={})

    executor = MigrationExecutor(connection)
    executor.migrate(CONVERTED)
    apps = executor.loader.project_state(CONVERTED).apps
    forward = {row.pk: row for row in apps.get_model("followup", "AdverseEvent").objects.filter(pk__in=rows)}
    history = apps.get_model("followup", "HistoricalAdverseEvent").objects.filter(id__in=rows)
    assert [english(forward[pk].suggestion_message) for pk in rows] == RECORDED
    assert forward[rows[0]].suggestion_message == suggest_adverse_event("HGB", 75, lln=120, uln=160,
                                                                        baseline_value=95).message
    assert forward[rows[2]].suggestion_message == text("graded by hand: see the lab report")
    assert forward[rows[3]].suggestion_message == {}
    assert history.exists() and all(english(h.suggestion_message) == h.suggestion for h in history)

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    backward = apps.get_model("followup", "AdverseEvent").objects.in_bulk(rows)
    assert [backward[pk].suggestion for pk in rows] == RECORDED


# --- shown in the reader's language ------------------------------------------------------------------

ZH_DRAFT = ("HGB 75 g/L -> 贫血 3 级（CTCAE v5.0）：1 级 < LLN（120 g/L）：是；2 级 < 100 g/L：是；3 级 < 80 g/L：是。"
            "注：3 级“需输血”和 4 级“危及生命”属临床判断。较基线分级 2 级加重（HGB 95 g/L）。")


def test_the_investigator_reads_the_suggestion_in_chinese_on_the_page(client, draft, make_user):
    client.force_login(make_user("investigator"))
    page = client.get(reverse("adverse-event-detail", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert ZH_DRAFT in html.unescape(page.content.decode())
    english_page = client.get(reverse("adverse-event-detail", args=[draft.pk])).content.decode()
    assert RECORDED[0] in html.unescape(english_page)


def test_the_api_words_the_suggestion_for_the_reader_and_odm_in_english(api, draft):
    url = f"/api/v1/adverse-events/{draft.pk}/"
    assert api.get(url).json()["suggestion"] == RECORDED[0]
    assert api.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["suggestion"] == ZH_DRAFT


def test_the_odm_export_words_the_suggestion_in_english_whatever_the_language(draft):

    item = next(f for f in ADVERSE_EVENT.fields if f.key == "suggestion")
    assert item.stored == "suggestion_message"
    with translation.override("zh-hans"):
        assert item.get({"suggestion_message": draft.suggestion_message}) == RECORDED[0]
