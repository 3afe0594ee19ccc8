"""Follow-up: each participant's visits (issue: follow-up) and adverse events (issue: 3+3 dose escalation).

One row per planned visit, created at enrolment from the study's visit definitions (after the
sex and first-N restrictions), re-planned by `followup.services` when an anchor's actual date
changes, using the pure arithmetic of `followup/schedule.py`. Time-dependent statuses (window
open, overdue) are derived at read time from `state`.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.models import VisitDefinition
from trials.scoping import ScopedQuerySet


class VisitState(models.TextChoices):
    UPCOMING = "upcoming", _("Upcoming")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")


class Visit(models.Model):
    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="visits")
    definition = models.ForeignKey(VisitDefinition, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("visit"), max_length=20)
    target_at = models.DateTimeField(_("target"))
    window_start = models.DateTimeField(_("window opens"))
    window_end = models.DateTimeField(_("window closes"))
    provisional = models.BooleanField(_("provisional"), default=False,
                                      help_text=_("Anchored on an infusion that is planned, not yet given."))
    timed = models.BooleanField(_("timed to the minute"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=VisitState.choices, default=VisitState.UPCOMING)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    deviation = models.BooleanField(_("outside the window"), default=False)
    deviation_reason = models.TextField(_("deviation reason"), blank=True)
    missed_reason = models.TextField(_("reason missed"), blank=True)
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "target_at", "id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        constraints = [
            models.UniqueConstraint(fields=["participant", "code"], name="visit_once_per_participant"),
            models.CheckConstraint(condition=Q(window_start__lte=models.F("target_at"), window_end__gte=models.F("target_at")),
                                   name="visit_window_contains_target"),
            models.CheckConstraint(condition=~Q(state="done") | Q(done_at__isnull=False), name="done_visit_has_date"),
            models.CheckConstraint(condition=~Q(state="missed") | ~Q(missed_reason=""), name="missed_visit_has_reason"),
            models.CheckConstraint(condition=Q(deviation=False) | ~Q(deviation_reason=""), name="visit_deviation_has_reason"),
        ]

    def __str__(self):
        return f"{self.participant} {self.code}"


class AdverseEventCategory(models.TextChoices):
    """The categories the DLT definition distinguishes (CLINICAL_RULES.md section 4,
    `dosing.escalation.DLT_CATEGORIES`)."""

    HAEMATOLOGICAL = "haematological", _("Haematological")
    NON_HAEMATOLOGICAL = "non_haematological", _("Non-haematological")
    INFUSION_REACTION = "infusion_reaction", _("Infusion-related reaction")
    ALLERGIC = "allergic", _("Allergic reaction")
    FEVER = "fever", _("Fever")


class Relationship(models.TextChoices):
    """Attribution to the study treatment (`dosing.escalation.DLT_RELATEDNESS`)."""

    UNRELATED = "unrelated", _("Unrelated")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


class AdverseEventStatus(models.TextChoices):
    DRAFT = "draft", _("Draft, to be graded and attributed")
    CONFIRMED = "confirmed", _("Confirmed by the investigator")


class AdverseEvent(models.Model):
    """An adverse event as the investigator graded and attributed it (CLINICAL_RULES.md sections 3-4).

    The minimum the DLT definition needs; the full capture (CTCAE term lists, grading suggestions
    from lab values, SAE reporting deadlines) adds fields to this row. `grade` is the confirmed
    CTCAE grade; whether the event is a DLT is computed (`dosing.escalation.is_dlt`), not stored.
    """

    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="adverse_events")
    term = models.CharField(_("CTCAE term"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=AdverseEventCategory.choices)
    onset_date = models.DateField(_("onset"))
    resolution_date = models.DateField(_("resolved on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AdverseEventStatus.choices,
                              default=AdverseEventStatus.CONFIRMED,
                              help_text=_("A draft (opened by an immediate infusion reaction) counts nowhere until "
                                          "graded and attributed."))
    grade = models.PositiveSmallIntegerField(_("CTCAE grade"), null=True, blank=True)
    serious = models.BooleanField(_("serious"), null=True, blank=True)
    relationship = models.CharField(_("relationship to treatment"), max_length=10, choices=Relationship.choices,
                                    blank=True)
    infusion = models.ForeignKey("dosing.Infusion", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="adverse_events", help_text=_("The infusion it was an immediate reaction to."))
    resolved_to_grade1_within_48h = models.BooleanField(
        _("resolved to grade 1 or less within 48 h"), default=False,
        help_text=_("Fever only: a grade 3 fever that resolved within 48 h is not a DLT."))
    stopped_infusions = models.BooleanField(_("stopped the planned infusions"), default=False)
    platelet_drop_confirmed = models.BooleanField(
        _("platelets >= 50 % below baseline, confirmed twice"), default=False)
    description = models.TextField(_("description"), blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "onset_date", "id"]
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        constraints = [
            models.CheckConstraint(condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=5),
                                   name="adverse_event_grade_1_to_5"),
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(grade__isnull=False, serious__isnull=False) & ~Q(relationship="")),
                name="confirmed_adverse_event_is_graded_and_attributed"),
            models.CheckConstraint(
                condition=Q(resolution_date__isnull=True) | Q(resolution_date__gte=models.F("onset_date")),
                name="adverse_event_resolution_not_before_onset"),
            models.CheckConstraint(condition=~Q(term=""), name="adverse_event_has_term"),
            models.CheckConstraint(condition=Q(category__in=AdverseEventCategory.values),
                                   name="adverse_event_category_known"),
            models.CheckConstraint(condition=Q(relationship__in=Relationship.values) | Q(relationship="", status="draft"),
                                   name="adverse_event_relationship_known"),
        ]

    def __str__(self):
        return f"{self.participant} {self.term} (grade {self.grade})"
