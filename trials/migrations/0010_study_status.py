"""A study's status, draft or active. Every study that exists already (the built-in ones and any
configured since) is running: it and its history rows are added as active, so that the audit
trail shows no change of status. A study made from now on starts as a draft (the field's default)
unless loaded from a study file by `load_studies`."""

from django.db import migrations, models

STATUS_CHOICES = [("draft", "Draft"), ("active", "Active")]
HELP = "A draft records no screening until an administrator activates it."


def status_field(default: str) -> models.CharField:
    return models.CharField(choices=STATUS_CHOICES, default=default, help_text=HELP, max_length=10,
                            verbose_name="status")


class Migration(migrations.Migration):

    dependencies = [
        ("trials", "0009_legacy_items"),
    ]

    operations = [
        # Existing rows take the default given when the column is added: active.
        migrations.AddField(model_name="historicalstudy", name="status", field=status_field("active")),
        migrations.AddField(model_name="study", name="status", field=status_field("active")),
        migrations.AlterField(model_name="historicalstudy", name="status", field=status_field("draft")),
        migrations.AlterField(model_name="study", name="status", field=status_field("draft")),
    ]
