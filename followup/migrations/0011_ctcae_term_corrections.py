"""CTCAE v5.0 term list corrected (followup/ctcae_terms.yaml header): stored adverse events follow.

"Gum hemorrhage" is not a CTCAE term: the event is graded as "Oral hemorrhage". "Retinal
hemorrhage" is not one either and has no CTCAE equivalent: the event keeps its text as "other,
specify". Each changed event gets a history record with the reason (the audit trail). The
mapping is frozen here, not read from the list, so the migration does the same whenever it runs.
"""
from django.db import migrations
from django.utils import timezone

RENAMED = {"Gum hemorrhage": "Oral hemorrhage"}
NOW_OTHER = ("Retinal hemorrhage",)
REASON_RENAMED = "CTCAE v5.0 term list corrected: %s is graded as %s"
REASON_OTHER = "CTCAE v5.0 term list corrected: %s is not a CTCAE term (other, specify)"


def _history(Historical, event, reason, when):
    values = {f.attname: getattr(event, f.attname) for f in Historical._meta.fields
              if not f.name.startswith("history_")}
    Historical.objects.create(**values, history_date=when, history_type="~", history_user=None,
                              history_change_reason=reason[:100])


def correct_terms(apps, schema_editor):
    AdverseEvent = apps.get_model("followup", "AdverseEvent")
    Historical = apps.get_model("followup", "HistoricalAdverseEvent")
    when = timezone.now()
    for old, new in RENAMED.items():
        for event in AdverseEvent.objects.filter(term__iexact=old, term_other=False):
            event.term = new
            AdverseEvent.objects.filter(pk=event.pk).update(term=new)
            _history(Historical, event, REASON_RENAMED % (old, new), when)
    for old in NOW_OTHER:
        for event in AdverseEvent.objects.filter(term__iexact=old, term_other=False):
            event.term_other = True
            AdverseEvent.objects.filter(pk=event.pk).update(term_other=True)
            _history(Historical, event, REASON_OTHER % old, when)


class Migration(migrations.Migration):

    dependencies = [
        ('followup', '0010_adverse_event_status_label'),
    ]

    operations = [
        migrations.RunPython(correct_terms, migrations.RunPython.noop),
    ]
