from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = _("Infusions and dose escalation")

    def ready(self):
        from trials.views import register_audited

        from .models import EscalationDecision

        register_audited("escalation-decision", EscalationDecision)
