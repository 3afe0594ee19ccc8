"""Outcome snapshots know the latest change they cover; reminders are claimed before they are sent.

Reminders already recorded were sent (the sweep wrote them in the transaction that sent them).
Every study with participants starts with one change its snapshot does not cover, so the first
reconcile recomputes each snapshot once (some may have missed a recomputation while the broker
was down)."""
import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone


def one_uncovered_change_per_study(apps, schema_editor):
    Participant = apps.get_model("enrollment", "Participant")
    OutcomeChange = apps.get_model("followup", "OutcomeChange")
    now = timezone.now()
    study_ids = Participant.objects.values_list("study_id", flat=True).distinct()
    OutcomeChange.objects.bulk_create([OutcomeChange(study_id=pk, sequence=1, changed_at=now) for pk in study_ids])


class Migration(migrations.Migration):

    dependencies = [
        ('dosing', '0004_dose_deviation_and_signature_meaning'),
        ('enrollment', '0006_catalogue_codes'),
        ('followup', '0016_catalogue_codes'),
        ('trials', '0012_catalogue_rows'),
    ]

    operations = [
        migrations.CreateModel(
            name='OutcomeChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence', models.PositiveBigIntegerField(default=0, verbose_name='changes')),
                ('changed_at', models.DateTimeField(verbose_name='latest change at')),
            ],
            options={
                'verbose_name': 'outcome change',
            },
        ),
        migrations.AddField(
            model_name='outcomesnapshot',
            name='covers_change',
            field=models.PositiveBigIntegerField(default=0, help_text="The study's change count when the computation started; behind it, the snapshot is stale.", verbose_name='latest change covered'),
        ),
        migrations.AddField(
            model_name='reminder',
            name='claim_expires_at',
            field=models.DateTimeField(blank=True, help_text='A claim not marked sent by then is taken again by the next sweep.', null=True, verbose_name='claim expires at'),
        ),
        migrations.AddField(
            model_name='reminder',
            name='claimed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='claimed at'),
        ),
        migrations.AddField(
            model_name='reminder',
            name='state',
            field=models.CharField(choices=[('claimed', 'Claimed (being sent)'), ('sent', 'Sent')], default='sent', max_length=10, verbose_name='state'),
        ),
        migrations.AlterField(
            model_name='reminder',
            name='state',
            field=models.CharField(choices=[('claimed', 'Claimed (being sent)'), ('sent', 'Sent')], default='claimed', max_length=10, verbose_name='state'),
        ),
        migrations.AlterField(
            model_name='reminder',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='sent at'),
        ),
        migrations.AddConstraint(
            model_name='reminder',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('sent_at__isnull', False), ('state', 'sent')), models.Q(('claim_expires_at__isnull', False), ('state', 'claimed')), _connector='OR'), name='reminder_sent_has_time_claim_has_expiry'),
        ),
        migrations.AddField(
            model_name='outcomechange',
            name='study',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='outcome_change', to='trials.study'),
        ),
        migrations.RunPython(one_uncovered_change_per_study, migrations.RunPython.noop),
    ]
