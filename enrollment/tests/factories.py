"""Factories of the enrolment records, made through the enrolment services as the product makes
them (validated, eligibility evaluated, audited): screenings, consents and participants. Each needs
``by``, the user who records it; a screening needs its facts (``data``, a ``ScreeningInput``)."""
import factory
from django.utils import timezone

from enrollment import services
from enrollment.models import Consent, Participant, Screening
from trials.models import Site, Study


class ScreeningFactory(factory.Factory):
    """A screening of ``study`` (a code) at ``site`` (a code), by ``services.screening_create``."""

    class Meta:
        model = Screening

    study = "MSC-ITP-5"
    site = "PUMCH"
    data = factory.LazyFunction(services.ScreeningInput)
    by = None
    today = None

    @classmethod
    def _create(cls, model_class, *, study, site, data, by, today):
        return services.screening_create(study=Study.objects.get(code=study), site=Site.objects.get(code=site),
                                         data=data, by=by, today=today)


class ConsentFactory(factory.Factory):
    """Informed consent to ``screening``, signed now unless ``signed_at`` is given, by ``services.consent_record``."""

    class Meta:
        model = Consent

    screening = None
    version = "ICF 1.0"
    signed_at = factory.LazyFunction(timezone.now)
    obtained_by = "Dr Han"
    by = None

    @classmethod
    def _create(cls, model_class, **fields):
        return services.consent_record(**fields)


class ParticipantFactory(factory.Factory):
    """The enrolment of an eligible, consented and confirmed ``screening``, by ``services.participant_enrol``
    (study number, arm, dose level and the whole schedule planned)."""

    class Meta:
        model = Participant

    screening = None
    by = None
    enrolled_on = None
    arm_code = None
    dose_level_code = None
    first_infusion_on = None

    @classmethod
    def _create(cls, model_class, **fields):
        return services.participant_enrol(**fields)
