"""The fixed virology and immune-panel parts of an assessment become study items.

Every stored study gets, as items of its own, the four virology results (single choice) and the
five immune-panel cell types (number, % of lymphocytes, 0-100), with the codes the assessment used
as keys (`hbv`, ..., `th17`, ...), placed on the visits whose definition lists `virology` or
`immune_function` (sections "Virology" and "Immune function"). Each assessment's values, and those
of every history row, move into `Assessment.items` under the same codes, so that the audit trail
still shows each earlier value; the two former columns go. Written literally: the fixed lists
they replace are gone from the code.
"""
from django.db import migrations
from django.utils import timezone

REASON = "Virology and immune panel became study items"
RESULTS = [{"code": "positive", "label": "Positive"}, {"code": "negative", "label": "Negative"},
           {"code": "not_done", "label": "Not done"}]
VIROLOGY = [("hbv", "HBV"), ("hcv", "HCV"), ("hiv", "HIV"), ("syphilis", "Syphilis")]
IMMUNE_PANEL = [("th17", "Th17"), ("tfh", "Tfh"), ("treg", "Treg"), ("breg", "Regulatory B"), ("nk", "NK")]
# (what a visit definition lists, section, items (code, label, fields))
PANELS = [
    ("virology", "Virology", [(code, label, {"type": "choice", "choices": RESULTS}) for code, label in VIROLOGY]),
    ("immune_function", "Immune function",
     [(code, label, {"type": "number", "unit": "% of lymphocytes", "min_value": 0, "max_value": 100})
      for code, label in IMMUNE_PANEL]),
]
ITEM_DEFAULTS = {"help_text": "", "unit": "", "min_value": None, "max_value": None, "decimals": None,
                 "max_length": None, "required": False, "choices": [], "applies_if": {}}
# The panels' items follow the study's other items, in the data dictionary and on each form.


def _history(model, instance, now, **fields):
    model.objects.create(history_date=now, history_type="+", history_change_reason=REASON, history_user=None,
                         id=instance.pk, **fields)


def items_from_panels(virology, immune_panel, items) -> dict:
    """An assessment's answers once its panels are items: the panels' values under their codes,
    an answer already recorded under the same code kept."""
    return {**(virology or {}), **(immune_panel or {}), **(items or {})}


def _study_items(apps, now):
    """The panels' items of every study that lists a panel on a visit or holds a panel's value."""
    Study, Item, ItemPlacement, VisitDefinition, Assessment = (
        apps.get_model(app, name) for app, name in (
            ("trials", "Study"), ("trials", "Item"), ("trials", "ItemPlacement"), ("trials", "VisitDefinition"),
            ("followup", "Assessment")))
    HistoricalItem, HistoricalPlacement = (apps.get_model("trials", name)
                                           for name in ("HistoricalItem", "HistoricalItemPlacement"))
    with_values = {"virology": set(), "immune_function": set()}
    for study_id, virology, immune_panel in Assessment.objects.values_list(
            "participant__study_id", "virology", "immune_panel"):
        if virology:
            with_values["virology"].add(study_id)
        if immune_panel:
            with_values["immune_function"].add(study_id)
    for study in Study.objects.all():
        definitions = list(VisitDefinition.objects.filter(study=study).order_by("order", "pk"))
        next_order = max(Item.objects.filter(study=study).values_list("order", flat=True), default=0) + 1
        for listed, section, rows in PANELS:
            visits = [d for d in definitions if listed in (d.assessments or [])]
            if not visits and study.pk not in with_values[listed]:
                continue
            items = []
            for code, label, extra in rows:
                fields = {**ITEM_DEFAULTS, "label": label, "section": section, "order": next_order, **extra}
                item, created = Item.objects.get_or_create(study=study, code=code, defaults=fields)
                if created:
                    next_order += 1
                    _history(HistoricalItem, item, now, study_id=study.pk, code=code, **fields)
                items.append(item)
            for visit in visits:
                for item in items:
                    placement, created = ItemPlacement.objects.get_or_create(item=item, visit_definition=visit)
                    if created:
                        _history(HistoricalPlacement, placement, now, item_id=item.pk, visit_definition_id=visit.pk)


def forwards(apps, schema_editor):
    _study_items(apps, timezone.now())
    for name in ("Assessment", "HistoricalAssessment"):
        model = apps.get_model("followup", name)
        rows = list(model.objects.only("pk", "virology", "immune_panel", "items"))
        for row in rows:
            row.items = items_from_panels(row.virology, row.immune_panel, row.items)
        model.objects.bulk_update(rows, ["items"], batch_size=500)


def backwards(apps, schema_editor):
    virology = {code for code, _label in VIROLOGY}
    panel = {code for code, _label in IMMUNE_PANEL}
    for name in ("Assessment", "HistoricalAssessment"):
        model = apps.get_model("followup", name)
        rows = list(model.objects.only("pk", "items"))
        for row in rows:
            answers = row.items or {}
            row.virology = {k: v for k, v in answers.items() if k in virology}
            row.immune_panel = {k: v for k, v in answers.items() if k in panel}
            row.items = {k: v for k, v in answers.items() if k not in virology | panel}
        model.objects.bulk_update(rows, ["virology", "immune_panel", "items"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("followup", "0014_assessment_items"),
        ("trials", "0009_legacy_items"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="assessment", name="immune_panel"),
        migrations.RemoveField(model_name="assessment", name="virology"),
        migrations.RemoveField(model_name="historicalassessment", name="immune_panel"),
        migrations.RemoveField(model_name="historicalassessment", name="virology"),
    ]
