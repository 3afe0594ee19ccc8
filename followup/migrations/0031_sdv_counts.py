import django.db.models.deletion
from django.db import migrations, models

from followup import sdv_counts


def track(apps, schema_editor):
    """The trigger on the history table of the ticks (`followup.sdv_counts`)."""
    sdv_counts.install(schema_editor.connection, apps.get_model)


def untrack(apps, schema_editor):
    sdv_counts.uninstall(schema_editor.connection, apps.get_model)


class Migration(migrations.Migration):

    dependencies = [
        ('enrollment', '0009_eligibility_messages'),
        ('followup', '0030_outcome_results'),
    ]

    operations = [
        migrations.CreateModel(
            name='SdvCount',
            fields=[
                ('participant', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='sdv_count', serialize=False, to='enrollment.participant', verbose_name='participant')),
                ('required', models.PositiveIntegerField(default=0, verbose_name='plan items to verify')),
                ('verified', models.PositiveIntegerField(default=0, verbose_name='plan items verified')),
                ('counted_at', models.DateTimeField(blank=True, null=True, verbose_name='casebook counted as changed at')),
            ],
            options={
                'verbose_name': 'SDV count',
            },
        ),
        migrations.RunPython(track, untrack),
    ]
