"""Each participant's contribution to the study's outcomes as last computed (`followup.outcomes`):
one row per participant, so that after a change the outcomes are computed again only for the
participants changed since (their rows rewritten only when their result moved), and the outcomes
table is aggregated from the rows in the database."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutcomeResult(models.Model):
    """A participant's outcome (`followup.outcome_reads.ParticipantOutcome`) with what it was computed
    with: the disease and sex (the criteria set and its rules) and the arm and dose level (the group it
    is counted in). Not treated: `treated` False and no response. `stored` gives it in the form
    `ParticipantOutcome.stored` has (None: not treated)."""

    participant = models.OneToOneField("enrollment.Participant", on_delete=models.CASCADE, primary_key=True,
                                       related_name="outcome_result")
    study = models.ForeignKey("trials.Study", on_delete=models.CASCADE, related_name="+")
    arm = models.ForeignKey("trials.Arm", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    dose_level = models.ForeignKey("trials.DoseLevel", on_delete=models.DO_NOTHING, db_constraint=False,
                                   null=True, related_name="+")
    disease = models.CharField(_("disease"), max_length=30, blank=True)
    sex = models.CharField(_("sex"), max_length=10, blank=True)
    treated = models.BooleanField(_("treated"))
    best = models.CharField(_("best confirmed response"), max_length=10, blank=True)
    duration_days = models.IntegerField(_("duration of response (days)"), null=True)
    censored = models.BooleanField(_("duration censored"), null=True)
    # What the study dashboard draws of a treated participant (`outcome_reads.ChartFacts.stored`).
    chart = models.JSONField(_("chart values"), null=True)

    class Meta:
        verbose_name = _("participant outcome")
        indexes = [models.Index(fields=["study", "arm", "dose_level"], name="outcome_result_group")]

    def stored(self) -> list | None:
        if not self.treated:
            return None
        duration = [self.duration_days, self.censored] if self.duration_days is not None else None
        return [self.best, duration, self.disease, self.sex, self.chart]

    def __str__(self):
        return f"{self.participant_id}: {self.best or '-'}"
