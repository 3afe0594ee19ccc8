from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrialsConfig(AppConfig):
    name = "trials"
    verbose_name = _("Study configuration")

    def ready(self):
        # Models can be imported only once the app registry is ready, that is here.
        from django.contrib.auth import get_user_model  # noqa: PLC0415

        from . import account_events, models, sessions  # noqa: F401, PLC0415  (account_events and sessions connect their receivers)
        from .audit import connect_guards, register_audited, register_audited_parts  # noqa: PLC0415  (importing it connects the audit-reason guard)

        connect_guards()
        from .audit_labels import register_value_display  # noqa: PLC0415
        from .labs import range_source_shown  # noqa: PLC0415

        register_value_display(models.LabValue, "range_source", range_source_shown)
        # An account's audit trail shows its roles' history too.
        register_audited_parts(get_user_model(), "memberships")

        for name, model in (("study", models.Study), ("site", models.Site), ("arm", models.Arm),
                            ("dose-level", models.DoseLevel), ("infusion-definition", models.InfusionDefinition),
                            ("visit-definition", models.VisitDefinition), ("criterion", models.EligibilityCriterion),
                            ("study-disease", models.StudyDisease), ("membership", models.SiteMembership)):
            register_audited(name, model)

        from . import languages  # noqa: F401, PLC0415  (connects the sign-in language receiver)
