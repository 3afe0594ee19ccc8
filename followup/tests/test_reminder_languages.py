"""Reminder e-mails in each recipient's language: their account's choice, else the product's default."""
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from followup import reminders
from followup.models import Reminder
from followup.tests.support import enrol, event, overdue_visit
from trials.languages import language_choose
from trials.tests.support import setup_save


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


@pytest.fixture
def team(studies, make_user):
    """A Chinese-speaking coordinator, an investigator with no choice and one who chose English."""
    users = {name: make_user(role, username=name) for name, role in
             (("li", "coordinator"), ("wang", "investigator"), ("chen", "investigator"))}
    for user in users.values():
        user.email = f"{user.username}@hospital.cn"
        setup_save(user)
    language_choose(users["li"], "zh-hans", by=users["li"], reason="test")
    language_choose(users["chen"], "en", by=users["chen"], reason="test")
    participant = enrol(users["li"], enrolled_on=timezone.localdate() - timedelta(days=10))
    overdue_visit(participant)
    event(participant, users["li"], aware=timezone.now() - timedelta(hours=21))
    return users


def test_each_reminder_goes_to_each_recipient_in_their_language(team, mailoutbox):
    with translation.override("en"):
        assert reminders.reminders_send(now=timezone.now()) == 2

    chinese = [message for message in mailoutbox if message.to == ["li@hospital.cn"]]
    english = [message for message in mailoutbox if message.to == ["chen@hospital.cn", "wang@hospital.cn"]]
    assert len(chinese) == 2 and len(english) == 2 and len(mailoutbox) == 4
    subjects = sorted(message.subject for message in chinese)
    assert subjects[0].startswith("[EDC] SAE 报告须于 "), subjects
    assert subjects[1].startswith("[EDC] 访视逾期（目标时间 "), subjects
    for message in chinese:
        assert "受试者：" in message.body and "Participant:" not in message.body
    for message in english:
        assert message.body.isascii() and "Participant:" in message.body
    # The record keeps every recipient and the subject in the product's default language.
    rows = Reminder.objects.all()
    assert {row.recipients for row in rows} == {"chen@hospital.cn\nli@hospital.cn\nwang@hospital.cn"}
    assert all(row.subject.isascii() for row in rows)


def test_a_chinese_session_does_not_turn_the_english_recipients_mail_chinese(team, mailoutbox):
    with translation.override("zh-hans"):
        reminders.reminders_send(now=timezone.now())
    english = [message for message in mailoutbox if "li@hospital.cn" not in message.to]
    assert len(english) == 2 and all(message.subject.isascii() and message.body.isascii() for message in english)


def test_a_failed_send_in_one_language_releases_the_claim_for_every_language(team, mailoutbox, monkeypatch):
    real_send = reminders.send_mail

    def chinese_server_down(subject, body, sender, to):
        if to == ["li@hospital.cn"]:
            raise ConnectionRefusedError("mail server down")
        return real_send(subject, body, sender, to)

    monkeypatch.setattr(reminders, "send_mail", chinese_server_down)
    assert reminders.reminders_send(now=timezone.now()) == 0
    assert Reminder.objects.count() == 0

    monkeypatch.setattr(reminders, "send_mail", real_send)
    assert reminders.reminders_send(now=timezone.now()) == 2
    assert sum(message.to == ["li@hospital.cn"] for message in mailoutbox) == 2
