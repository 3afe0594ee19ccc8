"""Study configuration: studies, sites, arms, dose levels, schedules, criteria, roles.

Everything here is data an administrator edits without code; the built-in studies are loaded
from `trials/studies/*.yaml` by `load_studies`. Invariants that must never be violated are
database constraints as well as form validation.
"""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import catalogues
from .audit_querysets import AuditedQuerySet
from .content import content
from .catalogue_models import Analyte, AnalyteReferenceRange, AnalyteUnit, Disease, Therapy  # noqa: F401 (the app's models)
from .enums import (Assessment, CriterionKind, DoseBasis, DoseLevelStatus, InfusionAnchor, MissedInfusionRule,
                    ResponseFamily, Role, SexRestriction, StudyStatus, TimeUnit, VisitAnchor)
from .item_models import Item, ItemPlacement, ItemType  # noqa: F401 (models of this app)
from .lock_models import LockFields, lock_constraint
from .response_period import VisitWindow, time_point_errors, window_cut
from .response_thresholds import threshold_errors
from .rule_items import rule_item_errors
from .rule_params import RuleParamsError, validate_params
from .scoping import ScopedQuerySet
from .auth_models import AccountSettings, PasswordFailureCount  # noqa: F401 (the app's models)
from .version_models import StudyVersion, VersionStatus  # noqa: F401 (the app's models)
from .service_models import SubmissionKey, WorkerHeartbeat  # noqa: F401 (the app's models)

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
    _("Use letters, digits, dots, dashes and underscores only, starting with a letter or digit."),
)


class Site(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    history = HistoricalRecords()

    site_scope = "pk"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self):
        # its Chinese name for a Chinese reader when it has one (`trials.content`)
        return f"{self.code} - {content(self, 'name')}"


class SiteMembership(models.Model):
    """A user's role at one site. A user sees the records of the sites they belong to only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    history = HistoricalRecords()

    site_scope = "site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="one_role_per_user_and_site")]
        verbose_name = _("site membership")
        verbose_name_plural = _("site memberships")

    def __str__(self):
        return _("%(user)s - %(role)s at %(site)s") % {"user": self.user, "role": self.get_role_display(),
                                                      "site": self.site.code}


class ResponseCriteriaSet(models.Model):
    """A versioned set of response thresholds (CLINICAL_RULES.md sections 1-2) a disease uses."""

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    version = models.CharField(_("version"), max_length=40)
    family = models.CharField(_("response engine"), max_length=20, choices=ResponseFamily.choices)
    source = models.TextField(_("source"), help_text=_("The publication or guideline the set follows."))
    thresholds = models.JSONField(
        _("thresholds"), default=dict, blank=True, help_text=_("The numbers of the rules, editable.")
    )
    description = models.TextField(_("rules in words"), blank=True)
    description_zh = models.TextField(_("rules in words (Chinese)"), blank=True)
    history = HistoricalRecords()
    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("response criteria set")
        verbose_name_plural = _("response criteria sets")

    def __str__(self):
        return f"{self.name} ({self.version})"

    def clean(self):
        # Every threshold the family's rules read, numbers of 0 or more, no unknown key
        # (`response_thresholds.SCHEMES`, the one declaration the response pages check too).
        errors = threshold_errors(self.family, self.thresholds) if self.family in ResponseFamily.values else []
        if errors:
            raise ValidationError({"thresholds": errors})


class Study(LockFields, models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True, validators=[code_validator])
    title = models.CharField(_("title"), max_length=300)
    title_zh = models.CharField(_("title (Chinese)"), max_length=300, blank=True,
                                help_text=_("Shown to Chinese readers; empty: the English title."))
    registry_id = models.CharField(_("registry id"), max_length=40, blank=True)
    version = models.CharField(_("protocol version"), max_length=40)
    status = models.CharField(_("status"), max_length=10, choices=StudyStatus.choices, default=StudyStatus.DRAFT,
                              help_text=_("A draft records no screening until an administrator activates it."))
    effective_date = models.DateField(_("effective date"))
    design = models.TextField(_("design"), blank=True)
    design_zh = models.TextField(_("design (Chinese)"), blank=True)
    intervention = models.TextField(_("intervention"), blank=True)
    intervention_zh = models.TextField(_("intervention (Chinese)"), blank=True)
    primary_endpoint = models.TextField(_("primary endpoint"), blank=True)
    primary_endpoint_zh = models.TextField(_("primary endpoint (Chinese)"), blank=True)
    enrolment_target = models.PositiveIntegerField(_("enrolment target"), validators=[MinValueValidator(1)])
    uses_dose_escalation = models.BooleanField(
        _("dose escalation"), default=False, help_text=_("Dose levels open one after another by 3+3 decisions.")
    )
    eligibility_confirmation_required = models.BooleanField(
        _("eligibility confirmed by an investigator"), default=True,
        help_text=_("Enrolment waits for an investigator of the site to confirm the eligible screening with their "
                    "signature (password)."),
    )
    response_from_day = models.PositiveIntegerField(
        _("response assessed from day"), null=True, blank=True,
        help_text=_("Days after the first infusion from which assessments count for the best response "
                    "(empty: from the first infusion). A visit window the period reaches must lie wholly "
                    "inside it: start on the day the first visit's window opens (P1: M0.5, day 15 - 7 = 8)."),
    )
    response_until_day = models.PositiveIntegerField(
        _("response assessed until day"), null=True, blank=True,
        help_text=_("Days after the first infusion until which assessments count for the best response "
                    "(empty: no end). End on the day the last visit's window closes (P1: M24, day 720 + 14 = 734)."),
    )
    response_time_points = models.JSONField(
        _("response time points"), default=dict, blank=True,
        help_text=_('Named time-point endpoints: {"early": {"anchor": "first_infusion", "days": 7}, ...}; '
                    "names early, initial, durable, remission; anchors first_infusion or last_infusion."),
    )
    time_point_window_days = models.PositiveIntegerField(
        _("time-point window (days)"), default=7,
        help_text=_("The count nearest the time point within this many days is used."),
    )
    sites = models.ManyToManyField(Site, related_name="studies", verbose_name=_("sites"))
    # The protocol version in force (`trials.versions`); none while a draft is configured.
    active_version = models.ForeignKey("trials.StudyVersion", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("protocol version in force"))
    history = HistoricalRecords(m2m_fields=[sites])

    site_scope = "sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        constraints = [
            models.CheckConstraint(condition=Q(enrolment_target__gte=1), name="study_target_positive"),
            models.CheckConstraint(
                condition=Q(response_from_day__isnull=True) | Q(response_until_day__isnull=True)
                | Q(response_until_day__gte=models.F("response_from_day")),
                name="study_response_period_ordered",
            ),
            lock_constraint("study_lock_complete"),
        ]

    def __str__(self):
        return self.code

    def clean(self):
        super().clean()
        if (self.response_from_day is not None and self.response_until_day is not None
                and self.response_until_day < self.response_from_day):
            raise ValidationError({"response_until_day": _("The response period cannot end before it starts.")})
        errors = time_point_errors(self.response_time_points)
        if errors:
            raise ValidationError({"response_time_points": errors})


class StudyDisease(models.Model):
    """A disease a study admits, and the response criteria set that judges it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="diseases")
    disease = models.CharField(_("disease"), max_length=30, help_text=_("A disease code of the catalogue."))
    response_criteria = models.ForeignKey(
        ResponseCriteriaSet, on_delete=models.PROTECT, related_name="+", verbose_name=_("response criteria set")
    )
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["study", "disease"]
        constraints = [models.UniqueConstraint(fields=["study", "disease"], name="disease_once_per_study")]
        verbose_name = _("disease")
        verbose_name_plural = _("diseases and response criteria")

    def __str__(self):
        return f"{self.study.code}: {self.disease}"

    def clean(self):
        super().clean()
        known = catalogues.current().diseases
        if self.disease and self.disease not in known:
            raise ValidationError({"disease": _("Unknown disease; use one of %(codes)s.") % {
                "codes": ", ".join(known)}})


class Arm(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="arms")
    code = models.CharField(_("code"), max_length=20, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    product_kind = models.CharField(
        _("cell product"),
        max_length=20,
        choices=[("cord_blood", _("Umbilical cord blood unit")), ("msc", _("Mesenchymal stem cells"))],
    )
    missed_infusion_rule = models.CharField(
        _("after a missed infusion"),
        max_length=20,
        choices=MissedInfusionRule.choices,
        default=MissedInfusionRule.LAST_GIVEN,
    )
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["study", "code"]
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="arm_code_unique_in_study")]
        verbose_name = _("arm")
        verbose_name_plural = _("arms")

    def __str__(self):
        return f"{self.study.code} / {self.code}"


class DoseLevel(models.Model):
    """A dose group. Doses are in cells (flat) or cells per kg (per kg)."""

    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="dose_levels")
    code = models.CharField(_("code"), max_length=20, validators=[code_validator])
    label = models.CharField(_("label"), max_length=200, blank=True)
    label_zh = models.CharField(_("label (Chinese)"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), help_text=_("Escalation goes from low to high order."))
    dose_basis = models.CharField(_("dose basis"), max_length=10, choices=DoseBasis.choices, default=DoseBasis.PER_KG)
    dose_per_kg = models.FloatField(_("dose per kg (cells/kg)"), null=True, blank=True)
    flat_dose = models.FloatField(_("flat dose (cells)"), null=True, blank=True)
    # CLINICAL_RULES.md section 4, "Dose given vs computed" (`dosing.dose`): more than 10 % off the
    # computed dose is a dose deviation needing a reason; beyond these limits it is refused.
    hard_limit_low = models.FloatField(
        _("hard limit, low (x computed dose)"), default=0.5,
        help_text=_("An infusion below this multiple of the computed dose is refused (0.5 = half). Between 0 and 1."))
    hard_limit_high = models.FloatField(
        _("hard limit, high (x computed dose)"), default=2.0,
        help_text=_("An infusion above this multiple of the computed dose is refused (2 = double). Above 1."))
    group_cap = models.PositiveIntegerField(
        _("participants in the group"), null=True, blank=True, help_text=_("Empty: no cap.")
    )
    status = models.CharField(_("status"), max_length=10, choices=DoseLevelStatus.choices,
                              default=DoseLevelStatus.PLANNED)
    history = HistoricalRecords()

    site_scope = "arm__study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["arm", "order"]
        verbose_name = _("dose level")
        verbose_name_plural = _("dose levels")
        constraints = [
            models.UniqueConstraint(fields=["arm", "code"], name="dose_level_code_unique_in_arm"),
            models.UniqueConstraint(fields=["arm", "order"], name="dose_level_order_unique_in_arm"),
            models.CheckConstraint(
                # NULL > 0 is unknown, which a CHECK lets through: test for NULL explicitly.
                condition=(Q(dose_basis="per_kg", dose_per_kg__isnull=False, dose_per_kg__gt=0, flat_dose__isnull=True))
                | (Q(dose_basis="flat", flat_dose__isnull=False, flat_dose__gt=0, dose_per_kg__isnull=True)),
                name="dose_matches_basis",
            ),
            models.CheckConstraint(
                condition=Q(hard_limit_low__gt=0, hard_limit_low__lt=1, hard_limit_high__gt=1),
                name="hard_limits_bracket_the_dose",
            ),
            models.CheckConstraint(condition=Q(group_cap__isnull=True) | Q(group_cap__gte=1),
                                   name="group_cap_positive"),
        ]

    def __str__(self):
        return f"{self.arm.study.code} / {self.code}"

    @property
    def dose(self) -> float | None:
        return self.dose_per_kg if self.dose_basis == DoseBasis.PER_KG else self.flat_dose

    @property
    def dose_unit(self) -> str:
        return "cells/kg" if self.dose_basis == DoseBasis.PER_KG else "cells"

    @property
    def hard_limits(self) -> tuple[float, float]:
        return self.hard_limit_low, self.hard_limit_high

    def clean(self):
        errors = {}
        if self.dose_basis == DoseBasis.PER_KG:
            if not self.dose_per_kg or self.dose_per_kg <= 0:
                errors["dose_per_kg"] = _("A per-kg dose level needs a dose per kg greater than 0.")
            if self.flat_dose is not None:
                errors["flat_dose"] = _("Leave the flat dose empty for a per-kg dose level.")
        else:
            if not self.flat_dose or self.flat_dose <= 0:
                errors["flat_dose"] = _("A flat dose level needs a dose greater than 0.")
            if self.dose_per_kg is not None:
                errors["dose_per_kg"] = _("Leave the dose per kg empty for a flat dose level.")
        if self.hard_limit_low is not None and not 0 < self.hard_limit_low < 1:
            errors["hard_limit_low"] = _("The low hard limit must be between 0 and 1 (a fraction of the computed "
                                         "dose, e.g. 0.5).")
        if self.hard_limit_high is not None and not self.hard_limit_high > 1:
            errors["hard_limit_high"] = _("The high hard limit must be above 1 (a multiple of the computed dose, "
                                          "e.g. 2).")
        if errors:
            raise ValidationError(errors)


class InfusionDefinition(models.Model):
    """One planned infusion of an arm (CLINICAL_RULES.md section 8).

    The target day is `offset_days` after day 0 or after the previous infusion as actually given;
    the window is [target - window_before_days, target + window_after_days].
    """

    arm = models.ForeignKey(Arm, on_delete=models.CASCADE, related_name="infusion_definitions")
    number = models.PositiveSmallIntegerField(_("infusion number"), validators=[MinValueValidator(1)])
    anchor = models.CharField(_("anchored on"), max_length=20, choices=InfusionAnchor.choices)
    offset_days = models.IntegerField(_("days after the anchor"))
    window_before_days = models.PositiveSmallIntegerField(_("window: days early allowed"), default=0)
    window_after_days = models.PositiveSmallIntegerField(_("window: days late allowed"), default=0)
    history = HistoricalRecords()

    site_scope = "arm__study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["arm", "number"]
        verbose_name = _("infusion")
        verbose_name_plural = _("infusion schedule")
        constraints = [
            models.UniqueConstraint(fields=["arm", "number"], name="infusion_number_unique_in_arm"),
            models.CheckConstraint(condition=Q(number__gte=1), name="infusion_number_positive"),
            models.CheckConstraint(
                condition=Q(window_before_days__gte=0, window_after_days__gte=0), name="infusion_window_not_inverted"
            ),
            models.CheckConstraint(
                condition=~Q(number=1, anchor="previous_actual"), name="first_infusion_anchored_on_day0"
            ),
        ]

    def __str__(self):
        return f"{self.arm} #{self.number}"

    def clean(self):
        if self.number == 1 and self.anchor == InfusionAnchor.PREVIOUS_ACTUAL:
            raise ValidationError({"anchor": _("The first infusion has no previous infusion: anchor it on day 0.")})
        if self.anchor == InfusionAnchor.PREVIOUS_ACTUAL and self.offset_days is not None and self.offset_days <= 0:
            raise ValidationError(
                {"offset_days": _("An infusion anchored on the previous one must come at least 1 day after it.")}
            )


class VisitDefinition(models.Model):
    """A planned visit or timed sample (CLINICAL_RULES.md section 8).

    Target = anchor + offset; window = [target - window_before, target + window_after], both in
    `window_unit`. Restrictions limit who gets the visit (female only; first N participants).
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="visit_definitions")
    arm = models.ForeignKey(
        Arm, on_delete=models.CASCADE, null=True, blank=True, related_name="visit_definitions",
        help_text=_("Empty: every arm."),
    )
    code = models.CharField(_("code"), max_length=20, validators=[code_validator])
    label = models.CharField(_("label"), max_length=200)
    label_zh = models.CharField(_("label (Chinese)"), max_length=200, blank=True,
                                help_text=_("Shown to Chinese readers; empty: the English label."))
    anchor = models.CharField(_("anchored on"), max_length=20, choices=VisitAnchor.choices)
    offset = models.IntegerField(_("offset from the anchor"), help_text=_("Negative: before the anchor."))
    offset_unit = models.CharField(_("offset unit"), max_length=10, choices=TimeUnit.choices, default=TimeUnit.DAYS)
    window_before = models.PositiveIntegerField(_("window before"), default=0)
    window_after = models.PositiveIntegerField(_("window after"), default=0)
    window_unit = models.CharField(_("window unit"), max_length=10, choices=TimeUnit.choices, default=TimeUnit.DAYS)
    assessments = models.JSONField(_("assessments expected"), default=list, blank=True)
    sex_restriction = models.CharField(
        _("who"), max_length=10, choices=SexRestriction.choices, default=SexRestriction.ANY
    )
    first_n_participants = models.PositiveIntegerField(
        _("only the first N participants"), null=True, blank=True, help_text=_("Empty: every participant.")
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["study", "order", "id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visit schedule")
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="visit_code_unique_in_study"),
            models.CheckConstraint(condition=Q(window_before__gte=0, window_after__gte=0),
                                   name="visit_window_not_inverted"),
            models.CheckConstraint(
                condition=Q(first_n_participants__isnull=True) | Q(first_n_participants__gte=1),
                name="visit_first_n_positive",
            ),
        ]

    def __str__(self):
        return f"{self.study.code} / {self.code}"

    def clean(self):
        errors = {}
        valid = set(Assessment.values)
        if not isinstance(self.assessments, list) or any(a not in valid for a in self.assessments):
            errors["assessments"] = _("Choose assessments from this list: %(choices)s.") % {
                "choices": ", ".join(sorted(valid))
            }
        if self.arm_id and self.study_id and self.arm.study_id != self.study_id:
            errors["arm"] = _("The arm belongs to another study.")
        study = getattr(self, "study", None)  # the study form's values when edited with it
        if study is not None and not errors:
            cut = window_cut(VisitWindow.of(self), study.response_from_day, study.response_until_day)
            if cut:
                errors["__all__"] = cut
        if errors:
            raise ValidationError(errors)


class EligibilityCriterion(models.Model):
    """An inclusion or exclusion criterion: a typed rule from the library with its parameters.

    The rule types and their parameters are those of `enrollment.eligibility` (CLINICAL_RULES.md
    section 5); parameters are validated on save through the admin and by `load_studies`.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="criteria")
    code = models.CharField(_("code"), max_length=40, validators=[code_validator])
    kind = models.CharField(_("kind"), max_length=10, choices=CriterionKind.choices)
    text = models.TextField(_("text"), help_text=_("The criterion as the protocol words it."))
    text_zh = models.TextField(_("text (Chinese)"), blank=True,
                               help_text=_("The criterion as the Chinese protocol words it; empty: the English text."))
    source = models.CharField(_("protocol reference"), max_length=200, blank=True)
    rule_type = models.CharField(_("rule"), max_length=40)
    params = models.JSONField(_("rule parameters"), default=dict)
    order = models.PositiveIntegerField(_("order"), default=0)
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["study", "kind", "order", "id"]
        verbose_name = _("eligibility criterion")
        verbose_name_plural = _("eligibility criteria")
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="criterion_code_unique_in_study")]

    def __str__(self):
        return f"{self.study.code} / {self.code}"

    def clean(self):
        try:
            self.params = validate_params(self.rule_type, self.params, catalogue=catalogues.current())
        except RuleParamsError as exc:
            messages = [f"{path}: {'; '.join(msgs)}" if path else "; ".join(msgs) for path, msgs in exc.errors.items()]
            field = "rule_type" if "rule_type" in exc.errors else "params"
            raise ValidationError({field: messages}) from None
        items = {item.code: item.spec for item in Item.objects.filter(study_id=self.study_id)}
        problems = rule_item_errors(self.rule_type, self.params, items)
        if problems:
            raise ValidationError({"params": [f"{path}: {'; '.join(msgs)}" for path, msgs in problems.items()]})


class ReferenceRange(models.Model):
    """A site laboratory's normal range for an analyte, in SI (CLINICAL_RULES.md section 5).

    Used when a lab value arrives without its own range: the row of the patient's age band, the
    sex-specific row before the "any" row.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="reference_ranges")
    analyte = models.CharField(_("analyte"), max_length=20)
    sex = models.CharField(_("sex"), max_length=10, choices=SexRestriction.choices, default=SexRestriction.ANY)
    min_age_years = models.PositiveSmallIntegerField(_("from age (years)"), default=0)
    max_age_years = models.PositiveSmallIntegerField(_("to age (years, inclusive)"), default=150)
    lln = models.FloatField(_("lower limit of normal (SI)"), null=True, blank=True)
    uln = models.FloatField(_("upper limit of normal (SI)"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    history = HistoricalRecords()

    site_scope = "site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["site", "analyte", "sex", "min_age_years"]
        verbose_name = _("reference range")
        verbose_name_plural = _("reference ranges")
        constraints = [
            models.UniqueConstraint(fields=["site", "analyte", "sex", "min_age_years"], name="reference_range_unique"),
            models.CheckConstraint(condition=Q(lln__isnull=False) | Q(uln__isnull=False),
                                   name="reference_range_has_a_limit"),
            models.CheckConstraint(condition=Q(lln__isnull=True) | Q(uln__isnull=True) | Q(lln__lte=models.F("uln")),
                                   name="reference_range_ordered"),
            models.CheckConstraint(condition=Q(max_age_years__gte=models.F("min_age_years")),
                                   name="reference_range_age_band_ordered"),
        ]

    def __str__(self):
        return f"{self.site.code} {self.analyte} {self.lln}-{self.uln}"

    def clean(self):
        known = catalogues.current().analytes
        if self.analyte not in known:
            raise ValidationError({"analyte": _("Unknown analyte; use one of %(codes)s.") % {
                "codes": ", ".join(known)}})


class LabValue(models.Model):
    """A lab value in SI with the value and unit as entered and the reference range used
    (CLINICAL_RULES.md sections 5 and 7): the report's limits where it gave them, else the site's."""

    analyte = models.CharField(_("analyte"), max_length=20, help_text=_("An analyte code of the catalogue."))
    value = models.FloatField(_("value (SI)"))
    entered_value = models.FloatField(_("value as entered"))
    entered_unit = models.CharField(_("unit as entered"), max_length=20)
    report_lln = models.FloatField(_("lower limit on the report (SI)"), null=True, blank=True)
    report_uln = models.FloatField(_("upper limit on the report (SI)"), null=True, blank=True)
    lln = models.FloatField(_("lower limit of normal used (SI)"), null=True, blank=True)
    uln = models.FloatField(_("upper limit of normal used (SI)"), null=True, blank=True)
    range_source = models.CharField(_("reference range from"), max_length=20, blank=True,
                                    help_text=_("'report': the reporting lab; 'site': the site's stored range; "
                                                "'report+site': the limit the report gave, the other from the site; "
                                                "'catalogue': the lab catalogue's default range (the site had none)."))

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.analyte} {self.value}"
