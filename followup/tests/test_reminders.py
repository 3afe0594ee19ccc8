"""Reminders (CLINICAL_RULES.md section 3: the SAE deadline is tracked and reminded; overdue visits and
infusions): which items need one at a fixed `now`, and the sweep that e-mails each exactly once."""
import os
import smtplib
import subprocess
import sys
import threading
import time as time_module
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from config.celery import app
from enrollment import services as enrolment
from followup import reminders, services
from followup import worklist as work
from followup.models import AdverseEvent, Reminder, Visit
from followup.tasks import send_reminders
from followup.tests.factories import ReminderFactory
from followup.tests.support import enrol, event, overdue_visit
from trials.audit import change_context
from trials.tests.support import require_service, setup_save, setup_update

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=dt_timezone.utc)
ROOT = Path(__file__).resolve().parents[2]


def item(kind, status, due_at, object_id=7):
    return work.WorkItem(kind=kind, status=status, due_at=due_at, window_start=due_at - timedelta(hours=24),
                         window_end=due_at, object_id=object_id, participant_id=3, study_number="MSC-ITP-5-PUMCH-003",
                         study="MSC-ITP-5", site="PUMCH", site_id=1, label="SAE report: Lung infection",
                         url="/adverse-events/7/")


# --- pure: which reminder an item needs at `now` ---------------------------------------------------

@pytest.mark.parametrize("kind, status, due_in, expected", [
    (work.SAE_REPORT, work.DUE, timedelta(hours=6, seconds=1), None),
    (work.SAE_REPORT, work.DUE, timedelta(hours=6), "sae_report_due"),
    (work.SAE_REPORT, work.DUE, timedelta(0), "sae_report_due"),
    (work.SAE_REPORT, work.OVERDUE, -timedelta(seconds=1), "sae_report_overdue"),
    (work.VISIT, work.DUE, timedelta(days=1), None),
    (work.VISIT, work.OVERDUE, -timedelta(days=1), "visit_overdue"),
    (work.INFUSION, work.DUE, timedelta(0), None),
    (work.INFUSION, work.OVERDUE, -timedelta(days=2), "infusion_overdue"),
    (work.ADVERSE_EVENT_DRAFT, work.DUE, -timedelta(days=9), None),
])
def test_reminder_kind_at_a_fixed_now(kind, status, due_in, expected):
    assert reminders.reminder_kind(item(kind, status, NOW + due_in), now=NOW) == expected


def test_reminders_due_keeps_the_items_order():
    overdue = item(work.VISIT, work.OVERDUE, NOW - timedelta(days=1), object_id=1)
    later = item(work.SAE_REPORT, work.DUE, NOW + timedelta(hours=20), object_id=2)
    soon = item(work.SAE_REPORT, work.DUE, NOW + timedelta(hours=2), object_id=3)
    assert [(r.kind, r.item.object_id) for r in reminders.reminders_due([overdue, later, soon], now=NOW)] == [
        ("visit_overdue", 1), ("sae_report_due", 3)]


def test_reminder_message_names_the_deadline_and_the_page():
    due = reminders.ReminderDue(kind="sae_report_overdue", item=item(work.SAE_REPORT, work.OVERDUE, NOW))
    subject, body = reminders.reminder_message(due, base_url="https://edc.example.cn")
    assert subject == "[EDC] SAE report overdue since 2026-03-10 20:00: MSC-ITP-5-PUMCH-003"
    assert body == (
        "SAE report overdue since 2026-03-10 20:00\n\n"
        "SAE report: Lung infection\n"
        "Participant: MSC-ITP-5-PUMCH-003 (study MSC-ITP-5, site PUMCH)\n"
        "Window: 2026-03-09 20:00 to 2026-03-10 20:00\n"
        "A serious adverse event is reported within 24 hours of the site learning of it (site aware "
        "2026-03-09 20:00).\n\n"
        "Record it here: https://edc.example.cn/adverse-events/7/\n")


# --- the sweep --------------------------------------------------------------------------------------

@pytest.fixture
def site_team(make_user):
    """Who gets the reminders of PUMCH: active coordinators and investigators with an address."""
    users = {
        "coordinator": make_user("coordinator", username="li"),
        "investigator": make_user("investigator", username="wang"),
        "monitor": make_user("monitor", username="zhao"),
        "inactive": make_user("coordinator", username="gone"),
        "no_email": make_user("coordinator", username="noaddress"),
        "elsewhere": make_user("coordinator", site="XH", username="xh"),
    }
    for name, user in users.items():
        user.email = "" if name == "no_email" else f"{user.username}@hospital.cn"
        user.is_active = name != "inactive"
        with change_context(by=None, reason="Test: the site team's addresses"):
            user.save()
    return users


@pytest.fixture
def due_now(studies, site_team):
    """A participant with an overdue baseline visit and an SAE due in 3 hours (site aware 21 h ago)."""
    participant = enrol(site_team["coordinator"], enrolled_on=timezone.localdate() - timedelta(days=10))
    visit = overdue_visit(participant)
    sae = event(participant, site_team["coordinator"], aware=timezone.now() - timedelta(hours=21))
    return participant, visit, sae


def test_sweep_sends_each_reminder_once_to_the_sites_coordinators_and_investigators(due_now, mailoutbox):
    participant, visit, sae = due_now
    now = timezone.now()

    assert reminders.reminders_send(now=now) == 2

    assert sorted(m.subject.rsplit(": ", 1)[0] for m in mailoutbox) == [
        f"[EDC] SAE report due by {timezone.localtime(sae.sae_report_due):%Y-%m-%d %H:%M}",
        f"[EDC] Visit overdue (target {timezone.localtime(visit.target_at):%Y-%m-%d})"]
    assert {tuple(m.to) for m in mailoutbox} == {("li@hospital.cn", "wang@hospital.cn")}
    sent = {(r.kind, r.visit_id, r.adverse_event_id, r.participant_id, r.recipients) for r in Reminder.objects.all()}
    assert sent == {("visit_overdue", visit.pk, None, participant.pk, "li@hospital.cn\nwang@hospital.cn"),
                    ("sae_report_due", None, sae.pk, participant.pk, "li@hospital.cn\nwang@hospital.cn")}

    assert reminders.reminders_send(now=now) == 0
    assert reminders.reminders_send(now=now + timedelta(hours=1)) == 0
    assert len(mailoutbox) == 2


def test_sae_gets_a_second_reminder_once_overdue(due_now, mailoutbox):
    _, _, sae = due_now
    reminders.reminders_send(now=timezone.now())
    later = sae.sae_report_due + timedelta(minutes=1)

    assert reminders.reminders_send(now=later) == 1
    assert reminders.reminders_send(now=later + timedelta(minutes=15)) == 0
    assert list(Reminder.objects.filter(adverse_event=sae).order_by("sent_at").values_list("kind", flat=True)) == [
        "sae_report_due", "sae_report_overdue"]
    assert mailoutbox[-1].subject.startswith("[EDC] SAE report overdue since")


def test_sae_first_seen_after_its_deadline_gets_only_the_overdue_reminder(due_now, mailoutbox):
    _, _, sae = due_now
    reminders.reminders_send(now=sae.sae_report_due + timedelta(hours=2))
    assert list(Reminder.objects.filter(adverse_event=sae).values_list("kind", flat=True)) == ["sae_report_overdue"]


def test_nothing_is_sent_for_what_was_recorded(due_now, site_team, mailoutbox):
    _, visit, sae = due_now
    services.adverse_event_sae_report(event=sae, reported_at=None, by=site_team["coordinator"])
    services.visit_miss(visit=visit, reason="Patient abroad", by=site_team["coordinator"])

    assert reminders.reminders_send(now=timezone.now()) == 0
    assert mailoutbox == [] and Reminder.objects.count() == 0


def test_sae_more_than_six_hours_from_its_deadline_is_not_reminded_yet(studies, site_team, mailoutbox):
    participant = enrol(site_team["coordinator"])
    event(participant, site_team["coordinator"], aware=timezone.now() - timedelta(hours=1))
    assert reminders.reminders_send(now=timezone.now()) == 0 and mailoutbox == []


def test_a_site_with_no_addressee_is_reminded_once_someone_has_an_address(due_now, site_team, mailoutbox):
    setup_update(get_user_model().objects.filter(username__in=["li", "wang"]), email="")
    assert reminders.reminders_send(now=timezone.now()) == 0
    assert Reminder.objects.count() == 0

    setup_update(get_user_model().objects.filter(username="wang"), email="wang@hospital.cn")
    assert reminders.reminders_send(now=timezone.now()) == 2
    assert {tuple(m.to) for m in mailoutbox} == {("wang@hospital.cn",)}


def test_failed_email_releases_the_claim_for_the_next_sweep(due_now, mailoutbox, monkeypatch):
    def smtp_down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(reminders, "send_mail", smtp_down)
    assert reminders.reminders_send(now=timezone.now()) == 0
    assert Reminder.objects.count() == 0

    monkeypatch.undo()
    assert reminders.reminders_send(now=timezone.now()) == 2
    assert len(mailoutbox) == 2


def test_task_runs_the_sweep(due_now, mailoutbox):
    send_reminders.delay()
    assert len(mailoutbox) == 2
    send_reminders.delay()
    assert len(mailoutbox) == 2


def test_sweep_runs_every_15_minutes():
    assert app.conf.beat_schedule["send-reminders"] == {"task": "followup.send_reminders", "schedule": 900.0}


def test_one_reminder_per_kind_and_record_in_the_database(due_now):
    participant, visit, sae = due_now
    common = {"participant": participant, "site": participant.site, "due_at": timezone.now(),
              "sent_at": timezone.now(), "recipients": "li@hospital.cn", "subject": "s"}
    ReminderFactory(kind="visit_overdue", visit=visit, **common)
    ReminderFactory(kind="sae_report_due", adverse_event=sae, **common)
    ReminderFactory(kind="sae_report_overdue", adverse_event=sae, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderFactory(kind="visit_overdue", visit=visit, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderFactory(kind="sae_report_due", adverse_event=sae, **common)


@pytest.mark.parametrize("kind, about", [
    ("visit_overdue", "adverse_event"),
    ("sae_report_due", "visit"),
    ("visit_overdue", None),
])
def test_a_reminder_is_about_one_record_of_its_kind(due_now, kind, about):
    participant, visit, sae = due_now
    records = {"visit": visit, "adverse_event": sae}
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderFactory(kind=kind, participant=participant, site=participant.site, due_at=timezone.now(),
                        sent_at=timezone.now(), recipients="", subject="s",
                        **({about: records[about]} if about else {}))


def test_sweep_discovery_reads_a_fixed_number_of_rows_sets(due_now, django_assert_max_num_queries):
    reminders.reminders_send(now=timezone.now())
    with django_assert_max_num_queries(4):  # visits, infusions, adverse events, reminders already sent
        assert reminders.reminders_send(now=timezone.now()) == 0


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_each_reminder_once(studies, make_user, mailoutbox, monkeypatch):
    """Two workers sweep at the same moment: whichever claims a reminder sends it; while its
    e-mail is going out, the other skips the locked record or finds the claim."""
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    coordinator = make_user("coordinator", username="li")
    coordinator.email = "li@hospital.cn"
    setup_save(coordinator)
    participant = enrol(coordinator, enrolled_on=timezone.localdate() - timedelta(days=10))
    overdue_visit(participant)
    now = timezone.now()
    barrier = threading.Barrier(2)
    other_done = {name: threading.Event() for name in ("a", "b")}
    real_send = reminders.send_mail
    results, failures = {}, []

    def send_while_the_other_sweeps(*args, **kwargs):
        # Hold the claim (and the row lock) until the other sweep has finished.
        mine = threading.current_thread().name
        other_done["b" if mine == "a" else "a"].wait(timeout=20)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(reminders, "send_mail", send_while_the_other_sweeps)

    def sweep():
        name = threading.current_thread().name
        try:
            barrier.wait(timeout=10)
            results[name] = reminders.reminders_send(now=now)
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            other_done[name].set()
            connections.close_all()

    threads = [threading.Thread(target=sweep, name=name) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(results.values()) == [0, 1]
    assert len(mailoutbox) == 1
    assert list(Reminder.objects.values_list("kind", flat=True)) == ["visit_overdue"]
    assert Visit.objects.get(participant=participant, code="BL").reminders.count() == 1
    assert AdverseEvent.objects.count() == 0


def test_withdrawn_participants_sae_is_still_reminded_but_not_their_visits(due_now, site_team, mailoutbox):
    participant, _, sae = due_now
    enrolment.participant_withdraw(participant=participant, withdrawn_on=timezone.localdate(),
                                   reason="adverse_event", by=site_team["coordinator"])
    assert reminders.reminders_send(now=timezone.now()) == 1
    assert list(Reminder.objects.values_list("kind", "adverse_event_id")) == [("sae_report_due", sae.pk)]


def test_a_visit_re_planned_to_a_new_target_is_reminded_again_when_overdue_there(due_now, mailoutbox):
    participant, visit, sae = due_now
    now = timezone.now()
    assert reminders.reminders_send(now=now) == 2
    moved = timezone.localdate() - timedelta(days=1)
    setup_update(Visit.objects.filter(pk=visit.pk), 
        target_at=timezone.make_aware(datetime.combine(moved, time(0))),
        window_start=timezone.make_aware(datetime.combine(moved, time(0))),
        window_end=timezone.make_aware(datetime.combine(moved, time(12))))
    assert reminders.reminders_send(now=now) == 1
    assert reminders.reminders_send(now=now + timedelta(minutes=15)) == 0
    assert Reminder.objects.filter(visit=visit, kind="visit_overdue").count() == 2


def test_any_failure_to_send_releases_the_claim(due_now, mailoutbox, monkeypatch):
    def bad_header(*args, **kwargs):
        raise ValueError("Header values can't contain newlines")

    monkeypatch.setattr(reminders, "send_mail", bad_header)
    assert reminders.reminders_send(now=timezone.now()) == 0
    assert Reminder.objects.count() == 0


# --- claims: at most once while sweeps run, at least once after a sweep is stopped ------------------

class WorkerKilled(BaseException):
    """The sweep's process dies (kill -9, an out-of-memory kill): nothing of the sweep runs after it."""


def test_a_sweep_killed_between_claim_and_send_is_resent_once_by_the_first_sweep_after_the_claim_expires(
        due_now, mailoutbox, monkeypatch, settings):
    _, visit, sae = due_now
    now = timezone.now()

    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(reminders, "send_mail", killed)
    with pytest.raises(WorkerKilled):
        reminders.reminders_send(now=now)
    monkeypatch.undo()
    (claim,) = Reminder.objects.all()
    assert claim.state == "claimed" and claim.sent_at is None and mailoutbox == []
    assert claim.claim_expires_at == claim.claimed_at + timedelta(seconds=settings.REMINDER_CLAIM_SECONDS)

    # The next sweep, while the claim holds, sends the other reminder only: never twice.
    assert reminders.reminders_send(now=now + timedelta(minutes=1)) == 1
    assert len(mailoutbox) == 1
    # The first sweep after the claim has expired takes it again and sends it, once.
    after = claim.claim_expires_at + timedelta(seconds=1)
    assert reminders.reminders_send(now=after) == 1
    assert reminders.reminders_send(now=after + timedelta(minutes=15)) == 0
    assert len(mailoutbox) == 2
    assert sorted(m.subject.split(" ")[1] for m in mailoutbox) == ["SAE", "Visit"]
    assert set(Reminder.objects.values_list("state", flat=True)) == {"sent"}
    assert Reminder.objects.get(pk=claim.pk).sent_at == after


def test_an_expired_claim_is_taken_again_and_a_live_one_is_left_alone(due_now, mailoutbox):
    participant, visit, sae = due_now
    now = timezone.now()
    common = {"participant": participant, "site": participant.site, "state": "claimed", "sent_at": None,
              "claimed_at": now - timedelta(minutes=30)}
    expired = ReminderFactory(kind="visit_overdue", visit=visit, due_at=visit.target_at,
                              claim_expires_at=now - timedelta(minutes=20), **common)
    live = ReminderFactory(kind="sae_report_due", adverse_event=sae, due_at=sae.sae_report_due,
                           claim_expires_at=now + timedelta(minutes=5), **common)

    assert reminders.reminders_send(now=now) == 1

    assert [m.subject.split(" ")[1] for m in mailoutbox] == ["Visit"]
    expired.refresh_from_db()
    live.refresh_from_db()
    assert (expired.state, expired.sent_at, expired.recipients) == ("sent", now, "li@hospital.cn\nwang@hospital.cn")
    assert expired.claimed_at > now - timedelta(minutes=1)
    assert (live.state, live.sent_at) == ("claimed", None)
    assert Reminder.objects.count() == 2


def test_a_claim_has_an_expiry_and_a_sent_reminder_its_time(due_now):
    participant, visit, _ = due_now
    common = {"participant": participant, "site": participant.site, "kind": "visit_overdue", "visit": visit}
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderFactory(state="claimed", claim_expires_at=None, **common)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderFactory(state="sent", sent_at=None, **common)


def test_a_failed_send_after_a_retaken_claim_releases_it_again(due_now, mailoutbox, monkeypatch):
    participant, visit, _ = due_now
    now = timezone.now()
    ReminderFactory(kind="visit_overdue", visit=visit, participant=participant, site=participant.site,
                    due_at=visit.target_at, state="claimed", sent_at=None, claimed_at=now - timedelta(hours=1),
                    claim_expires_at=now - timedelta(minutes=50))

    def smtp_down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(reminders, "send_mail", smtp_down)
    assert reminders.reminders_send(now=now) == 0
    assert not Reminder.objects.filter(visit=visit).exists()
    monkeypatch.undo()
    assert reminders.reminders_send(now=now) == 2


SWEEP_KILLED_DURING_SEND = """
import os, sys, time
import django
django.setup()
from followup import reminders

def hang(*args, **kwargs):
    open(sys.argv[1], "w").close()  # claimed and committed; the e-mail is going out
    time.sleep(600)

reminders.send_mail = hang
reminders.reminders_send()
"""


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_sweep_process_killed_during_the_send_leaves_a_claim_the_next_sweep_sends_once(
        studies, make_user, mailoutbox, tmp_path):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    coordinator = make_user("coordinator", username="li")
    coordinator.email = "li@hospital.cn"
    setup_save(coordinator)
    visit = overdue_visit(enrol(coordinator, enrolled_on=timezone.localdate() - timedelta(days=10)))
    db = connection.settings_dict
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    env.pop("CELERY_BROKER_URL", None)
    sending = tmp_path / "sending"
    sweep = subprocess.Popen([sys.executable, "-c", SWEEP_KILLED_DURING_SEND, str(sending)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time_module.monotonic() + 60
        while not sending.exists():
            assert sweep.poll() is None, sweep.stdout.read()
            assert time_module.monotonic() < deadline, "the sweep did not reach the send"
            time_module.sleep(0.1)
    finally:
        sweep.kill()  # SIGKILL: nothing of the sweep runs after it
        sweep.wait(timeout=20)

    claim = Reminder.objects.get(visit=visit)
    assert (claim.state, claim.sent_at) == ("claimed", None)
    assert reminders.reminders_send(now=timezone.now()) == 0  # the claim holds: not sent twice
    assert reminders.reminders_send(now=claim.claim_expires_at + timedelta(seconds=1)) == 1
    assert reminders.reminders_send(now=claim.claim_expires_at + timedelta(minutes=15)) == 0
    assert len(mailoutbox) == 1
    assert Reminder.objects.get(visit=visit).state == "sent"
