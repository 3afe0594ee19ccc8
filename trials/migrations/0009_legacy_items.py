"""Every study stored before study-defined items gets, as items of its own, the yes/no conditions
and other answers its screening form asked until then (the same codes, so that stored answers and
criteria keep their meaning), placed on its screening form in the same order. Written literally:
the fixed lists they replace are gone from the code."""
from django.db import migrations
from django.utils import timezone

REASON = "Screening questions became study items"
CONDITIONS = [
    ("abnormal_cardiac_function", "Abnormal cardiac function"),
    ("tumour", "Tumour"),
    ("carcinoma_in_situ_only", "Only carcinoma in situ"),
    ("uncontrolled_infection", "Uncontrollable systemic infection"),
    ("other_serious_disease", "Other serious disease"),
    ("pregnant", "Pregnant"),
    ("lactating", "Breastfeeding"),
    ("mental_illness", "Mental illness affecting consent or follow-up"),
    ("other_secondary_disease", "Secondary disease other than the autoimmune disease"),
]
PREGNANCY_TEST = [{"code": "negative", "label": "Negative"}, {"code": "positive", "label": "Positive"},
                  {"code": "not_applicable", "label": "Not applicable"}]
ANSWERS = [
    ("diagnosis_meets_guideline", "Diagnosis meets the guideline the protocol names", {}),
    ("thrombocytopenia_months", "Months of thrombocytopenia",
     {"type": "number", "unit": "months", "min_value": 0, "max_value": 1200}),
    ("stable_maintenance_therapy_4_weeks", "No maintenance therapy, or a dose stable for at least 4 weeks", {}),
    ("childbearing_potential", "Woman of childbearing potential", {}),
    ("pregnancy_test", "Pregnancy test", {"type": "choice", "choices": PREGNANCY_TEST}),
    ("agrees_contraception", "Agrees to contraception during the study", {}),
    ("fertile", "Fertile man", {}),
    ("agrees_barrier_contraception_or_abstinence", "Agrees to barrier contraception or abstinence", {}),
    ("understands_and_complies", "Understands the study and can comply", {}),
]
SECTIONS = [("Conditions", [(code, label, {}) for code, label in CONDITIONS]), ("Other answers", ANSWERS)]


def _history(model, instance, now, **fields):
    model.objects.create(history_date=now, history_type="+", history_change_reason=REASON, history_user=None,
                         id=instance.pk, **fields)


def forwards(apps, schema_editor):
    Study, Item, ItemPlacement = (apps.get_model("trials", name) for name in ("Study", "Item", "ItemPlacement"))
    HistoricalItem, HistoricalPlacement = (apps.get_model("trials", name)
                                           for name in ("HistoricalItem", "HistoricalItemPlacement"))
    now = timezone.now()
    for study in Study.objects.all():
        order = 0
        for section, rows in SECTIONS:
            for code, label, extra in rows:
                order += 1
                fields = {"label": label, "type": "yes_no", "choices": [], "applies_if": {}, "section": section,
                          "order": order, **extra}
                item, created = Item.objects.get_or_create(study=study, code=code, defaults=fields)
                if created:
                    _history(HistoricalItem, item, now, study_id=study.pk, code=code, help_text="", required=False,
                             **{"unit": "", **fields})
                placement, created = ItemPlacement.objects.get_or_create(item=item, visit_definition=None)
                if created:
                    _history(HistoricalPlacement, placement, now, item_id=item.pk, visit_definition_id=None)


class Migration(migrations.Migration):
    dependencies = [("trials", "0008_items")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
