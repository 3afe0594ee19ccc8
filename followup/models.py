"""Follow-up: each participant's visits (issue: follow-up).

One row per planned visit, created at enrolment from the study's visit definitions (after the
sex and first-N restrictions), re-planned by `followup.services` when an anchor's actual date
changes, using the pure arithmetic of `followup/schedule.py`. Time-dependent statuses (window
open, overdue) are derived at read time from `state`.
"""
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
