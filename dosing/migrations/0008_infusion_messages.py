"""Each infusion, and each row of its history, keeps the date its window is planned from and its
dose arithmetic as messages (``dosing.messages``) in place of the English texts it kept until now,
so that pages and the API word them in the reader's language. A text that cannot be read back
exactly is kept word for word as a ``text`` message (``dosing.messages_legacy``). Reversible: the
reverse writes the English texts back."""
from django.db import migrations

from dosing.messages_legacy import anchor_message_of, dose_message_of
from trials.messages import english

BATCH = 500
# (text field, message field, text -> message)
PAIRS = (("anchor", "anchor_message", anchor_message_of), ("dose_explanation", "dose_message", dose_message_of))


def _convert(model, change) -> None:
    """Apply `change(row) -> bool` (True: the row changed) to every row of `model`, in batches."""
    fields = [name for pair in PAIRS for name in pair[:2]]
    changed = []
    for row in model.objects.only(model._meta.pk.attname, *fields).order_by("pk").iterator(chunk_size=BATCH):
        if change(row):
            changed.append(row)
        if len(changed) >= BATCH:
            model.objects.bulk_update(changed, fields)
            changed = []
    if changed:
        model.objects.bulk_update(changed, fields)


def _to_messages(row) -> bool:
    different = False
    for text_field, message_field, read in PAIRS:
        msg = read(getattr(row, text_field))
        if msg != getattr(row, message_field):
            setattr(row, message_field, msg)
            different = True
    return different


def _to_texts(row) -> bool:
    different = False
    for text_field, message_field, _read in PAIRS:
        said = english(getattr(row, message_field) or {})
        if said != getattr(row, text_field):
            setattr(row, text_field, said)
            different = True
    return different


def texts_to_messages(apps, schema_editor):
    for name in ("Infusion", "HistoricalInfusion"):
        _convert(apps.get_model("dosing", name), _to_messages)


def messages_to_texts(apps, schema_editor):
    for name in ("Infusion", "HistoricalInfusion"):
        _convert(apps.get_model("dosing", name), _to_texts)


class Migration(migrations.Migration):

    dependencies = [("dosing", "0007_infusion_message_fields")]

    operations = [migrations.RunPython(texts_to_messages, messages_to_texts)]
