"""A criterion's values and arithmetic as a message (``enrollment.eligibility_text``): worded in the
reader's language, read back from the English stored before (``enrollment.eligibility_legacy``, data
migration 0009), and shown in Chinese on the screening page and in the API."""
import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.utils.html import escape
from django.utils import translation

from enrollment.eligibility import Facts, Lab, evaluate_rule
from enrollment.eligibility_legacy import detail_message, rows_with_english, rows_with_messages
from enrollment.eligibility_text import criterion_shown, english, listed, message, text, word
from enrollment.models import Screening
from enrollment.tests.support import create_screening, post_screening
from trials.tests.support import assert_worded


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


PLT_LOW = message("lab_threshold", lab=message("lab_value", analyte="PLT", value=12, unit="10^9/L"), op=">=",
                  limit=30, unit="10^9/L")


@pytest.mark.parametrize(("msg", "in_english", "in_chinese"), [
    (PLT_LOW, "PLT 12 10^9/L; criterion >= 30 10^9/L", "PLT 12 10^9/L；标准 >= 30 10^9/L"),
    (message("missing", items=listed("list_comma", [message("birth_date"), message("screening_date")])),
     "missing: birth date, screening date", "缺失：出生日期、筛选日期"),
    (message("not_applicable", reason=message("rule_for_sex", sex=word("female"), actual=word("male"))),
     "not applicable: rule for female participants; sex is male", "不适用：本规则适用于女性受试者；受试者为男性"),
    (message("age", age=45, screening="2026-03-02", birth="1980-05-14",
             required=message("years_between", low=18, high=75)),
     "age 45 y on 2026-03-02 (born 1980-05-14); criterion 18-75 y",
     "2026-03-02 时年龄 45 岁（出生于 1980-05-14）；标准 18-75 岁"),
    (message("time_since", name="splenectomy date", start="2025-12-01", screening="2026-06-01", elapsed=6,
             unit=word("months"), op=">=", value=6),
     "splenectomy date 2025-12-01 to screening 2026-06-01: 6 months; criterion >= 6 months",
     "splenectomy date 2025-12-01 至筛选日 2026-06-01：6 个月；标准 >= 6 个月"),
    (message("all_of", parts=listed("list_and", [
        message("part", detail=message("answer", name="c0", answer=True, wanted=True), outcome=word("met")),
        message("part", detail=message("ecog_range", ecog=3, low=0, high=2), outcome=word("not met"))])),
     "all of: (c0: yes; criterion yes -> met) and (ECOG 3; criterion 0-2 -> not met)",
     "须全部符合：（c0：是；标准 是 → 符合） 且 （ECOG 3；标准 0-2 → 不符合）"),
    (message("lab_vs_limit", lab=message("lab_value", analyte="ALT", value=119.9, unit="U/L"), ratio=2.9975,
             limit_name="ULN", limit=40, unit="U/L", op="<=", multiple=3),
     "ALT 119.9 U/L = 3 x ULN 40 U/L; criterion <= 3 x ULN",
     "ALT 119.9 U/L = 3 × ULN 40 U/L；标准 <= 3 × ULN"),
    (text("as it was stored"), "as it was stored", "as it was stored"),
    (message("a_code_added_later", value=1), "a_code_added_later (value=1)", "a_code_added_later (value=1)"),
    ("a plain string", "a plain string", "a plain string"),
])
def test_a_message_is_worded_in_the_active_language(msg, in_english, in_chinese):
    assert_worded(msg, in_english, in_chinese)


def test_a_rule_result_keeps_its_message_and_its_english_words():
    facts = Facts(labs={"PLT": Lab(12)})

    result = evaluate_rule("lab_threshold", {"analyte": "PLT", "op": ">=", "value": 30}, facts)

    assert (result.outcome, result.message) == ("not_met", PLT_LOW)
    assert result.detail == "PLT 12 10^9/L; criterion >= 30 10^9/L"


# Details as screenings stored them in English, one or more for every message code, word and list.
STORED_DETAILS = [
    'missing: marrow',
    'missing: disease',
    'missing: birth date',
    'missing: ALT result',
    'missing: c0 (yes/no)',
    'c0: no; criterion yes',
    'ECOG 0; criterion 0-2',
    'missing: screening date',
    'missing: diagnosis date',
    'not applicable: fertile: no',
    'missing: sex (male or female)',
    'HGB 20 g/L; criterion < 20 g/L',
    'missing: ECOG performance status',
    'disease ITP; criterion one of ITP',
    'missing: haemoglobin (HGB) result',
    'missing: splenectomy date (a date)',
    'female: pregnant: no; criterion yes',
    'any of: (c0: no; criterion no -> met)',
    'not applicable: age 11 y is below 12 y',
    'missing: prior therapies (not recorded)',
    'all of: (c0: yes; criterion yes -> met)',
    'thrombocytopenia months: 2; criterion < 3',
    'missing: weight (Cockcroft-Gault formula)',
    'all of: (c0: no; criterion yes -> not met)',
    'ALT 5 U/L; ULN 0 U/L; criterion <= 3 x ULN',
    'marrow: hypo; criterion one of hypo, normal',
    'HGB 86 g/L (2026-03-01); criterion < 100 g/L',
    'missing: upper limit of normal (ULN) for ALT',
    'disease AIHA: HGB 99 g/L; criterion < 100 g/L',
    'not applicable: disease ITP is not one of AIHA',
    'ALT 120 U/L = 3 x ULN 40 U/L; criterion < 3 x ULN',
    'missing: sex (male or female, Cockcroft-Gault formula)',
    'not applicable: rule for female participants; sex is male',
    'age 3 y on 2026-03-02 (born 2022-03-03); criterion 4-75 y',
    'missing: lower limit of normal (LLN) for haemoglobin (HGB)',
    'age 80 y on 2026-03-02 (born 1946-03-02); criterion >= 81 y',
    'age 17 y on 2026-03-02 (born 2009-03-02); criterion <= 17 y',
    "missing: childbearing potential as yes or no (recorded 'yes')",
    "missing: thrombocytopenia months as a number (recorded 'True')",
    'missing: c0 (yes/no); all of: (missing: c0 (yes/no) -> missing)',
    'missing: height (bedside Schwartz formula, age 10 y), creatinine (CREAT) result',
    'splenectomy date 2026-04-06 to screening 2026-06-01: 8 weeks; criterion < 8 weeks',
    'splenectomy date 2026-03-02 to screening 2026-06-01: 91 days; criterion > 90 days',
    'female, 30 y, childbearing potential: pregnancy test: negative; criterion negative',
    'not applicable: (disease ITP is not one of AIHA) or (disease ITP is not one of AIHA)',
    'splenectomy date 2025-12-01 to screening 2026-06-01: 6 months; criterion >= 6 months',
    'no glucocorticoid recorded; criterion glucocorticoid with outcome none for >= 4 weeks',
    'no rituximab or tpo_agent recorded; criterion rituximab or tpo_agent with outcome none',
    'diagnosed 2025-11-02, 4 whole months before screening on 2026-03-02; criterion > 3 months',
    'missing: a valid birth date (birth date 2026-03-03 is after the screening date 2026-03-02)',
    'cyclosporine ? to ongoing, outcome none (qualifies); criterion cyclosporine with outcome none',
    'missing: usable inputs for creatinine clearance (creatinine must be a positive value in umol/L)',
    'missing: a valid diagnosis date (diagnosis date 2026-04-01 is after the screening date 2026-03-02)',
    'missing: splenectomy date on or before the screening date (recorded 2026-06-02, screening 2026-06-01)',
    'bedside Schwartz (age 12 y, under 18): 36.5 x 150 cm / 73 umol/L = 75 mL/min/1.73 m2; criterion > 75 mL/min',
    'ivig 2025-09-01 to 2025-09-06, outcome none (qualifies); criterion glucocorticoid or ivig with outcome none',
    'splenectomy 2025-09-01 to 2025-09-29, outcome cr (not a failure); criterion splenectomy with outcome none or relapse',  # noqa: E501
    'Cockcroft-Gault (male, 40 y): (140 - 40) x 70 kg x 1.2278 (88.4/72) / 79.6 umol/L = 108 mL/min; criterion > 75 mL/min',  # noqa: E501
    'glucocorticoid 2026-02-02 to ongoing (4 weeks), outcome none (qualifies); criterion glucocorticoid with outcome none for >= 4 weeks',  # noqa: E501
    'glucocorticoid 2026-02-03 to ongoing (3.86 weeks), outcome none (shorter than 4 weeks); criterion glucocorticoid with outcome none for >= 4 weeks',  # noqa: E501
    'glucocorticoid 2025-09-01 to 2025-10-06 (5 weeks), outcome none (qualifies); glucocorticoid ? to ongoing, outcome none; criterion glucocorticoid with outcome none for >= 4 weeks',  # noqa: E501
    'missing: start date of glucocorticoid course ? to 2025-10-15 (for its duration) (glucocorticoid ? to 2025-10-15, outcome none; criterion glucocorticoid with outcome none for >= 4 weeks)',  # noqa: E501
    'missing: outcome of glucocorticoid course 2025-09-01 to 2025-10-15 (glucocorticoid 2025-09-01 to 2025-10-15, outcome not recorded; criterion glucocorticoid with outcome none for >= 4 weeks)',  # noqa: E501
    'missing: screening date of glucocorticoid course 2025-09-01 to ongoing (for its duration) (glucocorticoid 2025-09-01 to ongoing, outcome none; criterion glucocorticoid with outcome none for >= 4 weeks)',  # noqa: E501
]


@pytest.mark.parametrize("detail", STORED_DETAILS)
def test_a_stored_english_detail_is_read_back_into_its_message(detail):
    msg = detail_message(detail)

    assert msg["code"] != "text"
    assert english(msg) == detail


def test_a_stored_detail_is_read_into_the_message_the_rule_gives_now():
    assert detail_message("HGB 86 g/L (2026-03-01); criterion < 100 g/L") == message(
        "lab_threshold", lab=message("lab_value_dated", analyte="HGB", value=86, unit="g/L", date="2026-03-01"),
        op="<", limit=100, unit="g/L")
    assert detail_message("missing: haemoglobin (HGB) result") == message(
        "missing", items=listed("list_comma", [message("lab_result", lab=message("lab_name", label="haemoglobin",
                                                                               analyte="HGB"))]))


@pytest.mark.parametrize("detail", ["", "checked by the investigator", "PLT 12 10^9/L; criterion >= thirty",
                                    "missing: birth date; all of: (nonsense"])
def test_an_unreadable_detail_is_kept_word_for_word(detail):
    assert detail_message(detail) == {"code": "text", "params": {"text": detail}}


def test_stored_rows_convert_to_messages_and_back():
    rows = [{"code": "age", "kind": "inclusion", "text": "Age 18-75", "outcome": "missing",
             "detail": "missing: birth date"},
            {"code": "plt", "kind": "inclusion", "text": "PLT", "outcome": "met", "explanation": PLT_LOW}]

    converted, changed = rows_with_messages(rows)
    back, changed_back = rows_with_english(converted)

    assert changed and changed_back
    assert converted[0] == {"code": "age", "kind": "inclusion", "text": "Age 18-75", "outcome": "missing",
                            "explanation": message("missing", items=listed("list_comma", [message("birth_date")]))}
    assert converted[1] == rows[1]
    assert back[0] == rows[0]
    assert back[1]["detail"] == "PLT 12 10^9/L; criterion >= 30 10^9/L" and "explanation" not in back[1]
    assert rows_with_messages(converted) == (converted, False)


def test_the_data_migration_reads_stored_details_and_its_reverse_writes_them_back(coordinator, studies):
    migration = importlib.import_module("enrollment.migrations.0009_eligibility_messages")
    apps = MigrationLoader(connection).project_state(("enrollment", "0009_eligibility_messages")).apps
    rows = apps.get_model("enrollment", "Screening").objects  # the migration's plain manager
    screening = create_screening(coordinator)
    stored = rows_with_english(screening.eligibility)[0] + [
        {"code": "note", "kind": "inclusion", "text": "Note", "outcome": "met",
         "detail": "checked by the investigator"}]
    rows.filter(pk=screening.pk).update(eligibility=stored)

    migration.details_to_messages(apps, None)
    forward = Screening.objects.get(pk=screening.pk).eligibility
    migration.messages_to_details(apps, None)
    backward = Screening.objects.get(pk=screening.pk).eligibility

    assert [english(row["explanation"]) for row in forward] == [row["detail"] for row in stored]
    assert all(row["explanation"]["code"] != "text" for row in forward[:-1])
    assert forward[-1]["explanation"] == text("checked by the investigator")
    assert backward == stored


def test_a_criterion_row_shows_its_detail_in_the_readers_language():
    row = {"code": "plt", "outcome": "not_met", "explanation": PLT_LOW}

    with translation.override("zh-hans"):
        shown = criterion_shown(row)

    assert shown == {"code": "plt", "outcome": "not_met", "detail": "PLT 12 10^9/L；标准 >= 30 10^9/L"}
    assert criterion_shown({"code": "old", "detail": "as stored"})["detail"] == "as stored"


def test_the_screening_page_shows_the_arithmetic_in_chinese_for_a_chinese_reader(client, coordinator, studies):
    screening = create_screening(coordinator)
    client.force_login(coordinator)
    url = reverse("screening-detail", args=[screening.pk])

    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    english_page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")

    tbil_zh = next(c for c in chinese.context["criteria"] if c["code"] == "tbil")
    tbil_en = next(c for c in english_page.context["criteria"] if c["code"] == "tbil")
    assert tbil_en["detail"].startswith("TBIL 13.68 umol/L") and "; criterion " in tbil_en["detail"]
    assert tbil_zh["detail"].startswith("TBIL 13.68 umol/L") and "；标准 " in tbil_zh["detail"]
    assert f'<td class="small criterion-detail">{escape(tbil_zh["detail"])}</td>' in chinese.content.decode()


def test_the_api_words_the_detail_in_the_callers_language(api, studies):
    created = post_screening(api).json()
    url = f"/api/v1/screenings/{created['id']}/"

    chinese = api.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["eligibility"]["criteria"]
    english_rows = api.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["eligibility"]["criteria"]

    tbil_zh = next(c for c in chinese if c["code"] == "tbil")
    tbil_en = next(c for c in english_rows if c["code"] == "tbil")
    assert set(tbil_en) == {"code", "kind", "text", "text_zh", "outcome", "detail"}
    assert tbil_en["detail"].startswith("TBIL 13.68 umol/L") and "; criterion " in tbil_en["detail"]
    assert tbil_zh["detail"].startswith("TBIL 13.68 umol/L") and "；标准 " in tbil_zh["detail"]
    age_zh = next(c for c in chinese if c["code"] == "age")
    assert " 岁" in age_zh["detail"] and "criterion" not in age_zh["detail"]
