"""Screening, consent, enrolment and withdrawal (issue: screening and enrolment).

A screening holds the facts a coordinator records (demographics, disease, labs in SI with the
value as entered, prior therapies, the answers to the study's screening items) and the last eligibility
evaluation with each criterion's outcome and arithmetic. A participant is an enrolled screening.
Every row keeps its history; writes go through `enrollment.services`.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.concurrency import VersionedModel
from trials.lock_models import LockFields, lock_constraint
from trials.models import Arm, DoseLevel, LabValue, Site, Study
from trials.scoping import ScopedQuerySet
from trials.signature_record import Signature

from .enums import ParticipantStatus, Sex, TherapyOutcome, WithdrawalReason


class Screening(VersionedModel):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="screenings")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="screenings")
    sequence = models.PositiveIntegerField(_("sequence at the site"))
    number = models.CharField(_("screening number"), max_length=80, unique=True)

    screening_date = models.DateField(_("screening date"), null=True, blank=True)
    initials = models.CharField(_("initials"), max_length=10, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices, blank=True)
    weight_kg = models.FloatField(_("weight (kg)"), null=True, blank=True)
    height_cm = models.FloatField(_("height (cm)"), null=True, blank=True)
    disease = models.CharField(_("disease"), max_length=30, blank=True, help_text=_("A disease code of the catalogue."))
    diagnosis_date = models.DateField(_("date of diagnosis"), null=True, blank=True)
    ecog = models.PositiveSmallIntegerField(_("ECOG performance status"), null=True, blank=True)
    items = models.JSONField(_("items"), default=dict, blank=True,
                             help_text=_("Answers to the study's screening items, by item code (trials.items)."))
    prior_therapies_recorded = models.BooleanField(
        _("prior therapies recorded"), default=False,
        help_text=_("On when the prior-therapy history has been taken (an empty list then means none)."),
    )

    eligible = models.BooleanField(_("eligible"), null=True, blank=True)
    eligibility = models.JSONField(_("criteria outcomes"), default=list, blank=True)
    evaluated_at = models.DateTimeField(_("evaluated at"), null=True, blank=True)
    protocol_version = models.CharField(_("protocol version evaluated under"), max_length=40, blank=True,
                                        help_text=_("The study's protocol version when the criteria were evaluated."))
    # The investigator's signed eligibility confirmation (`services.screening_eligibility_confirm`);
    # cleared when the facts it confirmed change.
    eligibility_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                                 blank=True, related_name="+",
                                                 verbose_name=_("eligibility confirmed by"))
    eligibility_confirmed_at = models.DateTimeField(_("eligibility confirmed at"), null=True, blank=True)
    eligibility_confirmation_meaning = models.TextField(_("meaning of the eligibility signature"), blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    site_scope = "site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")
        constraints = [
            models.UniqueConstraint(fields=["study", "site", "sequence"], name="screening_sequence_unique"),
            models.CheckConstraint(condition=Q(ecog__isnull=True) | Q(ecog__lte=5), name="ecog_0_to_5"),
            models.CheckConstraint(condition=Q(weight_kg__isnull=True) | Q(weight_kg__gt=0, weight_kg__lt=400),
                                   name="screening_weight_plausible"),
            models.CheckConstraint(condition=Q(height_cm__isnull=True) | Q(height_cm__gt=30, height_cm__lt=260),
                                   name="screening_height_plausible"),
        ]

    def __str__(self):
        return self.number

    @property
    def outcome(self) -> str:
        """eligible | screen_failure | pending (while any criterion is missing)."""
        if self.eligible is True:
            return "eligible"
        if self.eligible is False:
            return "screen_failure"
        return "pending"

    @property
    def eligibility_confirmed(self) -> bool:
        return self.eligibility_confirmed_at is not None

    @property
    def eligibility_signature(self) -> Signature | None:
        """The investigator's signed eligibility confirmation, as pages show it (None: not confirmed)."""
        if self.eligibility_confirmed_at is None:
            return None
        return Signature.of(self.eligibility_confirmed_by, self.eligibility_confirmed_at,
                            self.eligibility_confirmation_meaning)

    @property
    def failed_criteria(self) -> list[str]:
        return [c["code"] for c in self.eligibility
                if (c["kind"] == "inclusion" and c["outcome"] == "not_met")
                or (c["kind"] == "exclusion" and c["outcome"] == "met")]

    @property
    def missing_criteria(self) -> list[str]:
        return [c["code"] for c in self.eligibility if c["outcome"] == "missing"]

    def evaluated_under_other_criteria(self, criteria) -> bool:
        """Whether the criteria (rows of the study now) differ from those this evaluation used: a
        criterion added, removed or reworded, or another protocol version."""
        used = [(c["code"], c["kind"], c["text"]) for c in self.eligibility]
        now = [(c.code, c.kind, c.text) for c in criteria]
        return self.evaluated_at is not None and (
            sorted(used) != sorted(now) or self.protocol_version != self.study.version)


class ScreeningLab(LabValue):
    """A screening lab value: SI value, the value and unit as entered, the reporting lab's range."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="labs")
    sampled_on = models.DateField(_("sample date"), null=True, blank=True)
    history = HistoricalRecords()

    site_scope = "screening__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["screening", "analyte"]
        verbose_name = _("screening lab value")
        constraints = [
            models.UniqueConstraint(fields=["screening", "analyte"], name="one_lab_value_per_analyte_at_screening"),
            models.CheckConstraint(condition=Q(value__gte=0), name="lab_value_not_negative"),
            models.CheckConstraint(condition=Q(lln__isnull=True) | Q(uln__isnull=True) | Q(lln__lte=models.F("uln")),
                                   name="lab_range_ordered"),
        ]




class PriorTherapy(models.Model):
    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="prior_therapies")
    therapy = models.CharField(_("therapy"), max_length=20, help_text=_("A prior-therapy code of the catalogue."))
    start = models.DateField(_("start"), null=True, blank=True)
    end = models.DateField(_("end"), null=True, blank=True)
    dose_text = models.CharField(_("dose"), max_length=200, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=TherapyOutcome.choices)
    history = HistoricalRecords()

    site_scope = "screening__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["screening", "start", "id"]
        verbose_name = _("prior therapy")
        verbose_name_plural = _("prior therapies")
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="therapy_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"{self.therapy} ({self.outcome})"


class Consent(models.Model):
    """Informed consent; a minor's consent names the legal guardian who signed."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="consents")
    version = models.CharField(_("consent form version"), max_length=100)
    signed_at = models.DateTimeField(_("signed at"))
    obtained_by = models.CharField(_("consent obtained by"), max_length=200)
    guardian_name = models.CharField(_("legal guardian"), max_length=200, blank=True)
    guardian_relationship = models.CharField(_("guardian's relationship"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    site_scope = "screening__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["screening", "signed_at"]
        verbose_name = _("consent")
        constraints = [
            models.CheckConstraint(condition=~Q(version=""), name="consent_has_version"),
            models.CheckConstraint(condition=~Q(obtained_by=""), name="consent_has_person"),
        ]

    def __str__(self):
        return f"{self.screening} consent {self.version}"


class ParticipantQuerySet(ScopedQuerySet):
    def holding_a_place(self):
        """Participants who count against their dose group's cap: all but those withdrawn before
        receiving any infusion (they are replaced; one who received cells stays in the group)."""
        return self.filter(holding_a_place_condition())


def holding_a_place_condition() -> Q:
    """The condition of `ParticipantQuerySet.holding_a_place`, to filter an aggregate with."""
    infusion_model = Participant.infusions.rel.related_model
    given = infusion_model.objects.filter(participant=models.OuterRef("pk"), state="given")
    return ~Q(status=ParticipantStatus.WITHDRAWN) | models.Exists(given)


class Participant(LockFields, models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="participants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    screening = models.OneToOneField(Screening, on_delete=models.PROTECT, related_name="participant")
    sequence = models.PositiveIntegerField(_("sequence at the site"))
    study_number = models.CharField(_("study number"), max_length=80, unique=True)
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="participants")
    dose_level = models.ForeignKey(DoseLevel, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="participants")
    enrolled_on = models.DateField(_("enrolment date"))
    protocol_version = models.CharField(_("protocol version at enrolment"), max_length=40, blank=True)
    planned_day0 = models.DateField(_("planned first infusion"),
                                    help_text=_("Day 0 of the plan until the first infusion is given."))
    study_order = models.PositiveIntegerField(_("order of enrolment in the study"),
                                              help_text=_("For visits limited to the first N participants."))
    status = models.CharField(_("status"), max_length=20, choices=ParticipantStatus.choices,
                              default=ParticipantStatus.ENROLLED)
    withdrawn_on = models.DateField(_("withdrawal date"), null=True, blank=True)
    withdrawal_reason = models.CharField(_("withdrawal reason"), max_length=30, choices=WithdrawalReason.choices,
                                         blank=True)
    withdrawal_detail = models.TextField(_("withdrawal details"), blank=True)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    site_scope = "site"
    objects = ParticipantQuerySet.as_manager()

    class Meta:
        ordering = ["study", "site", "sequence"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["study", "site", "sequence"], name="participant_sequence_unique"),
            models.CheckConstraint(
                condition=(Q(status="withdrawn", withdrawn_on__isnull=False) & ~Q(withdrawal_reason=""))
                | (~Q(status="withdrawn") & Q(withdrawn_on__isnull=True, withdrawal_reason="")),
                name="withdrawal_has_date_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("enrolled_on")),
                name="withdrawal_not_before_enrolment",
            ),
            models.CheckConstraint(condition=Q(planned_day0__gte=models.F("enrolled_on")),
                                   name="first_infusion_not_before_enrolment"),
            models.UniqueConstraint(fields=["study", "study_order"], name="study_order_unique"),
            lock_constraint("participant_lock_complete"),
        ]

    def __str__(self):
        return self.study_number
