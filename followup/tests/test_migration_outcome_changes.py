"""Upgrading: reminders recorded before claims existed are sent ones; every study with participants
starts with one change its outcomes snapshot does not cover, so the first reconcile recomputes it."""
from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from enrollment import services as enrolment
from enrollment.tests.support import eligible_p3_screening

BEFORE = [("followup", "0016_catalogue_codes")]
AFTER = [("followup", "0017_outcome_changes_reminder_claims")]


@pytest.mark.django_db(transaction=True)
def test_old_reminders_are_sent_and_every_studys_outcomes_are_reconciled_once(studies, coordinator,
                                                                             back_to_the_latest_schema):
    participant = enrolment.participant_enrol(screening=eligible_p3_screening(coordinator), enrolled_on=date.today(),
                                              first_infusion_on=date.today(), by=coordinator)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    visit = old.get_model("followup", "Visit").objects.filter(participant_id=participant.pk).first()
    sent_at = timezone.now()
    old.get_model("followup", "Reminder").objects.create(
        kind="visit_overdue", visit_id=visit.pk, participant_id=participant.pk, site_id=participant.site_id,
        due_at=visit.target_at, sent_at=sent_at, recipients="li@hospital.cn", subject="s")
    old.get_model("followup", "OutcomeSnapshot").objects.create(study_id=participant.study_id, computed_at=sent_at,
                                                                groups=[])

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    assert list(new.get_model("followup", "Reminder").objects.values_list("state", "sent_at")) == [("sent", sent_at)]
    changes = new.get_model("followup", "OutcomeChange").objects.values_list("study__code", "sequence")
    assert list(changes) == [("MSC-ITP-5", 1)]
    assert new.get_model("followup", "OutcomeSnapshot").objects.get().covers_change == 0
