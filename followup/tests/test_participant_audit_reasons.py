"""The participant audit trail's composed reasons ("Casebook locked: <reason>", "Withdrawn:
<reason>", "Adverse event dismissed: <reason>"): the fixed part in the reader's language on the page
and in the API, the person's words as written (marked as typed on the page)."""
import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from trials.audit import audited_save
from trials.tests.support import client_for


def chinese(msgid: str, **params) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid) % params


@pytest.fixture
def trail(participant, make_user):
    admin = make_user("admin", username="chen")
    # as the services compose them (`enrollment.locks.casebook_lock`, `participant_withdraw`,
    # `adverse_event_dismiss`), the last two by a user whose interface was in Chinese
    audited_save(participant, by=admin, reason="Casebook locked: Ready for the interim analysis")
    audited_save(participant, by=admin, reason=chinese("Withdrawn: %(reason)s", reason=chinese("Adverse event")))
    audited_save(participant, by=admin, reason=chinese("Adverse event dismissed: %(reason)s", reason="重复录入"))
    return participant, make_user("monitor", username="mei")


def _api(monitor, participant, language):
    body = client_for(monitor).get(reverse("api-participant-audit", args=[participant.pk]),
                                   HTTP_ACCEPT_LANGUAGE=language).json()
    return {(row["reason"], row["reason_entered"]) for row in body["results"]}


def test_the_page_in_english_words_the_fixed_parts_and_marks_the_typed_words(client, trail):
    participant, monitor = trail
    client.force_login(monitor)
    html = client.get(reverse("participant-audit", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Casebook locked: <span data-entered>Ready for the interim analysis</span>" in html
    assert "Withdrawn: Adverse event" in html
    assert "Adverse event dismissed: <span data-entered>重复录入</span>" in html
    assert "已退出" not in html and "不良事件已驳回" not in html


def test_the_page_in_chinese_words_the_fixed_parts_and_marks_the_typed_words(client, trail):
    participant, monitor = trail
    client.force_login(monitor)
    html = client.get(reverse("participant-audit", args=[participant.pk]),
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert chinese("Casebook locked: %(reason)s",
                   reason="<span data-entered>Ready for the interim analysis</span>") in html
    assert chinese("Withdrawn: %(reason)s", reason=chinese("Adverse event")) in html
    assert chinese("Adverse event dismissed: %(reason)s", reason="<span data-entered>重复录入</span>") in html


def test_the_api_words_the_reasons_in_the_readers_language(trail):
    participant, monitor = trail
    english = _api(monitor, participant, "en")
    assert {("Casebook locked: Ready for the interim analysis", "Ready for the interim analysis"),
            ("Withdrawn: Adverse event", None), ("Adverse event dismissed: 重复录入", "重复录入")} <= english
    assert {(chinese("Casebook locked: %(reason)s", reason="Ready for the interim analysis"),
             "Ready for the interim analysis"),
            (chinese("Withdrawn: %(reason)s", reason=chinese("Adverse event")), None),
            (chinese("Adverse event dismissed: %(reason)s", reason="重复录入"), "重复录入")} <= _api(
        monitor, participant, "zh-hans")
