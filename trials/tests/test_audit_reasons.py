"""The audit trail's reasons and values in the reader's language: the product's own reasons
translated whatever language they were written in, what people typed shown as written and marked."""
from django.utils import translation
from django.utils.translation import gettext

from trials.audit_labels import AsWritten, Entered
from trials.audit_reasons import reason_shown
from trials.content import ContentText
from trials.labs import range_source_shown
from trials.templatetags.trials_tags import audit_reason, audit_value


def chinese(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


def test_a_fixed_reason_written_in_english_reads_in_chinese():
    with translation.override("zh-hans"):
        shown = reason_shown("Consent recorded")
    assert shown.text == chinese("Consent recorded") != "Consent recorded"
    assert not shown.entered


def test_a_fixed_reason_written_in_chinese_reads_in_english():
    with translation.override("en"):
        assert reason_shown(chinese("Assessment recorded")).text == "Assessment recorded"


def test_a_visits_reason_keeps_its_code():
    with translation.override("zh-hans"):
        shown = reason_shown("BL done")
    assert shown.text == chinese("%(code)s done") % {"code": "BL"}
    assert "BL" in shown.text and "done" not in shown.text


def test_a_typed_reason_is_shown_as_written_and_marked():
    with translation.override("zh-hans"):
        shown = reason_shown("Patient moved to Tianjin")
        page = audit_reason("Patient moved to Tianjin")
    assert (shown.text, shown.entered) == ("Patient moved to Tianjin", True)
    assert page == "<span data-entered>Patient moved to Tianjin</span>"
    assert audit_reason("") == "—"


def test_values_are_marked_as_what_they_are():
    assert audit_value(None) == "—"
    assert audit_value("是") == "是"
    assert audit_value(Entered("Dr <Han>")) == "<span data-entered>Dr &lt;Han&gt;</span>"
    assert audit_value(ContentText("Fertile man", "en")) == '<span lang="en" data-study-content>Fertile man</span>'
    assert audit_value(AsWritten("I approve the data")) == '<span lang="en">I approve the data</span>'
    assert audit_value(AsWritten("我确认")) == '<span lang="zh-Hans">我确认</span>'


def test_the_reference_range_source_reads_in_chinese():
    with translation.override("zh-hans"):
        both = range_source_shown("report+site")
    assert both == chinese("the report") + chinese(" and ") + chinese("the site's range")
    with translation.override("zh-hans"):
        assert range_source_shown("elsewhere") == "elsewhere"


def test_a_composed_reason_words_its_fixed_part_in_the_readers_language_and_keeps_the_typed_words():
    written = chinese("Adverse event dismissed: %(reason)s") % {"reason": "录入错误"}
    with translation.override("en"):
        shown = reason_shown(written)
        page = audit_reason(written)
    assert shown.text == "Adverse event dismissed: 录入错误" and not shown.entered
    assert shown.parts == (("Adverse event dismissed: ", False), ("录入错误", True))
    assert page == "Adverse event dismissed: <span data-entered>录入错误</span>"
    with translation.override("zh-hans"):
        page = audit_reason("Adverse event dismissed: Duplicate <entry>")
    assert page == chinese("Adverse event dismissed: %(reason)s") % {
        "reason": "<span data-entered>Duplicate &lt;entry&gt;</span>"}


def test_a_signature_withdrawn_keeps_its_fields_user_and_typed_reason():
    stored = "Signature withdrawn: grade, relationship changed by wang: Grade re-read from the chart"
    with translation.override("zh-hans"):
        shown = reason_shown(stored)
    assert shown.text == chinese("Signature withdrawn: %(fields)s changed by %(user)s: %(reason)s") % {
        "fields": "grade, relationship", "user": "wang", "reason": "Grade re-read from the chart"}
    assert [text for text, entered in shown.parts if entered] == ["Grade re-read from the chart"]


def test_a_withdrawal_reason_is_a_label_worded_in_the_readers_language():
    with translation.override("en"):
        shown = reason_shown(chinese("Withdrawn: %(reason)s") % {"reason": chinese("Adverse event")})
    assert shown.text == "Withdrawn: Adverse event" and not any(entered for _text, entered in shown.parts)
    with translation.override("zh-hans"):
        shown = reason_shown("Withdrawn: Lost to follow-up")
    assert shown.text == chinese("Withdrawn: %(reason)s") % {"reason": chinese("Lost to follow-up")}


def test_coded_composed_reasons_read_in_chinese():
    with translation.override("zh-hans"):
        decision = reason_shown("Escalation decision 4: stop")
        graded = reason_shown("Adverse event confirmed and signed at grade 3 (suggested 2)")
    assert decision.text == chinese("Escalation decision %(id)d: %(action)s %(level)s").replace(
        "%(id)d", "4").replace("%(action)s", "stop").replace("%(level)s", "").rstrip()
    assert graded.text == chinese("Adverse event confirmed and signed at grade %(grade)s (suggested %(suggested)s)") % {
        "grade": "3", "suggested": "2"}
    assert not decision.entered and not any(entered for _text, entered in graded.parts)
