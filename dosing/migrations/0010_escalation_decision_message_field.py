import trials.messages
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('dosing', '0009_infusion_texts_removed'),
    ]

    operations = [
        migrations.AddField(
            model_name='escalationdecision',
            name='proposal_message',
            field=trials.messages.MessageField(blank=True, default=dict, verbose_name='reason of the proposal'),
        ),
        migrations.AddField(
            model_name='historicalescalationdecision',
            name='proposal_message',
            field=trials.messages.MessageField(blank=True, default=dict, verbose_name='reason of the proposal'),
        ),
    ]
