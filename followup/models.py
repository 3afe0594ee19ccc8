"""Follow-up: each participant's visits (issue: follow-up) and adverse events (issue: 3+3 dose escalation).

One row per planned visit, created at enrolment from the study's visit definitions (after the
sex and first-N restrictions), re-planned by `followup.services` when an anchor's actual date
changes, using the pure arithmetic of `followup/schedule.py`. Time-dependent statuses (window
open, overdue) are derived at read time from `state`.
"""
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.concurrency import VersionedModel
from trials.messages import MessageField, render
from trials.models import LabValue, VisitDefinition
from trials.scoping import ScopedQuerySet
from trials.signature_record import Signature

from .ctcae_terms import shown_term
from .signoff_models import CasebookChange, CasebookSignature, DashboardMark, DashboardVersion  # noqa: F401 (the app's models)


class VisitState(models.TextChoices):
    UPCOMING = "upcoming", _("Upcoming")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")


# An upcoming visit's window start, NULL for any other (`followup.worklist_reads` filters on it:
# the expression of the index `visit_upcoming_opens`, so its statistics are the upcoming ones').
UPCOMING_WINDOW_START = Case(When(state="upcoming", then=F("window_start")))


class Visit(VersionedModel):
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
        # The study page's protocol deviations read these few rows, not every visit.
        indexes = [models.Index(fields=["participant"], name="visit_deviations", condition=Q(deviation=True)),
                   # The participants list's "overdue" filter reads the upcoming visits whose window has
                   # passed, not every visit (`followup.participant_list.overdue_condition`).
                   models.Index(fields=["window_end", "participant"], name="visit_upcoming_window",
                                condition=Q(state="upcoming")),
                   # The worklist's visits due: the upcoming ones whose window opened, not every visit.
                   # An index of the expression so that ANALYZE keeps the statistics of the upcoming
                   # visits' window starts (with the whole table's the planner expects 15 times too
                   # many rows and joins every participant).
                   models.Index(UPCOMING_WINDOW_START, name="visit_upcoming_opens")]
        constraints = [
            models.UniqueConstraint(fields=["participant", "code"], name="visit_once_per_participant"),
            models.CheckConstraint(condition=Q(window_start__lte=models.F("target_at"),
                                               window_end__gte=models.F("target_at")),
                                   name="visit_window_contains_target"),
            models.CheckConstraint(condition=~Q(state="done") | Q(done_at__isnull=False), name="done_visit_has_date"),
            models.CheckConstraint(condition=~Q(state="missed") | ~Q(missed_reason=""), name="missed_visit_has_reason"),
            models.CheckConstraint(condition=Q(deviation=False) | ~Q(deviation_reason=""),
                                   name="visit_deviation_has_reason"),
        ]

    def __str__(self):
        return f"{self.participant} {self.code}"

    @property
    def waits_for_infusion(self) -> bool:
        """Planned after an infusion not given yet (provisional, positive offset; `definition`
        loaded): it cannot be done before that infusion and its dates move when it is given. The
        participant page shows it as waiting and the worklist leaves it out."""
        return waits_for_infusion(self.provisional, self.definition.offset)


def waits_for_infusion(provisional: bool, offset: int) -> bool:
    """`Visit.waits_for_infusion` of a visit read as plain values: its `provisional` and its
    definition's `offset`."""
    return provisional and offset > 0


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
    DRAFT = "draft", _("Draft, to be confirmed and signed by an investigator")
    CONFIRMED = "confirmed", _("Confirmed: graded and attributed by the investigator")
    DISMISSED = "dismissed", _("Dismissed by the investigator")


class SeriousnessCriterion(models.TextChoices):
    DEATH = "death", _("Results in death")
    LIFE_THREATENING = "life_threatening", _("Life-threatening")
    HOSPITALISATION = "hospitalisation", _("Requires or prolongs hospitalisation")
    DISABILITY = "disability", _("Persistent or significant disability")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Congenital anomaly")
    OTHER_IMPORTANT = "other_important", _("Other important medical event")


class ActionTaken(models.TextChoices):
    NONE = "none", _("None")
    DOSE_DELAYED = "dose_delayed", _("Dose delayed")
    INFUSION_INTERRUPTED = "infusion_interrupted", _("Infusion interrupted")
    INFUSION_STOPPED = "infusion_stopped", _("Infusion stopped")
    TREATMENT_DISCONTINUED = "treatment_discontinued", _("Treatment discontinued")


class Outcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered")
    RECOVERING = "recovering", _("Recovering")
    NOT_RECOVERED = "not_recovered", _("Not recovered")
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("Recovered with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


SAE_REPORTING_HOURS = 24


class AdverseEvent(VersionedModel):
    """An adverse event as the investigator graded and attributed it (CLINICAL_RULES.md sections 3-4).

    The minimum the DLT definition needs; the full capture (CTCAE term lists, grading suggestions
    from lab values, SAE reporting deadlines) adds fields to this row. `grade` is the confirmed
    CTCAE grade; whether the event is a DLT is computed (`dosing.escalation.is_dlt`), not stored.
    """

    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="adverse_events")
    term = models.CharField(_("CTCAE term"), max_length=200)
    term_other = models.BooleanField(
        _("other, specify"), default=False,
        help_text=_("The term is not in the CTCAE v5.0 list and was recorded as entered."))
    category = models.CharField(_("category"), max_length=20, choices=AdverseEventCategory.choices)
    onset_date = models.DateField(_("onset"))
    resolution_date = models.DateField(_("resolved on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AdverseEventStatus.choices,
                              default=AdverseEventStatus.DRAFT,
                              help_text=_("A draft (recorded by a coordinator, opened by an immediate infusion "
                                          "reaction or suggested from a lab value) counts nowhere until an "
                                          "investigator confirms grade, seriousness and causality with a "
                                          "signature."))
    grade = models.PositiveSmallIntegerField(_("CTCAE grade"), null=True, blank=True)
    serious = models.BooleanField(_("serious"), null=True, blank=True)
    relationship = models.CharField(_("relationship to treatment"), max_length=10, choices=Relationship.choices,
                                    blank=True)
    infusion = models.ForeignKey("dosing.Infusion", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="adverse_events",
                                 help_text=_("The infusion it was an immediate reaction to."))
    resolved_to_grade1_within_48h = models.BooleanField(
        _("resolved to grade 1 or less within 48 h"), default=False,
        help_text=_("Fever only: a grade 3 fever that resolved within 48 h is not a DLT."))
    stopped_infusions = models.BooleanField(_("stopped the planned infusions"), default=False)
    platelet_drop_confirmed = models.BooleanField(
        _("platelets >= 50 % below baseline, confirmed twice"), default=False)
    description = models.TextField(_("description"), blank=True)
    seriousness = models.JSONField(_("seriousness criteria"), default=list, blank=True,
                                   help_text=" | ".join(SeriousnessCriterion.values))
    action_taken = models.CharField(_("action taken"), max_length=30, choices=ActionTaken.choices, blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices, blank=True)
    site_aware_at = models.DateTimeField(_("site aware at"), default=timezone.now,
                                         help_text=_("When the site learned of the event (SAE clock starts)."))
    sae_reported_at = models.DateTimeField(_("SAE reported at"), null=True, blank=True,
                                           help_text=_("When the serious adverse event was reported to the sponsor "
                                                       "and ethics committee."))
    sae_reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", verbose_name=_("SAE reported by"))
    suggested_grade = models.PositiveSmallIntegerField(_("suggested CTCAE grade"), null=True, blank=True)
    suggestion_message = MessageField(_("grading suggestion"),
                                      help_text=_("How a lab value suggested this event (the CTCAE grading of the "
                                                  "lab value)."))
    dismissed_reason = models.TextField(_("reason dismissed"), blank=True)
    # The investigator's signature: confirming grade, seriousness and causality (status confirmed; signed
    # again when a correction changes them), or the dismissal of a draft (status dismissed).
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("confirmed by"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmation_meaning = models.TextField(_("meaning of the confirmation signature"), blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    @property
    def shown_term(self) -> str:
        """The term in the reader's language: its Chinese CTCAE name to a Chinese reader (the stored
        term stays the English CTCAE term; an "other, specify" term shows as recorded)."""
        return shown_term(self.term)

    @property
    def suggestion(self) -> str:
        """How a lab value suggested this event, in the reader's language (`followup.grading_messages`)."""
        return render(self.suggestion_message)

    @property
    def confirmation_signature(self) -> Signature | None:
        """The investigator's signature of the event's grade, seriousness and causality (or of its
        dismissal), as pages show it (None: not signed, a draft)."""
        if self.confirmed_at is None:
            return None
        return Signature.of(self.confirmed_by, self.confirmed_at, self.confirmation_meaning)

    @property
    def sae_report_due(self):
        """The 24-hour SAE reporting deadline (section 3), for a serious event; else None."""
        if not self.serious or self.site_aware_at is None:
            return None
        return self.site_aware_at + timedelta(hours=SAE_REPORTING_HOURS)

    @property
    def sae_overdue(self) -> bool:
        """Serious, not yet reported, and past the 24-hour deadline."""
        due = self.sae_report_due
        return due is not None and self.sae_reported_at is None and timezone.now() > due

    class Meta:
        ordering = ["participant", "onset_date", "id"]
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        constraints = [
            models.CheckConstraint(condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=5),
                                   name="adverse_event_grade_1_to_5"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "dismissed"])
                | (Q(grade__isnull=False, serious__isnull=False) & ~Q(relationship="")),
                name="confirmed_adverse_event_is_graded_and_attributed"),
            models.CheckConstraint(
                condition=Q(resolution_date__isnull=True) | Q(resolution_date__gte=models.F("onset_date")),
                name="adverse_event_resolution_not_before_onset"),
            models.CheckConstraint(condition=~Q(term=""), name="adverse_event_has_term"),
            models.CheckConstraint(condition=Q(category__in=AdverseEventCategory.values),
                                   name="adverse_event_category_known"),
            models.CheckConstraint(condition=Q(relationship__in=Relationship.values)
                                   | Q(relationship="", status__in=["draft", "dismissed"]),
                                   name="adverse_event_relationship_known"),
        ]

    def __str__(self):
        return f"{self.participant} {self.term} (grade {self.grade})"


# ---------------------------------------------------------------------------------------------
# Assessments: a visit's (or an unscheduled) labs, bleeding, transfusions and rescue therapy
# ---------------------------------------------------------------------------------------------



class BleedingGrade(models.IntegerChoices):
    """WHO bleeding grade (CLINICAL_RULES.md section 1)."""

    NONE = 0, _("0 – no bleeding")
    PETECHIAE = 1, _("1 – petechiae or ecchymoses")
    MILD = 2, _("2 – mild blood loss")
    GROSS = 3, _("3 – gross blood loss needing transfusion")
    DEBILITATING = 4, _("4 – debilitating or life-threatening blood loss")


class SteroidDrug(models.TextChoices):
    """Corticosteroids recorded by drug and dose, converted to prednisone equivalents (`followup.steroids`)."""

    PREDNISONE = "prednisone", _("Prednisone")
    PREDNISOLONE = "prednisolone", _("Prednisolone")
    METHYLPREDNISOLONE = "methylprednisolone", _("Methylprednisolone")
    DEXAMETHASONE = "dexamethasone", _("Dexamethasone")


class TransfusionKind(models.TextChoices):
    RBC = "rbc", _("Red cells")
    PLATELET = "platelet", _("Platelets")


class RescueTherapyKind(models.TextChoices):
    """Rescue therapy that makes nearby counts not evaluable for response (CLINICAL_RULES.md section 1)."""

    IVIG = "ivig", _("IVIG")
    STEROID_START = "steroid_start", _("Corticosteroid started")
    STEROID_INCREASE = "steroid_increase", _("Corticosteroid increased")
    TPO_AGENT = "tpo_agent", _("TPO receptor agonist")
    GCSF = "gcsf", _("G-CSF")
    PLATELET_TRANSFUSION = "platelet_transfusion", _("Platelet transfusion")
    OTHER = "other", _("Other")


class Assessment(VersionedModel):
    """What was measured and given at one visit, or between visits (`visit` empty: unscheduled).

    Written only by `followup.services.assessment_record` (and corrected by `assessment_update`),
    which validate the JSON parts: `concomitant_medications` [{name, dose, start, end}] and `items`,
    the answers to the study's items placed on the visit's form ({code: value}, typed as
    `trials.items.clean_value` returns them; virology and the immune panel are such items).
    """

    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="assessments")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="assessments",
                              help_text=_("Empty: an unscheduled assessment."))
    date = models.DateField(_("date"))
    bleeding_grade = models.PositiveSmallIntegerField(_("WHO bleeding grade"), choices=BleedingGrade.choices,
                                                      null=True, blank=True)
    steroid_mg_per_day = models.DecimalField(
        _("corticosteroid (prednisone-equivalent mg/day)"), max_digits=6, decimal_places=2, null=True, blank=True,
        help_text=_("The daily corticosteroid dose the participant is on at this assessment, as prednisone "
                    "equivalent (computed from the drug and its dose when they are recorded); above both the "
                    "criteria set's limit and the stable dose at baseline the count is a corticosteroid-dependent "
                    "non-response."),
    )
    steroid_drug = models.CharField(_("corticosteroid"), max_length=20, choices=SteroidDrug.choices, blank=True,
                                    help_text=_("Empty: the dose was recorded as prednisone equivalent."))
    steroid_dose_mg_per_day = models.DecimalField(
        _("corticosteroid dose (mg/day of the drug)"), max_digits=7, decimal_places=3, null=True, blank=True)
    concomitant_medications = models.JSONField(_("concomitant medications"), default=list, blank=True)
    items = models.JSONField(_("items"), default=dict, blank=True,
                             help_text=_("Answers to the visit form's study-defined items, by item code."))
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "date", "id"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        constraints = [
            models.UniqueConstraint(fields=["visit"], name="one_assessment_per_visit"),
            models.CheckConstraint(condition=Q(bleeding_grade__isnull=True)
                                   | Q(bleeding_grade__gte=0, bleeding_grade__lte=4),
                                   name="assessment_bleeding_grade_0_to_4"),
            models.CheckConstraint(condition=Q(steroid_mg_per_day__isnull=True) | Q(steroid_mg_per_day__gte=0,
                                                                                    steroid_mg_per_day__lte=2000),
                                   name="assessment_steroid_dose_plausible"),
        ]

    def __str__(self):
        return f"{self.participant} {self.visit.code if self.visit_id else _('unscheduled')} {self.date}"

    @property
    def steroid_dose_text(self) -> str:
        """The recorded drug dose without trailing zeros ("1.5", "0.75"); empty when none."""
        if self.steroid_dose_mg_per_day is None:
            return ""
        return format(self.steroid_dose_mg_per_day.normalize(), "f")


class LabResult(LabValue):
    """A lab value of an assessment: SI value, the value and unit as entered, and the range used."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="labs")
    history = HistoricalRecords()

    site_scope = "assessment__participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["assessment", "analyte"]
        verbose_name = _("lab result")
        verbose_name_plural = _("lab results")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "analyte"], name="one_lab_result_per_analyte"),
            models.CheckConstraint(condition=Q(value__gte=0), name="lab_result_not_negative"),
            models.CheckConstraint(condition=Q(lln__isnull=True) | Q(uln__isnull=True) | Q(lln__lte=models.F("uln")),
                                   name="lab_result_range_ordered"),
        ]


class Transfusion(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="transfusions")
    kind = models.CharField(_("transfusion"), max_length=10, choices=TransfusionKind.choices)
    date = models.DateField(_("date"))
    history = HistoricalRecords()

    site_scope = "assessment__participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["assessment", "date", "id"]
        verbose_name = _("transfusion")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TransfusionKind.values), name="transfusion_kind_known"),
        ]

    def __str__(self):
        return f"{self.kind} {self.date}"


class RescueTherapy(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="rescue_therapies")
    therapy = models.CharField(_("rescue therapy"), max_length=30, choices=RescueTherapyKind.choices)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"), null=True, blank=True)
    history = HistoricalRecords()

    site_scope = "assessment__participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["assessment", "start", "id"]
        verbose_name = _("rescue therapy")
        verbose_name_plural = _("rescue therapies")
        constraints = [
            models.CheckConstraint(condition=Q(therapy__in=RescueTherapyKind.values), name="rescue_therapy_known"),
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                                   name="rescue_therapy_end_not_before_start"),
        ]

    def __str__(self):
        return f"{self.therapy} {self.start}"


class OutcomeChange(models.Model):
    """The latest change that can move a study's outcomes: a count raised in the transaction of
    every such change (an infusion given or missed, an assessment recorded or corrected;
    `followup.services.queue_outcomes`). The snapshot records the count it covers, so a snapshot
    behind it is stale, whether or not the task queued for the change ever ran, and the periodic
    reconcile recomputes it (`followup.services.outcomes_reconcile`)."""

    study = models.OneToOneField("trials.Study", on_delete=models.CASCADE, related_name="outcome_change")
    sequence = models.PositiveBigIntegerField(_("changes"), default=0)
    changed_at = models.DateTimeField(_("latest change at"))
    # ",<participant id>:<count>" per change since the outcomes last caught up, written by the same
    # UPDATE as the count: the participants the incremental recomputation reads again.
    participants_changed = models.TextField(_("participants changed"), blank=True, default="")
    cleared_at = models.PositiveBigIntegerField(_("cleared at change"), default=0)

    class Meta:
        verbose_name = _("outcome change")

    def __str__(self):
        return f"{self.study} change {self.sequence} at {self.changed_at}"


class OutcomeSnapshot(models.Model):
    """A study's remission rates as last computed (CLINICAL_RULES.md section 6), served as stored.

    Recomputed by the `followup.compute_outcomes` task, queued when an infusion or an assessment
    is committed; `computed_at` tells the reader how fresh it is and `covers_change` the latest
    change (`OutcomeChange.sequence`) it includes.
    """

    study = models.OneToOneField("trials.Study", on_delete=models.CASCADE, related_name="outcome_snapshot")
    computed_at = models.DateTimeField(_("computed at"))
    groups = models.JSONField(_("groups"), default=list)
    covers_change = models.PositiveBigIntegerField(
        _("latest change covered"), default=0,
        help_text=_("The study's change count when the computation started; behind it, the snapshot is stale."))

    inputs = models.CharField(
        _("configuration read"), max_length=64, blank=True,
        help_text=_("A digest of the criteria sets and response period the results were computed by."))
    grouping = models.CharField(_("groups counted"), max_length=64, blank=True,
                                help_text=_("A digest of the arms and dose levels the results were counted by."))
    unmarked_rewrites = models.PositiveIntegerField(
        _("unmarked rewrites"), default=0,
        help_text=_("How many times results were stored again for participants not marked as changed (all of "
                    "them, or those whose group, disease or sex moved)."))
    # Each participant's result is a row of its own (`followup.outcome_models.OutcomeResult`).

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("outcome snapshot")

    @property
    def up_to_date(self) -> bool:
        """Whether the snapshot includes the study's latest change, as read with it (`latest_change`,
        annotated by `followup.services.outcomes_current`; a snapshot just computed is)."""
        latest = getattr(self, "latest_change", None)
        return latest is None or self.covers_change >= latest

    def __str__(self):
        return f"{self.study} outcomes at {self.computed_at}"


# ---------------------------------------------------------------------------------------------
# Reminders: each sent once (CLINICAL_RULES.md section 3: the SAE deadline is tracked and reminded)
# ---------------------------------------------------------------------------------------------

class ReminderKind(models.TextChoices):
    SAE_REPORT_DUE = "sae_report_due", _("SAE report due soon")
    SAE_REPORT_OVERDUE = "sae_report_overdue", _("SAE report overdue")
    VISIT_OVERDUE = "visit_overdue", _("Visit overdue")
    INFUSION_OVERDUE = "infusion_overdue", _("Infusion overdue")


class ReminderState(models.TextChoices):
    CLAIMED = "claimed", _("Claimed (being sent)")
    SENT = "sent", _("Sent")


class Reminder(models.Model):
    """A reminder e-mailed to the site's coordinators and investigators, about one visit, infusion
    or adverse event. The unique constraints make each (kind, record, due time) reminder a single
    row (a record re-planned to a new target is reminded again): the sweep
    (`followup.reminders.reminders_send`) claims it by inserting the row, `claimed` until
    `claim_expires_at`, sends the e-mail and marks it `sent`. Two sweeps at once never send it
    twice; a claim left by a sweep stopped before the send expires and the next sweep takes it."""

    kind = models.CharField(_("kind"), max_length=30, choices=ReminderKind.choices)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders")
    infusion = models.ForeignKey("dosing.Infusion", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="reminders")
    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.CASCADE, null=True, blank=True,
                                      related_name="reminders")
    participant = models.ForeignKey("enrollment.Participant", on_delete=models.CASCADE, related_name="reminders")
    site = models.ForeignKey("trials.Site", on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(_("due at"), help_text=_("The target or deadline the reminder was about."))
    state = models.CharField(_("state"), max_length=10, choices=ReminderState.choices, default=ReminderState.CLAIMED)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claim_expires_at = models.DateTimeField(
        _("claim expires at"), null=True, blank=True,
        help_text=_("A claim not marked sent by then is taken again by the next sweep."))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    recipients = models.TextField(_("recipients"), help_text=_("E-mail addresses, one a line."))
    subject = models.CharField(_("subject"), max_length=300)

    site_scope = "site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(fields=["kind", "visit", "due_at"], condition=Q(visit__isnull=False),
                                    name="reminder_once_per_visit"),
            models.UniqueConstraint(fields=["kind", "infusion", "due_at"], condition=Q(infusion__isnull=False),
                                    name="reminder_once_per_infusion"),
            models.UniqueConstraint(fields=["kind", "adverse_event", "due_at"],
                                    condition=Q(adverse_event__isnull=False),
                                    name="reminder_once_per_adverse_event"),
            models.CheckConstraint(
                condition=(Q(kind="visit_overdue", visit__isnull=False, infusion__isnull=True,
                             adverse_event__isnull=True)
                           | Q(kind="infusion_overdue", visit__isnull=True, infusion__isnull=False,
                               adverse_event__isnull=True)
                           | Q(kind__in=["sae_report_due", "sae_report_overdue"], visit__isnull=True,
                               infusion__isnull=True, adverse_event__isnull=False)),
                name="reminder_is_about_one_record_of_its_kind"),
            models.CheckConstraint(condition=Q(state="sent", sent_at__isnull=False)
                                   | Q(state="claimed", claim_expires_at__isnull=False),
                                   name="reminder_sent_has_time_claim_has_expiry"),
        ]

    def __str__(self):
        return f"{self.kind} {self.participant_id} at {self.sent_at}"


from .sdv_models import ItemVerification, SdvCount, SdvPlan  # noqa: E402, F401 (the app's models)
# Data queries live in their own module (this one stays within its size); imported here so that the
# app's models are all found in `followup.models`.
from .query_models import DataQuery, DataQueryMessage  # noqa: E402, F401
from .export_models import Export, KeptOdmSubject  # noqa: E402, F401
from .outcome_models import OutcomeResult  # noqa: E402, F401
