"""Factories of the follow-up records. Adverse events and assessments are made through the
follow-up services as the product makes them (validated, graded, audited); reminders, which the
reminder sweep writes as plain rows, are plain model rows."""
import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from followup import services
from followup.models import AdverseEvent, Assessment, Reminder


class AdverseEventFactory(factory.Factory):
    """An adverse event of ``participant`` recorded by ``by`` with ``services.adverse_event_record``
    (a coordinator's is a draft for the investigator to confirm). Any field of
    ``services.AdverseEventInput`` may be given."""

    class Meta:
        model = AdverseEvent

    participant = None
    by = None
    term = "Lung infection"
    category = "non_haematological"
    onset_date = factory.LazyFunction(timezone.localdate)
    grade = 3
    serious = False
    relationship = "unlikely"

    @classmethod
    def _create(cls, model_class, *, participant, by, **data):
        return services.adverse_event_record(participant=participant, by=by,
                                             data=services.AdverseEventInput(**data))


class AssessmentFactory(factory.Factory):
    """An assessment of ``participant`` recorded by ``by`` with ``services.assessment_record`` (labs
    converted to SI and graded). Any field of ``services.AssessmentInput`` may be given."""

    class Meta:
        model = Assessment

    participant = None
    by = None
    date = factory.LazyFunction(timezone.localdate)
    visit = None
    bleeding_grade = 0
    labs = factory.LazyFunction(list)

    @classmethod
    def _create(cls, model_class, *, participant, by, **data):
        return services.assessment_record(participant=participant, by=by, data=services.AssessmentInput(**data))


class ReminderFactory(DjangoModelFactory):
    """A sent reminder row of ``participant`` at its site (one of ``visit``, ``infusion`` or ``adverse_event``)."""

    class Meta:
        model = Reminder

    participant = None
    site = factory.SelfAttribute("participant.site")
    kind = "visit_overdue"
    due_at = factory.LazyFunction(timezone.now)
    state = "sent"
    sent_at = factory.LazyFunction(timezone.now)
    recipients = ""
    subject = "s"
