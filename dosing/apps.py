from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = _("Infusions and dose escalation")

    def ready(self):
        # Models can be imported only once the app registry is ready, that is here.
        from trials.audit import register_audited  # noqa: PLC0415

        from .models import EscalationDecision, Infusion  # noqa: PLC0415

        register_audited("escalation-decision", EscalationDecision)
        register_audited("infusion", Infusion)
        from trials.audit_labels import AsWritten, register_value_display  # noqa: PLC0415

        from .anchor_text import anchor_shown  # noqa: PLC0415

        register_value_display(Infusion, "anchor", anchor_shown)
        register_value_display(EscalationDecision, "signature_meaning", AsWritten)
