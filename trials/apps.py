from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrialsConfig(AppConfig):
    name = "trials"
    verbose_name = _("Study configuration")

    def ready(self):
        # Models can be imported only once the app registry is ready, that is here.
        from . import models  # noqa: PLC0415
        from .audit import connect_guards, register_audited  # noqa: PLC0415  (importing it connects the audit-reason guard)

        connect_guards()

        for name, model in (("study", models.Study), ("site", models.Site), ("arm", models.Arm),
                            ("dose-level", models.DoseLevel), ("infusion-definition", models.InfusionDefinition),
                            ("visit-definition", models.VisitDefinition), ("criterion", models.EligibilityCriterion),
                            ("study-disease", models.StudyDisease), ("membership", models.SiteMembership)):
            register_audited(name, model)

        from . import languages  # noqa: F401, PLC0415  (connects the sign-in language receiver)
