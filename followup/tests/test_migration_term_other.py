"""Events recorded before the "other, specify" flag get it from the CTCAE list when migrated."""
from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from enrollment import services as enrolment
from enrollment.tests.support import eligible_p3_screening

BEFORE = [("followup", "0008_reminder")]
AFTER = [("followup", "0009_adverseevent_term_other")]


@pytest.mark.django_db(transaction=True)
def test_unlisted_terms_are_marked_other_specify(studies, coordinator, back_to_the_latest_schema):

    screening = eligible_p3_screening(coordinator)
    participant = enrolment.participant_enrol(screening=screening, enrolled_on=date.today(),
                                              first_infusion_on=date.today(), by=coordinator)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("followup", "AdverseEvent")
    common = {"participant_id": participant.pk, "category": "non_haematological", "onset_date": date.today(),
              "status": "confirmed", "grade": 2, "serious": False, "relationship": "unlikely",
              "reported_by_id": coordinator.pk}
    listed = old.objects.create(term="Lung infection", **common).pk
    unlisted = old.objects.create(term="Spleen tumour lysis", **common).pk

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("followup", "AdverseEvent")
    assert dict(new.objects.values_list("pk", "term_other")) == {listed: False, unlisted: True}
