from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = _("Infusions and dose escalation")

    def ready(self):
        # Models can be imported only once the app registry is ready, that is here.
        from trials.audit import register_audited  # noqa: PLC0415
        from trials.audit_labels import AsWritten, register_value_display  # noqa: PLC0415

        from . import messages  # noqa: F401, PLC0415 (registers the doses' and windows' message codes)
        from .models import EscalationDecision, Infusion  # noqa: PLC0415

        register_audited("escalation-decision", EscalationDecision)
        register_audited("infusion", Infusion)
        register_value_display(EscalationDecision, "signature_meaning", AsWritten)
