"""Infusions: the plan of each participant and what was given (issue: infusions and escalation),
and the signed dose-escalation decisions (issue: 3+3 dose escalation).

One row per planned infusion, created at enrolment from the arm's infusion definitions. The plan
(target and window) is re-computed by `dosing.services` from what actually happened, using the
pure arithmetic of `dosing/windows.py`; the row keeps the plan in force and the explanation of its
anchor, and an infusion given its dose arithmetic, both as messages (`dosing.messages`) worded for
each reader (`Infusion.anchor_text`, `Infusion.dose_text`). Time-dependent statuses (window open,
overdue) are derived at read time from `state`.
"""
from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.concurrency import VersionedModel
from trials.messages import MessageField, render
from trials.models import DoseLevel, Study
from trials.scoping import ScopedQuerySet
from trials.signature_record import Signature


class InfusionState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    GIVEN = "given", _("Given")
    MISSED = "missed", _("Missed")


# A planned infusion's window start, NULL for any other (`followup.worklist_reads` filters on it:
# the expression of the index `infusion_planned_opens`, so its statistics are the planned ones').
PLANNED_WINDOW_START = Case(When(state="planned", then=F("window_start")))


class Infusion(VersionedModel):
    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="infusions")
    number = models.PositiveSmallIntegerField(_("infusion number"))

    # The plan in force.
    target_date = models.DateField(_("target date"))
    window_start = models.DateField(_("window opens"))
    window_end = models.DateField(_("window closes"))
    # Which date the target counts from, as a message (`dosing.messages`), worded for each reader.
    anchor_message = MessageField(_("planned from"))

    # What happened.
    state = models.CharField(_("state"), max_length=10, choices=InfusionState.choices, default=InfusionState.PLANNED)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    weight_kg = models.FloatField(_("weight on the day (kg)"), null=True, blank=True)
    dose_level = models.ForeignKey(DoseLevel, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    dose_per_kg = models.FloatField(_("dose per kg (cells/kg)"), null=True, blank=True)
    computed_dose = models.FloatField(_("computed dose (cells)"), null=True, blank=True)
    cells_infused = models.FloatField(_("cells infused"), null=True, blank=True)
    # The dose arithmetic of an infusion given, as a message (`dosing.dose.check_dose`).
    dose_message = MessageField(_("dose arithmetic"))
    dose_confirmation = models.TextField(_("reason for the dose deviation"), blank=True)
    # CLINICAL_RULES.md section 4: more than 10 % off the computed dose, inside the level's hard
    # limits (`dosing.dose`). Beyond the hard limits nothing is recorded.
    dose_deviation = models.BooleanField(_("dose deviation"), default=False)
    deviation = models.BooleanField(_("outside the window"), default=False)
    deviation_reason = models.TextField(_("deviation reason"), blank=True)
    missed_reason = models.TextField(_("reason missed"), blank=True)
    product = models.JSONField(_("cell product"), default=dict, blank=True)
    premedication = models.TextField(_("premedication"), blank=True)
    vitals = models.JSONField(_("vital signs"), default=dict, blank=True)
    reactions = models.JSONField(_("immediate reactions"), default=list, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "number"]
        verbose_name = _("infusion")
        verbose_name_plural = _("infusions")
        # The study page's protocol deviations read these few rows, not every infusion.
        indexes = [models.Index(fields=["participant"], name="infusion_deviations",
                                condition=Q(deviation=True) | Q(state="missed") | Q(dose_deviation=True)),
                   # The participants list's "overdue" filter reads the planned infusions whose window has
                   # passed, not every infusion (`followup.participant_list.overdue_condition`).
                   models.Index(fields=["window_end", "participant"], name="infusion_planned_window",
                                condition=Q(state="planned")),
                   # The worklist's infusions due: the planned ones whose window opened. An index of
                   # the expression (not a partial index) so that ANALYZE keeps the statistics of the
                   # planned infusions' window starts: with the whole table's, the planner expects
                   # nearly every planned infusion to be due and scans the table.
                   models.Index(PLANNED_WINDOW_START, name="infusion_planned_opens"),
                   # The CONSORT flow's treated participants (`enrollment.consort`): the given
                   # infusions' participants read from the index, not from every infusion.
                   models.Index(fields=["participant"], name="infusion_given", condition=Q(state="given"))]
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="infusion_given_once"),
            models.CheckConstraint(condition=Q(window_start__lte=models.F("target_date"),
                                               window_end__gte=models.F("target_date")),
                                   name="infusion_plan_window_contains_target"),
            models.CheckConstraint(condition=~Q(state="given") | Q(started_at__isnull=False, weight_kg__isnull=False),
                                   name="given_infusion_has_start_and_weight"),
            models.CheckConstraint(condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                                   name="infusion_ends_after_it_starts"),
            models.CheckConstraint(condition=~Q(state="missed") | ~Q(missed_reason=""),
                                   name="missed_infusion_has_reason"),
            models.CheckConstraint(condition=Q(deviation=False) | ~Q(deviation_reason=""), name="deviation_has_reason"),
            models.CheckConstraint(condition=Q(dose_deviation=False) | ~Q(dose_confirmation=""),
                                   name="dose_deviation_has_reason"),
            models.CheckConstraint(condition=Q(weight_kg__isnull=True) | Q(weight_kg__gt=0, weight_kg__lt=400),
                                   name="infusion_weight_plausible"),
        ]

    def __str__(self):
        return f"{self.participant} #{self.number}"

    @property
    def anchor_text(self) -> str:
        """Which date the target counts from, in the active language."""
        return render(self.anchor_message)

    @property
    def dose_text(self) -> str:
        """The dose arithmetic, in the active language ("" before the infusion is given)."""
        return render(self.dose_message)


class EscalationAction(models.TextChoices):
    """What an investigator may decide (API.md "Dose escalation"; `wait` is only ever proposed)."""

    ESCALATE = "escalate", _("Escalate to the next level")
    EXPAND = "expand", _("Expand the level to 6")
    STOP = "stop", _("Stop escalation")
    CHOOSE_EXPANSION_DOSE = "choose_expansion_dose", _("Choose the dose to expand")


class EscalationDecision(models.Model):
    """An investigator's signed 3+3 decision, next to the proposal it followed or contradicted.

    CLINICAL_RULES.md section 4: the application proposes, an investigator records and signs, and
    the next group opens only then. `level` is the level the decision concerns: the level opened
    (escalate), expanded (expand), chosen (choose_expansion_dose), or the recommended dose (stop;
    empty when the lowest dose was too toxic). The proposal and the counts at signing are kept, so
    the decision stays explainable after more data arrive.
    """

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="escalation_decisions")
    action = models.CharField(_("decision"), max_length=30, choices=EscalationAction.choices)
    level = models.ForeignKey(DoseLevel, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("dose level"))
    proposal_action = models.CharField(_("proposed action"), max_length=30)
    proposal_level = models.CharField(_("proposed level"), max_length=20, blank=True)
    # the reason of the proposal, worded in the reader's language (`dosing.escalation_messages`)
    proposal_message = MessageField(_("reason of the proposal"))
    level_counts = models.JSONField(_("counts per level at signing"), default=list, blank=True)
    rationale = models.TextField(_("rationale"), blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("signed by"))
    signed_at = models.DateTimeField(_("signed at"))
    # 21 CFR 11.50: the signature shows the signer's printed name, the date and time, and its
    # meaning - the statement the investigator read and confirmed ("I approve ... under rule ...").
    signed_by_name = models.CharField(_("signer's printed name"), max_length=300, blank=True)
    signature_meaning = models.TextField(_("meaning of the signature"), blank=True)
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["study", "signed_at", "id"]
        verbose_name = _("escalation decision")
        verbose_name_plural = _("escalation decisions")
        constraints = [
            models.CheckConstraint(condition=Q(action__in=EscalationAction.values), name="escalation_action_known"),
            models.CheckConstraint(condition=Q(action=models.F("proposal_action")) | ~Q(rationale=""),
                                   name="decision_against_proposal_has_rationale"),
            models.CheckConstraint(condition=Q(action="stop") | Q(level__isnull=False),
                                   name="escalation_decision_names_its_level"),
        ]

    def __str__(self):
        return f"{self.study} {self.action} {self.level.code if self.level else ''}".strip()

    @property
    def signature(self) -> Signature:
        """The investigator's signature of the decision, as pages show it."""
        return Signature.of(self.signed_by, self.signed_at, self.signature_meaning, name=self.signed_by_name)

    @property
    def proposal_reason(self) -> str:
        """The reason of the proposal in the active language."""
        return render(self.proposal_message)

    @property
    def contradicts_proposal(self) -> bool:
        level = self.level.code if self.level else ""
        if self.action != self.proposal_action:
            return True
        return self.action != EscalationAction.CHOOSE_EXPANSION_DOSE and level != self.proposal_level
