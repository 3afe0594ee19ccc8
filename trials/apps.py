from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrialsConfig(AppConfig):
    name = "trials"
    verbose_name = _("Study configuration")

    def ready(self):
        from . import audit  # noqa: F401  (connects the audit-reason guard)
