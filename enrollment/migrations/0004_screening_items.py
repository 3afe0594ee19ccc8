"""A screening's yes/no conditions and other answers become the answers to its study's items
(`Screening.items`, by item code, the same codes), in every row and in every history row, so that
the audit trail still shows each earlier value; the two former columns go."""
from django.db import migrations, models

HELP = "Answers to the study's screening items, by item code (trials.items)."


def forwards(apps, schema_editor):
    for name in ("Screening", "HistoricalScreening"):
        model = apps.get_model("enrollment", name)
        rows = list(model.objects.only("pk", "conditions", "answers"))
        for row in rows:
            row.items = {**(row.conditions or {}), **(row.answers or {})}
        model.objects.bulk_update(rows, ["items"], batch_size=500)


def backwards(apps, schema_editor):
    conditions = {"abnormal_cardiac_function", "tumour", "carcinoma_in_situ_only", "uncontrolled_infection",
                  "other_serious_disease", "pregnant", "lactating", "mental_illness", "other_secondary_disease"}
    for name in ("Screening", "HistoricalScreening"):
        model = apps.get_model("enrollment", name)
        rows = list(model.objects.only("pk", "items"))
        for row in rows:
            row.conditions = {k: v for k, v in (row.items or {}).items() if k in conditions}
            row.answers = {k: v for k, v in (row.items or {}).items() if k not in conditions}
        model.objects.bulk_update(rows, ["conditions", "answers"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0003_signatures"),
        ("trials", "0009_legacy_items"),
    ]

    operations = [
        migrations.AddField(model_name="historicalscreening", name="items",
                            field=models.JSONField(blank=True, default=dict, help_text=HELP, verbose_name="items")),
        migrations.AddField(model_name="screening", name="items",
                            field=models.JSONField(blank=True, default=dict, help_text=HELP, verbose_name="items")),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="historicalscreening", name="answers"),
        migrations.RemoveField(model_name="historicalscreening", name="conditions"),
        migrations.RemoveField(model_name="screening", name="answers"),
        migrations.RemoveField(model_name="screening", name="conditions"),
    ]
