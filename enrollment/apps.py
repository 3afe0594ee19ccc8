from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("Screening and enrolment")

    def ready(self):
        from trials.views import register_audited

        from .models import Consent, Participant, PriorTherapy, Screening, ScreeningLab

        register_audited("screening", Screening)
        register_audited("screening-lab", ScreeningLab)
        register_audited("prior-therapy", PriorTherapy)
        register_audited("consent", Consent)
        register_audited("participant", Participant)
