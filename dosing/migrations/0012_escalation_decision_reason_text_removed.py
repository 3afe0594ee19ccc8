# The texts are read into messages by 0011; going back, the column returns empty (blank first, so that
# existing rows can take it) and 0011 fills it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('dosing', '0011_escalation_decision_messages'),
    ]

    operations = [
        migrations.AlterField(
            model_name='escalationdecision',
            name='proposal_reason',
            field=models.TextField(blank=True, verbose_name='reason of the proposal'),
        ),
        migrations.AlterField(
            model_name='historicalescalationdecision',
            name='proposal_reason',
            field=models.TextField(blank=True, verbose_name='reason of the proposal'),
        ),
        migrations.RemoveField(
            model_name='escalationdecision',
            name='proposal_reason',
        ),
        migrations.RemoveField(
            model_name='historicalescalationdecision',
            name='proposal_reason',
        ),
    ]
