"""Each stored criterion outcome keeps its values and arithmetic as a message (code and parameters,
``enrollment.eligibility_text``) in place of the English ``detail`` it kept until now, so that pages
and the API word it in the reader's language. A detail that cannot be read back exactly is kept
word for word as a ``text`` message. Reversible: the reverse writes the English detail back."""
from django.db import migrations

from enrollment.eligibility_legacy import rows_with_english, rows_with_messages

BATCH = 500


def _convert(apps, convert):
    Screening = apps.get_model("enrollment", "Screening")
    changed = []
    for screening in Screening.objects.only("pk", "eligibility").order_by("pk").iterator(chunk_size=BATCH):
        screening.eligibility, different = convert(screening.eligibility)
        if different:
            changed.append(screening)
        if len(changed) >= BATCH:
            Screening.objects.bulk_update(changed, ["eligibility"])
            changed = []
    if changed:
        Screening.objects.bulk_update(changed, ["eligibility"])


def details_to_messages(apps, schema_editor):
    _convert(apps, rows_with_messages)


def messages_to_details(apps, schema_editor):
    _convert(apps, rows_with_english)


class Migration(migrations.Migration):

    dependencies = [("enrollment", "0008_participant_casebook_lock")]

    operations = [migrations.RunPython(details_to_messages, messages_to_details)]
