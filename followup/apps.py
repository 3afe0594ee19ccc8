from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from trials import hooks


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("Follow-up and response")

    def ready(self):
        # Models, and the modules that use them (the audit registry reads the models too), can be
        # imported only once the app registry is ready, that is here.
        from trials.audit import register_audited, register_audited_parts, register_item_answers  # noqa: PLC0415
        from trials.audit_labels import AsWritten, register_value_display  # noqa: PLC0415

        from .casebook_changes import after_migrate  # noqa: PLC0415
        from .dashboard_version import after_migrate as dashboard_after_migrate  # noqa: PLC0415
        from .export_odm_kept import sources  # noqa: PLC0415
        from .models import (  # noqa: PLC0415
            AdverseEvent,
            Assessment,
            CasebookSignature,
            DataQuery,
            ItemVerification,
            LabResult,
            Visit,
        )
        from .participant_schedule import participant_schedule  # noqa: PLC0415
        from .selectors import assessment_item_answers, escalation_events_prefetch  # noqa: PLC0415
        from .services.infusions import after_infusion_change, schedule_on_enrolment  # noqa: PLC0415
        from .sdv_counts import after_migrate as sdv_after_migrate  # noqa: PLC0415
        from .signoff import casebook_signed  # noqa: PLC0415

        register_audited("adverse-event", AdverseEvent)
        register_audited("assessment", Assessment)
        register_audited("visit", Visit)
        register_audited("lab-result", LabResult)
        register_audited("data-query", DataQuery)
        register_audited("casebook-signature", CasebookSignature)
        register_audited("item-verification", ItemVerification)
        register_audited_parts(Assessment, "labs", "transfusions", "rescue_therapies")
        register_item_answers(Assessment, "items", study_id=lambda assessment: assessment.participant.study_id)
        register_value_display(AdverseEvent, "confirmation_meaning", AsWritten)
        register_value_display(CasebookSignature, "meaning", AsWritten)
        hooks.participant_enrolled.connect(schedule_on_enrolment)
        hooks.infusion_changed.connect(after_infusion_change)
        hooks.escalation_events.connect(escalation_events_prefetch)
        hooks.participant_schedule.connect(participant_schedule)
        hooks.item_answers.connect(assessment_item_answers)
        hooks.casebook_signed.connect(casebook_signed)
        # A table rebuilt by a migration (SQLite) loses its triggers: put back after every migrate.
        post_migrate.connect(after_migrate, sender=self, dispatch_uid="followup-casebook-change-triggers")
        post_migrate.connect(sdv_after_migrate, sender=self, dispatch_uid="followup-sdv-count-triggers")
        post_migrate.connect(dashboard_after_migrate, sender=self, dispatch_uid="followup-dashboard-version-triggers")
        sources()  # the code this process runs, read when it starts (the ODM export's kept subjects)
