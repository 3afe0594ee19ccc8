"""Vocabularies of screening and enrolment (API.md "Codes")."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class TherapyOutcome(models.TextChoices):
    NONE = "none", _("No response")
    PR = "pr", _("Partial response")
    CR = "cr", _("Complete response")
    RELAPSE = "relapse", _("Relapse after response")
    ONGOING = "ongoing", _("Ongoing, not yet assessable")


class ParticipantStatus(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    ON_TREATMENT = "on_treatment", _("On treatment")
    FOLLOW_UP = "follow_up", _("In follow-up")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class WithdrawalReason(models.TextChoices):
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    ADVERSE_EVENT = "adverse_event", _("Adverse event")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")
    INVESTIGATOR_DECISION = "investigator_decision", _("Investigator decision")
    OTHER = "other", _("Other")


class PregnancyTest(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


# Yes/no facts of the screening form (API.md "conditions"); the study's criteria say which count.
CONDITIONS = {
    "abnormal_cardiac_function": _("Abnormal cardiac function"),
    "tumour": _("Tumour"),
    "carcinoma_in_situ_only": _("Only carcinoma in situ"),
    "uncontrolled_infection": _("Uncontrollable systemic infection"),
    "other_serious_disease": _("Other serious disease"),
    "pregnant": _("Pregnant"),
    "lactating": _("Breastfeeding"),
    "mental_illness": _("Mental illness affecting consent or follow-up"),
    "other_secondary_disease": _("Secondary disease other than the autoimmune disease"),
}

# Other answers (API.md "Screening facts"): name -> (label, kind) where kind is bool, number or a choices class.
ANSWERS = {
    "diagnosis_meets_guideline": (_("Diagnosis meets the guideline the protocol names"), "bool"),
    "thrombocytopenia_months": (_("Months of thrombocytopenia"), "number"),
    "stable_maintenance_therapy_4_weeks": (_("No maintenance therapy, or a dose stable for at least 4 weeks"), "bool"),
    "childbearing_potential": (_("Woman of childbearing potential"), "bool"),
    "pregnancy_test": (_("Pregnancy test"), PregnancyTest),
    "agrees_contraception": (_("Agrees to contraception during the study"), "bool"),
    "fertile": (_("Fertile man"), "bool"),
    "agrees_barrier_contraception_or_abstinence": (_("Agrees to barrier contraception or abstinence"), "bool"),
    "understands_and_complies": (_("Understands the study and can comply"), "bool"),
}
