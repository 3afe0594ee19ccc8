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
