from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from trials import hooks


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("Screening and enrolment")

    def ready(self):
        # Models can be imported only once the app registry is ready, that is here.
        from trials.audit import register_audited, register_item_answers  # noqa: PLC0415
        from trials.audit_labels import AsWritten, register_value_display  # noqa: PLC0415
        from trials.audit_reasons import register_composed_reason  # noqa: PLC0415

        from .enums import WithdrawalReason  # noqa: PLC0415

        from .eligibility_text import criteria_summary  # noqa: PLC0415 (also registers the criteria's message codes)
        from .models import Consent, Participant, PriorTherapy, Screening, ScreeningLab  # noqa: PLC0415
        from .selectors import screening_item_answers  # noqa: PLC0415

        register_audited("screening", Screening)
        register_audited("screening-lab", ScreeningLab)
        register_audited("prior-therapy", PriorTherapy)
        register_audited("consent", Consent)
        register_audited("participant", Participant)
        register_item_answers(Screening, "items", study_id=lambda screening: screening.study_id)
        register_value_display(Screening, "eligibility", criteria_summary)
        register_value_display(Screening, "eligibility_confirmation_meaning", AsWritten)
        hooks.item_answers.connect(screening_item_answers)
        # the withdrawal's reason is one of its labels, shown in the reader's language
        register_composed_reason(gettext_noop("Withdrawn: %(reason)s"), reason=WithdrawalReason.labels)
