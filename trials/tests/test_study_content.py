"""Study content in two languages (`trials.content`): each study text has a Chinese version beside
the English one, shown to Chinese readers where given (else the English, marked `lang="en"`), edited
in the admin, carried in study definitions and in the protocol versions, whose changes notice it."""
import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from trials.amendments import pending_changes
from trials.content import content, content_language, pick
from trials.definitions import study_definition
from trials.items import ItemSpec
from trials.models import EligibilityCriterion, Item, Study, VisitDefinition
from trials.selectors import study_queryset
from trials.services import LoadReport, study_load
from trials.tests.admin_forms import form_errors, page_data
from trials.tests.support import setup_save
from trials.versions import CHANGED, Change, protocol_changes

SHIPPED = ["MSC-ITP-5", "UCB-IRIC", "HUCMSC-ITP-ESC"]


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


def test_content_is_the_chinese_text_for_a_chinese_reader_when_given():
    study = Study(title="Cord blood study", title_zh="脐带血研究")
    with translation.override("zh-hans"):
        assert (content(study, "title"), content_language(study, "title")) == ("脐带血研究", "zh-Hans")
        assert content(study, "title").lang == "zh-Hans"


def test_content_falls_back_on_the_english_marked_english_when_the_chinese_is_empty():
    with translation.override("zh-hans"):
        assert (content(Study(title="Cord blood study", title_zh=" "), "title"), content_language(
            Study(title="Cord blood study"), "title")) == ("Cord blood study", "en")
        assert content({"text": "Age 18-80.", "text_zh": None}, "text") == "Age 18-80."


def test_content_is_the_english_for_an_english_reader():
    with translation.override("en"):
        assert content({"text": "Age 18-80.", "text_zh": "年龄18～80岁。"}, "text") == "Age 18-80."
        assert content_language({"text": "Age 18-80.", "text_zh": "年龄18～80岁。"}, "text") == "en"
        assert pick("Negative", "阴性") == "Negative"


def test_template_filter_and_tags_give_the_text_and_its_language():
    template = Template('{% load content_tags %}<p {% content_lang study "title" %}>{{ study|content:"title" }}</p>'
                        '<span {% content_lang visit "label" %}>{{ visit|content:"label" }}</span>')
    context = Context({"study": Study(title="Cord blood study", title_zh="脐带血研究"),
                       "visit": VisitDefinition(label="Month 3")})
    with translation.override("zh-hans"):
        assert template.render(context) == ('<p lang="zh-Hans" data-study-content>脐带血研究</p>'
                                            '<span lang="en" data-study-content>Month 3</span>')
    with translation.override("en"):
        assert template.render(context) == ('<p lang="en" data-study-content>Cord blood study</p>'
                                            '<span lang="en" data-study-content>Month 3</span>')


def test_an_items_label_and_code_list_read_in_the_readers_language():
    spec = ItemSpec(code="hbv", label="HBV", type="choice", label_zh="乙型肝炎病毒",
                    choices=(("positive", "Positive"), ("not_done", "Not done")), choices_zh=(("positive", "阳性"),))
    with translation.override("zh-hans"):
        assert spec.shown_label == "乙型肝炎病毒"
        assert spec.shown_choices == [("positive", "阳性"), ("not_done", "Not done")]
        assert [label.lang for _code, label in spec.shown_choices] == ["zh-Hans", "en"]
        assert spec.choice_label("positive") == "阳性"
    with translation.override("en"):
        assert (spec.shown_label, spec.choice_label("positive")) == ("HBV", "Positive")


@pytest.mark.parametrize("code", SHIPPED)
def test_every_shipped_text_has_its_chinese_version(studies, code):
    study = studies[code]
    assert study.title_zh
    assert [c.code for c in study.criteria.all() if not c.text_zh] == []
    assert [v.code for v in study.visit_definitions.all() if not v.label_zh] == []
    assert [i.code for i in study.items.all() if not i.label_zh or (i.section and not i.section_zh)] == []
    assert [(i.code, c["code"]) for i in study.items.all() for c in i.choices if not c.get("label_zh")] == []
    assert [a.code for a in study.arms.all() if not a.name_zh] == []
    assert [d.code for a in study.arms.all() for d in a.dose_levels.all() if not d.label_zh] == []
    assert all(site.name_zh for site in study.sites.all())
    assert study.design_zh and study.intervention_zh and study.primary_endpoint_zh
    assert [a.code for a in study.arms.all() if not a.description_zh] == []
    assert [d.disease for d in study.diseases.all()
            if not d.response_criteria.name_zh or not d.response_criteria.description_zh] == []
    # The version in force holds them too: the forms and the criteria are drawn from it.
    protocol = study.active_version.protocol
    assert all(row["text_zh"] for row in protocol["criteria"])
    assert all(row["label_zh"] for row in protocol["items"])


def test_a_definition_carries_both_languages_and_loads_back_the_same(studies, make_user):
    exported = study_definition(study_queryset(make_user("admin")).get(code="HUCMSC-ITP-ESC"))
    assert exported["title_zh"].startswith("人脐带间充质干细胞")
    assert exported["criteria"][0]["text_zh"] == "免疫性血小板减少症（ITP）。"
    assert exported["visits"][0]["label_zh"] == "第-1天（免疫功能基线）"
    hbv = next(row for row in exported["items"] if row["code"] == "hbv")
    assert (hbv["label_zh"], hbv["section_zh"], hbv["choices"][0]) == (
        "乙型肝炎病毒（HBV）", "病毒学检查", {"code": "positive", "label": "Positive", "label_zh": "阳性"})
    assert exported["arms"][0]["dose_levels"][0]["label_zh"] == "A组：0.5×10^6 个细胞/kg"

    study_load(exported | {"code": "COPY-ZH"}, by=None, reason="Copy", report=LoadReport())

    copy = study_queryset(make_user("admin")).get(code="COPY-ZH")
    assert study_definition(copy) == exported | {"code": "COPY-ZH"}


def test_a_chinese_only_change_is_a_change_of_the_protocol():
    before = {"items": [], "criteria": [{"code": "age", "text": "Age 18-80.", "text_zh": "年龄18～80岁。"}]}
    after = {"items": [], "criteria": [{"code": "age", "text": "Age 18-80.", "text_zh": "年龄18至80岁。"}]}
    assert protocol_changes(before, after) == [Change("criteria", "age", CHANGED, ("text_zh",))]


def test_a_version_frozen_without_chinese_texts_equals_its_rows_with_empty_ones():
    before = {"items": [{"code": "hbv", "label": "HBV", "choices": [{"code": "neg", "label": "Negative"}]}],
              "criteria": [{"code": "age", "text": "Age 18-80."}]}
    after = {"items": [{"code": "hbv", "label": "HBV", "label_zh": "", "section_zh": "",
                        "choices": [{"code": "neg", "label": "Negative", "label_zh": ""}]}],
             "criteria": [{"code": "age", "text": "Age 18-80.", "text_zh": ""}]}
    assert protocol_changes(before, after) == []
    after["items"][0]["choices"][0]["label_zh"] = "阴性"
    assert protocol_changes(before, after) == [Change("items", "hbv", CHANGED, ("choices",))]


def test_an_administrators_chinese_text_prepares_the_next_version(studies):
    study = studies["MSC-ITP-5"]
    criterion = EligibilityCriterion.objects.get(study=study, code="age")
    criterion.text_zh = "年龄4至75岁（含），男女不限。"
    setup_save(criterion)

    assert pending_changes(study) == [Change("criteria", "age", CHANGED, ("text_zh",))]


def test_the_admin_edits_the_chinese_texts_beside_the_english(admin_client, studies):
    study = studies["MSC-ITP-5"]
    pages = {
        reverse("admin:trials_study_change", args=[study.pk]): ["title_zh", "criteria-0-text_zh"],
        reverse("admin:trials_visitdefinition_change", args=[study.visit_definitions.first().pk]): ["label_zh"],
        reverse("admin:trials_eligibilitycriterion_change", args=[study.criteria.first().pk]): ["text_zh"],
        reverse("admin:trials_item_change", args=[study.items.first().pk]): ["label_zh", "section_zh",
                                                                               "help_text_zh"],
        reverse("admin:trials_arm_change", args=[study.arms.first().pk]): ["name_zh", "dose_levels-0-label_zh"],
    }
    for url, names in pages.items():
        text = admin_client.get(url).content.decode()
        assert all(f'name="{name}"' in text for name in names), url
    text = admin_client.get(reverse("admin:trials_study_change", args=[study.pk]),
                            HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "标题（中文）" in text and "文本（中文）" in text


def test_the_admin_keeps_a_choices_chinese_label_typed_after_a_bar(admin_client, studies):
    item = Item.objects.get(study=studies["MSC-ITP-5"], code="pregnancy_test")
    url = reverse("admin:trials_item_change", args=[item.pk])
    page = admin_client.get(url)
    assert "negative = Negative | 阴性" in page.content.decode()

    response = admin_client.post(url, page_data(page) | {
        "choices": "negative = Negative | 阴性\npositive = Positive\nnot_applicable = Not applicable | 不适用",
        "label_zh": "妊娠检测", "change_reason": "Chinese wording"})

    assert response.status_code == 302, form_errors(response)
    item.refresh_from_db()
    assert (item.label_zh, item.choices) == ("妊娠检测", [
        {"code": "negative", "label": "Negative", "label_zh": "阴性"}, {"code": "positive", "label": "Positive"},
        {"code": "not_applicable", "label": "Not applicable", "label_zh": "不适用"}])


def test_the_study_page_shows_the_criteria_in_the_readers_language(client, coordinator, studies):
    client.force_login(coordinator)
    url = reverse("study-detail", args=["MSC-ITP-5"])

    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<td lang="zh-Hans" data-study-content>年龄4～75岁（含临界值），男女不限。</td>' in chinese
    assert "Age 4-75 years inclusive, male or female." not in chinese
    assert '<td lang="zh-Hans" data-study-content>末次输注后第14天</td>' in chinese
    assert 'lang="zh-Hans" data-study-content>间充质干细胞治疗难治性原发免疫性血小板减少症' in chinese
    assert '<td lang="en" data-study-content>Age 4-75 years inclusive, male or female.</td>' in english
    assert "年龄4～75岁" not in english


def test_a_chinese_page_shows_an_untranslated_text_in_english_marked_so(client, coordinator, studies):
    study = studies["MSC-ITP-5"]
    study.title_zh = ""
    setup_save(study)
    client.force_login(coordinator)

    home = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert f'<td lang="en" data-study-content>{study.title}</td>' in home
    assert '<td lang="zh-Hans" data-study-content>脐带血治疗难治性免疫相关血细胞减少症' in home


def test_the_study_page_shows_its_design_endpoint_arm_and_response_criteria_in_the_readers_language(
        client, coordinator, studies):
    client.force_login(coordinator)
    url = reverse("study-detail", args=["UCB-IRIC"])

    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert ('<p class="mb-2" lang="zh-Hans" data-study-content data-testid="study-design">单臂、开放标签、单中心、'
            '前瞻性研究。</p>') in chinese
    assert 'lang="zh-Hans" data-study-content>临床缓解率（CR + PR）/ 治疗例数' in chinese
    assert 'lang="zh-Hans" data-study-content>第0天输注1份非亲缘脐带血' in chinese
    assert '<strong lang="zh-Hans" data-study-content>AIHA疗效标准，国际共识</strong>' in chinese
    assert "Single-arm, open-label, single-site, prospective." not in chinese
    assert ('<p class="mb-2" lang="en" data-study-content data-testid="study-design">Single-arm, open-label, '
            'single-site, prospective.</p>') in english
    assert "单臂" not in english
