"""The catalogues an administrator edits: diseases, prior therapies, lab analytes with their
accepted units and default normal ranges (`trials/studies/catalogues.yaml`).

Records store the codes (a screening's disease, a prior therapy, a lab's analyte), which never
change, so that a catalogue row's name or settings can be edited without touching the records.
The application reads the catalogues through `trials.catalogues.current()`, an immutable snapshot
renewed whenever a row here changes.
"""
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .audit_querysets import AuditedQuerySet
from .catalogue import LINEAGES
from .enums import SexRestriction

upper_code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_]*$", _("Use capital letters, digits and underscores only, starting with a letter or digit."))
lower_code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_]*$", _("Use small letters, digits and underscores only, starting with a letter or digit."))

LINEAGE_LABELS = {"platelets": _("platelets"), "red_cells": _("red cells"), "neutrophils": _("neutrophils")}


class Disease(models.Model):
    """A disease a study may admit; `lineages` are what its response engine follows."""

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[upper_code_validator])
    name = models.CharField(_("name"), max_length=200)
    lineages = models.JSONField(
        _("lineages"), default=list, blank=True,
        help_text=_("The blood lineages the disease involves by definition, which a several-lineage response "
                    "grades whatever their baseline (Evans syndrome: red cells and platelets). Leave empty when "
                    "they differ by patient (a secondary cytopenia): a lineage then counts when its baseline is "
                    "below the criteria set's threshold."))
    response_criteria = models.ForeignKey(
        "trials.ResponseCriteriaSet", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("default response criteria set"),
        help_text=_("The set a study admitting the disease uses unless it names another."))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    history = HistoricalRecords()
    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("disease")
        verbose_name_plural = _("diseases (catalogue)")

    def __str__(self):
        return f"{self.code} - {self.name}"

    def clean(self):
        super().clean()
        lineages = self.lineages
        if not isinstance(lineages, list) or any(not isinstance(item, str) or item not in LINEAGES
                                                 for item in lineages):
            raise ValidationError({"lineages": _("Give a list of %(codes)s (or none).") % {
                "codes": ", ".join(LINEAGES)}})
        if len(set(lineages)) != len(lineages):
            raise ValidationError({"lineages": _("A lineage is listed twice.")})


class Therapy(models.Model):
    """A prior therapy a screening records, with its class."""

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[lower_code_validator])
    name = models.CharField(_("name"), max_length=200)
    therapy_class = models.CharField(_("class"), max_length=100, help_text=_("e.g. immunosuppressant"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    history = HistoricalRecords()
    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("prior therapy")
        verbose_name_plural = _("prior therapies (catalogue)")

    def __str__(self):
        return f"{self.code} - {self.name}"


class Analyte(models.Model):
    """A lab analyte: values are stored in its SI unit; outside the plausible range they are refused."""

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[upper_code_validator])
    name = models.CharField(_("name"), max_length=200)
    si_unit = models.CharField(_("SI unit"), max_length=20)
    plausible_low = models.FloatField(_("plausible from (SI)"))
    plausible_high = models.FloatField(_("plausible to (SI)"))
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Place on the lab forms."))
    history = HistoricalRecords()
    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("lab analyte")
        verbose_name_plural = _("lab analytes (catalogue)")
        constraints = [
            models.CheckConstraint(condition=Q(plausible_high__gte=models.F("plausible_low")),
                                   name="analyte_plausible_range_ordered"),
        ]

    def __str__(self):
        return f"{self.code} - {self.name} ({self.si_unit})"

    def clean(self):
        super().clean()
        low, high = self.plausible_low, self.plausible_high
        if low is not None and high is not None and high < low:
            raise ValidationError({"plausible_high": _("The plausible range ends below its start.")})


class AnalyteUnit(models.Model):
    """A unit accepted at entry besides the SI unit, with the factor that converts it to SI."""

    analyte = models.ForeignKey(Analyte, on_delete=models.CASCADE, related_name="units")
    unit = models.CharField(_("unit"), max_length=20)
    factor = models.FloatField(_("factor to SI"), help_text=_("SI value = value in this unit x factor."))
    history = HistoricalRecords()
    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["analyte", "id"]
        verbose_name = _("accepted unit")
        verbose_name_plural = _("accepted units")
        constraints = [
            models.UniqueConstraint(fields=["analyte", "unit"], name="analyte_unit_once"),
            models.CheckConstraint(condition=Q(factor__gt=0), name="analyte_unit_factor_positive"),
        ]

    def __str__(self):
        return f"{self.unit} x {self.factor:g}"

    def clean(self):
        super().clean()
        if self.factor is not None and self.factor <= 0:
            raise ValidationError({"factor": _("The factor must be greater than 0.")})
        if self.analyte_id and self.unit and self.unit.strip().lower() == self.analyte.si_unit.strip().lower():
            raise ValidationError({"unit": _("The SI unit is always accepted (factor 1): list other units only.")})


class AnalyteReferenceRange(models.Model):
    """The catalogue's normal range of an analyte, in SI, for a sex and age band: used for a lab
    entered without its own limits at a site whose laboratory has given no range for it."""

    analyte = models.ForeignKey(Analyte, on_delete=models.CASCADE, related_name="reference_ranges")
    sex = models.CharField(_("sex"), max_length=10, choices=SexRestriction.choices, default=SexRestriction.ANY)
    min_age_years = models.PositiveSmallIntegerField(_("from age (years)"), default=0)
    max_age_years = models.PositiveSmallIntegerField(_("to age (years, inclusive)"), default=150)
    lln = models.FloatField(_("lower limit of normal (SI)"), null=True, blank=True)
    uln = models.FloatField(_("upper limit of normal (SI)"), null=True, blank=True)
    history = HistoricalRecords()
    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["analyte", "sex", "min_age_years"]
        verbose_name = _("default reference range")
        verbose_name_plural = _("default reference ranges")
        constraints = [
            models.UniqueConstraint(fields=["analyte", "sex", "min_age_years"], name="analyte_default_range_unique"),
            models.CheckConstraint(condition=Q(lln__isnull=False) | Q(uln__isnull=False),
                                   name="analyte_default_range_has_a_limit"),
            models.CheckConstraint(condition=Q(lln__isnull=True) | Q(uln__isnull=True) | Q(lln__lte=models.F("uln")),
                                   name="analyte_default_range_ordered"),
            models.CheckConstraint(condition=Q(max_age_years__gte=models.F("min_age_years")),
                                   name="analyte_default_range_age_band_ordered"),
        ]

    def __str__(self):
        return f"{self.analyte_id} {self.sex} {self.min_age_years}-{self.max_age_years} y: {self.lln}-{self.uln}"

    def clean(self):
        super().clean()
        if self.lln is None and self.uln is None:
            raise ValidationError({"lln": _("Give a lower limit, an upper limit or both.")})
        if self.lln is not None and self.uln is not None and self.lln > self.uln:
            raise ValidationError({"uln": _("The upper limit of normal is below the lower limit.")})
        low, high = self.min_age_years, self.max_age_years
        if low is not None and high is not None and high < low:
            raise ValidationError({"max_age_years": _("The age band ends before it starts.")})
