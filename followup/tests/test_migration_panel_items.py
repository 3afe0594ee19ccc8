"""Virology and immune-panel values recorded before they became study items move into the
assessment's items, in the row and in every history row; the study gets the items, placed on the
visits that list the panels."""
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from enrollment.models import Participant

BEFORE = [("followup", "0014_assessment_items")]
AFTER = [("followup", "0015_virology_immune_panel_items")]
PANEL_CODES = ["hbv", "hcv", "hiv", "syphilis", "th17", "tfh", "treg", "breg", "nk"]


@pytest.mark.django_db(transaction=True)
def test_panel_values_and_their_history_become_items(woman, coordinator, back_to_the_latest_schema):
    participant = Participant.objects.get(pk=woman.pk)
    study_id = participant.study_id
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    state = executor.loader.project_state([*BEFORE, ("trials", "0009_legacy_items")]).apps
    # as stored before the panels were items
    state.get_model("trials", "Item").objects.filter(study_id=study_id, code__in=PANEL_CODES).delete()
    old = state.get_model("followup", "Assessment")
    old_history = state.get_model("followup", "HistoricalAssessment")
    day = timezone.localdate() - timedelta(days=2)
    common = {"participant_id": participant.pk, "date": day, "recorded_by_id": coordinator.pk,
              "concomitant_medications": []}
    recorded = old.objects.create(virology={"hbv": "negative", "hiv": "not_done"}, immune_panel={"treg": 4.5},
                                  items={"qol_score": 60}, **common)
    plain = old.objects.create(**common).pk
    for virology, reason in (({"hbv": "positive"}, "Assessment recorded"), (recorded.virology, "Corrected")):
        old_history.objects.create(
            id=recorded.pk, history_date=timezone.now(), history_type="+" if reason.endswith("recorded") else "~",
            history_change_reason=reason, history_user_id=coordinator.pk, virology=virology,
            immune_panel=recorded.immune_panel, items=recorded.items, recorded_at=recorded.recorded_at, **common)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    new = apps.get_model("followup", "Assessment")
    new_history = apps.get_model("followup", "HistoricalAssessment")

    assert dict(new.objects.values_list("pk", "items")) == {
        recorded.pk: {"hbv": "negative", "hiv": "not_done", "treg": 4.5, "qol_score": 60}, plain: {}}
    assert [row.items for row in new_history.objects.filter(id=recorded.pk).order_by("history_id")] == [
        {"hbv": "positive", "treg": 4.5, "qol_score": 60},
        {"hbv": "negative", "hiv": "not_done", "treg": 4.5, "qol_score": 60}]
    items = apps.get_model("trials", "Item").objects.filter(study_id=study_id, code__in=PANEL_CODES)
    assert sorted(items.values_list("code", "type")) == sorted(
        [(code, "choice") for code in PANEL_CODES[:4]] + [(code, "number") for code in PANEL_CODES[4:]])
    assert items.get(code="nk").max_value == 100
    placements = apps.get_model("trials", "ItemPlacement").objects.filter(item__study_id=study_id,
                                                                          item__code__in=["hbv", "th17"])
    assert sorted(placements.values_list("item__code", "visit_definition__code", "item__section")) == sorted(
        [("hbv", "VIR-W16", "Virology"), ("hbv", "VIR-W4", "Virology")]
        + [("th17", code, "Immune function") for code in ("D-1", "W2", "W4", "W8", "W12", "W16", "W28")])
    assert apps.get_model("trials", "HistoricalItem").objects.filter(
        study_id=study_id, code="hbv", history_change_reason="Virology and immune panel became study items").exists()
