"""Each adverse event, and each row of its history, keeps its CTCAE grading suggestion as a message
(``followup.grading_messages``) in place of the English text it kept until now, so that pages and the
API word it in the reader's language. A text that cannot be read back exactly is kept word for word
as a ``text`` message (``followup.grading_legacy``). Reversible: the reverse writes the English back."""
from django.db import migrations

from followup.grading_legacy import suggestion_message_of
from trials.messages import english

BATCH = 500
FIELDS = ("suggestion", "suggestion_message")


def _convert(model, change) -> None:
    """Apply `change(row) -> bool` (True: the row changed) to every row of `model`, in batches."""
    changed = []
    rows = model.objects.only(model._meta.pk.attname, *FIELDS)
    for row in rows.order_by("pk").iterator(chunk_size=BATCH):
        if change(row):
            changed.append(row)
        if len(changed) >= BATCH:
            model.objects.bulk_update(changed, FIELDS)
            changed = []
    if changed:
        model.objects.bulk_update(changed, FIELDS)


def _to_message(row) -> bool:
    msg = suggestion_message_of(row.suggestion)
    if msg == row.suggestion_message:
        return False
    row.suggestion_message = msg
    return True


def _to_text(row) -> bool:
    said = english(row.suggestion_message or {})
    if said == row.suggestion:
        return False
    row.suggestion = said
    return True


def texts_to_messages(apps, schema_editor):
    for name in ("AdverseEvent", "HistoricalAdverseEvent"):
        _convert(apps.get_model("followup", name), _to_message)


def messages_to_texts(apps, schema_editor):
    for name in ("AdverseEvent", "HistoricalAdverseEvent"):
        _convert(apps.get_model("followup", name), _to_text)


class Migration(migrations.Migration):

    dependencies = [("followup", "0032_adverseevent_suggestion_message")]

    operations = [migrations.RunPython(texts_to_messages, messages_to_texts)]
