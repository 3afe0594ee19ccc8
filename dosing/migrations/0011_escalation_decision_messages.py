"""Each signed escalation decision, and each row of its history, keeps its proposal's reason as a
message (``dosing.escalation_messages``) in place of the text worded at signing in the signer's
language, so that pages and the API word it in the reader's. A text that cannot be read back
exactly is kept word for word as a ``text`` message (``dosing.escalation_legacy``). Reversible: the
reverse writes the English texts back."""
from django.db import migrations

from dosing.escalation_legacy import proposal_message_of
from trials.messages import english

BATCH = 500
FIELDS = ("proposal_reason", "proposal_message")


def _convert(model, change) -> None:
    """Apply `change(row) -> bool` (True: the row changed) to every row of `model`, in batches."""
    changed = []
    for row in model.objects.only(model._meta.pk.attname, *FIELDS).order_by("pk").iterator(chunk_size=BATCH):
        if change(row):
            changed.append(row)
        if len(changed) >= BATCH:
            model.objects.bulk_update(changed, FIELDS)
            changed = []
    if changed:
        model.objects.bulk_update(changed, FIELDS)


def _to_message(row) -> bool:
    msg = proposal_message_of(row.proposal_reason)
    if msg == row.proposal_message:
        return False
    row.proposal_message = msg
    return True


def _to_text(row) -> bool:
    said = english(row.proposal_message or {})
    if said == row.proposal_reason:
        return False
    row.proposal_reason = said
    return True


def texts_to_messages(apps, schema_editor):
    for name in ("EscalationDecision", "HistoricalEscalationDecision"):
        _convert(apps.get_model("dosing", name), _to_message)


def messages_to_texts(apps, schema_editor):
    for name in ("EscalationDecision", "HistoricalEscalationDecision"):
        _convert(apps.get_model("dosing", name), _to_text)


class Migration(migrations.Migration):

    dependencies = [("dosing", "0010_escalation_decision_message_field")]

    operations = [migrations.RunPython(texts_to_messages, messages_to_texts)]
