"""The study-file loader's errors in the reader's language (Chinese here), with their file, row and
values as written: `studies_load` and what it calls, `load_studies` (trials/services.py)."""
import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import translation

from trials.services import STUDIES_DIR, LoadReport, StudyDefinitionError, catalogues_load, studies_load, study_load


def definition(**changes):
    return {**yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text()), "code": "NEW-1", **changes}


def refused_in_chinese(load) -> str:
    with translation.override("zh-hans"), pytest.raises(StudyDefinitionError) as refused:
        load()
    return str(refused.value)


def test_a_file_that_is_not_yaml_is_refused_in_chinese(studies, tmp_path):
    (tmp_path / "broken.yaml").write_text("code: [unclosed\n")
    message = refused_in_chinese(lambda: studies_load(directory=tmp_path))
    assert message.startswith("broken.yaml：不是有效的 YAML：")


def test_a_missing_key_is_refused_in_chinese(studies, tmp_path):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"code": "NEW-2"}))
    assert refused_in_chinese(lambda: studies_load(directory=tmp_path)) == "bad.yaml：缺少必需的键 'title'。"


def test_an_unknown_key_names_the_row_in_chinese(studies):
    data = definition()
    data["visits"][0]["colour"] = "red"
    message = refused_in_chinese(lambda: study_load(data, by=None, reason="test", report=LoadReport()))
    code = data["visits"][0]["code"]
    assert message.startswith(f"NEW-1 访视 {code}：未知的键 colour（访视 的键为 ")


def test_an_unknown_disease_and_a_bad_date_are_refused_in_chinese(studies):
    unknown = definition(diseases=[{"disease": "NOPE"}])
    message = refused_in_chinese(lambda: study_load(unknown, by=None, reason="test", report=LoadReport()))
    assert message.startswith("NEW-1 疾病 NOPE：未知的疾病；请使用以下之一：")
    undated = definition(effective_date="soon")
    assert refused_in_chinese(lambda: study_load(undated, by=None, reason="test", report=LoadReport())) == (
        "NEW-1 effective_date：'soon' 不是日期（YYYY-MM-DD）。")


def test_a_catalogue_row_with_an_unknown_criteria_set_is_refused_in_chinese(studies):
    message = refused_in_chinese(lambda: catalogues_load(
        {"diseases": [{"code": "AAA", "name": "A", "response_criteria": "NOPE"}]}, by=None, reason="test",
        report=LoadReport()))
    assert message == "疾病 AAA：未知的疗效标准集 'NOPE'。"


def test_load_studies_says_why_in_chinese(studies, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(["not", "a", "study"]))
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        call_command("load_studies", str(bad))
    assert str(refused.value) == "bad.yaml：不是研究定义（应为包含代码、标题等的映射）。"


def test_the_english_wording_is_unchanged(studies, tmp_path):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"code": "NEW-2"}))
    with translation.override("en"), pytest.raises(StudyDefinitionError, match="^bad.yaml: required key 'title' is "
                                                                               "missing.$"):
        studies_load(directory=tmp_path)


def test_load_studies_reports_in_chinese(studies, tmp_path):
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(definition()))
    out, again = tmp_path / "out.txt", tmp_path / "again.txt"
    with translation.override("zh-hans"):
        call_command("load_studies", str(path), stdout=open(out, "w"))
        call_command("load_studies", str(path), stdout=open(again, "w"))
    first = out.read_text()
    assert "已创建：" in first and "created" not in first
    assert first.rstrip().splitlines()[-1].startswith("已创建 ")
    assert again.read_text().strip() == "研究已是最新。"


def test_both_names_and_codes_are_refused_in_chinese(studies, tmp_path):
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(definition()))
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        call_command("load_studies", "MSC-ITP-5", str(path))
    assert str(refused.value) == "请只指定内置研究代码或研究定义文件之一，不要同时指定。"
