from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("Follow-up and response")

    def ready(self):
        from trials.audit import register_audited_parts
        from trials.views import register_audited

        from .models import AdverseEvent, Assessment

        register_audited("adverse-event", AdverseEvent)
        register_audited("assessment", Assessment)
        register_audited_parts(Assessment, "labs", "transfusions", "rescue_therapies")
